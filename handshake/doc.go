// Package handshake implements the WebSocket opening handshake (RFC 6455 §4)
// for a debugger, on the client side (Do) and the server side (ReadRequest,
// DiagnoseRequest, Respond): it keeps every byte that crosses the wire and
// explains what it sees.
//
// The levels, bottom up:
//
//   - Heads. ReadResponse and ReadRequest read exactly one HTTP/1.1 head
//     through a *bufio.Reader, capped at MaxHeadSize, and leave the bytes
//     after it buffered: after a 101 they are the first frames. A Head keeps
//     the start line and the fields in wire order with their spelling, raw
//     line and line ending; Get, Values and Tokens look names up ASCII
//     case-insensitively. The first bytes are sniffed before parsing, so a
//     TLS record, an HTTP/2 frame or binary data is named (*NotHTTPError).
//     Parsing is lenient; judging is separate.
//   - Requests. BuildRequest writes the default fields in a fixed order,
//     then applies -H (replace in place, or append) and --omit; AcceptKey
//     and NewKey implement the key exchange of RFC 6455 §4.2.2.
//   - Diagnostics. The catalogue (Catalog, Lookup, ID.Entry) is the one table
//     of diagnostic ids (SPEC §4) with their severity, side, RFC section and
//     meaning for the outcome; Diag builds every diagnostic from it.
//     DiagnoseRequest checks a request (RFC 6455 §4.1); DiagnoseResponse is
//     a pure function of request, response and options that collects every
//     finding.
//   - The exchange. Do dials through Dial (TCP, Unix socket, proxy, TLS),
//     writes the request, reads and diagnoses the response, follows
//     redirects, and hands back a Result: with the open connection and its
//     reader after a 101, or failed as RFC 6455 §4.1 requires.
//   - Output. Result.WriteTranscript prints the curl-like transcript of
//     SPEC §2 with every network byte escaped (AppendEscaped) and secrets
//     redacted; Options.Live (NewLive) prints the same text while the
//     exchange happens (SPEC §1.1), so a silent server shows what was sent.
//     Result.Document builds the JSON document of SPEC §3.1.
//   - HTTP/2 (RFC 8441, SPEC §10), in the h2*.go files. With Options.HTTP2
//     Do opens the WebSocket as an extended CONNECT on stream 1 of a new
//     HTTP/2 connection (h2client.go): it logs every frame of the setup
//     (H2Frame), builds the HEADERS with BuildH2Fields and decodes the
//     server's with DecodeH2FieldsWith (h2fields.go), both bounded by
//     MaxH2HeaderBlock and MaxH2HeaderList. After a 2xx, Result.Conn is the
//     stream as a net.Conn (h2conn.go): a reading goroutine answers PING and
//     SETTINGS, turns GOAWAY and RST_STREAM into an *H2Error, refuses what
//     breaks RFC 9113 with a GOAWAY, and keeps both flow-control windows.
//     ServeH2 and RespondH2 (h2server.go, h2respond.go) are the server
//     side, for serve --http2. All of it is built on golang.org/x/net/http2's
//     Framer and hpack: its Transport and Server hide the frames a debugger
//     must show.
//
// The package does not frame messages, not even the close frame that ends
// an upgrade nobody uses (package wire does, and cmd joins the two); it
// does not color text (a Painter supplied by the caller does), read the
// environment or decide exit codes beyond Class.ExitCode and
// H2Error.ExitCode. It imports the standard library, golang.org/x/net/proxy
// (SOCKS5) and golang.org/x/net/http2 (Framer, hpack).
package handshake
