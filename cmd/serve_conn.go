package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// serverConn is one client of `wsdbg serve`.
type serverConn struct {
	s     *server
	c     net.Conn
	id    int64
	log   *lineWriter // nil with --quiet
	start time.Time
	entry *har.Entry // the --har entry of an upgraded connection

	mu        sync.Mutex
	upgrading bool          // the 101 is chosen: the session will start
	sess      *repl.Session // set once the session has started
	leaving   bool          // the server is shutting down
	// h2 is set for an HTTP/2 connection, whose WebSockets are the
	// sessions of its extended CONNECT streams.
	h2         bool
	h2Sessions map[*repl.Session]struct{}
}

func (s *server) newConn(c net.Conn) *serverConn {
	sc := &serverConn{s: s, c: c, id: s.seq.Add(1), start: time.Now()}
	if !s.opts.Quiet {
		sc.log = newLineWriter(s.sink, fmt.Sprintf("%s#%d ", s.opts.prefix, sc.id))
	}
	s.mu.Lock()
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	return sc
}

// write sends a block of log lines for this connection.
func (sc *serverConn) write(b *logBlock) {
	if sc.log != nil && b.b.Len() > 0 {
		sc.log.Write(b.b.Bytes())
	}
}

// serve runs one connection: the opening handshake, then the echo session.
func (sc *serverConn) serve(ctx context.Context) {
	defer sc.c.Close()
	sc.note(fmt.Sprintf("Connection from %s", sc.c.RemoteAddr()))
	b := newLogBlock(sc.s.paint)

	// The head timeout covers the TLS handshake too.
	sc.c.SetReadDeadline(time.Now().Add(sc.s.opts.HeadTimeout))
	if tc, ok := sc.c.(*tls.Conn); ok && !sc.tlsHandshake(ctx, tc, b) {
		sc.write(b)
		return
	}
	if tc, ok := sc.c.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
		sc.write(b)
		sc.serveH2(nil, "TLS, ALPN h2")
		return
	}
	br := bufio.NewReaderSize(sc.c, 4096)
	if sc.s.opts.HTTP2 && handshake.IsH2Preface(br) {
		sc.write(b)
		sc.serveH2(br, "h2c with prior knowledge, RFC 9113 §3.3")
		return
	}
	req, err := handshake.ReadRequest(br)
	if err != nil {
		if sc.isLeaving() {
			b.note("Server shutting down: dropped the connection before its request head was complete")
			sc.write(b)
			return
		}
		sc.refuseUnreadable(b, err)
		return
	}
	sc.c.SetReadDeadline(time.Time{})

	reply := handshake.Respond(req, sc.s.respOpts)
	if reply.Upgrade {
		sc.mu.Lock()
		sc.upgrading = true
		sc.mu.Unlock()
	}
	sc.logExchange(b, req, reply)
	sc.write(b)
	if err := sc.writeAll(reply.Bytes()); err != nil {
		sc.note(fmt.Sprintf("Could not send the response: %v", err))
		return
	}
	if !reply.Upgrade {
		sc.linger()
		sc.note("Closed")
		return
	}
	sc.entry = sc.serverEntry(req, reply)
	sc.session(br, reply)
}

// tlsHandshake runs the server side of TLS and logs its outcome; on
// failure it answers plain HTTP with a hint and returns false.
func (sc *serverConn) tlsHandshake(ctx context.Context, tc *tls.Conn, b *logBlock) bool {
	if err := tc.HandshakeContext(ctx); err != nil {
		b.fail(fmt.Sprintf("TLS handshake failed: %v", err))
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader[:]) {
			// Plain HTTP on the TLS port: say so in plain HTTP, as
			// net/http does.
			reply := handshake.TextReply(400, "This server speaks TLS: use wss:// (or https:// for the test page).\n")
			b.head(handshake.KindRequest, ">", responseHead(reply).RedactedLines(true))
			rhe.Conn.SetWriteDeadline(time.Now().Add(sc.s.opts.WriteTimeout))
			rhe.Conn.Write(reply.Bytes())
		}
		return false
	}
	st := tc.ConnectionState()
	alpn, sni := "no ALPN", "no SNI"
	if st.NegotiatedProtocol != "" {
		alpn = fmt.Sprintf("ALPN %q", st.NegotiatedProtocol)
	}
	if st.ServerName != "" {
		sni = fmt.Sprintf("SNI %q", st.ServerName)
	}
	b.note(fmt.Sprintf("%s, %s, %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), alpn, sni))
	return true
}

// logExchange adds the request as received ("<"), its diagnostics, the
// response chosen (">") and a summary.
func (sc *serverConn) logExchange(b *logBlock, req *handshake.Request, reply *handshake.ServerReply) {
	b.head(handshake.KindResponse, "<", req.RedactedLines(sc.s.opts.ShowSecrets))
	// One column for the block's ids, widened by a long one
	// (request-http-version), as in the client's transcript.
	col := 15
	for _, d := range reply.Diagnostics {
		col = max(col, len(d.ID))
	}
	for _, d := range reply.Diagnostics {
		b.diag(d, col)
	}
	b.head(handshake.KindRequest, ">", responseHead(reply).RedactedLines(true))
	switch {
	case reply.Upgrade:
		neg := []string{"no subprotocol"}
		if reply.Protocol != "" {
			neg[0] = fmt.Sprintf("subprotocol %q", reply.Protocol)
		}
		if len(reply.Extensions) == 0 {
			neg = append(neg, "no extension")
		}
		for _, e := range reply.Extensions {
			neg = append(neg, fmt.Sprintf("extension %q", e))
		}
		b.note("Upgraded to WebSocket: " + strings.Join(neg, ", "))
		if len(reply.Extensions) == 0 {
			for _, why := range declinedOffers(req.Tokens("Sec-WebSocket-Extensions"), sc.s.opts.Deflate) {
				b.note(why)
			}
		}
	case reply.Page:
		b.note(fmt.Sprintf("Not an upgrade request: served the test page (%d bytes)", len(reply.Body)))
	default:
		b.note(fmt.Sprintf("Refused the upgrade with %d", reply.Status))
	}
}

// refuseUnreadable answers a request head that could not be read (too
// large, not HTTP, too slow) and logs why.
func (sc *serverConn) refuseUnreadable(b *logBlock, err error) {
	var (
		tooLarge   *handshake.HeadTooLargeError
		notHTTP    *handshake.NotHTTPError
		incomplete *handshake.IncompleteError
	)
	switch {
	case errors.As(err, &tooLarge):
		b.fail(fmt.Sprintf("Request head larger than %d bytes (%d read without its end)", handshake.MaxHeadSize, tooLarge.N))
	case errors.As(err, &notHTTP):
		b.fail(fmt.Sprintf("Not an HTTP request: %s (first bytes %q)", notHTTP.What, notHTTP.First))
	case errors.As(err, &incomplete) && incomplete.N == 0 && errors.Is(err, io.EOF):
		b.note("Client closed the connection without sending a request")
	case errors.As(err, &incomplete) && isTimeoutErr(err):
		b.fail(fmt.Sprintf("Request head not complete after --head-timeout %s (%d bytes received)", sc.s.opts.HeadTimeout, incomplete.N))
	case errors.As(err, &incomplete):
		b.note(fmt.Sprintf("Connection ended after %d bytes, before the request head was complete: %v", incomplete.N, incomplete.Err))
	default:
		b.fail(fmt.Sprintf("Read request head: %v", err))
	}
	reply := handshake.RespondError(err)
	if reply == nil {
		b.note("Closed")
		sc.write(b)
		return
	}
	b.head(handshake.KindRequest, ">", responseHead(reply).RedactedLines(true))
	sc.write(b)
	if err := sc.writeAll(reply.Bytes()); err != nil {
		sc.note(fmt.Sprintf("Could not send the response: %v", err))
		return
	}
	sc.linger()
	sc.note(fmt.Sprintf("Closed after answering %d", reply.Status))
}

// declinedOffers says why each extension offer was declined when none was
// accepted (RFC 6455 §9.1).
func declinedOffers(offers []string, deflate bool) []string {
	var out []string
	for _, o := range offers {
		name, _, _ := strings.Cut(o, ";")
		name = strings.TrimSpace(name)
		switch {
		case !strings.EqualFold(name, wire.DeflateExtension):
			out = append(out, fmt.Sprintf("Declined extension offer %q: serve supports only %s", o, wire.DeflateExtension))
		case !deflate:
			out = append(out, fmt.Sprintf("Declined extension offer %q: start serve with --deflate to accept it", o))
		default:
			if _, err := wire.ParseDeflate(o); err != nil {
				out = append(out, fmt.Sprintf("Declined extension offer: %v", err))
			}
		}
	}
	return out
}

// looksLikeHTTP reports whether the first bytes of a stream start an HTTP
// request line: an upper-case method and a space.
func looksLikeHTTP(b []byte) bool {
	for i, c := range b {
		switch {
		case c == ' ':
			return i > 0
		case c < 'A' || c > 'Z':
			return false
		}
	}
	return len(b) > 0
}

// responseHead parses our own reply for logging, so that it is printed
// with the same code as a received head.
func responseHead(r *handshake.ServerReply) *handshake.Response {
	resp, err := handshake.ReadResponse(bufio.NewReader(bytes.NewReader(r.Head)))
	if err != nil {
		return &handshake.Response{}
	}
	return resp
}

// note logs one "*" line outside the session.
func (sc *serverConn) note(text string) {
	b := newLogBlock(sc.s.paint)
	b.note(text)
	sc.write(b)
}

// writeAll writes b within --write-timeout.
func (sc *serverConn) writeAll(b []byte) error {
	sc.c.SetWriteDeadline(time.Now().Add(sc.s.opts.WriteTimeout))
	_, err := sc.c.Write(b)
	return err
}

// linger ends a connection whose last response has been written: it shuts
// the sending side and reads what the client still sends, for closeGrace
// at most, so that the client reads the whole response rather than a
// reset caused by unread data (RFC 9112 §9.6).
func (sc *serverConn) linger() {
	if cw, ok := sc.c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	sc.c.SetReadDeadline(time.Now().Add(closeGrace))
	io.CopyN(io.Discard, sc.c, 1<<20)
}

// sessionConn is the connection as the echo session sees it: every write
// has a deadline (--write-timeout), so that a client that stops reading
// cannot hold the connection forever; reads record activity for
// --idle-timeout.
type sessionConn struct {
	net.Conn
	sc      *serverConn
	last    atomic.Int64 // unix nanoseconds of the last read that returned data
	stalled atomic.Bool  // a write timed out
}

func (c *sessionConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *sessionConn) Write(b []byte) (int, error) {
	d := c.sc.s.opts.WriteTimeout
	c.Conn.SetWriteDeadline(time.Now().Add(d))
	n, err := c.Conn.Write(b)
	if isTimeoutErr(err) && c.stalled.CompareAndSwap(false, true) {
		// The client does not read: stop reading too, which ends the
		// session (writes come from the reading goroutine's flushes or
		// from closes).
		if p := c.sc.printer(); p != nil {
			p.Note(fmt.Sprintf("Client read nothing for --write-timeout %s while %d bytes waited to be sent; dropping it", d, len(b)-n))
		}
		c.Conn.SetReadDeadline(time.Now())
	}
	return n, err
}

// Close does nothing: the session calls it when it ends, and serve closes
// the connection after deciding whether to linger.
func (c *sessionConn) Close() error { return nil }

// session echoes data messages and answers control frames until the
// connection ends (RFC 6455 §5.5, §7), on the same session code as
// `connect --echo`.
func (sc *serverConn) session(br *bufio.Reader, reply *handshake.ServerReply) {
	cfg := repl.SessionConfig{Role: wire.RoleServer, MaxMessageSize: sc.s.opts.MaxMessageSize, CloseTimeout: closeGrace, WriteTimeout: sc.s.opts.WriteTimeout}
	if len(reply.Extensions) > 0 {
		if p, err := wire.ParseDeflate(reply.Extensions[0]); err == nil {
			cfg.Deflate = &p
		}
	}
	var out io.Writer = io.Discard
	if sc.log != nil {
		out = sc.log
	}
	p := repl.NewPrinter(repl.PrinterConfig{
		Out:       out,
		Log:       out,
		Escape:    true, // the log shows network bytes: always escaped (SPEC §2)
		Binary:    repl.BinaryHex,
		Verbose:   sc.s.opts.Verbose,
		InMarker:  "< ",
		OutMarker: "> ",
		ShowSent:  true,
		Paint:     sc.s.events,
	})
	cfg.Printer = p
	tapped, br := tapSession(sc.entry, sc.c, br, false, cfg.Deflate, cfg.MaxMessageSize, nil)
	nc := &sessionConn{Conn: tapped, sc: sc}
	nc.last.Store(time.Now().UnixNano())
	sess := repl.NewSession(nc, br, cfg)

	sc.mu.Lock()
	sc.sess = sess
	leaving := sc.leaving
	sc.mu.Unlock()
	if leaving {
		sc.goAway()
	}
	if idle := sc.s.opts.IdleTimeout; idle > 0 {
		go sc.watchIdle(sess, nc, idle)
	}

	// No context: the server's shutdown sends 1001 itself (goAway).
	if err := repl.RunEcho(context.Background(), sess); err != nil {
		var (
			ce *wire.CloseError
			pe *wire.ProtocolError
		)
		if !errors.As(err, &ce) { // a close code is already in the log
			p.Note(fmt.Sprintf("Connection failed: %v", err))
		}
		if errors.As(err, &pe) {
			// The client may still be sending: let it read our close
			// frame rather than a reset (RFC 6455 §7.1.7).
			p.Flush()
			sc.linger()
		}
	}
	p.Note("Closed after " + serveDuration(time.Since(sc.start)))
	p.Close()
	if sc.log != nil {
		sc.log.Close()
	}
}

// watchIdle closes the session with 1001 once the client has sent nothing
// for idle (--idle-timeout).
func (sc *serverConn) watchIdle(sess *repl.Session, nc *sessionConn, idle time.Duration) {
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-sess.Done():
			return
		case <-t.C:
			quiet := time.Since(time.Unix(0, nc.last.Load()))
			if quiet >= idle {
				sess.Printer().Note(fmt.Sprintf("Nothing received for --idle-timeout %s", idle))
				sess.Close(wire.CloseGoingAway, "idle timeout")
				return
			}
			t.Reset(idle - quiet)
		}
	}
}

// printer returns the session's printer, nil before the session.
func (sc *serverConn) printer() *repl.Printer {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.sess == nil {
		return nil
	}
	return sc.sess.Printer()
}

func (sc *serverConn) isLeaving() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.leaving
}

// goAway starts closing the connection because the server stops: a close
// frame with 1001 (RFC 6455 §7.4.1) for a WebSocket, after which the
// session waits closeGrace for the client's close; a connection still in
// its opening handshake is dropped, unless its 101 is on the way.
func (sc *serverConn) goAway() {
	sc.mu.Lock()
	sc.leaving = true
	sess, upgrading := sc.sess, sc.upgrading
	h2 := sc.h2
	var streams []*repl.Session
	for s := range sc.h2Sessions {
		streams = append(streams, s)
	}
	sc.mu.Unlock()
	if h2 {
		// Every WebSocket of the connection gets 1001; the connection
		// ends once they are closed, or after closeGrace.
		for _, s := range streams {
			s.Close(wire.CloseGoingAway, "server shutting down")
		}
		go func() {
			deadline := time.After(closeGrace)
			for _, s := range streams {
				select {
				case <-s.Done():
				case <-deadline:
				}
			}
			sc.c.Close()
		}()
		return
	}
	switch {
	case sess == nil && upgrading:
		return // the session sees leaving as it starts, and sends 1001
	case sess == nil:
		sc.c.Close()
		return
	}
	sess.Close(wire.CloseGoingAway, "server shutting down")
}

func isTimeoutErr(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// serveDuration formats a connection's lifetime: milliseconds with one
// decimal below a second, else rounded to the millisecond.
func serveDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}
