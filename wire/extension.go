package wire

import "fmt"

// setupDeflate attaches the permessage-deflate engines when the extension
// was negotiated.
func setupDeflate(c *Conn, cfg Config) {}

// inflate feeds a chunk of a compressed frame's payload to the
// decompressor, appending to the message, and checks the result.
func (c *Conn) inflate(chunk []byte, final bool) error {
	r := &c.r
	start := len(r.msg)
	out, err := c.decomp.Append(r.msg, chunk, final, c.maxSize-int64(len(r.msg)))
	r.msg = out
	if err != nil {
		if int64(len(out)) >= c.maxSize {
			return &ProtocolError{Code: CloseMessageTooBig,
				Reason: fmt.Sprintf("compressed %v message inflates beyond the limit of %d bytes; raise --max-message-size", r.op, c.maxSize)}
		}
		return &ProtocolError{Code: CloseInvalidPayload,
			Reason: fmt.Sprintf("inflate %v message (frame %d): %v", r.op, r.frames, err)}
	}
	if r.op == OpText && len(r.msg) > start {
		if pe := r.checkUTF8(); pe != nil {
			return pe
		}
	}
	return nil
}
