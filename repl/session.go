package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

// DefaultCloseTimeout bounds the wait for the peer's close frame after
// ours (--close-timeout).
const DefaultCloseTimeout = 2 * time.Second

// readBufferSize is the size of the session's read buffer: large enough
// that a burst of small messages costs one read system call per tens of
// messages.
const readBufferSize = 64 << 10

// SessionConfig configures a Session.
type SessionConfig struct {
	// Role is the side we play: RoleClient for connect and send,
	// RoleServer for serve.
	Role wire.Role
	// MaxMessageSize limits received messages after decompression; 0 means
	// wire.DefaultMaxMessageSize. A larger message gets close 1009.
	MaxMessageSize int64
	// Deflate holds the negotiated permessage-deflate parameters; nil
	// means none was negotiated.
	Deflate *wire.DeflateParams
	// Rand is the source of masking keys; nil means crypto/rand.
	Rand io.Reader
	// NoAutoPong turns off answering pings (--no-auto-pong).
	NoAutoPong bool
	// PingInterval, when positive, sends an empty ping this often.
	PingInterval time.Duration
	// CloseTimeout bounds the wait for the peer's close frame after we
	// sent ours; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// WriteTimeout bounds every write to the socket; 0 means
	// DefaultWriteTimeout. A write that times out ends the session. A
	// negative value leaves the bound to the connection (an HTTP/2 stream
	// bounds its wait for flow-control credit itself).
	WriteTimeout time.Duration
	// Printer prints every event; required.
	Printer *Printer
	// OnMessage, if set, is called on the reading goroutine for every
	// data message after it was printed. m.Data is valid during the call
	// only. Echo mode and send's --count/--expect use it.
	OnMessage func(m wire.Message)
}

// Session runs one WebSocket connection after the opening handshake: a
// reading goroutine prints every event, answers pings (unless turned off)
// and the peer's close, and classifies how the connection ended; writers
// on other goroutines send messages through it. Line mode, echo mode, the
// interactive REPL and the server all run on a Session.
//
// The reading goroutine flushes its own queued frames (echoes) and the
// printer's pending output whenever it is about to wait for the network.
// It never waits for another sender's write: a sender blocked on a full
// socket must not stop the reading that lets the peer drain it (see
// session_write.go for who owns the write side). All methods are safe
// for concurrent use.
type Session struct {
	cfg  SessionConfig
	nc   net.Conn
	dc   *deadlineConn
	conn *wire.Conn
	p    *Printer

	own          sync.Mutex // the write token, held across socket writes
	rmu          sync.Mutex // guards replies; never held across I/O
	replies      []reply    // answers queued by the reading goroutine
	spareReplies []reply
	replyBytes   int
	wanted       atomic.Int32               // queued replies and flush requests
	stalled      atomic.Pointer[stallError] // a write timed out

	queued        atomic.Bool  // frames queued by Queue, not yet flushed
	echoQueued    atomic.Bool  // frames queued by the reading goroutine (echo)
	outCompressed atomic.Bool  // RSV1 of the last data frame written
	received      atomic.Int64 // data messages received
	idleWatch     atomic.Bool  // lastIn is kept up to date (line mode after its input ended)
	lastIn        atomic.Int64 // when the last frame arrived, as time since born
	born          time.Time    // when NewSession ran; the origin of lastIn

	mu        sync.Mutex // guards the flags below; never held across I/O
	closeSent bool
	sentCode  wire.CloseCode // the code of the close frame we started with; 0: none or no code
	aborted   bool
	started   bool

	done     chan struct{} // closed when the reading goroutine ends
	err      error         // set before done is closed
	stop     chan struct{} // closed by Wait: stops the helper goroutines
	stopOnce sync.Once
	helpers  sync.WaitGroup
	waitOnce sync.Once
}

// NewSession prepares a session over nc. br is the reader the handshake
// used: the bytes still buffered in it (early data, SPEC §4.1 early-data)
// are read first, then nc. Nothing is read before Start.
func NewSession(nc net.Conn, br *bufio.Reader, cfg SessionConfig) *Session {
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Printer == nil {
		cfg.Printer = NewPrinter(PrinterConfig{Out: io.Discard})
	}
	s := &Session{
		cfg:  cfg,
		nc:   nc,
		p:    cfg.Printer,
		done: make(chan struct{}),
		stop: make(chan struct{}),
		born: time.Now(),
	}
	s.dc = &deadlineConn{Conn: nc, s: s, timeout: cfg.WriteTimeout}
	src := &sessionReader{s: s, r: nc}
	if br != nil && br.Buffered() > 0 {
		src.early = make([]byte, br.Buffered())
		_, _ = io.ReadFull(br, src.early)
	}
	s.conn = wire.NewConn(bufio.NewReaderSize(src, readBufferSize), s.dc, wire.Config{
		Role:           cfg.Role,
		MaxMessageSize: cfg.MaxMessageSize,
		Deflate:        cfg.Deflate,
		Rand:           cfg.Rand,
		OnFrame:        s.onFrame,
	})
	return s
}

// sessionReader reads the connection for the wire.Conn: first the early
// data, then the socket. Before each read that may block it flushes the
// echoes the reading goroutine queued and the printer's pending output:
// the moment the input runs dry is the moment to write.
type sessionReader struct {
	s     *Session
	early []byte
	r     io.Reader
}

func (r *sessionReader) Read(p []byte) (int, error) {
	if len(r.early) > 0 {
		n := copy(p, r.early)
		r.early = r.early[n:]
		return n, nil
	}
	r.s.flushEchoes()
	r.s.p.Drain()
	return r.r.Read(p)
}

func (s *Session) onFrame(dir wire.Direction, h wire.Header, payload []byte) {
	if dir == wire.DirIn && s.idleWatch.Load() {
		s.lastIn.Store(int64(time.Since(s.born)))
	}
	if dir == wire.DirOut && (h.Op == wire.OpText || h.Op == wire.OpBinary) {
		s.outCompressed.Store(h.Rsv1)
	}
	s.p.Frame(dir, h, payload)
}

// Conn returns the message connection, for frame-level writes (the REPL's
// /raw and /frag).
func (s *Session) Conn() *wire.Conn { return s.conn }

// NetConn returns the underlying connection.
func (s *Session) NetConn() net.Conn { return s.nc }

// Printer returns the session's printer.
func (s *Session) Printer() *Printer { return s.p }

// Received returns the number of data messages received so far.
func (s *Session) Received() int64 { return s.received.Load() }

// Done is closed when the session has ended: the peer's close arrived, the
// connection failed, or the close timeout passed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Start starts the reading goroutine, the pinger (PingInterval) and a
// watcher that closes the session with 1000 when ctx is cancelled.
func (s *Session) Start(ctx context.Context) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.mu.Unlock()
	go s.readLoop()
	if s.cfg.PingInterval > 0 {
		s.helpers.Add(1)
		go s.pingLoop(s.cfg.PingInterval)
	}
	if ctx.Done() != nil {
		s.helpers.Add(1)
		go func() {
			defer s.helpers.Done()
			select {
			case <-ctx.Done():
				_ = s.Close(wire.CloseNormal, "")
			case <-s.done:
			case <-s.stop:
			}
		}()
	}
}

func (s *Session) pingLoop(every time.Duration) {
	defer s.helpers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s.closing() {
				return
			}
			if err := s.SendControl(wire.OpPing, nil); err != nil {
				return
			}
			s.p.Flush()
		case <-s.done:
			return
		case <-s.stop:
			return
		}
	}
}

// Send sends one data message and flushes. The message is printed before
// it is flushed, so that a reply is never printed before it.
func (s *Session) Send(op wire.Opcode, data []byte) error {
	s.lockWrite()
	defer s.unlockWrite()
	if err := s.conn.QueueMessage(op, data); err != nil {
		return s.writeErr(err)
	}
	s.sent(op, data, 1)
	s.queued.Store(false)
	return s.writeErr(s.conn.Flush())
}

// Queue sends one data message without flushing: the frame is written
// with the next Flush or other write of the session, or as soon as 64 KiB
// are pending. The caller must Flush when it stops sending for a while.
func (s *Session) Queue(op wire.Opcode, data []byte) error {
	s.lockWrite()
	defer s.unlockWrite()
	if err := s.conn.QueueMessage(op, data); err != nil {
		return s.writeErr(err)
	}
	s.queued.Store(true)
	s.sent(op, data, 1)
	return nil
}

// Flush writes the queued frames.
func (s *Session) Flush() error {
	s.lockWrite()
	defer s.unlockWrite()
	s.queued.Store(false)
	return s.writeErr(s.conn.Flush())
}

// SendFragmented sends one data message in n frames (the REPL's /frag).
func (s *Session) SendFragmented(op wire.Opcode, data []byte, n int) error {
	s.lockWrite()
	defer s.unlockWrite()
	s.queued.Store(false)
	if err := s.conn.WriteFragmented(op, data, n); err != nil {
		return s.writeErr(err)
	}
	s.sent(op, data, max(n, 1))
	return nil
}

// SendControl sends a ping or pong with payload and prints it. It is
// printed before it is written, so that the peer's answer is never
// printed before it.
func (s *Session) SendControl(op wire.Opcode, payload []byte) error {
	s.lockWrite()
	defer s.unlockWrite()
	s.queued.Store(false)
	if err := s.conn.Err(); err != nil {
		return s.writeErr(err)
	}
	s.p.Control(wire.DirOut, op, payload)
	return s.writeErr(s.conn.WriteControl(op, payload))
}

// WriteRaw writes b to the connection as it is, after anything queued
// (the REPL's /raw).
func (s *Session) WriteRaw(b []byte) error {
	s.lockWrite()
	defer s.unlockWrite()
	s.queued.Store(false)
	return s.writeErr(s.conn.WriteRaw(b))
}

func (s *Session) sent(op wire.Opcode, data []byte, frames int) {
	s.p.Message(wire.DirOut, wire.Message{Op: op, Data: data, Frames: frames, Compressed: s.outCompressed.Load()})
}

func (s *Session) writeErr(err error) error {
	if err == nil || errors.Is(err, wire.ErrCloseSent) {
		return err
	}
	if st := s.stalled.Load(); st != nil {
		return st
	}
	return fmt.Errorf("write to %s: %w", s.peer(), err)
}

func (s *Session) peer() string {
	if a := s.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "peer"
}

// closing reports whether we sent a close frame.
func (s *Session) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeSent
}

// Close starts the closing handshake (RFC 6455 §7.1.2): it flushes queued
// frames, sends a close frame with code and reason (code 0: no payload)
// unless one was sent already, and bounds the wait for the peer's close
// with the close timeout. It does not wait; see Wait. Messages that arrive
// meanwhile are still printed.
func (s *Session) Close(code wire.CloseCode, reason string) error {
	if !s.startClose(code) {
		return nil
	}
	s.boundWrites()
	s.lockWrite()
	s.queued.Store(false)
	// Printed before it is written, so that the peer's answer is never
	// printed before it.
	err := s.conn.Err()
	if err == nil {
		s.p.CloseFrame(wire.DirOut, code, code != 0, reason)
		err = s.conn.WriteClose(code, reason)
	}
	s.unlockWrite()
	s.p.Flush()
	_ = s.nc.SetReadDeadline(time.Now().Add(s.cfg.CloseTimeout))
	if err != nil {
		// The peer cannot hear us: stop reading now.
		_ = s.nc.SetReadDeadline(time.Now())
		return s.writeErr(err)
	}
	return nil
}

// markCloseSent records that a close frame is going out and reports
// whether it was the first.
func (s *Session) markCloseSent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.closeSent
	s.closeSent = true
	return first
}

// startClose is markCloseSent for a close we start with code: a peer that
// answers with the same code only echoes it (see peerClosed).
func (s *Session) startClose(code wire.CloseCode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.closeSent
	s.closeSent = true
	if first {
		s.sentCode = code
	}
	return first
}

// ourCloseCode is the code of the close we started; 0 when the peer
// started, or ours had no code.
func (s *Session) ourCloseCode() wire.CloseCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentCode
}

// boundWrites puts a deadline on writes once the session is closing, so
// that a peer that stopped reading cannot hold a writer, and with it the
// write token the close frame needs, beyond the close timeout.
func (s *Session) boundWrites() {
	by := time.Now().Add(s.cfg.CloseTimeout)
	s.dc.closeBy.Store(by.UnixNano())
	_ = s.nc.SetWriteDeadline(by)
}

// Abort ends the session at once by closing the connection, without a
// closing handshake. Wait then returns nil.
func (s *Session) Abort() {
	s.mu.Lock()
	s.aborted = true
	s.mu.Unlock()
	_ = s.nc.Close()
}

// Wait waits for the session to end, stops the pinger, closes the
// connection and returns why the session failed, or nil when it ended with
// a normal close (1000, 1001 or no code). Errors match (with errors.As)
// *wire.ProtocolError when the peer broke the protocol or a message was
// too big, *wire.CloseError when the peer closed with another code, and
// other errors when the connection dropped or failed. Their text is one
// sentence with the values involved and what to try.
func (s *Session) Wait() error {
	<-s.done
	s.waitOnce.Do(func() {
		s.stopOnce.Do(func() { close(s.stop) })
		s.helpers.Wait()
		_ = s.nc.Close()
		s.p.Flush()
	})
	return s.err
}

// readLoop is the reading goroutine.
func (s *Session) readLoop() {
	defer close(s.done)
	s.err = s.read()
}

func (s *Session) read() error {
	for {
		m, err := s.conn.Read()
		if err != nil {
			return s.readFailed(err)
		}
		switch m.Op {
		case wire.OpText, wire.OpBinary:
			s.received.Add(1)
			s.p.Message(wire.DirIn, m)
			if s.cfg.OnMessage != nil {
				s.cfg.OnMessage(m)
			}
		case wire.OpPing:
			s.p.Control(wire.DirIn, wire.OpPing, m.Data)
			if !s.cfg.NoAutoPong && !s.closing() {
				// RFC 6455 §5.5.2: answer with the same application data.
				s.answer(reply{op: wire.OpPong, payload: m.Data})
			}
		case wire.OpPong:
			// A ping we sent was printed before it was written.
			s.p.Control(wire.DirIn, wire.OpPong, m.Data)
		case wire.OpClose:
			return s.peerClosed(m)
		}
	}
}

// peerClosed answers the peer's close frame (RFC 6455 §5.5.1: echo the
// status code) unless we sent ours first, and classifies the code.
func (s *Session) peerClosed(m wire.Message) error {
	s.p.CloseFrame(wire.DirIn, m.CloseCode, m.HasCode, m.CloseReason)
	first := s.markCloseSent()
	if first {
		s.boundWrites()
		code := wire.CloseCode(0)
		if m.HasCode {
			code = m.CloseCode
		}
		s.answer(reply{op: wire.OpClose, code: code, hasCode: m.HasCode})
	}
	started, sentCode := !first, s.ourCloseCode()
	if !m.HasCode || m.CloseCode == wire.CloseNormal || m.CloseCode == wire.CloseGoingAway {
		return nil
	}
	if started && sentCode != 0 && m.CloseCode == sentCode {
		// RFC 6455 §5.5.1: the peer echoed the status code of the close
		// we started. The code is ours, not a complaint (SPEC §7, exit 8
		// only for a code the peer chose).
		return nil
	}
	ce := &wire.CloseError{Code: m.CloseCode, HasCode: true, Reason: m.CloseReason}
	reason := ""
	if m.CloseReason != "" {
		reason = fmt.Sprintf(" and reason %q", m.CloseReason)
	}
	return &sessionError{err: ce, msg: fmt.Sprintf("%s closed the connection with code %v%s; a code other than 1000 or 1001 means the session ended on an error (RFC 6455 §7.4.1), check the peer's logs",
		s.peerName(), m.CloseCode, reason)}
}

func (s *Session) peerName() string {
	if s.cfg.Role == wire.RoleServer {
		return "the client"
	}
	return "the server"
}

// readFailed classifies a read error.
func (s *Session) readFailed(err error) error {
	s.mu.Lock()
	closeSent, aborted := s.closeSent, s.aborted
	s.mu.Unlock()
	if aborted {
		return nil
	}
	if st := s.stalled.Load(); st != nil {
		return st
	}
	var pe *wire.ProtocolError
	if errors.As(err, &pe) {
		if s.markCloseSent() {
			s.boundWrites()
			s.answer(reply{op: wire.OpClose, code: pe.Code, hasCode: true, reason: closeReason(pe)})
		}
		if pe.Code == wire.CloseMessageTooBig {
			return &sessionError{err: pe, msg: fmt.Sprintf("%s sent a message over the size limit: %s; wsdbg sent close %v and gave up (raise --max-message-size if such messages are expected)",
				s.peerName(), pe.Reason, pe.Code)}
		}
		return &sessionError{err: pe, msg: fmt.Sprintf("%s broke the protocol: %s; wsdbg sent close %v and gave up (RFC 6455 §7.1.7; run with -v to see every frame)",
			s.peerName(), pe.Reason, pe.Code)}
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() && closeSent {
		s.p.Note(fmt.Sprintf("no close frame from %s within %v (--close-timeout); closing the connection", s.peerName(), s.cfg.CloseTimeout))
		return nil
	}
	if closeSent && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)) {
		s.p.Note(fmt.Sprintf("%s closed the TCP connection without answering our close frame", s.peerName()))
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the connection to %s was dropped without a close frame after %s (%v); the peer or a proxy in between ended TCP without the closing handshake of RFC 6455 §7.1.1, check its logs and idle timeouts",
			s.peer(), plural(s.received.Load(), "message", "messages"), err)
	}
	return fmt.Errorf("read from %s after %s: %w; the connection failed without a close frame (RFC 6455 §7.1.1)", s.peer(), plural(s.received.Load(), "message", "messages"), err)
}

// closeReason is the reason sent in our close frame for a protocol error:
// what went wrong, as valid UTF-8 (RFC 6455 §5.5.1);
// WriteClose cuts it to fit a control frame.
func closeReason(pe *wire.ProtocolError) string {
	return strings.ToValidUTF8(pe.Reason, "?")
}

// sessionError is a failure with a sentence for people; Unwrap gives the
// typed cause (*wire.ProtocolError, *wire.CloseError) callers branch on.
type sessionError struct {
	msg string
	err error
}

func (e *sessionError) Error() string { return e.msg }
func (e *sessionError) Unwrap() error { return e.err }
