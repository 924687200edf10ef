package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// serve --http2 runs its own HTTP/2 server on x/net's Framer rather than
// x/net's http2.Server: the log must show each request's HEADERS as they
// arrived (order, duplicates, pseudo-header fields), and judge an extended
// CONNECT whose pseudo-header fields are missing or wrong, which
// http2.Server turns into an http.Request map or rejects with RST_STREAM
// before any handler sees it. Extended CONNECT in http2.Server also needs
// GODEBUG=http2xconnect=1, a process-wide switch read at start-up.

// serveH2 runs one HTTP/2 connection: how says how it was chosen (ALPN
// h2, or the h2c preface). Each request stream is logged as "#N/S", N the
// connection and S the stream.
func (sc *serverConn) serveH2(br *bufio.Reader, how string) {
	sc.mu.Lock()
	sc.h2 = true
	sc.mu.Unlock()
	sc.c.SetReadDeadline(time.Time{})
	sc.note("HTTP/2 (" + how + "); SETTINGS advertise ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 §3)")
	cfg := handshake.H2ServerConfig{
		OnRequest: sc.h2Request,
		Violation: func(reason string) { sc.note("The client broke HTTP/2: " + reason + "; sent GOAWAY") },
	}
	if sc.s.opts.Verbose && sc.log != nil {
		cfg.Log = func(f handshake.H2Frame) {
			dir := "<"
			if f.Out {
				dir = ">"
			}
			sc.note("h2 " + dir + " " + f.String())
		}
	}
	if err := handshake.ServeH2(sc.c, br, cfg); err != nil && !sc.isLeaving() {
		sc.note(fmt.Sprintf("HTTP/2 connection ended: %v", err))
	}
	sc.note("Closed after " + serveDuration(time.Since(sc.start)))
}

// h2Request answers one request stream: the test page, or an extended
// CONNECT whose WebSocket is echoed on the stream.
func (sc *serverConn) h2Request(st *handshake.H2ServerStream, fields []handshake.H2Field) {
	var log *lineWriter
	if !sc.s.opts.Quiet {
		log = newLineWriter(sc.s.sink, fmt.Sprintf("%s#%d/%d ", sc.s.opts.prefix, sc.id, st.ID()))
		defer log.Close()
	}
	emit := func(b *logBlock) {
		if log != nil && b.b.Len() > 0 {
			log.Write(b.b.Bytes())
		}
	}
	b := newLogBlock(sc.s.paint)
	b.line(handshake.KindResponse, "<", fmt.Sprintf("HEADERS stream=%d", st.ID()))
	for _, f := range fields {
		b.line(handshake.KindResponse, "<", f.Name+": "+handshake.RedactedValue(f.Name, f.Value, sc.s.opts.ShowSecrets))
	}
	reply := handshake.RespondH2(fields, sc.s.respOpts, sc.s.tls)
	col := 15
	for _, d := range reply.Diagnostics {
		col = max(col, len(d.ID))
	}
	for _, d := range reply.Diagnostics {
		b.diag(d, col)
	}
	b.line(handshake.KindRequest, ">", fmt.Sprintf("HEADERS stream=%d", st.ID()))
	for _, f := range reply.Fields {
		b.line(handshake.KindRequest, ">", f.Name+": "+f.Value)
	}
	switch {
	case reply.Upgrade:
		neg := []string{"no subprotocol"}
		if reply.Protocol != "" {
			neg[0] = fmt.Sprintf("subprotocol %q", reply.Protocol)
		}
		for _, e := range reply.Extensions {
			neg = append(neg, fmt.Sprintf("extension %q", e))
		}
		b.note("Extended CONNECT accepted: WebSocket over HTTP/2 stream " + fmt.Sprint(st.ID()) + " (RFC 8441), " + strings.Join(neg, ", "))
	case reply.Page:
		b.note(fmt.Sprintf("Served the test page over HTTP/2 (%d bytes)", len(reply.Body)))
	default:
		b.note(fmt.Sprintf("Refused with :status %d", reply.Status))
	}
	emit(b)
	st.SetWriteDeadline(time.Now().Add(sc.s.opts.WriteTimeout))
	if err := st.Respond(reply.Fields, len(reply.Body) == 0 && !reply.Upgrade); err != nil {
		return
	}
	if !reply.Upgrade {
		if len(reply.Body) > 0 {
			st.Write(reply.Body)
			st.Close()
		}
		return
	}
	st.SetWriteDeadline(time.Time{})
	sc.h2Session(st, reply, log)
}

// h2Session echoes the WebSocket of an extended CONNECT stream, on the
// session code of the HTTP/1.1 path.
func (sc *serverConn) h2Session(st *handshake.H2ServerStream, reply *handshake.H2Reply, log *lineWriter) {
	cfg := repl.SessionConfig{Role: wire.RoleServer, MaxMessageSize: sc.s.opts.MaxMessageSize, CloseTimeout: closeGrace}
	if len(reply.Extensions) > 0 {
		if p, err := wire.ParseDeflate(reply.Extensions[0]); err == nil {
			cfg.Deflate = &p
		}
	}
	var out io.Writer = io.Discard
	if log != nil {
		out = log
	}
	p := repl.NewPrinter(repl.PrinterConfig{
		Out: out, Log: out, Escape: true, Binary: repl.BinaryHex, Verbose: sc.s.opts.Verbose,
		InMarker: "< ", OutMarker: "> ", ShowSent: true, Paint: sc.s.events,
	})
	cfg.Printer = p
	sess := repl.NewSession(st, nil, cfg)
	sc.mu.Lock()
	if sc.h2Sessions == nil {
		sc.h2Sessions = map[*repl.Session]struct{}{}
	}
	sc.h2Sessions[sess] = struct{}{}
	leaving := sc.leaving
	sc.mu.Unlock()
	if leaving {
		sess.Close(wire.CloseGoingAway, "server shutting down")
	}
	if err := repl.RunEcho(context.Background(), sess); err != nil {
		p.Note(fmt.Sprintf("Connection failed: %v", err))
	}
	sc.mu.Lock()
	delete(sc.h2Sessions, sess)
	sc.mu.Unlock()
	st.Close()
	p.Note("Stream closed after " + serveDuration(time.Since(sc.start)))
	p.Close()
}
