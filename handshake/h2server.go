package handshake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2ServerConfig configures ServeH2.
type H2ServerConfig struct {
	// OnRequest is called on its own goroutine for every request a client
	// opens, with the decoded fields of its HEADERS in wire order. It
	// answers with st.Respond and may use st as a net.Conn afterwards (an
	// extended CONNECT's WebSocket, RFC 8441 §5); ServeH2 resets a stream
	// left unanswered when OnRequest returns.
	OnRequest func(st *H2ServerStream, fields []H2Field)
	// Log, if set, is called for every frame read and written.
	Log func(H2Frame)
	// Violation, if set, is told why ServeH2 ended the connection with a
	// GOAWAY: the client broke RFC 9113.
	Violation func(reason string)
}

// IsH2Preface reports whether br starts with the HTTP/2 client preface
// (RFC 9113 §3.4), peeking without consuming: how a server that speaks
// HTTP/1.1 and h2c with prior knowledge on one port tells them apart. It
// waits for more than one byte only when the first bytes could be it.
func IsH2Preface(br *bufio.Reader) bool {
	if b, err := br.Peek(4); err != nil || string(b) != "PRI " {
		return false
	}
	b, err := br.Peek(len(http2.ClientPreface))
	return err == nil && string(b) == http2.ClientPreface
}

// h2ServerConn is the server side of one HTTP/2 connection: a reading
// goroutine (ServeH2's) dispatches frames to streams; writers hold wmu.
type h2ServerConn struct {
	nc  net.Conn
	fr  *http2.Framer
	cfg H2ServerConfig

	wmu  sync.Mutex
	bw   *bufio.Writer
	fw   *http2.Framer
	enc  *hpack.Encoder
	hbuf []byte

	mu           sync.Mutex
	streams      map[uint32]*H2ServerStream
	last         uint32 // highest stream id the client opened
	sendConn     int64
	peerInit     int64
	peerMaxFrame int
	unacked      int // connection-level credit consumed, not yet returned
	closed       bool
	wg           sync.WaitGroup
}

// H2ServerStream is one request stream of ServeH2. After Respond, Read
// returns the client's DATA and Write sends DATA within the client's
// windows (RFC 9113 §6.9); Close ends the stream with END_STREAM. One
// goroutine reads and one writes at a time.
type H2ServerStream struct {
	sc *h2ServerConn
	id uint32

	rsig, wsig chan struct{}
	// guarded by sc.mu
	rbuf      []byte
	roff      int
	unacked   int
	send      int64
	recvWin   int64
	remoteEnd bool
	ended     bool // END_STREAM or RST_STREAM sent
	responded bool
	err       error
	rdl, wdl  time.Time
}

// ServeH2 serves HTTP/2 on nc, whose client preface may already be
// buffered in br (nil: read nc). It advertises ENABLE_CONNECT_PROTOCOL
// (RFC 8441 §3) and returns when the connection ends, after every
// OnRequest has returned.
func ServeH2(nc net.Conn, br *bufio.Reader, cfg H2ServerConfig) error {
	if br == nil {
		br = bufio.NewReaderSize(nc, 64<<10)
	}
	sc := &h2ServerConn{
		nc: nc, cfg: cfg,
		bw:       bufio.NewWriterSize(nc, 64<<10),
		streams:  map[uint32]*H2ServerStream{},
		sendConn: 65535, peerInit: 65535, peerMaxFrame: 16384,
	}
	sc.fr = http2.NewFramer(nil, br)
	sc.fr.SetMaxReadFrameSize(h2MaxReadFrame)
	sc.fw = http2.NewFramer(sc.bw, nil)
	sc.enc = hpack.NewEncoder(hpackSink{&sc.hbuf})
	defer func() {
		sc.mu.Lock()
		sc.closed = true
		for _, st := range sc.streams {
			st.failLocked(io.ErrUnexpectedEOF)
		}
		sc.mu.Unlock()
		nc.Close()
		sc.wg.Wait()
	}()

	pre := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, pre); err != nil {
		return fmt.Errorf("read the client preface: %w", err)
	}
	if string(pre) != http2.ClientPreface {
		return fmt.Errorf("not the HTTP/2 client preface: %q (RFC 9113 §3.4)", pre)
	}
	err := sc.write(func() error {
		s := []http2.Setting{{ID: settingEnableConnectProtocol, Val: 1}, {ID: http2.SettingMaxConcurrentStreams, Val: 100}, {ID: http2.SettingInitialWindowSize, Val: h2Window}}
		if err := sc.fw.WriteSettings(s...); err != nil {
			return err
		}
		sc.log(H2Frame{Out: true, Type: "SETTINGS", Length: 18, Detail: fmt.Sprintf("ENABLE_CONNECT_PROTOCOL=1 MAX_CONCURRENT_STREAMS=100 INITIAL_WINDOW_SIZE=%d", h2Window)})
		sc.log(H2Frame{Out: true, Type: "WINDOW_UPDATE", Length: 4, Detail: fmt.Sprintf("increment=%d", h2Window-65535)})
		return sc.fw.WriteWindowUpdate(0, h2Window-65535)
	})
	if err != nil {
		return err
	}
	dec := hpack.NewDecoder(4096, nil)
	var block []byte
	var blockStream uint32
	var blockEnd bool
	frames := 0
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) || errors.Is(err, http2.ErrFrameTooLarge) {
				return sc.violation(http2.ErrCodeProtocol, fmt.Sprintf("a malformed frame: %v", err))
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if cfg.Log != nil {
			cfg.Log(describeFrame(false, f))
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := sc.settings(f); err != nil {
					return err
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				d := f.Data
				sc.write(func() error { return sc.fw.WritePing(true, d) })
			}
		case *http2.WindowUpdateFrame:
			sc.windowUpdate(f)
		case *http2.GoAwayFrame:
			return nil
		case *http2.RSTStreamFrame:
			if st := sc.stream(f.StreamID); st != nil {
				sc.mu.Lock()
				st.ended = true
				st.failLocked(fmt.Errorf("the client reset stream %d with %s", f.StreamID, ErrCodeName(uint32(f.ErrCode))))
				sc.mu.Unlock()
			}
		case *http2.DataFrame:
			if err := sc.data(f); err != nil {
				return err
			}
		case *http2.HeadersFrame, *http2.ContinuationFrame:
			var frag []byte
			ended := false
			if h, ok := f.(*http2.HeadersFrame); ok {
				block, blockStream, blockEnd, frames = nil, h.StreamID, h.StreamEnded(), 0
				frag, ended = h.HeaderBlockFragment(), h.HeadersEnded()
			} else {
				c := f.(*http2.ContinuationFrame)
				frag, ended = c.HeaderBlockFragment(), c.HeadersEnded()
			}
			frames++
			if len(block)+len(frag) > MaxH2HeaderBlock || frames > maxH2Continuation {
				return sc.violation(http2.ErrCodeEnhanceYourCalm, fmt.Sprintf("a header block over %d bytes or %d frames (RFC 9113 §10.5.1)", MaxH2HeaderBlock, maxH2Continuation))
			}
			block = append(block, frag...)
			if !ended {
				continue
			}
			fields, err := DecodeH2FieldsWith(dec, block)
			block = nil
			if err != nil {
				return sc.violation(http2.ErrCodeCompression, err.Error())
			}
			if err := sc.open(blockStream, fields, blockEnd); err != nil {
				return err
			}
		}
	}
}

// hpackSink appends what the encoder writes.
type hpackSink struct{ b *[]byte }

func (s hpackSink) Write(p []byte) (int, error) { *s.b = append(*s.b, p...); return len(p), nil }

func (sc *h2ServerConn) log(f H2Frame) {
	if sc.cfg.Log != nil {
		sc.cfg.Log(f)
	}
}

// write runs fn under the write lock and flushes.
func (sc *h2ServerConn) write(fn func() error) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if err := fn(); err != nil {
		return err
	}
	return sc.bw.Flush()
}

// violation ends the connection with GOAWAY (RFC 9113 §5.4.1).
func (sc *h2ServerConn) violation(code http2.ErrCode, reason string) error {
	sc.nc.SetWriteDeadline(time.Now().Add(time.Second))
	sc.mu.Lock()
	last := sc.last
	sc.mu.Unlock()
	sc.write(func() error { return sc.fw.WriteGoAway(last, code, []byte(reason)) })
	sc.log(H2Frame{Out: true, Type: "GOAWAY", Length: 8 + len(reason), Detail: fmt.Sprintf("last_stream=%d %s", last, ErrCodeName(uint32(code)))})
	if sc.cfg.Violation != nil {
		sc.cfg.Violation(reason)
	}
	return fmt.Errorf("%s: %s", ErrCodeName(uint32(code)), reason)
}

func (sc *h2ServerConn) stream(id uint32) *H2ServerStream {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.streams[id]
}

func (sc *h2ServerConn) settings(f *http2.SettingsFrame) error {
	var bad error
	sc.mu.Lock()
	f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil && bad == nil {
			bad = err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - sc.peerInit
			sc.peerInit = int64(s.Val)
			for _, st := range sc.streams {
				st.send += delta
				st.signalLocked()
			}
		case http2.SettingMaxFrameSize:
			sc.peerMaxFrame = int(s.Val)
		}
		return nil
	})
	sc.mu.Unlock()
	if bad != nil {
		return sc.violation(http2.ErrCodeProtocol, fmt.Sprintf("invalid SETTINGS: %v (RFC 9113 §6.5.2)", bad))
	}
	sc.log(H2Frame{Out: true, Type: "SETTINGS", Flags: []string{"ACK"}})
	return sc.write(func() error { return sc.fw.WriteSettingsAck() })
}

func (sc *h2ServerConn) windowUpdate(f *http2.WindowUpdateFrame) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if f.StreamID == 0 {
		sc.sendConn += int64(f.Increment)
		for _, st := range sc.streams {
			st.signalLocked()
		}
		return
	}
	if st := sc.streams[f.StreamID]; st != nil {
		st.send += int64(f.Increment)
		st.signalLocked()
	}
}

func (sc *h2ServerConn) data(f *http2.DataFrame) error {
	sc.mu.Lock()
	st := sc.streams[f.StreamID]
	if st == nil || st.remoteEnd {
		idle := f.StreamID > sc.last || f.StreamID%2 == 0
		sc.mu.Unlock()
		if idle {
			return sc.violation(http2.ErrCodeProtocol, fmt.Sprintf("DATA on stream %d, which the client never opened (RFC 9113 §5.1)", f.StreamID))
		}
		// A stream already closed: drop the data, give the credit back.
		sc.write(func() error { return sc.fw.WriteWindowUpdate(0, f.Length) })
		return nil
	}
	if int64(f.Length) > st.recvWin {
		sc.mu.Unlock()
		return sc.violation(http2.ErrCodeFlowControl, fmt.Sprintf("DATA of %d bytes beyond the stream's window of %d (RFC 9113 §6.9.1)", f.Length, st.recvWin))
	}
	st.recvWin -= int64(f.Length)
	if st.roff == len(st.rbuf) {
		st.rbuf, st.roff = st.rbuf[:0], 0
	} else if st.roff > 0 && len(st.rbuf)+len(f.Data()) > cap(st.rbuf) {
		n := copy(st.rbuf, st.rbuf[st.roff:])
		st.rbuf, st.roff = st.rbuf[:n], 0
	}
	st.rbuf = append(st.rbuf, f.Data()...)
	if f.StreamEnded() {
		st.remoteEnd = true
	}
	pad := int(f.Length) - len(f.Data())
	st.signalLocked()
	sc.mu.Unlock()
	if pad > 0 {
		st.consumed(pad)
	}
	return nil
}

// open starts a request stream (RFC 9113 §5.1.1: a new, higher, odd id).
func (sc *h2ServerConn) open(id uint32, fields []H2Field, end bool) error {
	sc.mu.Lock()
	if st := sc.streams[id]; st != nil {
		sc.mu.Unlock()
		// Trailers: they end the request body.
		sc.mu.Lock()
		st.remoteEnd = st.remoteEnd || end
		st.signalLocked()
		sc.mu.Unlock()
		return nil
	}
	if id%2 == 0 || id <= sc.last {
		sc.mu.Unlock()
		return sc.violation(http2.ErrCodeProtocol, fmt.Sprintf("HEADERS opening stream %d after stream %d (RFC 9113 §5.1.1)", id, sc.last))
	}
	sc.last = id
	st := &H2ServerStream{sc: sc, id: id, rsig: make(chan struct{}, 1), wsig: make(chan struct{}, 1), send: sc.peerInit, recvWin: h2Window, remoteEnd: end}
	sc.streams[id] = st
	sc.wg.Add(1)
	sc.mu.Unlock()
	go func() {
		defer sc.wg.Done()
		if sc.cfg.OnRequest != nil {
			sc.cfg.OnRequest(st, fields)
		}
		st.finish()
	}()
	return nil
}

// finish resets a stream that was never answered, and forgets it.
func (st *H2ServerStream) finish() {
	sc := st.sc
	sc.mu.Lock()
	unanswered, ended := !st.responded, st.ended
	st.ended = true
	delete(sc.streams, st.id)
	sc.mu.Unlock()
	if unanswered || !ended {
		code := http2.ErrCodeNo
		if unanswered {
			code = http2.ErrCodeInternal
		}
		sc.write(func() error { return sc.fw.WriteRSTStream(st.id, code) })
	}
}

func (st *H2ServerStream) signalLocked() {
	select {
	case st.rsig <- struct{}{}:
	default:
	}
	select {
	case st.wsig <- struct{}{}:
	default:
	}
}

func (st *H2ServerStream) failLocked(err error) {
	if st.err == nil {
		st.err = err
	}
	st.signalLocked()
}

// ID returns the stream identifier.
func (st *H2ServerStream) ID() uint32 { return st.id }

// Respond sends the response HEADERS (fields lower-case, :status first);
// endStream ends the stream with them.
func (st *H2ServerStream) Respond(fields []H2Field, endStream bool) error {
	sc := st.sc
	sc.mu.Lock()
	st.responded = true
	if endStream {
		st.ended = true
	}
	sc.mu.Unlock()
	return sc.write(func() error {
		sc.hbuf = sc.hbuf[:0]
		if err := EncodeH2Fields(sc.enc, fields); err != nil {
			return err
		}
		block := sc.hbuf
		first := true
		for first || len(block) > 0 {
			n := min(len(block), sc.peerMaxFrame)
			frag := block[:n]
			block = block[n:]
			var err error
			if first {
				err = sc.fw.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: frag, EndHeaders: len(block) == 0, EndStream: endStream})
			} else {
				err = sc.fw.WriteContinuation(st.id, len(block) == 0, frag)
			}
			if err != nil {
				return err
			}
			first = false
		}
		fl := []string{"END_HEADERS"}
		if endStream {
			fl = append([]string{"END_STREAM"}, fl...)
		}
		sc.log(H2Frame{Out: true, Type: "HEADERS", Flags: fl, Stream: st.id, Length: len(sc.hbuf), Fields: fields})
		return nil
	})
}

func (st *H2ServerStream) Read(p []byte) (int, error) {
	sc := st.sc
	sc.mu.Lock()
	for st.roff == len(st.rbuf) {
		if st.remoteEnd {
			sc.mu.Unlock()
			return 0, io.EOF
		}
		if st.err != nil {
			err := st.err
			sc.mu.Unlock()
			return 0, err
		}
		if err := st.wait(st.rsig, st.rdl); err != nil {
			sc.mu.Unlock()
			return 0, err
		}
	}
	n := copy(p, st.rbuf[st.roff:])
	st.roff += n
	sc.mu.Unlock()
	st.consumed(n)
	return n, nil
}

// wait is waitLocked for a stream: sc.mu is held.
func (st *H2ServerStream) wait(sig chan struct{}, deadline time.Time) error {
	return waitUnlocked(&st.sc.mu, sig, deadline)
}

// consumed returns credit in WINDOW_UPDATE frames once a quarter of the
// window is owed.
func (st *H2ServerStream) consumed(n int) {
	sc := st.sc
	sc.mu.Lock()
	st.unacked += n
	sc.unacked += n
	var connInc, streamInc uint32
	if sc.unacked >= h2Window/4 {
		connInc = uint32(sc.unacked)
		sc.unacked = 0
	}
	if st.unacked >= h2Window/4 && !st.remoteEnd {
		streamInc = uint32(st.unacked)
		st.recvWin += int64(st.unacked)
		st.unacked = 0
	}
	sc.mu.Unlock()
	if connInc > 0 || streamInc > 0 {
		sc.write(func() error {
			if connInc > 0 {
				if err := sc.fw.WriteWindowUpdate(0, connInc); err != nil {
					return err
				}
			}
			if streamInc > 0 {
				return sc.fw.WriteWindowUpdate(st.id, streamInc)
			}
			return nil
		})
	}
}

func (st *H2ServerStream) Write(p []byte) (int, error) {
	sc := st.sc
	written := 0
	for len(p) > 0 {
		sc.mu.Lock()
		for {
			if st.err != nil || st.ended || sc.closed {
				err := st.err
				sc.mu.Unlock()
				if err == nil {
					err = net.ErrClosed
				}
				return written, err
			}
			if sc.sendConn > 0 && st.send > 0 {
				break
			}
			if err := st.wait(st.wsig, st.wdl); err != nil {
				sc.mu.Unlock()
				return written, fmt.Errorf("HTTP/2 flow control: the client's window for stream %d stayed closed: %w", st.id, err)
			}
		}
		n := int(min(int64(len(p)), sc.sendConn, st.send, int64(sc.peerMaxFrame)))
		sc.sendConn -= int64(n)
		st.send -= int64(n)
		sc.mu.Unlock()
		chunk := p[:n]
		if err := sc.write(func() error { return sc.fw.WriteData(st.id, false, chunk) }); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// Close ends the stream with END_STREAM unless it already ended.
func (st *H2ServerStream) Close() error {
	sc := st.sc
	sc.mu.Lock()
	send := !st.ended && st.err == nil && !sc.closed
	st.ended = true
	st.failLocked(net.ErrClosed)
	sc.mu.Unlock()
	if !send {
		return nil
	}
	err := sc.write(func() error { return sc.fw.WriteData(st.id, true, nil) })
	sc.log(H2Frame{Out: true, Type: "DATA", Flags: []string{"END_STREAM"}, Stream: st.id})
	return err
}

func (st *H2ServerStream) LocalAddr() net.Addr  { return st.sc.nc.LocalAddr() }
func (st *H2ServerStream) RemoteAddr() net.Addr { return st.sc.nc.RemoteAddr() }

func (st *H2ServerStream) SetDeadline(t time.Time) error {
	st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

func (st *H2ServerStream) SetReadDeadline(t time.Time) error {
	st.sc.mu.Lock()
	st.rdl = t
	st.signalLocked()
	st.sc.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds Write, its wait for window included, and the
// connection's writes.
func (st *H2ServerStream) SetWriteDeadline(t time.Time) error {
	st.sc.mu.Lock()
	st.wdl = t
	st.signalLocked()
	st.sc.mu.Unlock()
	return st.sc.nc.SetWriteDeadline(t)
}
