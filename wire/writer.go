package wire

import (
	"fmt"
	"slices"
)

// autoFlushSize is how much QueueMessage buffers before it writes on its
// own.
const autoFlushSize = 64 << 10

// WriteMessage sends one data message (op OpText or OpBinary) in a single
// frame, compressed when permessage-deflate was negotiated and the message
// is at least Config.CompressionThreshold long, and flushes. In the client
// role the frame is masked with a fresh key (RFC 6455 §5.3); data itself is
// never modified. Text is sent as given, valid UTF-8 or not.
func (c *Conn) WriteMessage(op Opcode, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.queueMessage(op, data, 1); err != nil {
		return err
	}
	return c.flush()
}

// QueueMessage is WriteMessage without the flush: the frame is buffered
// until Flush, another write, or more than 64 KiB is pending. data may be
// reused as soon as QueueMessage returns.
func (c *Conn) QueueMessage(op Opcode, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.queueMessage(op, data, 1); err != nil {
		return err
	}
	if len(c.wbuf) >= autoFlushSize {
		return c.flush()
	}
	return nil
}

// Flush writes the frames queued by QueueMessage.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flush()
}

// WriteFragmented sends one data message split into n frames (RFC 6455
// §5.4) of nearly equal size, and flushes; n < 1 counts as 1. When n
// exceeds the payload length some frames are empty. With
// permessage-deflate the whole message is compressed first and the
// compressed payload is split; RSV1 is set on the first frame only
// (RFC 7692 §6.1).
func (c *Conn) WriteFragmented(op Opcode, data []byte, n int) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.queueMessage(op, data, n); err != nil {
		return err
	}
	return c.flush()
}

// WriteControl sends one control frame (ping, pong or close) with payload
// as given, and flushes. The payload is not checked: a frame longer than
// the 125 bytes RFC 6455 §5.5 allows is sent as asked, for testing peers.
func (c *Conn) WriteControl(op Opcode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if op == OpClose {
		c.closeSent = true
	}
	if err := c.appendFrame(Header{Fin: true, Op: op}, payload); err != nil {
		return err
	}
	return c.flush()
}

// WriteClose sends a close frame with code and reason (RFC 6455 §5.5.1),
// and flushes; code 0 sends an empty payload. A reason too long for a
// control frame is cut at 123 bytes on a UTF-8 boundary. After it the
// message writers return ErrCloseSent.
func (c *Conn) WriteClose(code CloseCode, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeClose(code, reason)
}

func (c *Conn) writeClose(code CloseCode, reason string) error {
	if c.werr != nil {
		return c.werr
	}
	payload := AppendClose(c.closeBuf[:0], code, truncateReason(reason))
	c.closeSent = true
	if err := c.appendFrame(Header{Fin: true, Op: OpClose}, payload); err != nil {
		return err
	}
	return c.flush()
}

// WriteFrame sends one frame with header h and payload, and flushes; for
// the REPL's raw frames. h.Length is set to len(payload). In the client
// role, a frame with h.Masked set and a zero h.Mask gets a fresh key; in
// either role h.Masked and h.Mask are otherwise used as given, so that
// unmasked client frames or masked server frames can be produced on
// purpose. The payload is masked in the output buffer, never in place.
func (c *Conn) WriteFrame(h Header, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if h.Masked && h.Mask == [4]byte{} && c.role == RoleClient {
		if err := c.newKey(&h.Mask); err != nil {
			return err
		}
	}
	if h.Op == OpClose {
		c.closeSent = true
	}
	c.queueFrame(h, payload)
	return c.flush()
}

// WriteRaw writes b as it is, after anything queued.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.flush(); err != nil {
		return err
	}
	if _, err := c.w.Write(b); err != nil {
		c.werr = fmt.Errorf("write raw bytes: %w", err)
		return c.werr
	}
	return nil
}

// queueMessage appends the frames of one data message to the write buffer.
func (c *Conn) queueMessage(op Opcode, data []byte, n int) error {
	if c.werr != nil {
		return c.werr
	}
	if c.closeSent {
		return ErrCloseSent
	}
	if op != OpText && op != OpBinary {
		return fmt.Errorf("write message: opcode %v is not text or binary; use WriteControl or WriteFrame", op)
	}
	payload, rsv1 := data, false
	if c.comp != nil && len(data) >= c.threshold {
		out, ok, err := c.comp.Compress(c.cbuf[:0], data)
		if err != nil {
			c.werr = fmt.Errorf("write message: compress %d-byte %v message: %w", len(data), op, err)
			return c.werr
		}
		if cap(out) <= maxKeptBuffer {
			c.cbuf = out[:0]
		}
		if ok {
			payload, rsv1 = out, true
		}
	}
	n = max(n, 1)
	for i := range n {
		part := payload[i*len(payload)/n : (i+1)*len(payload)/n]
		h := Header{Fin: i == n-1, Op: OpContinuation}
		if i == 0 {
			h.Op, h.Rsv1 = op, rsv1
		}
		if err := c.appendFrame(h, part); err != nil {
			return err
		}
	}
	return nil
}

// appendFrame appends a frame to the write buffer, masked with a fresh key
// in the client role.
func (c *Conn) appendFrame(h Header, payload []byte) error {
	if c.role == RoleClient {
		h.Masked = true
		if err := c.newKey(&h.Mask); err != nil {
			return err
		}
	}
	c.queueFrame(h, payload)
	return nil
}

// queueFrame appends h and payload, masked as h says, to the write buffer.
func (c *Conn) queueFrame(h Header, payload []byte) {
	h.Length = int64(len(payload))
	c.wbuf = AppendHeader(c.wbuf, h)
	if h.Masked {
		start := len(c.wbuf)
		c.wbuf = slices.Grow(c.wbuf, len(payload))[:start+len(payload)]
		maskCopy(h.Mask, 0, c.wbuf[start:], payload)
	} else {
		c.wbuf = append(c.wbuf, payload...)
	}
	if c.onFrame != nil {
		c.onFrame(DirOut, h, payload)
	}
}

// newKey reads a masking key from the buffered random source.
func (c *Conn) newKey(key *[4]byte) error {
	if c.rnd == nil {
		// A server asked for a masked frame: no key source was set up.
		c.rnd = newKeySource(nil)
	}
	p, err := c.rnd.Peek(4)
	if err != nil {
		c.werr = fmt.Errorf("write frame: read masking key: %w", err)
		return c.werr
	}
	copy(key[:], p)
	c.rnd.Discard(4)
	return nil
}

// flush writes the write buffer.
func (c *Conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.wbuf)
	if cap(c.wbuf) > maxKeptBuffer {
		c.wbuf = nil
	} else {
		c.wbuf = c.wbuf[:0]
	}
	if err != nil {
		c.werr = fmt.Errorf("write frames: %w", err)
	}
	return c.werr
}

// CloseHandshake closes the connection cleanly (RFC 6455 §7.1.2): it sends
// a close frame with code and reason unless one was sent already, then
// reads until the peer's close frame arrives, passing data messages read
// meanwhile to onMessage (which may be nil); control frames other than
// close are dropped. If the peer's close frame was read before, it returns
// at once. It returns the peer's close, or the error that ended the wait.
// The wait is bounded by the read deadline the caller sets on the
// connection. Call it from the goroutine that reads.
func (c *Conn) CloseHandshake(code CloseCode, reason string, onMessage func(Message)) (*CloseError, error) {
	c.wmu.Lock()
	var err error
	if !c.closeSent {
		err = c.writeClose(code, reason)
	}
	c.wmu.Unlock()
	if ce := c.r.closeErr; ce != nil {
		return ce, err
	}
	if err != nil {
		return nil, err
	}
	for {
		m, err := c.Read()
		if err != nil {
			return nil, err
		}
		switch m.Op {
		case OpClose:
			return c.r.closeErr, nil
		case OpText, OpBinary:
			if onMessage != nil {
				onMessage(m)
			}
		}
	}
}

// Err returns the error that ended writing, if any: after a failed write
// every further write returns it.
func (c *Conn) Err() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.werr
}
