package repl

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// BinaryFormat says how received binary messages are printed in text mode.
type BinaryFormat uint8

// Binary formats for --binary-out.
const (
	BinaryRaw    BinaryFormat = iota // the bytes as they are, no separator
	BinaryHex                        // a hex dump with offsets and an ASCII column
	BinaryBase64                     // one base64 line per message
)

// String returns the --binary-out name of f.
func (f BinaryFormat) String() string {
	switch f {
	case BinaryRaw:
		return "raw"
	case BinaryHex:
		return "hex"
	case BinaryBase64:
		return "base64"
	}
	return "binary-format(" + strconv.Itoa(int(f)) + ")"
}

// ParseBinaryFormat parses a --binary-out value: raw, hex or base64.
func ParseBinaryFormat(s string) (BinaryFormat, error) {
	switch s {
	case "raw":
		return BinaryRaw, nil
	case "hex":
		return BinaryHex, nil
	case "base64":
		return BinaryBase64, nil
	}
	return 0, fmt.Errorf("unknown binary output format %q; use raw, hex or base64", s)
}

// Kind classifies the parts of printed output, for coloring.
type Kind uint8

// Kinds passed to PrinterConfig.Paint.
const (
	KindIn      Kind = iota // the marker of a received data message
	KindOut                 // the marker of a sent data message
	KindControl             // a ping or pong line
	KindClose               // a close line
	KindFrame               // a -v frame line
	KindError               // an error sentence
	KindNote                // wsdbg's own notes ("* ...")
)

// PrinterConfig configures a Printer.
type PrinterConfig struct {
	// Out receives data messages and, in JSON mode, every event.
	Out io.Writer
	// Log receives the text-mode lines for control frames, close frames,
	// -v frame lines and notes; nil drops them (--quiet). It may be the
	// same writer as Out (the REPL): events then keep their order.
	Log io.Writer
	// Err receives error sentences; nil means Log, or Out when Log is nil
	// too. Errors are printed even when Log is nil.
	Err io.Writer

	// JSON makes every event one NDJSON line on Out (SPEC §3.2).
	JSON bool
	// Escape shows received text with control bytes, ESC, C1 and invalid
	// UTF-8 as \xNN; set it when Out is a terminal (SPEC §2).
	Escape bool
	// Binary selects how binary messages are printed in text mode.
	Binary BinaryFormat
	// Timestamps prefixes every text-mode line with the time of day.
	Timestamps bool
	// Verbose prints a line per frame (see Session); without it Frame is
	// a no-op.
	Verbose bool
	// InMarker and OutMarker prefix data messages in text mode: "" for
	// scripts, "< " and "> " for the REPL (SPEC §5).
	InMarker, OutMarker string
	// ShowSent prints data messages we send in text mode. In JSON mode
	// they are always printed.
	ShowSent bool
	// HideData suppresses data message events (echo mode without -v).
	HideData bool
	// Paint colors a piece of output; nil leaves it plain. It is applied
	// to markers once and to notes, never to payloads.
	Paint func(k Kind, s string) string
	// Now is the clock for timestamps and JSON times; nil means time.Now.
	Now func() time.Time
	// MaxPending bounds the bytes formatted but not yet written before a
	// caller waits; 0 means 256 KiB. A single event is never split.
	MaxPending int
}

// Printer formats session events and writes them. Events are formatted
// whole, in the caller's goroutine, into a reused buffer, so the payload of
// a wire.Message may be reused as soon as the call returns. One goroutine
// owns the writers: it writes batches of whole events, so a burst of
// messages costs one write per batch rather than one per message, and no
// event is ever split across writes. Call Flush when no more events are
// coming for a while, and Close at the end.
//
// Printer methods are safe for concurrent use.
type Printer struct {
	cfg     PrinterConfig
	streams [3]io.Writer // out, log, err after merging identical writers
	now     func() time.Time
	inMark  string
	outMark string
	maxPend int
	verbose atomic.Bool

	mu      sync.Mutex
	cond    *sync.Cond // signals batch taken / written
	pending []byte
	segs    []segment
	spare   []byte
	spareS  []segment
	taken   uint64 // batches taken by the writer goroutine
	written uint64 // batches written
	busy    bool   // the writer goroutine holds a batch
	closed  bool
	err     error // first write error

	kick chan struct{}
	done chan struct{}
}

// defaultMaxPending is the default PrinterConfig.MaxPending: batches of
// this size already make the cost of a write negligible.
const defaultMaxPending = 256 << 10

// segment is a run of pending bytes for one stream, followed by ext, a
// payload written in place rather than copied (see appendDirect).
type segment struct {
	stream int
	end    int
	ext    []byte
}

// directSize is the payload size from which raw output is written from
// the caller's buffer instead of being copied into the pending buffer.
const directSize = 64 << 10

const (
	streamOut = iota
	streamLog
	streamErr
)

// NewPrinter starts a Printer. Close stops it.
func NewPrinter(cfg PrinterConfig) *Printer {
	p := &Printer{cfg: cfg, now: cfg.Now, maxPend: cfg.MaxPending}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxPend <= 0 {
		p.maxPend = defaultMaxPending
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
		p.cfg.Out = io.Discard
	}
	p.streams[streamOut] = cfg.Out
	p.streams[streamLog] = cfg.Log
	if cfg.Log != nil && sameWriter(cfg.Log, cfg.Out) {
		p.streams[streamLog] = cfg.Out
	}
	errW := cfg.Err
	if errW == nil {
		errW = cfg.Log
	}
	if errW == nil {
		errW = cfg.Out
	}
	p.streams[streamErr] = errW
	p.inMark = p.paint(KindIn, cfg.InMarker)
	p.outMark = p.paint(KindOut, cfg.OutMarker)
	p.verbose.Store(cfg.Verbose)
	p.cond = sync.NewCond(&p.mu)
	p.kick = make(chan struct{}, 1)
	p.done = make(chan struct{})
	p.pending = make([]byte, 0, p.maxPend+4<<10)
	p.spare = make([]byte, 0, p.maxPend+4<<10)
	go p.run()
	return p
}

// sameWriter reports whether a and b are the same writer; writers of
// non-comparable types are taken to differ.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

func (p *Printer) paint(k Kind, s string) string {
	if p.cfg.Paint == nil || s == "" {
		return s
	}
	return p.cfg.Paint(k, s)
}

// JSON reports whether the printer writes NDJSON events.
func (p *Printer) JSON() bool { return p.cfg.JSON }

// SetVerbose turns frame lines on or off (the REPL's /verbose).
func (p *Printer) SetVerbose(on bool) { p.verbose.Store(on) }

// Verbose reports whether frame lines are printed.
func (p *Printer) Verbose() bool { return p.verbose.Load() }

// begin locks the printer for one event on stream and returns the pending
// buffer to append to, or nil when the stream is dropped. The caller must
// call end.
func (p *Printer) begin(stream int) ([]byte, bool) {
	p.mu.Lock()
	if p.closed || p.streams[stream] == nil {
		p.mu.Unlock()
		return nil, false
	}
	for len(p.pending) >= p.maxPend && !p.closed {
		p.signal()
		p.cond.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return nil, false
	}
	return p.pending, true
}

// end records the event appended to b for stream and unlocks.
func (p *Printer) end(stream int, b []byte) {
	p.pending = b
	if n := len(p.segs); n > 0 && p.segs[n-1].stream == stream && p.segs[n-1].ext == nil {
		p.segs[n-1].end = len(b)
	} else {
		p.segs = append(p.segs, segment{stream: stream, end: len(b)})
	}
	big := len(b) >= 32<<10
	p.mu.Unlock()
	if big {
		p.signal()
	}
}

// signal wakes the writer goroutine without blocking.
func (p *Printer) signal() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Flush asks for everything printed so far to be written soon, without
// waiting. Producers call it before they block (waiting for the network,
// for stdin, for the user).
func (p *Printer) Flush() { p.signal() }

// Sync writes everything printed so far and waits until it is written.
func (p *Printer) Sync() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) > 0 || len(p.segs) > 0 {
		target := p.taken + 1
		for p.written < target && !p.stopped() {
			p.signal()
			p.cond.Wait()
		}
	} else {
		for p.busy && !p.stopped() {
			p.cond.Wait()
		}
	}
	return p.err
}

func (p *Printer) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Close writes everything printed so far, stops the printer and returns
// the first write error. Events printed after Close are dropped.
func (p *Printer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return p.err
	}
	p.closed = true
	p.mu.Unlock()
	p.signal()
	<-p.done
	return p.err
}

// run is the writer goroutine.
func (p *Printer) run() {
	defer close(p.done)
	defer p.cond.Broadcast()
	for {
		<-p.kick
		for {
			p.mu.Lock()
			if len(p.pending) == 0 && len(p.segs) == 0 {
				closed := p.closed
				p.mu.Unlock()
				if closed {
					return
				}
				break
			}
			buf, segs := p.pending, p.segs
			p.pending, p.segs = p.spare[:0], p.spareS[:0]
			p.taken++
			p.busy = true
			p.cond.Broadcast()
			p.mu.Unlock()

			err := p.write(buf, segs)

			p.mu.Lock()
			if err != nil && p.err == nil {
				p.err = err
			}
			if cap(buf) <= 2*p.maxPend {
				p.spare = buf[:0]
			} else {
				// A huge event grew it: let it go.
				p.spare = make([]byte, 0, p.maxPend+4<<10)
			}
			p.spareS = segs[:0]
			p.written++
			p.busy = false
			p.cond.Broadcast()
			p.mu.Unlock()
		}
	}
}

func (p *Printer) write(buf []byte, segs []segment) error {
	var first error
	start := 0
	for _, s := range segs {
		if s.end > start {
			if _, err := p.streams[s.stream].Write(buf[start:s.end]); err != nil && first == nil {
				first = fmt.Errorf("write output: %w", err)
			}
		}
		start = s.end
		if len(s.ext) > 0 {
			if _, err := p.streams[s.stream].Write(s.ext); err != nil && first == nil {
				first = fmt.Errorf("write output: %w", err)
			}
		}
	}
	return first
}

// appendTime appends the text-mode timestamp prefix.
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
		b, ok := p.begin(streamOut)
		if !ok {
			return
		}
		b = p.appendJSONMessage(b, dir, m)
		p.end(streamOut, b)
		return
	}
	if dir == wire.DirOut && !p.cfg.ShowSent {
		return
	}
	b, ok := p.begin(streamOut)
	if !ok {
		return
	}
	mark := p.inMark
	if dir == wire.DirOut {
		mark = p.outMark
	}
	b = p.appendStamp(b)
	b = append(b, mark...)
	direct := len(m.Data) >= directSize && (m.Op == wire.OpText && !p.cfg.Escape || m.Op == wire.OpBinary && p.cfg.Binary == BinaryRaw)
	if direct {
		b = p.appendDirect(streamOut, b, m.Data)
		if m.Op == wire.OpText {
			b, _ = p.begin(streamOut)
			b = append(b, '\n')
			p.end(streamOut, b)
		}
		return
	}
	if m.Op == wire.OpText {
		if p.cfg.Escape {
			b = handshake.AppendEscaped(b, m.Data)
		} else {
			b = append(b, m.Data...)
		}
		b = append(b, '\n')
	} else {
		switch p.cfg.Binary {
		case BinaryRaw:
			b = append(b, m.Data...)
		case BinaryBase64:
			b = base64.StdEncoding.AppendEncode(b, m.Data)
			b = append(b, '\n')
		default:
			b = append(b, "binary, "...)
			b = strconv.AppendInt(b, int64(len(m.Data)), 10)
			b = append(b, " bytes\n"...)
			b = appendHexDump(b, m.Data)
		}
	}
	p.end(streamOut, b)
}

// appendDirect ends the event begun in b with data written from the
// caller's buffer, without a copy, and waits until it is written, since
// the caller may reuse data when this returns. Large raw messages take
// this path: copying them would cost more than the wait.
func (p *Printer) appendDirect(stream int, b, data []byte) []byte {
	p.pending = b
	p.segs = append(p.segs, segment{stream: stream, end: len(b), ext: data})
	target := p.taken + 1
	for p.written < target && !p.stopped() {
		p.signal()
		p.cond.Wait()
	}
	p.mu.Unlock()
	return nil
}

// Control prints a ping or pong frame.
func (p *Printer) Control(dir wire.Direction, op wire.Opcode, payload []byte) {
	if p.cfg.JSON {
		b, ok := p.begin(streamOut)
		if !ok {
			return
		}
		b = append(b, `{"event":"`...)
		b = append(b, op.String()...)
		b = append(b, `","dir":"`...)
		b = append(b, dir.String()...)
		b = append(b, `","data":"`...)
		b = base64.StdEncoding.AppendEncode(b, payload)
		b = append(b, '"')
		p.end(streamOut, p.appendTime(b))
		return
	}
	b, ok := p.begin(streamLog)
	if !ok {
		return
	}
	b = p.appendStamp(b)
	b = append(b, p.paint(KindControl, arrow(dir)+" "+op.String())...)
	if len(payload) > 0 {
		b = append(b, " \""...)
		b = handshake.AppendEscaped(b, payload)
		b = append(b, '"')
	}
	b = append(b, '\n')
	p.end(streamLog, b)
}

// CloseFrame prints a close frame; hasCode is false for an empty payload.
func (p *Printer) CloseFrame(dir wire.Direction, code wire.CloseCode, hasCode bool, reason string) {
	if p.cfg.JSON {
		b, ok := p.begin(streamOut)
		if !ok {
			return
		}
		b = append(b, `{"event":"close","dir":"`...)
		b = append(b, dir.String()...)
		b = append(b, `","code":`...)
		if hasCode {
			b = strconv.AppendUint(b, uint64(code), 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, []byte(reason))
		p.end(streamOut, p.appendTime(b))
		return
	}
	b, ok := p.begin(streamLog)
	if !ok {
		return
	}
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
	b = append(b, '\n')
	p.end(streamLog, b)
}

// Frame prints one frame header for -v; payload is the frame's payload as
// on the wire (unmasked).
func (p *Printer) Frame(dir wire.Direction, h wire.Header, payload []byte) {
	if !p.verbose.Load() {
		return
	}
	if p.cfg.JSON {
		b, ok := p.begin(streamOut)
		if !ok {
			return
		}
		b = append(b, `{"event":"frame","dir":"`...)
		b = append(b, dir.String()...)
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
		p.end(streamOut, p.appendTime(b))
		return
	}
	b, ok := p.begin(streamLog)
	if !ok {
		return
	}
	b = p.appendStamp(b)
	b = append(b, p.paint(KindFrame, arrow(dir)+" frame "+h.String())...)
	if h.Rsv1 && (h.Op == wire.OpText || h.Op == wire.OpBinary) {
		b = append(b, " compressed"...)
	}
	b = append(b, '\n')
	p.end(streamLog, b)
}

// Note prints one of wsdbg's own notes ("* text") in text mode; JSON mode
// drops it.
func (p *Printer) Note(text string) {
	if p.cfg.JSON {
		return
	}
	b, ok := p.begin(streamLog)
	if !ok {
		return
	}
	b = p.appendStamp(b)
	b = append(b, p.paint(KindNote, "* "+text)...)
	b = append(b, '\n')
	p.end(streamLog, b)
}

// Error prints an error sentence on the error stream, prefixed with
// "wsdbg: ", and in JSON mode an error event with exitCode on Out.
func (p *Printer) Error(msg string, exitCode int) {
	if b, ok := p.begin(streamErr); ok {
		b = append(b, p.paint(KindError, "wsdbg: "+msg)...)
		b = append(b, '\n')
		p.end(streamErr, b)
	}
	if !p.cfg.JSON {
		return
	}
	if b, ok := p.begin(streamOut); ok {
		b = append(b, `{"event":"error","message":`...)
		b = appendJSONString(b, []byte(msg))
		b = append(b, `,"exit_code":`...)
		b = strconv.AppendInt(b, int64(exitCode), 10)
		b = append(b, "}\n"...)
		p.end(streamOut, b)
	}
}

// Handshake prints the NDJSON handshake event; doc is the inspect
// document (SPEC §3.1). In text mode it does nothing: the transcript is
// printed by the caller.
func (p *Printer) Handshake(doc any) error {
	if !p.cfg.JSON {
		return nil
	}
	data, err := json.Marshal(struct {
		Event     string `json:"event"`
		Handshake any    `json:"handshake"`
	}{"handshake", doc})
	if err != nil {
		return fmt.Errorf("encode handshake event: %w", err)
	}
	if b, ok := p.begin(streamOut); ok {
		b = append(b, data...)
		b = append(b, '\n')
		p.end(streamOut, b)
	}
	return nil
}

func arrow(dir wire.Direction) string {
	if dir == wire.DirOut {
		return ">"
	}
	return "<"
}

// appendJSONMessage appends a message event.
func (p *Printer) appendJSONMessage(b []byte, dir wire.Direction, m wire.Message) []byte {
	b = append(b, `{"event":"message","dir":"`...)
	b = append(b, dir.String()...)
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
