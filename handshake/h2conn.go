package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Window is the flow-control window wsdbg grants the server, for the
// stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection (a
// WINDOW_UPDATE on stream 0 right after the preface): it bounds the DATA
// buffered but not yet read by the session (RFC 9113 §6.9). Credit goes back
// in WINDOW_UPDATE frames once a quarter of it has been consumed.
const h2Window = 4 << 20

// h2MaxReadFrame is the largest frame wsdbg reads: the default
// SETTINGS_MAX_FRAME_SIZE, which it does not raise (RFC 9113 §4.2).
const h2MaxReadFrame = 16384

// maxKeptFrames bounds the handshake frames kept for the transcript, so
// that a server that floods the handshake with frames costs bounded memory.
const maxKeptFrames = 500

// maxQueuedCtrl bounds the control frames waiting to be written: a server
// that floods PING or SETTINGS while it does not read our answers is told
// to calm down (RFC 9113 §10.5).
const maxQueuedCtrl = 1024

// streamID is the one stream wsdbg opens on a connection.
const streamID = 1

// H2Error is how an HTTP/2 connection or stream ended under a WebSocket
// session: a GOAWAY or RST_STREAM from the server, or a violation of RFC
// 9113 that wsdbg found and answered with one (Local). Diagnostic holds the
// h2-goaway, h2-rst-stream or h2-protocol finding.
type H2Error struct {
	Diagnostic Diagnostic
	Code       uint32 // the HTTP/2 error code (RFC 9113 §7)
	Local      bool   // wsdbg found the violation and sent the GOAWAY or RST_STREAM
}

func (e *H2Error) Error() string {
	msg := string(e.Diagnostic.ID) + ": " + e.Diagnostic.Message
	if e.Diagnostic.RFC != "" && !bytes.Contains([]byte(msg), []byte(e.Diagnostic.RFC)) {
		msg += " (" + e.Diagnostic.RFC + ")"
	}
	return msg
}

// ExitCode is the exit status of SPEC §10 for a session that ended this
// way: 6 when the server broke the protocol (PROTOCOL_ERROR, or a violation
// wsdbg found), 1 otherwise.
func (e *H2Error) ExitCode() int {
	if e.Local || e.Code == uint32(http2.ErrCodeProtocol) {
		return 6
	}
	return 1
}

// ctrlFrame is a frame the reading side must send (an acknowledgement, a
// window update, an error): it is queued and written by whoever holds the
// write lock next, so that reading never waits for a writer that may be
// blocked on a full socket.
type ctrlFrame struct {
	typ    http2.FrameType
	stream uint32
	incr   uint32
	data   [8]byte
	code   http2.ErrCode
	debug  string
}

// h2Conn is a client HTTP/2 connection carrying one extended CONNECT stream
// (RFC 8441). After the handshake a reading goroutine owns fr and dispatches
// every frame; writers take wmu. mu guards the flow-control windows, the
// receive buffer and the connection's state.
type h2Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	fr  *http2.Framer
	dec *hpack.Decoder

	wmu  sync.Mutex // held while writing frames
	bw   *bufio.Writer
	fw   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	logMu sync.Mutex
	log   func(H2Frame) // every frame read and written; nil: none
	keep  []H2Frame     // the frames of the handshake, for the transcript
	keepN bool          // stop keeping frames (after the handshake)
	// dropped counts handshake frames past maxKeptFrames, not kept.
	dropped int

	mu            sync.Mutex
	rsig, wsig    chan struct{} // wake the reader and the writer (capacity 1)
	ctrl          []ctrlFrame
	sendConn      int64 // the server's windows for our DATA
	sendStream    int64
	peerInit      int64 // the server's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame  int
	ecp           uint32 // the server's ENABLE_CONNECT_PROTOCOL, 0 until set
	recvConn      int64  // what remains of the windows we granted
	recvStream    int64
	unackedConn   int // consumed, not yet returned in WINDOW_UPDATE
	unackedStream int
	rbuf          []byte
	roff          int
	remoteEnd     bool  // END_STREAM received
	endSent       bool  // END_STREAM sent
	err           error // terminal: the stream can carry no more
	goaway        *http2.GoAwayFrame
	rdl, wdl      time.Time
	windowWait    time.Duration

	// Header block being assembled from HEADERS and CONTINUATION frames.
	hblock    []byte
	hframes   int
	hend      bool // END_STREAM on the HEADERS frame
	hstream   uint32
	gotHeader func(fields []H2Field, endStream bool) error

	closeOnce sync.Once
	live      func() // prints the frames so far with Options.Live
}

func newH2Conn(nc net.Conn, windowWait time.Duration) *h2Conn {
	c := &h2Conn{
		nc:           nc,
		br:           bufio.NewReaderSize(nc, 128<<10),
		bw:           bufio.NewWriterSize(nc, 64<<10),
		rsig:         make(chan struct{}, 1),
		wsig:         make(chan struct{}, 1),
		sendConn:     65535,
		sendStream:   65535,
		peerInit:     65535,
		peerMaxFrame: 16384,
		recvConn:     h2Window,
		recvStream:   h2Window,
		windowWait:   windowWait,
	}
	c.fr = http2.NewFramer(nil, c.br)
	c.fr.SetMaxReadFrameSize(h2MaxReadFrame)
	c.fr.SetReuseFrames() // DATA payloads are copied out before the next read
	c.fw = http2.NewFramer(c.bw, nil)
	c.dec = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.hbuf)
	return c
}

// logging reports whether frames are logged at all: during the handshake,
// or with a log hook (-v). Describing a frame costs allocations that a
// session with neither does not pay.
func (c *h2Conn) logging() bool {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return !c.keepN || c.log != nil
}

// record logs a frame: to the log hook, and into keep during the handshake.
func (c *h2Conn) record(f H2Frame) {
	c.logMu.Lock()
	if !c.keepN {
		if len(c.keep) < maxKeptFrames {
			c.keep = append(c.keep, f)
		} else {
			c.dropped++
		}
	}
	fn := c.log
	c.logMu.Unlock()
	if fn != nil {
		fn(f)
	}
}

// broadcastLocked wakes the reader and the writer, if they wait, to look
// at the state again; c.mu is held. A signal is a token in a channel of
// capacity one, so waking costs no allocation and none is lost.
func (c *h2Conn) broadcastLocked() {
	select {
	case c.rsig <- struct{}{}:
	default:
	}
	select {
	case c.wsig <- struct{}{}:
	default:
	}
}

// waitLocked waits, with c.mu held, for a signal on sig or until deadline
// passes (zero: no deadline). The caller checks the state again after.
func (c *h2Conn) waitLocked(sig chan struct{}, deadline time.Time) error {
	return waitUnlocked(&c.mu, sig, deadline)
}

// waitUnlocked releases mu, waits for a signal on sig or until deadline
// passes (zero: no deadline), and takes mu again; it returns
// os.ErrDeadlineExceeded when the deadline ended the wait. Both ends of the
// HTTP/2 code wait for window credit and data this way.
func waitUnlocked(mu sync.Locker, sig chan struct{}, deadline time.Time) error {
	mu.Unlock()
	defer mu.Lock()
	if deadline.IsZero() {
		<-sig
		return nil
	}
	d := time.Until(deadline)
	if d <= 0 {
		return os.ErrDeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-sig:
		return nil
	case <-t.C:
		return os.ErrDeadlineExceeded
	}
}

// failLocked ends the stream with err unless it already ended.
func (c *h2Conn) failLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	c.broadcastLocked()
}

func (c *h2Conn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
}

// queue adds a control frame and writes it if no writer is busy.
func (c *h2Conn) queue(f ctrlFrame) {
	c.mu.Lock()
	flood := len(c.ctrl) >= maxQueuedCtrl && f.typ != http2.FrameGoAway
	if !flood {
		c.ctrl = append(c.ctrl, f)
	}
	c.mu.Unlock()
	if flood {
		c.violation(http2.ErrCodeEnhanceYourCalm, fmt.Sprintf("more than %d frames that need an answer (PING, SETTINGS) while our answers could not be written", maxQueuedCtrl), "RFC 9113 §10.5")
		return
	}
	c.kick()
}

// kick writes queued control frames unless a writer holds the lock; that
// writer writes them when it is done (see unlockWrite).
func (c *h2Conn) kick() {
	for {
		if !c.wmu.TryLock() {
			return
		}
		err := c.flushCtrlLocked()
		if err == nil {
			err = c.bw.Flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.fail(fmt.Errorf("write to %s: %w", c.nc.RemoteAddr(), err))
			return
		}
		c.mu.Lock()
		more := len(c.ctrl) > 0
		c.mu.Unlock()
		if !more {
			return
		}
	}
}

// unlockWrite releases the write lock and writes any control frame queued
// meanwhile.
func (c *h2Conn) unlockWrite() {
	c.wmu.Unlock()
	c.mu.Lock()
	more := len(c.ctrl) > 0
	c.mu.Unlock()
	if more {
		c.kick()
	}
}

// flushCtrlLocked writes the queued control frames into bw; wmu is held.
func (c *h2Conn) flushCtrlLocked() error {
	c.mu.Lock()
	q := c.ctrl
	c.ctrl = nil
	c.mu.Unlock()
	logging := len(q) > 0 && c.logging()
	for _, f := range q {
		var err error
		rec := H2Frame{Out: true, Type: frameType(f.typ), Stream: f.stream}
		switch f.typ {
		case http2.FrameSettings:
			err = c.fw.WriteSettingsAck()
			rec.Flags = []string{"ACK"}
		case http2.FramePing:
			err = c.fw.WritePing(true, f.data)
			rec.Flags, rec.Length = []string{"ACK"}, 8
			if logging {
				rec.Detail = fmt.Sprintf("data=%x", f.data[:])
			}
		case http2.FrameWindowUpdate:
			err = c.fw.WriteWindowUpdate(f.stream, f.incr)
			rec.Length = 4
			if logging {
				rec.Detail = fmt.Sprintf("increment=%d", f.incr)
			}
		case http2.FrameRSTStream:
			err = c.fw.WriteRSTStream(f.stream, f.code)
			rec.Length, rec.Detail = 4, ErrCodeName(uint32(f.code))
		case http2.FrameGoAway:
			err = c.fw.WriteGoAway(0, f.code, []byte(f.debug))
			rec.Length, rec.Detail = 8+len(f.debug), "last_stream=0 "+ErrCodeName(uint32(f.code))
		}
		if err != nil {
			return err
		}
		if logging {
			c.record(rec)
		}
	}
	return nil
}

// violation ends the connection because the server broke RFC 9113 (or
// RFC 8441): wsdbg sends GOAWAY with code and the reason as debug data
// (§5.4.1) and the stream fails with an h2-protocol H2Error.
func (c *h2Conn) violation(code http2.ErrCode, reason, section string) error {
	e := &H2Error{Code: uint32(code), Local: true,
		Diagnostic: Diag("h2-protocol", "the server broke HTTP/2: %s (%s); wsdbg sent GOAWAY %s and closed the connection", reason, section, ErrCodeName(uint32(code)))}
	c.queue(ctrlFrame{typ: http2.FrameGoAway, code: code, debug: reason})
	c.fail(e)
	return e
}

// frameError turns an error of Framer.ReadFrame into the violation it
// reports, or returns it as is (I/O errors).
func (c *h2Conn) frameError(err error) error {
	var ce http2.ConnectionError
	var se http2.StreamError
	detail := ""
	if d := c.fr.ErrorDetail(); d != nil {
		detail = d.Error()
	}
	switch {
	case errors.Is(err, http2.ErrFrameTooLarge):
		return c.violation(http2.ErrCodeFrameSize, fmt.Sprintf("a frame longer than the %d bytes of SETTINGS_MAX_FRAME_SIZE", h2MaxReadFrame), "RFC 9113 §4.2")
	case errors.As(err, &ce):
		if detail == "" {
			detail = "a malformed frame"
		}
		return c.violation(http2.ErrCode(ce), detail, "RFC 9113 §5.4.1")
	case errors.As(err, &se):
		if detail == "" {
			detail = se.Error()
		}
		if se.StreamID != streamID {
			return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("%s on stream %d, which wsdbg never opened", detail, se.StreamID), "RFC 9113 §5.1")
		}
		return c.violation(se.Code, detail, "RFC 9113 §5.4.2")
	}
	return err
}

// process handles one frame read from the server (RFC 9113 §6). Headers
// blocks go to c.gotHeader once complete. It returns the error that ends
// the connection, if any.
func (c *h2Conn) process(f http2.Frame) error {
	h := f.Header()
	var rec H2Frame
	if c.logging() {
		rec = describeFrame(false, f)
	} else {
		rec.Type = frameType(h.Type) // for messages; nothing is logged
	}
	if c.hblock != nil && h.Type != http2.FrameContinuation {
		// The Framer enforces RFC 9113 §6.10; this is a safety net.
		return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("a %s frame inside a header block", rec.Type), "RFC 9113 §6.10")
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		c.record(rec)
		if f.IsAck() {
			return nil
		}
		return c.applySettings(f)
	case *http2.PingFrame:
		c.record(rec)
		if !f.IsAck() {
			c.queue(ctrlFrame{typ: http2.FramePing, data: f.Data})
		}
		return nil
	case *http2.WindowUpdateFrame:
		c.record(rec)
		return c.windowUpdate(f)
	case *http2.GoAwayFrame:
		c.record(rec)
		return c.goAway(f)
	case *http2.RSTStreamFrame:
		c.record(rec)
		if f.StreamID != streamID {
			return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("RST_STREAM on stream %d, which wsdbg never opened", f.StreamID), "RFC 9113 §5.1")
		}
		e := &H2Error{Code: uint32(f.ErrCode), Diagnostic: Diag("h2-rst-stream", "the server reset stream 1 with %s", ErrCodeName(uint32(f.ErrCode)))}
		c.fail(e)
		return e
	case *http2.PriorityFrame:
		c.record(rec) // allowed on any stream, and ignored (RFC 9113 §5.3.2)
		return nil
	case *http2.PushPromiseFrame:
		c.record(rec)
		return c.violation(http2.ErrCodeProtocol, "PUSH_PROMISE although wsdbg sent SETTINGS_ENABLE_PUSH=0", "RFC 9113 §8.4")
	case *http2.DataFrame:
		c.record(rec)
		return c.data(f)
	case *http2.HeadersFrame:
		if f.StreamID != streamID {
			c.record(rec)
			return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("HEADERS on stream %d, which wsdbg never opened (servers do not open streams)", f.StreamID), "RFC 9113 §5.1.1")
		}
		c.hblock = append(make([]byte, 0, len(f.HeaderBlockFragment())), f.HeaderBlockFragment()...)
		c.hframes, c.hend, c.hstream = 1, f.StreamEnded(), f.StreamID
		if !f.HeadersEnded() {
			c.record(rec)
			return nil
		}
		return c.headerBlockDone(rec)
	case *http2.ContinuationFrame:
		if c.hblock == nil {
			c.record(rec)
			return c.violation(http2.ErrCodeProtocol, "CONTINUATION without a HEADERS frame before it", "RFC 9113 §6.10")
		}
		c.hframes++
		if len(c.hblock)+len(f.HeaderBlockFragment()) > MaxH2HeaderBlock {
			c.record(rec)
			return c.violation(http2.ErrCodeEnhanceYourCalm, fmt.Sprintf("a header block over %d bytes (%d frames so far)", MaxH2HeaderBlock, c.hframes), "RFC 9113 §10.5.1")
		}
		if c.hframes > maxH2Continuation {
			c.record(rec)
			return c.violation(http2.ErrCodeEnhanceYourCalm, fmt.Sprintf("a header block in more than %d CONTINUATION frames (a CONTINUATION flood)", maxH2Continuation), "RFC 9113 §10.5")
		}
		c.hblock = append(c.hblock, f.HeaderBlockFragment()...)
		if !f.HeadersEnded() {
			c.record(rec)
			return nil
		}
		return c.headerBlockDone(rec)
	}
	c.record(rec) // unknown frame types are ignored (RFC 9113 §4.1)
	if h.StreamID != 0 && h.StreamID != streamID {
		return nil
	}
	return nil
}

// headerBlockDone decodes a complete header block and hands it on.
func (c *h2Conn) headerBlockDone(rec H2Frame) error {
	block, end := c.hblock, c.hend
	c.hblock = nil
	fields, err := DecodeH2FieldsWith(c.dec, block)
	if st, ok := fieldValue(fields, ":status"); ok {
		rec.Detail = ":status=" + st
	}
	rec.Detail = joinDetail(rec.Detail, fmt.Sprintf("fields=%d", len(fields)))
	rec.Fields = fields
	c.record(rec)
	if err != nil {
		var he *HeaderBlockError
		if errors.As(err, &he) {
			return c.violation(http2.ErrCodeCompression, he.Reason, he.Section)
		}
		return c.violation(http2.ErrCodeCompression, err.Error(), "RFC 7541")
	}
	if end {
		c.mu.Lock()
		c.remoteEnd = true
		c.broadcastLocked()
		c.mu.Unlock()
	}
	if c.gotHeader != nil {
		return c.gotHeader(fields, end)
	}
	if !end {
		return c.violation(http2.ErrCodeProtocol, "a second HEADERS block on stream 1 without END_STREAM (trailers must end the stream)", "RFC 9113 §8.1")
	}
	return nil
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func fieldValue(fields []H2Field, name string) (string, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// applySettings applies the server's SETTINGS (RFC 9113 §6.5.2, RFC 8441
// §3) and queues the acknowledgement.
func (c *h2Conn) applySettings(f *http2.SettingsFrame) error {
	var (
		badCode    http2.ErrCode
		badMsg     string
		badSection = "RFC 9113 §6.5.2"
	)
	c.mu.Lock()
	_ = f.ForeachSetting(func(s http2.Setting) error {
		if badMsg != "" {
			return nil
		}
		if s.ID == settingEnableConnectProtocol && (s.Val > 1 || (c.ecp == 1 && s.Val == 0)) {
			badCode, badSection = http2.ErrCodeProtocol, "RFC 8441 §3"
			badMsg = fmt.Sprintf("ENABLE_CONNECT_PROTOCOL=%d after %d: it is 0 or 1 and may not go back to 0", s.Val, c.ecp)
			return nil
		}
		if err := s.Valid(); err != nil {
			badCode = http2.ErrCodeProtocol
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				badCode = http2.ErrCode(ce)
			}
			badMsg = fmt.Sprintf("%s=%d is out of range", settingName(s.ID), s.Val)
			return nil
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInit
			if c.sendStream+delta > 1<<31-1 {
				badCode, badSection = http2.ErrCodeFlowControl, "RFC 9113 §6.9.2"
				badMsg = fmt.Sprintf("INITIAL_WINDOW_SIZE=%d makes the stream window overflow 2^31-1", s.Val)
				return nil
			}
			c.peerInit = int64(s.Val)
			c.sendStream += delta
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int(s.Val)
		case settingEnableConnectProtocol:
			c.ecp = s.Val
		}
		return nil
	})
	c.broadcastLocked()
	c.mu.Unlock()
	if badMsg != "" {
		return c.violation(badCode, "SETTINGS "+badMsg, badSection)
	}
	c.queue(ctrlFrame{typ: http2.FrameSettings})
	return nil
}

// windowUpdate credits a send window (RFC 9113 §6.9.1).
func (c *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	if f.StreamID != 0 && f.StreamID != streamID {
		return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("WINDOW_UPDATE on stream %d, which wsdbg never opened", f.StreamID), "RFC 9113 §5.1")
	}
	c.mu.Lock()
	w := &c.sendConn
	if f.StreamID == streamID {
		w = &c.sendStream
	}
	over := *w+int64(f.Increment) > 1<<31-1
	if !over {
		*w += int64(f.Increment)
		c.broadcastLocked()
	}
	c.mu.Unlock()
	if over {
		return c.violation(http2.ErrCodeFlowControl, fmt.Sprintf("WINDOW_UPDATE of %d on stream %d makes the window overflow 2^31-1", f.Increment, f.StreamID), "RFC 9113 §6.9.1")
	}
	return nil
}

// goAway records a GOAWAY (RFC 9113 §6.8). One that leaves stream 1
// unprocessed, or carries an error code, ends the stream.
func (c *h2Conn) goAway(f *http2.GoAwayFrame) error {
	debug := ""
	if d := f.DebugData(); len(d) > 0 {
		debug = fmt.Sprintf("; debug data %s", escapeString(d[:min(len(d), 256)]))
	}
	c.mu.Lock()
	c.goaway = f
	c.mu.Unlock()
	if f.ErrCode == http2.ErrCodeNo && f.LastStreamID >= streamID {
		return nil // a graceful shutdown: stream 1 may run to its end
	}
	what := "the server is closing the connection"
	if f.LastStreamID < streamID {
		what = fmt.Sprintf("the server will not process stream 1 (last stream %d)", f.LastStreamID)
	}
	e := &H2Error{Code: uint32(f.ErrCode), Diagnostic: Diag("h2-goaway", "GOAWAY %s: %s%s", ErrCodeName(uint32(f.ErrCode)), what, debug)}
	c.fail(e)
	return e
}

// data takes a DATA frame in (RFC 9113 §6.1) after checking it against the
// windows wsdbg granted (§6.9.1).
func (c *h2Conn) data(f *http2.DataFrame) error {
	if f.StreamID != streamID {
		return c.violation(http2.ErrCodeProtocol, fmt.Sprintf("DATA on stream %d, which wsdbg never opened", f.StreamID), "RFC 9113 §5.1")
	}
	n := int64(f.Length) // padding counts against the window too
	c.mu.Lock()
	if c.remoteEnd {
		c.mu.Unlock()
		return c.violation(http2.ErrCodeStreamClosed, "DATA on stream 1 after END_STREAM", "RFC 9113 §5.1")
	}
	if n > c.recvConn || n > c.recvStream {
		win := min(c.recvConn, c.recvStream)
		c.mu.Unlock()
		return c.violation(http2.ErrCodeFlowControl, fmt.Sprintf("DATA of %d bytes with %d bytes left in the flow-control window", n, win), "RFC 9113 §6.9.1")
	}
	c.recvConn -= n
	c.recvStream -= n
	if c.roff == len(c.rbuf) {
		c.rbuf, c.roff = c.rbuf[:0], 0
	} else if c.roff > 0 && len(c.rbuf)+len(f.Data()) > cap(c.rbuf) {
		// Move the unread bytes to the front rather than grow: the buffer
		// stays within the window granted (h2Window) plus one frame.
		n := copy(c.rbuf, c.rbuf[c.roff:])
		c.rbuf, c.roff = c.rbuf[:n], 0
	}
	c.rbuf = append(c.rbuf, f.Data()...)
	pad := int(n) - len(f.Data())
	if f.StreamEnded() {
		c.remoteEnd = true
	}
	c.broadcastLocked()
	c.mu.Unlock()
	if pad > 0 {
		c.consumed(pad) // padding is never read; give it back now
	}
	return nil
}

// consumed returns n bytes of window credit, in WINDOW_UPDATE frames once a
// quarter of the window is owed (RFC 9113 §6.9).
func (c *h2Conn) consumed(n int) {
	c.mu.Lock()
	c.unackedConn += n
	c.unackedStream += n
	var q []ctrlFrame
	if c.unackedConn >= h2Window/4 {
		q = append(q, ctrlFrame{typ: http2.FrameWindowUpdate, stream: 0, incr: uint32(c.unackedConn)})
		c.recvConn += int64(c.unackedConn)
		c.unackedConn = 0
	}
	if c.unackedStream >= h2Window/4 && !c.remoteEnd {
		q = append(q, ctrlFrame{typ: http2.FrameWindowUpdate, stream: streamID, incr: uint32(c.unackedStream)})
		c.recvStream += int64(c.unackedStream)
		c.unackedStream = 0
	}
	c.ctrl = append(c.ctrl, q...)
	c.mu.Unlock()
	if len(q) > 0 {
		c.kick()
	}
}

// readLoop reads and dispatches frames until the connection ends.
func (c *h2Conn) readLoop() {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			err = c.frameError(err)
			c.mu.Lock()
			if c.err == nil {
				switch {
				case errors.Is(err, io.EOF) && c.remoteEnd:
					c.err = io.EOF
				case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
					c.err = io.ErrUnexpectedEOF
				default:
					c.err = err
				}
			}
			c.broadcastLocked()
			c.mu.Unlock()
			return
		}
		if err := c.process(f); err != nil {
			c.fail(err)
			return
		}
	}
}

// writeHeaders encodes fields and writes them as HEADERS and, when the
// block exceeds the server's frame size, CONTINUATION frames (RFC 9113
// §6.2, §6.10).
func (c *h2Conn) writeHeaders(fields []H2Field) error {
	c.wmu.Lock()
	defer c.unlockWrite()
	c.hbuf.Reset()
	if err := EncodeH2Fields(c.enc, fields); err != nil {
		return err
	}
	block := c.hbuf.Bytes()
	c.mu.Lock()
	max := c.peerMaxFrame
	c.mu.Unlock()
	first := true
	for first || len(block) > 0 {
		n := min(len(block), max)
		frag := block[:n]
		block = block[n:]
		end := len(block) == 0
		var err error
		rec := H2Frame{Out: true, Stream: streamID, Length: len(frag)}
		if first {
			err = c.fw.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: frag, EndHeaders: end})
			rec.Type = "HEADERS"
			rec.Detail = fmt.Sprintf("fields=%d", len(fields))
		} else {
			err = c.fw.WriteContinuation(streamID, end, frag)
			rec.Type = "CONTINUATION"
		}
		if end {
			rec.Flags = []string{"END_HEADERS"}
			rec.Fields = fields
		}
		if err != nil {
			return err
		}
		c.record(rec)
		first = false
	}
	if err := c.flushCtrlLocked(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// h2Stream is stream 1 as a net.Conn, for the WebSocket session: Read
// returns the payload of DATA frames as the session consumes it (sending
// WINDOW_UPDATE), Write sends DATA frames within the server's windows, and
// Close ends the stream with END_STREAM and closes the connection (RFC 8441
// §5). Read and Write may be called concurrently with each other and with
// the deadline setters; one goroutine at a time reads.
type h2Stream struct{ c *h2Conn }

func (s *h2Stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.roff == len(c.rbuf) {
		switch {
		case c.remoteEnd:
			return 0, io.EOF
		case c.err != nil:
			return 0, c.err
		}
		if err := c.waitLocked(c.rsig, c.rdl); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.roff:])
	c.roff += n
	c.mu.Unlock()
	c.consumed(n)
	c.mu.Lock()
	return n, nil
}

func (s *h2Stream) Write(p []byte) (int, error) {
	c := s.c
	written := 0
	for len(p) > 0 {
		c.mu.Lock()
		var dl time.Time
		for {
			if c.err != nil {
				err := c.err
				c.mu.Unlock()
				if errors.Is(err, io.EOF) {
					err = io.ErrClosedPipe
				}
				return written, err
			}
			if c.endSent {
				c.mu.Unlock()
				return written, errors.New("write: stream 1 already ended with END_STREAM")
			}
			if c.sendConn > 0 && c.sendStream > 0 {
				break
			}
			if dl.IsZero() {
				dl = c.wdl
				if dl.IsZero() && c.windowWait > 0 {
					dl = time.Now().Add(c.windowWait)
				}
			}
			if err := c.waitLocked(c.wsig, dl); err != nil {
				conn, st := c.sendConn, c.sendStream
				c.mu.Unlock()
				if c.wdl.IsZero() {
					return written, fmt.Errorf("HTTP/2 flow control: the server's window stayed closed for %v (connection window %d, stream window %d bytes): it sent no WINDOW_UPDATE (RFC 9113 §6.9); %w", c.windowWait, conn, st, err)
				}
				return written, err
			}
		}
		n := int(min(int64(len(p)), c.sendConn, c.sendStream, int64(c.peerMaxFrame)))
		c.sendConn -= int64(n)
		c.sendStream -= int64(n)
		// Flush before waiting for credit: the server grants it only for
		// data it has received.
		flush := n == len(p) || c.sendConn == 0 || c.sendStream == 0
		c.mu.Unlock()

		c.wmu.Lock()
		err := c.flushCtrlLocked()
		if err == nil {
			err = c.fw.WriteData(streamID, false, p[:n])
		}
		if err == nil && flush {
			err = c.bw.Flush()
		}
		c.unlockWrite()
		if err != nil {
			c.fail(err)
			return written, err
		}
		if c.logging() {
			c.record(H2Frame{Out: true, Type: "DATA", Stream: streamID, Length: n})
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// Close sends END_STREAM (an empty DATA frame) unless the stream already
// failed, and closes the connection.
func (s *h2Stream) Close() error {
	c := s.c
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		send := c.err == nil && !c.endSent
		c.endSent = true
		c.mu.Unlock()
		if send {
			c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			c.wmu.Lock()
			werr := c.flushCtrlLocked()
			if werr == nil {
				werr = c.fw.WriteData(streamID, true, nil)
			}
			if werr == nil {
				werr = c.bw.Flush()
			}
			c.wmu.Unlock()
			if werr == nil {
				c.record(H2Frame{Out: true, Type: "DATA", Flags: []string{"END_STREAM"}, Stream: streamID})
			}
		}
		c.fail(net.ErrClosed)
		err = c.nc.Close()
	})
	return err
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.c.nc.LocalAddr() }
func (s *h2Stream) RemoteAddr() net.Addr { return s.c.nc.RemoteAddr() }

func (s *h2Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline bounds Read; the connection itself keeps being read, so
// that PING, SETTINGS and WINDOW_UPDATE are still answered.
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	c := s.c
	c.mu.Lock()
	c.rdl = t
	c.broadcastLocked()
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds Write, its wait for flow-control credit included.
func (s *h2Stream) SetWriteDeadline(t time.Time) error {
	c := s.c
	c.mu.Lock()
	c.wdl = t
	c.broadcastLocked()
	c.mu.Unlock()
	return c.nc.SetWriteDeadline(t)
}

// SetFrameLog sets a function called for every HTTP/2 frame read or
// written from now on (-v). It runs on the reading goroutine or the
// writer's, and must not block.
func (s *h2Stream) SetFrameLog(fn func(H2Frame)) {
	s.c.logMu.Lock()
	s.c.log = fn
	s.c.logMu.Unlock()
}
