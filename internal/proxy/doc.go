// Package proxy is the relay behind `wsdbg proxy` (SPEC §9): it sits
// between a WebSocket client and an upstream server, forwards the client's
// opening handshake with its bytes kept (Host and target adjusted), relays
// the upstream's response head byte for byte, and then relays every frame
// in both directions as it arrived, without re-encoding, while it prints
// both handshakes with their diagnostics and every message per direction.
//
// # Levels
//
// Server accepts connections and runs one pair per client. A pair reads
// the client's request head (handshake.ReadRequest), judges it
// (handshake.DiagnoseRequest), dials the upstream (handshake.Dial), writes
// the forwarded head, reads the response head (handshake.ReadResponse),
// judges it against the client's offers (handshake.DiagnoseResponse) and
// writes it to the client. After a 101 two relays run, one per direction:
// each reads its source into one buffer, finds the frame headers there
// (wire.ParseHeader), checks them as the receiving endpoint would
// (wire.CheckHeader, RFC 6455 §5), writes the same bytes from that buffer
// to the other side, and assembles a copy of each message for display,
// inflated with a per-direction wire.Decompressor when permessage-deflate
// was negotiated (RFC 7692). With Options.Strict a frame is written only
// once all of it has been checked, so that a frame found bad at its end
// never reaches the other side in part.
//
// # What it does not do
//
// It never re-encodes a frame: a frame that breaks RFC 6455 is relayed as
// it is, with a diagnostic naming the side that sent it, unless
// Options.Strict, which fails that side's connection (close 1002, 1007 or
// 1009 as RFC 6455 §7.1.7 and §7.4.1 require) and closes the other with
// 1001. It does not answer pings or enforce message sizes for the
// endpoints; they do. A request that is not an upgrade is forwarded as
// plain HTTP/1.1, one request per connection.
//
// # Concurrency
//
// Each pair has three goroutines at most: the one that ran the handshake
// and then relays client to server, the server to client relay, and a
// timer that drops both connections when a close does not complete. Each
// relay is the only writer of its destination; others ask it to send a
// close frame through closeRequest, which wakes it by moving its source's
// read deadline into the past.
package proxy
