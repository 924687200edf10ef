package repl

import (
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// How much of a data message the REPL shows. A longer message is cut and
// the line says how long it was; /save writes the last incoming one whole.
const (
	shownText   = 4 << 10
	shownBinary = 1 << 10
)

// This file holds what the REPL needs from the Printer and the Session
// beyond their exported methods: sending every stream to the screen,
// printing data messages shortened, and sending a close payload exactly
// as typed.

// attach points every stream of p at w and has data messages left to the
// REPL (HideData), which prints them shortened with printMessage. It must
// be called before the session starts. The returned function undoes it
// after writing what is pending.
func (p *Printer) attach(w io.Writer) (detach func()) {
	_ = p.Sync()
	p.mu.Lock()
	for p.busy {
		p.cond.Wait()
	}
	oldStreams, oldHide := p.streams, p.cfg.HideData
	p.streams = [3]io.Writer{w, w, w}
	p.cfg.HideData = true
	p.mu.Unlock()
	return func() {
		_ = p.Sync()
		p.mu.Lock()
		for p.busy {
			p.cond.Wait()
		}
		p.streams, p.cfg.HideData = oldStreams, oldHide
		p.mu.Unlock()
	}
}

// printMessage prints a data message the REPL way (SPEC §5): "< " or "> ",
// then text escaped (control bytes, ESC, C1 and invalid UTF-8 as \xNN) or
// binary as a hex dump, at most shownText or shownBinary bytes of it.
func (p *Printer) printMessage(dir wire.Direction, m wire.Message) {
	p.event(streamOut, func(b []byte) []byte { return appendShortMessage(p.appendStamp(b), p, dir, m, true) })
}

// appendShortMessage appends the REPL's line for m (see printMessage); a
// binary message gets its hex dump only with dump.
func appendShortMessage(b []byte, p *Printer, dir wire.Direction, m wire.Message, dump bool) []byte {
	mark := "< "
	if dir == wire.DirOut {
		mark = "> "
	}
	kind := KindIn
	if dir == wire.DirOut {
		kind = KindOut
	}
	b = append(b, p.paint(kind, mark)...)
	data := m.Data
	limit := shownBinary
	if m.Op == wire.OpText {
		limit = shownText
	}
	cut := len(data) > limit
	if cut {
		if m.Op == wire.OpText {
			// Cut on a rune boundary so the end is not shown as \xNN.
			for i := 0; i < utf8.UTFMax-1 && limit > 0 && !utf8.RuneStart(data[limit]); i++ {
				limit--
			}
		}
		data = data[:limit]
	}
	if m.Op == wire.OpText {
		b = handshake.AppendEscaped(b, data)
		if cut {
			b = appendCutNote(b, dir, len(m.Data))
		}
		return append(b, '\n')
	}
	b = append(b, "binary, "...)
	b = strconv.AppendInt(b, int64(len(m.Data)), 10)
	b = append(b, " bytes"...)
	if m.Frames > 1 {
		b = append(b, " in "...)
		b = strconv.AppendInt(b, int64(m.Frames), 10)
		b = append(b, " frames"...)
	}
	b = append(b, '\n')
	if !dump {
		return b
	}
	b = appendHexDump(b, data)
	if cut {
		b = appendCutNote(b, dir, len(m.Data))
		b = append(b, '\n')
	}
	return b
}

// appendCutNote says how long a shortened message was.
func appendCutNote(b []byte, dir wire.Direction, n int) []byte {
	b = append(b, "… ("...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " bytes"...)
	if dir == wire.DirIn {
		b = append(b, "; /save FILE writes the last message whole"...)
	}
	return append(b, ')')
}

// printRaw shows bytes written by /raw, which no frame line describes.
func (p *Printer) printRaw(raw []byte) {
	p.event(streamOut, func(b []byte) []byte {
		b = p.appendStamp(b)
		b = append(b, p.paint(KindOut, "> raw")...)
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(len(raw)), 10)
		b = append(b, " bytes written as they are\n"...)
		data := raw
		if len(data) > shownBinary {
			data = data[:shownBinary]
		}
		b = appendHexDump(b, data)
		if len(raw) > len(data) {
			b = appendCutNote(b, wire.DirOut, len(raw))
			b = append(b, '\n')
		}
		return b
	})
}

// printText prints lines of the REPL's own (help, warnings) as they are,
// painted as kind.
func (p *Printer) printText(kind Kind, text string) {
	p.event(streamOut, func(b []byte) []byte {
		b = append(b, p.paint(kind, text)...)
		if len(text) == 0 || text[len(text)-1] != '\n' {
			b = append(b, '\n')
		}
		return b
	})
}

// closePayload starts the closing handshake with a close frame whose
// payload is given as is (the REPL's /close with a code 0, or a reason too
// long for Session.Close, which would shorten it). Like Session.Close it
// bounds the wait for the peer's close with the close timeout. A second
// close frame is sent if asked for: this is a debugger.
func (s *Session) closePayload(payload []byte, code wire.CloseCode, reason string) error {
	if len(payload) >= 2 {
		s.startClose(code)
	} else {
		s.markCloseSent()
	}
	s.lockWrite()
	s.queued.Store(false)
	err := s.conn.Err()
	if err == nil {
		s.p.CloseFrame(wire.DirOut, code, len(payload) >= 2, reason)
		err = s.conn.WriteControl(wire.OpClose, payload)
	}
	s.unlockWrite()
	if err != nil {
		_ = s.nc.SetReadDeadline(time.Now())
		return s.writeErr(err)
	}
	_ = s.nc.SetReadDeadline(time.Now().Add(s.cfg.CloseTimeout))
	return nil
}

// closeSentAlready reports whether a close frame went out.
func (s *Session) closeSentAlready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeSent
}

// startedAlready reports whether Start was called.
func (s *Session) startedAlready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// onMessage adds f before the session's OnMessage callback; it must be
// called before Start.
func (s *Session) onMessage(f func(m wire.Message)) {
	next := s.cfg.OnMessage
	s.cfg.OnMessage = func(m wire.Message) {
		f(m)
		if next != nil {
			next(m)
		}
	}
}
