package proxy

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/wire"
)

// message assembles one direction's current message for display, for the
// UTF-8 check and for --har: a copy of the payload, unmasked, inflated
// when it was compressed. The relayed bytes are never touched.
type message struct {
	open       bool // a fragmented data message is in progress
	op         wire.Opcode
	compressed bool
	frames     int
	size       int64 // payload bytes of the message so far, on the wire
	data       []byte
	over       bool // larger than the display limit: shown by size only
	text       utf8Check
	ctl        []byte // the current control frame's payload

	dec   *wire.Decompressor // nil without permessage-deflate
	lost  bool               // the inflate context was lost (a message too large or corrupt)
	plain []byte             // inflated message
}

// begin starts a frame.
func (m *message) begin(r *relay, h wire.Header) {
	if h.Op.IsControl() {
		m.ctl = m.ctl[:0]
		return
	}
	if h.Op == wire.OpContinuation && m.open {
		m.frames++
		return
	}
	// A data frame starts a message (a continuation without one is
	// treated as a binary message, to be shown anyway).
	m.open = true
	m.op = h.Op
	if m.op == wire.OpContinuation {
		m.op = wire.OpBinary
	}
	m.compressed = h.Rsv1 && r.rsv1OK
	m.frames = 1
	m.size = 0
	m.over = false
	m.text = utf8Check{}
	if cap(m.data) > 1<<20 {
		m.data = nil
	}
	m.data = m.data[:0]
}

// payload takes the next bytes of the current frame, as on the wire; pos
// is their offset in the frame's payload. false stops the relay.
func (m *message) payload(r *relay, h wire.Header, b []byte, pos int) bool {
	if h.Op.IsControl() {
		if room := wire.MaxControlPayload - len(m.ctl); room > 0 {
			start := len(m.ctl)
			m.ctl = append(m.ctl, b[:min(room, len(b))]...)
			if h.Masked {
				wire.Mask(h.Mask, pos, m.ctl[start:])
			}
		}
		return true
	}
	m.size += int64(len(b))
	if !r.keep {
		return true
	}
	limit := r.p.s.opts.MaxMessageSize
	if m.compressed {
		limit += limit/8 + 1024 // compressed bytes that may inflate to the limit
	}
	if m.over || int64(len(m.data))+int64(len(b)) > limit {
		m.over = true
		if !m.compressed && m.op == wire.OpText {
			// Keep checking UTF-8 without keeping the bytes.
			var tmp [4096]byte
			for len(b) > 0 {
				n := copy(tmp[:], b)
				if h.Masked {
					pos = wire.Mask(h.Mask, pos, tmp[:n])
				}
				m.text.feed(tmp[:n])
				b = b[n:]
			}
		}
		return true
	}
	start := len(m.data)
	m.data = append(m.data, b...)
	if h.Masked {
		wire.Mask(h.Mask, pos, m.data[start:])
	}
	if !m.compressed && m.op == wire.OpText {
		if m.text.feed(m.data[start:]); m.text.bad && r.p.s.opts.Strict && !r.injected {
			r.violation(invalidText(r.side), false)
		}
	}
	return true
}

func invalidText(side string) *wire.ProtocolError {
	return &wire.ProtocolError{Code: wire.CloseInvalidPayload, Reason: fmt.Sprintf("text message from the %s is not valid UTF-8 (RFC 6455 §8.1)", side)}
}

// end finishes a frame: prints control frames, and data messages on their
// last frame. false stops the relay.
func (m *message) end(r *relay, h wire.Header) bool {
	if h.Op.IsControl() {
		return m.control(r, h)
	}
	if !h.Fin {
		return true
	}
	m.open = false
	r.messages++
	if !r.keep {
		return true
	}
	data, shown := m.data, true
	switch {
	case m.over:
		data, shown = nil, false
		if m.compressed && m.dec != nil {
			m.lost = true
		}
	case m.compressed && (m.dec == nil || m.lost):
		data, shown = nil, false
	case m.compressed:
		m.dec.Begin()
		out, err := m.dec.Append(m.plain[:0], m.data, true, r.p.s.opts.MaxMessageSize)
		m.plain = out[:0]
		if cap(m.plain) > 1<<20 {
			m.plain = nil
		}
		switch {
		case errors.Is(err, wire.ErrMessageTooBig):
			m.over, m.lost, data, shown = true, true, nil, false
		case err != nil:
			m.lost, data, shown = true, nil, false
			if !r.injected {
				r.violation(&wire.ProtocolError{Code: wire.CloseProtocolError, Reason: fmt.Sprintf("compressed message from the %s does not inflate: %v (RFC 7692 §7.2.2)", r.side, err)}, false)
			}
		default:
			data = out
			if m.op == wire.OpText {
				m.text.feed(data)
			}
		}
	}
	if m.op == wire.OpText && !r.injected && (m.text.bad || !m.text.done()) && (shown || !m.compressed) {
		if !r.p.s.opts.Strict || !m.text.reported {
			m.text.reported = true
			r.violation(invalidText(r.side), false)
		}
	}
	if r.injected && r.p.s.opts.Strict {
		return true
	}
	if !shown {
		if r.printer != nil {
			why := "above --max-message-size"
			if m.compressed && !m.over {
				why = "not inflated: the compression context was lost earlier"
			}
			r.printer.Note(fmt.Sprintf("%s sent a %v message of %d bytes in %d frames (not shown: %s)", r.side, m.op, m.size, m.frames, why))
		}
		return true
	}
	msg := wire.Message{Op: m.op, Data: data, Compressed: m.compressed, Frames: m.frames}
	if r.printer != nil {
		r.printer.Message(r.dir, msg)
	}
	if r.p.entry != nil {
		r.p.entry.Message(r.side == sideClient, r.p.s.opts.now(), byte(m.op), data)
	}
	return true
}

// control prints a ping, pong or close frame and checks a close payload.
func (m *message) control(r *relay, h wire.Header) bool {
	pl := m.ctl
	switch h.Op {
	case wire.OpPing, wire.OpPong:
		if r.printer != nil {
			r.printer.Control(r.dir, h.Op, pl)
		}
	case wire.OpClose:
		code, has, reason := closePayload(pl)
		if r.printer != nil {
			r.printer.CloseFrame(r.dir, code, has, reason)
		}
		if r.injected {
			return true
		}
		if _, _, _, err := wire.ParseClose(pl); err != nil {
			var pe *wire.ProtocolError
			if errors.As(err, &pe) {
				r.violation(pe, false)
			}
		}
		if !r.closeSent {
			r.closeSent = true
			r.closeCode, r.closeHas, r.closeReason = code, has, reason
			r.p.sawClose(r.side)
		}
	}
	return true
}

// utf8Check validates text that arrives in pieces (RFC 6455 §8.1): a
// sequence cut between pieces is carried over.
type utf8Check struct {
	carry    [utf8.UTFMax]byte
	n        int
	bad      bool
	reported bool
}

func (u *utf8Check) feed(p []byte) {
	for u.n > 0 && len(p) > 0 && !u.bad {
		u.carry[u.n] = p[0]
		u.n++
		p = p[1:]
		if utf8.FullRune(u.carry[:u.n]) {
			r, size := utf8.DecodeRune(u.carry[:u.n])
			if r == utf8.RuneError && size <= 1 || size != u.n {
				u.bad = true
			}
			u.n = 0
		}
	}
	if u.bad || len(p) == 0 {
		return
	}
	tail := 0
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				tail = len(p) - i
			}
			break
		}
	}
	if !utf8.Valid(p[:len(p)-tail]) {
		u.bad = true
		return
	}
	u.n = copy(u.carry[:], p[len(p)-tail:])
}

// done reports whether the text ended on a whole character.
func (u *utf8Check) done() bool { return !u.bad && u.n == 0 }
