package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// readState is the reading side of a Conn. Only the goroutine calling Read
// touches it.
type readState struct {
	err      error       // sticky: the connection cannot be read further
	closeErr *CloseError // the close frame received, if any

	// Current frame.
	h       Header
	inFrame bool  // header read, payload (part of it) pending
	left    int64 // payload bytes not yet read
	maskPos int   // position in h.Mask for the next payload byte

	ctl  [MaxControlPayload]byte // control frame payload
	nctl int

	// Current data message.
	msg        []byte
	inMsg      bool // a fragmented message is open (RFC 6455 §5.4)
	op         Opcode
	compressed bool
	frames     int
	checked    int    // msg[:checked] is known to be valid UTF-8
	fstart     int    // start of the current frame's payload in msg (uncompressed)
	raw        []byte // the current compressed frame's payload, for OnFrame
	zbuf       []byte // scratch for compressed payload
}

// maxKeptBuffer is the largest message buffer kept between messages.
const maxKeptBuffer = 4 << 20

// zbufSize is the size of the chunks of compressed payload fed to the
// decompressor.
const zbufSize = 32 << 10

// Read returns the next data message (fragments assembled, inflated, text
// checked as valid UTF-8, size limit enforced) or the next control frame,
// whichever completes first. Control frames that arrive between the
// fragments of a message are returned in order and the partial message is
// kept for the next Read (RFC 6455 §5.4).
//
// Read does not answer pings or close frames: the caller decides. After a
// close frame, Read returns it as a Message of type OpClose and every
// further call returns io.EOF.
//
// Errors: a *ProtocolError when the peer broke RFC 6455 or RFC 7692 or a
// message exceeded the size limit; the caller should send a close frame
// with its Code and give up. UTF-8 is checked as data arrives, so an
// invalid text message fails as soon as the offending bytes are read, not
// at its end (RFC 6455 §8.1). io.EOF means the connection ended at a frame
// boundary outside a message; an error matching io.ErrUnexpectedEOF (use
// errors.Is) that it ended inside one. Other errors come from the
// underlying reader. Errors are final except timeouts (an error with a
// Timeout method returning true, such as os.ErrDeadlineExceeded): after
// one, Read may be called again and continues where it stopped.
//
// Message.Data is valid until the next call to Read.
func (c *Conn) Read() (Message, error) {
	r := &c.r
	if r.err != nil {
		return Message{}, r.err
	}
	if r.closeErr != nil {
		return Message{}, io.EOF
	}
	for {
		if !r.inFrame {
			if err := c.nextFrame(); err != nil {
				return Message{}, c.fail(err)
			}
		}
		if r.h.Op.IsControl() {
			m, err := c.readControl()
			if err != nil {
				return Message{}, c.fail(err)
			}
			return m, nil
		}
		var err error
		if r.compressed {
			err = c.readCompressed()
		} else {
			err = c.readPlain()
		}
		if err == nil && !r.h.Fin && !r.compressed {
			err = c.readBuffered()
		}
		if err != nil {
			return Message{}, c.fail(err)
		}
		if !r.h.Fin {
			continue
		}
		if r.op == OpText && r.checked != len(r.msg) {
			tail := r.msg[r.checked:]
			return Message{}, c.fail(&ProtocolError{Code: CloseInvalidPayload,
				Reason: fmt.Sprintf("text message ends inside a UTF-8 sequence %q at byte %d", tail, r.checked)})
		}
		return Message{Op: r.op, Data: r.msg, Compressed: r.compressed, Frames: r.frames}, nil
	}
}

// fail records err unless it is a timeout, after which reading can resume.
func (c *Conn) fail(err error) error {
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return err
	}
	c.r.err = err
	return err
}

// frameIn reports a received frame to OnFrame.
func (c *Conn) frameIn(h Header, payload []byte) {
	if c.onFrame != nil {
		c.onFrame(DirIn, h, payload)
	}
}

// nextFrame reads and checks the next frame header and prepares to read
// its payload.
func (c *Conn) nextFrame() error {
	r := &c.r
	h, err := ReadHeader(c.br)
	if err != nil {
		var pe *ProtocolError
		switch {
		case errors.As(err, &pe):
			return pe
		case err == io.EOF && !r.inMsg:
			return io.EOF
		case err == io.EOF:
			return fmt.Errorf("read frame header: connection ended inside a fragmented %v message: %w", r.op, io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("read frame header: %w", err)
	}
	if pe := CheckHeader(h, c.role, c.decomp != nil, r.inMsg); pe != nil {
		c.frameIn(h, nil)
		return pe
	}
	if h.Op.IsData() {
		if h.Op != OpContinuation {
			r.op, r.compressed, r.frames, r.checked = h.Op, h.Rsv1, 0, 0
			if cap(r.msg) > maxKeptBuffer {
				r.msg = nil
			}
			r.msg = r.msg[:0]
			if r.compressed {
				c.decomp.Begin()
			}
		}
		r.frames++
		if !r.compressed {
			if total := int64(len(r.msg)) + h.Length; total > c.maxSize || total < 0 {
				c.frameIn(h, nil)
				return &ProtocolError{Code: CloseMessageTooBig,
					Reason: fmt.Sprintf("%v message of at least %d bytes (frame %d declares %d) exceeds the limit of %d bytes",
						r.op, uint64(len(r.msg))+uint64(h.Length), r.frames, h.Length, c.maxSize)}
			}
		} else if lim := compressedFrameLimit(c.maxSize); h.Length > lim {
			c.frameIn(h, nil)
			return &ProtocolError{Code: CloseMessageTooBig,
				Reason: fmt.Sprintf("compressed frame of %d bytes is longer than any message within the limit of %d bytes can compress to",
					h.Length, c.maxSize)}
		}
		r.fstart = len(r.msg)
		r.raw = r.raw[:0]
		r.inMsg = !h.Fin
	} else {
		r.nctl = 0
	}
	r.h, r.inFrame, r.left, r.maskPos = h, true, h.Length, 0
	return nil
}

// compressedFrameLimit bounds the payload of one compressed frame for a
// message limit of max: deflate output never grows by more than a few
// bytes per 64 KiB of input (RFC 1951 §3.2.4 stored blocks), so the bound
// leaves ample room.
func compressedFrameLimit(max int64) int64 {
	if max > math.MaxInt64/2 {
		return math.MaxInt64
	}
	return max + max/8 + 1024
}

// readPayload reads up to len(p) bytes of the current frame's payload into
// p, unmasking them.
func (c *Conn) readPayload(p []byte) (int, error) {
	r := &c.r
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if r.h.Masked {
			r.maskPos = Mask(r.h.Mask, r.maskPos, p[:n])
		}
		r.left -= int64(n)
		err = nil
	} else if err == io.EOF || err == nil {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		err = fmt.Errorf("read %v frame payload: %d of %d bytes missing: %w", r.h.Op, r.left, r.h.Length, err)
	}
	return n, err
}

// readControl reads the payload of a control frame.
func (c *Conn) readControl() (Message, error) {
	r := &c.r
	for r.left > 0 {
		n, err := c.readPayload(r.ctl[r.nctl:r.h.Length])
		r.nctl += n
		if err != nil {
			return Message{}, err
		}
	}
	r.inFrame = false
	payload := r.ctl[:r.nctl]
	c.frameIn(r.h, payload)
	m := Message{Op: r.h.Op, Data: payload, Frames: 1}
	if m.Op == OpClose {
		code, has, reason, err := ParseClose(payload)
		if err != nil {
			return Message{}, err
		}
		m.CloseCode, m.HasCode, m.CloseReason = code, has, reason
		r.closeErr = &CloseError{Code: code, HasCode: has, Reason: reason}
	}
	return m, nil
}

// trustedLength is how much of a frame's declared length is believed
// before the data arrives.
const trustedLength = 1 << 20

// grow returns b with room for more bytes, for a frame with left bytes
// still to come, within a total capacity of limit. Up to trustedLength
// (1 MiB) the declared length is believed and the room made at once, so a
// typical message costs one allocation of its exact size and leaves no
// garbage behind (the buffer is reused for the next message). Beyond that,
// and for a message arriving in many small fragments, the capacity doubles
// as data actually arrives: a 4 MiB message in 64-byte fragments costs
// about a dozen allocations and two copies of its bytes, not one copy per
// fragment, and a length the peer merely claims never costs more than
// 1 MiB or twice what has arrived, nor more than limit.
func grow(b []byte, left, limit int64) []byte {
	n := max(int64(cap(b)), min(left, trustedLength), 4096)
	n = max(min(n, limit-int64(cap(b))), min(left, 1))
	nb := make([]byte, len(b), int64(cap(b))+n)
	copy(nb, b)
	return nb
}

// readPlain reads the rest of an uncompressed data frame into the message.
func (c *Conn) readPlain() error {
	r := &c.r
	for r.left > 0 {
		if len(r.msg) == cap(r.msg) {
			r.msg = grow(r.msg, r.left, c.maxSize)
		}
		l := len(r.msg)
		n, err := c.readPayload(r.msg[l:cap(r.msg)])
		r.msg = r.msg[:l+n]
		if r.op == OpText && n > 0 {
			if pe := r.checkUTF8(); pe != nil {
				c.frameIn(r.h, r.msg[r.fstart:])
				return pe
			}
		}
		if err != nil {
			return err
		}
	}
	r.inFrame = false
	c.frameIn(r.h, r.msg[r.fstart:])
	return nil
}

// readBuffered reads the continuation frames of the current uncompressed
// message that are already whole in the read buffer, in one pass over it:
// a message in many small fragments (Autobahn 9.3, 9.4) then costs a few
// nanoseconds per frame instead of a header read, a check and a payload
// read each. It takes only frames that need no judgement (a continuation
// frame with no reserved bits, masked as the role requires, with a
// minimal length of at most 64 KiB that keeps the message within the
// limit) and leaves anything else, and anything incomplete, to the
// general path, which applies every rule of RFC 6455 §5 and reports it.
// Each frame still goes to OnFrame and through the UTF-8 check in order.
func (c *Conn) readBuffered() error {
	r := &c.r
	buf, _ := c.br.Peek(c.br.Buffered())
	used := 0
	defer func() { c.br.Discard(used) }()
	wantMask := c.role == RoleServer
	for !r.h.Fin {
		p := buf[used:]
		if len(p) < 2 || p[0]&0x7f != 0 || (p[1]&0x80 != 0) != wantMask {
			return nil
		}
		l, hl := int(p[1]&0x7f), 2
		switch {
		case l == 127:
			return nil
		case l == 126:
			if len(p) < 4 {
				return nil
			}
			if l, hl = int(binary.BigEndian.Uint16(p[2:4])), 4; l < 126 {
				return nil
			}
		}
		h := Header{Fin: p[0]&0x80 != 0, Op: OpContinuation, Masked: wantMask, Length: int64(l)}
		if wantMask {
			if len(p) < hl+4 {
				return nil
			}
			copy(h.Mask[:], p[hl:hl+4])
			hl += 4
		}
		if len(p) < hl+l || int64(len(r.msg)+l) > c.maxSize {
			return nil
		}
		if cap(r.msg)-len(r.msg) < l {
			r.msg = grow(r.msg, int64(l), c.maxSize)
		}
		start := len(r.msg)
		r.msg = append(r.msg, p[hl:hl+l]...)
		if wantMask {
			Mask(h.Mask, 0, r.msg[start:])
		}
		used += hl + l
		r.h, r.fstart, r.inMsg = h, start, !h.Fin
		r.frames++
		if r.op == OpText && l > 0 {
			if pe := r.checkUTF8(); pe != nil {
				c.frameIn(h, r.msg[start:])
				return pe
			}
		}
		c.frameIn(h, r.msg[start:])
	}
	return nil
}

// readCompressed reads the rest of a compressed data frame and inflates it
// into the message chunk by chunk, so the size limit and UTF-8 checks
// apply as data arrives (RFC 7692 §7.2.2).
func (c *Conn) readCompressed() error {
	r := &c.r
	for {
		var chunk []byte
		if r.left > 0 {
			var n int
			var err error
			if c.onFrame != nil {
				// Keep the frame's payload for OnFrame.
				if len(r.raw) == cap(r.raw) {
					r.raw = grow(r.raw, r.left, int64(len(r.raw))+r.left)
				}
				l := len(r.raw)
				n, err = c.readPayload(r.raw[l:cap(r.raw)])
				r.raw = r.raw[:l+n]
				chunk = r.raw[l : l+n]
			} else {
				if r.zbuf == nil {
					r.zbuf = make([]byte, zbufSize)
				}
				n, err = c.readPayload(r.zbuf)
				chunk = r.zbuf[:n]
			}
			if err != nil {
				return err
			}
		}
		final := r.h.Fin && r.left == 0
		if len(chunk) > 0 || final {
			if err := c.inflate(chunk, final); err != nil {
				c.frameIn(r.h, r.raw)
				return err
			}
		}
		if r.left == 0 {
			break
		}
	}
	r.inFrame = false
	c.frameIn(r.h, r.raw)
	return nil
}

// checkUTF8 checks the bytes added to a text message since the last call.
// A sequence cut at the end of the data is accepted if it can still be
// completed, so a message fails at its first invalid byte, wherever the
// frame and read boundaries fall (RFC 6455 §8.1).
func (r *readState) checkUTF8() *ProtocolError {
	b := r.msg[r.checked:]
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		x := b[i]
		if x < 0x80 {
			break
		}
		if x >= 0xc0 {
			if i+seqLen(x) > len(b) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		i := 0
		for i < cut {
			ru, size := utf8.DecodeRune(b[i:cut])
			if ru == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return invalidUTF8(b[i:], r.checked+i)
	}
	if cut < len(b) && !validPrefix(b[cut:]) {
		return invalidUTF8(b[cut:], r.checked+cut)
	}
	r.checked += cut
	return nil
}

// invalidUTF8 reports the invalid sequence at the start of seq: its first
// byte and the continuation bytes after it, at most 4.
func invalidUTF8(seq []byte, at int) *ProtocolError {
	n := 1
	for n < len(seq) && n < 4 && !utf8.RuneStart(seq[n]) {
		n++
	}
	seq = seq[:min(n, len(seq))]
	return &ProtocolError{Code: CloseInvalidPayload,
		Reason: fmt.Sprintf("invalid UTF-8 %q at byte %d of a text message", seq, at)}
}

// seqLen returns the length of the UTF-8 sequence lead byte x announces.
func seqLen(x byte) int {
	switch {
	case x >= 0xf0:
		return 4
	case x >= 0xe0:
		return 3
	case x >= 0xc0:
		return 2
	}
	return 1
}

// validPrefix reports whether p, shorter than the sequence its first byte
// announces, can still be completed into a valid UTF-8 sequence (RFC 3629
// §4: no overlongs, no surrogates, nothing above U+10FFFF).
func validPrefix(p []byte) bool {
	lo, hi := byte(0x80), byte(0xbf)
	switch x := p[0]; {
	case x >= 0xc2 && x <= 0xdf:
	case x == 0xe0:
		lo = 0xa0
	case x >= 0xe1 && x <= 0xef:
		if x == 0xed {
			hi = 0x9f
		}
	case x == 0xf0:
		lo = 0x90
	case x >= 0xf1 && x <= 0xf3:
	case x == 0xf4:
		hi = 0x8f
	default:
		return false
	}
	if len(p) > 1 && (p[1] < lo || p[1] > hi) {
		return false
	}
	if len(p) > 2 && (p[2] < 0x80 || p[2] > 0xbf) {
		return false
	}
	return true
}
