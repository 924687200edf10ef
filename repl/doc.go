// Package repl runs WebSocket sessions after the opening handshake and
// prints what happens in them.
//
// # Levels
//
// Printer formats events (data messages, pings, pongs, close frames,
// frame headers for -v, notes, errors) either as text for people or as
// NDJSON events for scripts (SPEC §3.2). Each event is formatted whole into
// a reused buffer and one goroutine writes the batches, so a flood of
// messages costs few writes and no allocation per message, and output
// never interleaves mid-event. Text from the network is escaped on a
// terminal and passed through untouched into a pipe.
//
// Session owns a connection (a *wire.Conn over a net.Conn): one goroutine
// reads, prints, answers pings (RFC 6455 §5.5.2) and the peer's close
// (§5.5.1), sends close 1002/1007/1009 when the peer breaks the protocol,
// and classifies how the session ended; any number of goroutines send.
// Echoes are queued and flushed whenever the reader is about to wait for
// the network, so bursts cost one write and lock-step peers wait for none.
//
// On a Session run the modes: RunLines (line mode: stdin lines become text
// messages), RunEcho (mirror mode, either role) and the interactive REPL.
//
// # What it does not do
//
// repl does not dial, perform handshakes, parse flags or decide whether a
// stream is a terminal: package cmd does, and passes the results in.
package repl
