// Package wire speaks the WebSocket framing protocol of RFC 6455 over a
// connection whose opening handshake is already done, in either role, with
// optional permessage-deflate (RFC 7692).
//
// # Frame level
//
// Header holds every field of a frame header, including reserved opcodes
// and bits, so a debugger can show and send frames a strict endpoint would
// refuse. ReadHeader decodes any header it can; CheckHeader separately
// applies the rules of RFC 6455 §5 for a role and the state of the
// connection and returns the *ProtocolError, with the close code to send,
// for the first rule broken. AppendHeader encodes a header, Mask applies a
// masking key (§5.3), ParseClose and AppendClose handle close payloads
// (§5.5.1) and CloseCode names status codes (§7.4).
//
// # Message level
//
// Conn reads whole messages: Read assembles fragments, inflates compressed
// messages, checks text as UTF-8 while the bytes arrive so a bad message
// fails at its first invalid byte, enforces a size limit counted after
// decompression without trusting lengths the peer declares, and returns
// control frames that arrive between fragments in order. The write
// methods send messages whole or fragmented, control frames, arbitrary
// frames and raw bytes; in the client role every frame gets a fresh
// masking key, and the caller's bytes are never modified. Config.OnFrame
// sees every frame in both directions, for verbose output.
//
// # What it does not do
//
// wire starts no goroutines and sets no deadlines: the caller owns
// concurrency (one reader, any number of writers) and bounds waits with
// deadlines on the underlying connection. It does not answer pings or
// close frames on its own; the caller decides. It does not perform the
// opening handshake; package handshake does, and passes on the buffered
// reader so no byte that followed the handshake response is lost.
package wire
