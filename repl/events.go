package repl

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// This file formats each kind of event, as text or as an NDJSON line
// (SPEC §3.2), into the printer's pending buffer.

// appendStamp appends the text-mode timestamp prefix (--timestamps).
func (p *Printer) appendStamp(b []byte) []byte {
	if !p.cfg.Timestamps {
		return b
	}
	b = p.now().AppendFormat(b, "15:04:05.000000")
	return append(b, ' ')
}

// Message prints a data message (text or binary) received (DirIn) or sent
// (DirOut). m.Data is not retained.
func (p *Printer) Message(dir wire.Direction, m wire.Message) {
	if p.cfg.HideData {
		return
	}
	if p.cfg.JSON {
		p.event(streamOut, func(b []byte) []byte { return p.appendJSONMessage(b, dir, m) })
		return
	}
	if dir == wire.DirOut && !p.cfg.ShowSent {
		if p.cfg.LogSent {
			p.event(streamLog, func(b []byte) []byte { return appendShortMessage(p.appendStamp(b), p, dir, m, false) })
		}
		return
	}
	mark := p.inMark
	if dir == wire.DirOut {
		mark = p.outMark
	}
	if len(m.Data) >= directSize && (m.Op == wire.OpText && !p.cfg.Escape || m.Op == wire.OpBinary && p.cfg.Binary == BinaryRaw) {
		tail := ""
		if m.Op == wire.OpText {
			tail = "\n"
		}
		p.eventDirect(streamOut, func(b []byte) []byte { return append(p.appendStamp(b), mark...) }, m.Data, tail)
		return
	}
	p.event(streamOut, func(b []byte) []byte {
		b = append(p.appendStamp(b), mark...)
		if m.Op == wire.OpText {
			if p.cfg.Escape {
				b = handshake.AppendEscaped(b, m.Data)
			} else {
				b = append(b, m.Data...)
			}
			return append(b, '\n')
		}
		switch p.cfg.Binary {
		case BinaryRaw:
			return append(b, m.Data...)
		case BinaryBase64:
			b = base64.StdEncoding.AppendEncode(b, m.Data)
			return append(b, '\n')
		}
		b = append(b, "binary, "...)
		b = strconv.AppendInt(b, int64(len(m.Data)), 10)
		b = append(b, " bytes\n"...)
		return appendHexDump(b, m.Data)
	})
}

// Control prints a ping or pong frame.
func (p *Printer) Control(dir wire.Direction, op wire.Opcode, payload []byte) {
	if p.cfg.JSON {
		p.event(streamOut, func(b []byte) []byte {
			b = p.appendEventStart(b, op.String())
			b = append(b, `"dir":"`...)
			b = append(b, p.dirName(dir)...)
			b = append(b, `","data":"`...)
			b = base64.StdEncoding.AppendEncode(b, payload)
			b = append(b, '"')
			return p.appendTime(b)
		})
		return
	}
	p.event(streamLog, func(b []byte) []byte {
		b = p.appendStamp(b)
		b = append(b, p.paint(KindControl, arrow(dir)+" "+op.String())...)
		if len(payload) > 0 {
			b = append(b, " \""...)
			b = handshake.AppendEscaped(b, payload)
			b = append(b, '"')
		}
		return append(b, '\n')
	})
}

// CloseFrame prints a close frame; hasCode is false for an empty payload.
func (p *Printer) CloseFrame(dir wire.Direction, code wire.CloseCode, hasCode bool, reason string) {
	if p.cfg.JSON {
		p.event(streamOut, func(b []byte) []byte {
			b = p.appendEventStart(b, "close")
			b = append(b, `"dir":"`...)
			b = append(b, p.dirName(dir)...)
			b = append(b, `","code":`...)
			if hasCode {
				b = strconv.AppendUint(b, uint64(code), 10)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, `,"reason":`...)
			b = appendJSONString(b, []byte(reason))
			return p.appendTime(b)
		})
		return
	}
	p.event(streamLog, func(b []byte) []byte {
		b = p.appendStamp(b)
		s := arrow(dir) + " close "
		if hasCode {
			s += code.String()
		} else {
			s += "(no status code)"
		}
		b = append(b, p.paint(KindClose, s)...)
		if reason != "" {
			b = append(b, " \""...)
			b = handshake.AppendEscaped(b, []byte(reason))
			b = append(b, '"')
		}
		return append(b, '\n')
	})
}

// Frame prints one frame header for -v; payload is the frame's payload as
// on the wire (unmasked).
func (p *Printer) Frame(dir wire.Direction, h wire.Header, payload []byte) {
	if !p.verbose.Load() {
		return
	}
	if p.cfg.JSON {
		p.event(streamOut, func(b []byte) []byte {
			b = p.appendEventStart(b, "frame")
			b = append(b, `"dir":"`...)
			b = append(b, p.dirName(dir)...)
			b = append(b, `","fin":`...)
			b = strconv.AppendBool(b, h.Fin)
			b = append(b, `,"rsv1":`...)
			b = strconv.AppendBool(b, h.Rsv1)
			b = append(b, `,"rsv2":`...)
			b = strconv.AppendBool(b, h.Rsv2)
			b = append(b, `,"rsv3":`...)
			b = strconv.AppendBool(b, h.Rsv3)
			b = append(b, `,"opcode":`...)
			b = strconv.AppendUint(b, uint64(h.Op), 10)
			b = append(b, `,"masked":`...)
			b = strconv.AppendBool(b, h.Masked)
			b = append(b, `,"length":`...)
			b = strconv.AppendInt(b, h.Length, 10)
			return p.appendTime(b)
		})
		return
	}
	p.event(streamLog, func(b []byte) []byte {
		b = p.appendStamp(b)
		b = append(b, p.paint(KindFrame, arrow(dir)+" frame "+h.String())...)
		if h.Rsv1 && (h.Op == wire.OpText || h.Op == wire.OpBinary) {
			b = append(b, " compressed"...)
		}
		return append(b, '\n')
	})
}

// Note prints one of wsdbg's own notes ("* text") in text mode; JSON mode
// drops it.
func (p *Printer) Note(text string) {
	if p.cfg.JSON {
		return
	}
	p.event(streamLog, func(b []byte) []byte {
		b = p.appendStamp(b)
		b = append(b, p.paint(KindNote, "* "+text)...)
		return append(b, '\n')
	})
}

// Error prints an error sentence on the error stream, prefixed with
// "wsdbg: ", and in JSON mode an error event with exitCode on Out.
func (p *Printer) Error(msg string, exitCode int) {
	p.event(streamErr, func(b []byte) []byte {
		b = append(b, p.paint(KindError, "wsdbg: "+msg)...)
		return append(b, '\n')
	})
	if !p.cfg.JSON {
		return
	}
	p.event(streamOut, func(b []byte) []byte {
		b = p.appendEventStart(b, "error")
		b = append(b, `"message":`...)
		b = appendJSONString(b, []byte(msg))
		b = append(b, `,"exit_code":`...)
		b = strconv.AppendInt(b, int64(exitCode), 10)
		return append(b, "}\n"...)
	})
}

// Handshake prints the NDJSON handshake event; doc is the inspect
// document (SPEC §3.1). In text mode it does nothing: the transcript is
// printed by the caller.
func (p *Printer) Handshake(doc any) error {
	if !p.cfg.JSON || !p.wants(streamOut) {
		return nil
	}
	data, err := json.Marshal(struct {
		Event     string `json:"event"`
		Handshake any    `json:"handshake"`
	}{"handshake", doc})
	if err != nil {
		return fmt.Errorf("encode handshake event: %w", err)
	}
	p.event(streamOut, func(b []byte) []byte {
		b = append(b, data...)
		return append(b, '\n')
	})
	return nil
}

// appendEventStart opens an NDJSON event: its name, then
// PrinterConfig.JSONFields, ready for the next member.
func (p *Printer) appendEventStart(b []byte, name string) []byte {
	b = append(b, `{"event":"`...)
	b = append(b, name...)
	b = append(b, `",`...)
	return append(b, p.cfg.JSONFields...)
}

// dirName is the "dir" value of an NDJSON event: PrinterConfig.DirNames
// when set, else "in" or "out".
func (p *Printer) dirName(dir wire.Direction) string {
	if int(dir) < len(p.cfg.DirNames) && p.cfg.DirNames[dir] != "" {
		return p.cfg.DirNames[dir]
	}
	return dir.String()
}

// Block prints a block that the caller formatted whole: text (whole lines,
// already escaped and painted) on the log in text mode, or jsonLine (one
// NDJSON event, newline included) on Out in JSON mode. Either may be nil.
// It keeps the caller's lines in order with the other events, which a
// direct write to the same stream would not.
func (p *Printer) Block(text, jsonLine []byte) {
	stream, data := streamLog, text
	if p.cfg.JSON {
		stream, data = streamOut, jsonLine
	}
	if len(data) == 0 {
		return
	}
	p.event(stream, func(b []byte) []byte {
		if stream == streamLog {
			b = p.appendStamp(b)
		}
		return append(b, data...)
	})
}

func arrow(dir wire.Direction) string {
	if dir == wire.DirOut {
		return ">"
	}
	return "<"
}

// appendJSONMessage appends a message event.
func (p *Printer) appendJSONMessage(b []byte, dir wire.Direction, m wire.Message) []byte {
	b = p.appendEventStart(b, "message")
	b = append(b, `"dir":"`...)
	b = append(b, p.dirName(dir)...)
	if m.Op == wire.OpText {
		b = append(b, `","type":"text","data":`...)
		b = appendJSONString(b, m.Data)
	} else {
		b = append(b, `","type":"binary","data":"`...)
		b = base64.StdEncoding.AppendEncode(b, m.Data)
		b = append(b, '"')
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(len(m.Data)), 10)
	b = append(b, `,"compressed":`...)
	b = strconv.AppendBool(b, m.Compressed)
	b = append(b, `,"frames":`...)
	frames := m.Frames
	if frames < 1 {
		frames = 1
	}
	b = strconv.AppendInt(b, int64(frames), 10)
	return p.appendTime(b)
}

// appendTime ends an NDJSON event with its "time" field (RFC 3339 with
// nanoseconds, SPEC §3.2) and the newline.
func (p *Printer) appendTime(b []byte) []byte {
	b = append(b, `,"time":"`...)
	b = p.now().AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does (without its HTML escaping); invalid UTF-8 becomes U+FFFD.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendHexDump appends a dump in the layout of hexdump -C: offset, 16
// bytes in two groups of 8, and the printable ASCII between bars.
func appendHexDump(b, data []byte) []byte {
	for off := 0; off < len(data); off += 16 {
		line := data[off:min(off+16, len(data))]
		for shift := 28; shift >= 0; shift -= 4 {
			b = append(b, hexDigits[(off>>shift)&0xf])
		}
		b = append(b, ' ', ' ')
		for i := range 16 {
			if i == 8 {
				b = append(b, ' ')
			}
			if i < len(line) {
				b = append(b, hexDigits[line[i]>>4], hexDigits[line[i]&0xf], ' ')
			} else {
				b = append(b, ' ', ' ', ' ')
			}
		}
		b = append(b, " |"...)
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b = append(b, c)
		}
		b = append(b, "|\n"...)
	}
	return b
}

// plural returns "1 message" or "2 messages".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
}
