package wire

import (
	"errors"
	"fmt"
)

// setupDeflate attaches the permessage-deflate engines of deflate.go when
// the extension was negotiated (RFC 7692).
func setupDeflate(c *Conn, cfg Config) {
	if cfg.Deflate == nil {
		return
	}
	c.comp = NewCompressor(*cfg.Deflate, cfg.Role)
	c.decomp = NewDecompressor(*cfg.Deflate, cfg.Role)
}

// inflate feeds a chunk of a compressed frame's payload to the
// decompressor, which appends to the message what it can inflate, and
// checks the result: size limit (close 1009), DEFLATE data (close 1002)
// and UTF-8 (close 1007).
func (c *Conn) inflate(chunk []byte, final bool) error {
	r := &c.r
	start := len(r.msg)
	out, err := c.decomp.Append(r.msg, chunk, final, c.maxSize)
	r.msg = out
	if err != nil {
		if errors.Is(err, ErrMessageTooBig) {
			return &ProtocolError{Code: CloseMessageTooBig,
				Reason: fmt.Sprintf("compressed %v message exceeds the limit of %d bytes after decompression (%v)",
					r.op, c.maxSize, err)}
		}
		return &ProtocolError{Code: CloseProtocolError,
			Reason: fmt.Sprintf("compressed %v message, frame %d: %v", r.op, r.frames, err)}
	}
	if r.op == OpText && len(r.msg) > start {
		if pe := r.checkUTF8(); pe != nil {
			return pe
		}
	}
	return nil
}
