// Package probe checks how a WebSocket server follows RFC 6455 and
// RFC 7692: it sends the handshake variants and the deliberately broken
// frames of SPEC §8, one check per connection, and judges each answer with
// a verdict (PASS, FAIL, WARN, INFO, SKIP), what was sent, what came back
// and the RFC section that decides it.
//
// The levels:
//
//   - Checks. The table in checks.go lists every check with its id, RFC
//     section, group (handshake or frames) and the checks whose findings it
//     needs (fr-large needs to know from fr-echo whether the server echoes).
//     Handshake checks (hs.go) are variants of the baseline request, each
//     one option of the handshake package's request builder. Frame checks
//     (frames.go, exchange.go) upgrade a connection, write frames through
//     package wire (malformed ones through its frame-level API, as the
//     REPL's /raw does) and read the server's answer with wire's message
//     reader, so a broken answer is diagnosed as send and connect would.
//   - The runner (run.go). Run performs hs-baseline alone; if it fails every
//     other check is SKIP and the exit code is the handshake's (SPEC §7).
//     Otherwise it starts the other checks in table order, a bounded number
//     at once, each when the checks it needs are done, each bounded by its
//     own deadline, on its own connection. The handshake is a function in
//     Options, so another transport (WebSocket over HTTP/2) can be plugged
//     in without touching the checks.
//   - Output (output.go). WriteText prints one line per check, grouped
//     handshake then frames, with the exchange under it when verbose, and a
//     summary; Result.Document is the JSON document.
//
// Hostile servers are assumed: every wait is bounded by the check's
// deadline, messages read are capped at MaxMessage bytes, recorded frames
// at a fixed count, and probe never retries or sends more than a check
// needs. The package starts goroutines only in Run, and all of them have
// ended when Run returns.
package probe
