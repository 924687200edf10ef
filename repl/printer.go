package repl

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
	// LogSent prints the data messages we send on Log, as part of the
	// transcript, when ShowSent is off: "> " and the text escaped and
	// shortened like the REPL's, or "> binary, N bytes" (send).
	LogSent bool
	// HideData suppresses data message events (echo mode without -v).
	HideData bool
	// Paint colors a piece of output; nil leaves it plain. It is applied
	// to markers once and to notes, never to payloads.
	Paint func(k Kind, s string) string
	// Now is the clock for timestamps and JSON times; nil means time.Now.
	Now func() time.Time
	// JSONFields are NDJSON members written into every event right after
	// its name, each followed by a comma: `"conn":3,` labels the events of
	// one of the proxy's connections.
	JSONFields string
	// DirNames replace "in" and "out" as the "dir" of NDJSON events,
	// indexed by wire.Direction; empty entries keep the default. The
	// proxy names the side that sent the frame ("client", "server").
	DirNames [2]string
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
// payload written in place rather than copied (see eventDirect).
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
	for i, w := range p.streams {
		if w == io.Discard {
			// Nobody sees these events: do not even format them.
			p.streams[i] = nil
		}
	}
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

// event formats one event for stream: f appends it to the buffer it is
// given and returns the result. When the stream is dropped (nil, or
// io.Discard) or the printer is closed, f is not called at all, so an
// event nobody sees costs no formatting. The lock is taken and released
// here, around f; f must not call the printer.
func (p *Printer) event(stream int, f func(b []byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.room(stream) {
		return
	}
	p.record(stream, f(p.pending), nil)
}

// eventDirect is event for a large payload written from the caller's
// buffer instead of being copied: f appends what comes before data, and
// tail follows it. Data is written before eventDirect returns, since the
// caller may reuse it; copying a large raw message would cost more than
// the wait. Unless the writer goroutine is busy, the calling goroutine
// writes the batch itself rather than handing it over.
func (p *Printer) eventDirect(stream int, f func(b []byte) []byte, data []byte, tail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.room(stream) {
		return
	}
	p.record(stream, f(p.pending), data)
	if tail != "" {
		p.record(stream, append(p.pending, tail...), nil)
	}
	target := p.taken + 1
	for p.written < target && !p.stopped() {
		if p.busy {
			p.cond.Wait()
			continue
		}
		buf, segs, _ := p.take()
		p.mu.Unlock()
		err := p.write(buf, segs)
		p.mu.Lock()
		p.finish(buf, segs, err)
	}
}

// wants reports whether events on stream are printed at all.
func (p *Printer) wants(stream int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && p.streams[stream] != nil
}

// room waits, with p.mu held, until the pending buffer has room, and
// reports whether an event on stream is to be formatted.
func (p *Printer) room(stream int) bool {
	if p.closed || p.streams[stream] == nil {
		return false
	}
	for len(p.pending) >= p.maxPend && !p.closed {
		p.signal()
		p.cond.Wait()
	}
	return !p.closed
}

// record, with p.mu held, makes b the pending buffer, whose new bytes are
// one event for stream, followed by ext written in place.
func (p *Printer) record(stream int, b, ext []byte) {
	p.pending = b
	if n := len(p.segs); ext == nil && n > 0 && p.segs[n-1].stream == stream && p.segs[n-1].ext == nil {
		p.segs[n-1].end = len(b)
	} else {
		p.segs = append(p.segs, segment{stream: stream, end: len(b), ext: ext})
	}
	if len(b) >= 32<<10 {
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

// Drain writes everything printed so far on the calling goroutine, unless
// the writer goroutine is writing already, in which case it only wakes it
// (it takes what is left when it is done). The goroutine that read a
// message calls it when its input runs dry: in a lock-step exchange the
// message then goes to the screen without waking another goroutine, which
// costs a scheduler hand-off per message.
func (p *Printer) Drain() {
	p.mu.Lock()
	if p.busy || p.closed {
		p.mu.Unlock()
		p.signal()
		return
	}
	buf, segs, ok := p.take()
	p.mu.Unlock()
	if !ok {
		return
	}
	err := p.write(buf, segs)
	p.mu.Lock()
	p.finish(buf, segs, err)
	p.mu.Unlock()
}

// take, with p.mu held, takes the pending batch for writing.
func (p *Printer) take() ([]byte, []segment, bool) {
	if len(p.pending) == 0 && len(p.segs) == 0 {
		return nil, nil, false
	}
	buf, segs := p.pending, p.segs
	p.pending, p.segs = p.spare[:0], p.spareS[:0]
	p.taken++
	p.busy = true
	p.cond.Broadcast()
	return buf, segs, true
}

// finish, with p.mu held, records that a batch taken by take was written.
func (p *Printer) finish(buf []byte, segs []segment, err error) {
	if err != nil && p.err == nil {
		p.err = err
	}
	if cap(buf) <= 2*p.maxPend {
		p.spare = buf[:0]
	} else {
		// A huge event grew it: let it go.
		p.spare = make([]byte, 0, p.maxPend+4<<10)
	}
	clear(segs) // drop the references to callers' payloads
	p.spareS = segs[:0]
	p.written++
	p.busy = false
	p.cond.Broadcast()
}

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
	for range p.kick {
		for p.writeBatch() {
		}
		if p.isClosed() {
			return
		}
	}
}

// writeBatch writes one pending batch, unless another goroutine is
// writing one (Drain), and reports whether there may be more.
func (p *Printer) writeBatch() bool {
	p.mu.Lock()
	for p.busy {
		p.cond.Wait()
	}
	buf, segs, ok := p.take()
	p.mu.Unlock()
	if !ok {
		return false
	}
	err := p.write(buf, segs)
	p.mu.Lock()
	p.finish(buf, segs, err)
	p.mu.Unlock()
	return true
}

func (p *Printer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed && len(p.pending) == 0 && len(p.segs) == 0
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
