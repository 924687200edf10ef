package handshake

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/http2"
)

// ALPNH2 is the application protocol --http2 offers over TLS (RFC 9113
// §3.2); it offers nothing else, so that a server without HTTP/2 shows.
const ALPNH2 = "h2"

// exchangeH2 runs one extended CONNECT (RFC 8441) over a new HTTP/2
// connection: TLS with ALPN h2 for wss, prior knowledge (h2c) for ws
// (RFC 9113 §3.3). It writes the client preface, SETTINGS and a connection
// WINDOW_UPDATE, waits for the server's SETTINGS and requires
// ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 §3), sends HEADERS with the
// pseudo-header fields, and judges the response HEADERS. After a 2xx
// (RFC 8441 §5) Result.Conn is stream 1 as a net.Conn.
func exchangeH2(ctx context.Context, u *url.URL, o *Options, pre []string) (*Result, error) {
	res := &Result{
		URL:    shownURL(u, o.ShowSecrets),
		HTTP2:  true,
		Notes:  pre,
		Timing: Timing{DNS: -1, Connect: -1, Proxy: -1, TLS: -1, Response: -1, Total: -1},
		shown:  o.ShowSecrets,
	}
	res.rand = func(b []byte) error {
		r := o.Rand
		if r == nil {
			r = rand.Reader
		}
		_, err := io.ReadFull(r, b)
		return err
	}
	fields, err := BuildH2Fields(u, o)
	if err != nil {
		return nil, err
	}
	res.Request = h2Request(fields)
	secure := u.Scheme == "wss"
	o.Live.begin()
	o.Live.catchUp(res)

	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	t := Target{URL: u, Host: HostPort(u), ServerName: u.Hostname(), Secure: secure}
	if o.SNI != "" {
		t.ServerName = o.SNI
	}
	start := o.now()
	conn, info, err := dial(ctx, t, o, start)
	sent := start
	if info != nil {
		res.Notes = append(res.Notes, info.Notes...)
		res.Diagnostics = append(res.Diagnostics, info.Diagnostics...)
		res.Timing.DNS, res.Timing.Connect, res.Timing.Proxy, res.Timing.TLS = info.DNS, info.Connect, info.Proxy, info.TLS
		res.TLS = info.TLSInfo
		if !info.End.IsZero() {
			sent = info.End
		}
	}
	finish := func(c Class) (*Result, error) {
		res.Class = c
		if res.Timing.Total < 0 {
			res.Timing.Total = o.now().Sub(start)
		}
		return res, nil
	}
	if err != nil {
		res.Err = err
		var de *DialError
		if errors.As(err, &de) {
			res.Diagnostics = append(res.Diagnostics, de.Diagnostics...)
		}
		switch {
		case errors.Is(ctx.Err(), context.Canceled) && Worst(res.Diagnostics) < SevError:
			res.Diagnostics = append(res.Diagnostics, Diag("no-response", "interrupted before the connection was open (0 bytes received)"))
		case ctx.Err() != nil && !hasID(res.Diagnostics, "timeout"):
			res.Diagnostics = append(res.Diagnostics, Diag("timeout", "no connection within %s (0 bytes received); raise --timeout or check the address", o.timeout()))
		}
		if hasID(res.Diagnostics, "h2-alpn") {
			return finish(ClassRefused) // SPEC §10: exit 4
		}
		if Worst(res.Diagnostics) < SevError {
			res.Diagnostics = append(res.Diagnostics, Diag("connect-failed", "could not open the connection: %s", err))
		}
		return finish(ClassNoResponse)
	}
	if secure && (res.TLS == nil || res.TLS.ALPN != ALPNH2) {
		got := "no protocol"
		if res.TLS != nil && res.TLS.ALPN != "" {
			got = fmt.Sprintf("%q", res.TLS.ALPN)
		}
		res.Diagnostics = append(res.Diagnostics, Diag("h2-alpn", "TLS selected %s instead of \"h2\": the server speaks only HTTP/1.1 here; drop --http2", got))
		conn.Close()
		return finish(ClassRefused)
	}
	mode := "prior knowledge (h2c, RFC 9113 §3.3)"
	if secure {
		mode = "TLS with ALPN h2 (RFC 9113 §3.2)"
	}
	res.Notes = append(res.Notes, "HTTP/2 over "+mode+"; extended CONNECT (RFC 8441)")
	o.Live.catchUp(res)
	res.Diagnostics = append(res.Diagnostics, DiagnoseH2Request(fields, secure)...)

	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	defer stop()

	c := newH2Conn(conn, o.timeout())
	c.live = func() {
		res.H2Frames = c.snapshot()
		o.Live.h2(res)
	}
	if err := c.writePreface(); err != nil {
		conn.Close()
		res.Err = fmt.Errorf("write preface: %w", err)
		res.Diagnostics = append(res.Diagnostics, Diag("connect-failed", "the connection broke while the HTTP/2 preface was written: %v; the server may have closed it (check the port and scheme)", err))
		res.H2Frames = c.frames()
		return finish(ClassNoResponse)
	}
	res.Sent = true
	c.live()

	cls, resp := c.handshake(ctx, res, fields, o)
	end := o.now()
	res.Timing.Response = end.Sub(sent)
	res.Timing.Total = end.Sub(start)
	res.H2Frames = c.frames()
	if resp == nil {
		conn.Close()
		return finish(cls)
	}
	res.Response = resp
	res.Class = cls
	if cls != ClassOK && !(cls == ClassBadHandshake && o.Lenient) && cls != ClassExpect {
		if cls == ClassBadHandshake {
			res.Later = append(res.Later, "Failing the connection: the response has errors (RFC 6455 §4.1); --lenient continues anyway")
		}
		c.queue(ctrlFrame{typ: http2.FrameRSTStream, stream: streamID, code: http2.ErrCodeCancel})
		res.H2Frames = c.frames()
		conn.Close()
		return res, nil
	}
	if !stop() {
		<-interrupted
	}
	conn.SetDeadline(time.Time{})
	go c.readLoop()
	res.Conn = &h2Stream{c}
	res.Reader = bufio.NewReaderSize(res.Conn, 4096) // nothing buffered: DATA arrives through the stream
	return res, nil
}

// snapshot returns a copy of the frames logged so far.
func (c *h2Conn) snapshot() []H2Frame {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return append([]H2Frame(nil), c.keep...)
}

// frames returns the frames logged so far and stops keeping more: later
// frames go to the log hook only (-v).
func (c *h2Conn) frames() []H2Frame {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	c.keepN = true
	if c.dropped > 0 {
		c.keep = append(c.keep, H2Frame{Type: fmt.Sprintf("(%d more frames not shown)", c.dropped)})
		c.dropped = 0
	}
	return c.keep
}

// writePreface writes the client connection preface (RFC 9113 §3.4): the
// magic string, SETTINGS (no push, wsdbg's stream window and header list
// limit) and a WINDOW_UPDATE that grows the connection window to h2Window.
func (c *h2Conn) writePreface() error {
	c.wmu.Lock()
	defer c.unlockWrite()
	if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
		return err
	}
	c.record(H2Frame{Out: true, Type: "PREFACE", Length: len(http2.ClientPreface)})
	settings := []http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: h2Window},
		{ID: http2.SettingMaxHeaderListSize, Val: MaxH2HeaderList},
	}
	if err := c.fw.WriteSettings(settings...); err != nil {
		return err
	}
	var parts []string
	for _, s := range settings {
		parts = append(parts, fmt.Sprintf("%s=%d", settingName(s.ID), s.Val))
	}
	c.record(H2Frame{Out: true, Type: "SETTINGS", Length: 6 * len(settings), Detail: strings.Join(parts, " ")})
	if err := c.fw.WriteWindowUpdate(0, h2Window-65535); err != nil {
		return err
	}
	c.record(H2Frame{Out: true, Type: "WINDOW_UPDATE", Length: 4, Detail: fmt.Sprintf("increment=%d", h2Window-65535)})
	return c.bw.Flush()
}

// handshake reads the server preface, sends the request and reads frames
// until the final response HEADERS of stream 1. It returns the class of
// the exchange and the response (nil when none came), and adds its
// findings to res.
func (c *h2Conn) handshake(ctx context.Context, res *Result, fields []H2Field, o *Options) (Class, *Response) {
	add := func(d Diagnostic) { res.Diagnostics = append(res.Diagnostics, d) }
	// RFC 9113 §3.4: the server preface is a SETTINGS frame. Look before
	// parsing, so that an HTTP/1.1 answer to h2c is named as such.
	b, err := c.br.Peek(9)
	if len(b) < 9 {
		partial, _ := c.br.Peek(c.br.Buffered())
		res.Partial = append([]byte(nil), partial...)
		if len(partial) > 0 {
			if what := notH2(partial); what != "" {
				add(Diag("h2-not-h2", "the server did not answer with an HTTP/2 SETTINGS frame but with %s; first bytes: %s", what, escapeString(partial[:min(len(partial), 32)])))
				return ClassRefused, nil
			}
		}
		add(c.readFailure(ctx, err, len(partial), o, "the server's SETTINGS"))
		return ClassNoResponse, nil
	}
	if b[3] != byte(http2.FrameSettings) || b[4]&1 != 0 || b[5]|b[6]|b[7]|b[8] != 0 {
		more, _ := c.br.Peek(min(c.br.Buffered(), maxPartial))
		res.Partial = append([]byte(nil), more...)
		what := notH2(more)
		if what == "" {
			what = fmt.Sprintf("a %s frame instead of SETTINGS", frameType(http2.FrameType(b[3])))
		}
		add(Diag("h2-not-h2", "the server did not answer with an HTTP/2 SETTINGS frame but with %s; first bytes: %s", what, escapeString(more[:min(len(more), 32)])))
		return ClassRefused, nil
	}

	var resp *Response
	var respEnd bool
	c.gotHeader = func(fs []H2Field, end bool) error {
		r := h2Response(fs)
		if r.Status >= 100 && r.Status < 200 && r.Status != 101 && !end {
			res.Later = append(res.Later, fmt.Sprintf("Interim response :status %d ignored (RFC 9113 §8.1)", r.Status))
			return nil
		}
		resp, respEnd = r, end
		return nil
	}
	defer func() { c.gotHeader = nil }()
	settings := false
	for resp == nil {
		f, err := c.fr.ReadFrame()
		if err != nil {
			err = c.frameError(err)
			return c.handshakeError(ctx, res, err, o, settings), nil
		}
		if err := c.process(f); err != nil {
			return c.handshakeError(ctx, res, err, o, settings), nil
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() && !settings {
			settings = true
			c.mu.Lock()
			ecp := c.ecp
			c.mu.Unlock()
			if ecp != 1 {
				add(Diag("h2-connect-protocol", "the server's SETTINGS (%s) lack ENABLE_CONNECT_PROTOCOL=1: it does not accept WebSockets over HTTP/2; drop --http2 to use an HTTP/1.1 upgrade", orNone(settingsDetail(sf))))
				c.queue(ctrlFrame{typ: http2.FrameGoAway, code: http2.ErrCodeNo})
				return ClassRefused, nil
			}
			if err := c.writeHeaders(fields); err != nil {
				res.Err = err
				add(Diag("connect-failed", "the connection broke while the HEADERS were written: %v", err))
				return ClassNoResponse, nil
			}
			if c.live != nil {
				c.live() // the request is out: show it while waiting
			}
		}
	}
	fs := Findings{}
	if resp.Status < 200 || resp.Status > 299 {
		d := statusDiagnostic(res.Request, resp, o)
		msg := strings.Replace(d.Message, "instead of 101", "instead of 2xx", 1)
		msg = strings.Replace(msg, "expected 101 Switching Protocols", "expected a 2xx (RFC 8441 §5)", 1)
		if resp.Status == 0 {
			v, _ := resp.Get(":status")
			msg = fmt.Sprintf("the response HEADERS have no valid :status (got %q); expected a 2xx", v)
		} else if resp.Status == 101 {
			msg = "server answered :status 101, which HTTP/2 forbids (RFC 9113 §8.6); expected a 2xx"
		}
		add(diagMsg("h2-status", msg))
		checkExpectations(&fs, resp, o)
		res.Diagnostics = append(res.Diagnostics, fs.Diagnostics...)
		return ClassRefused, resp
	}
	offeredVersion, _ := res.Request.lookup("sec-websocket-version")
	if _, n := resp.lookup("sec-websocket-version"); n > 0 && !hasExact(&resp.Head, "sec-websocket-version", offeredVersion) {
		vs := resp.Tokens("sec-websocket-version")
		fs.Diagnostics = append(fs.Diagnostics, Diag("version-unsupported", "server supports sec-websocket-version %s; the request offered %q; try --ws-version %s", strings.Join(vs, ", "), offeredVersion, vs[0]))
	}
	checkProtocol(&fs, res.Request, resp)
	checkExtensions(&fs, res.Request, resp, o)
	checkExpectations(&fs, resp, o)
	res.Diagnostics = append(res.Diagnostics, fs.Diagnostics...)
	res.Negotiated = fs.Negotiated
	res.Later = append(res.Later, "RFC 8441 has no Sec-WebSocket-Key or Sec-WebSocket-Accept: there is no accept value to check (RFC 8441 §5)")
	res.Later = append(res.Later, fieldNotes(resp.fieldsH2(), "response")...)
	if respEnd {
		add(Diag("h2-status", "the %d response ended stream 1 (END_STREAM): there is no stream left to carry the WebSocket (RFC 8441 §5)", resp.Status))
		return ClassRefused, resp
	}
	return classifyUpgrade(res.Diagnostics), resp
}

// fieldsH2 returns the fields of a head built by h2Head.
func (h *Head) fieldsH2() []H2Field {
	fs := make([]H2Field, len(h.Fields))
	for i, f := range h.Fields {
		fs[i] = H2Field{f.Name, f.Value}
	}
	return fs
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// handshakeError turns what ended the handshake into its diagnostic and
// class: a GOAWAY or RST_STREAM before the response refuses the WebSocket
// (exit 4, SPEC §10); a violation or a read failure leaves no usable
// response (exit 3).
func (c *h2Conn) handshakeError(ctx context.Context, res *Result, err error, o *Options, settings bool) Class {
	var he *H2Error
	if errors.As(err, &he) {
		res.Diagnostics = append(res.Diagnostics, he.Diagnostic)
		c.flushBeforeClose()
		if he.Local {
			return ClassNoResponse
		}
		return ClassRefused
	}
	what := "the response HEADERS"
	if !settings {
		what = "the server's SETTINGS"
	}
	res.Err = err
	res.Diagnostics = append(res.Diagnostics, c.readFailure(ctx, err, -1, o, what))
	return ClassNoResponse
}

// flushBeforeClose writes queued control frames (a GOAWAY wsdbg sends on
// a violation) with a short deadline.
func (c *h2Conn) flushBeforeClose() {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.kick()
}

// readFailure is the diagnostic for a read that ended before what: timeout
// when the deadline passed, no-response otherwise; n bytes arrived (-1:
// unknown).
func (c *h2Conn) readFailure(ctx context.Context, err error, n int, o *Options, what string) Diagnostic {
	got := ""
	if n >= 0 {
		got = fmt.Sprintf(" (%d bytes received)", n)
	}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return Diag("no-response", "interrupted while waiting for %s%s", what, got)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return Diag("timeout", "no %s within %s%s: the server may not speak HTTP/2 on this port; raise --timeout or drop --http2", strings.TrimPrefix(what, "the "), o.timeout(), got)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return Diag("no-response", "the server closed the connection before %s%s; it may not speak HTTP/2 with prior knowledge (h2c) here: drop --http2, or use wss:// so that ALPN can select h2", what, got)
	}
	return Diag("no-response", "reading %s failed: %v%s", what, err, got)
}

// notH2 says what bytes that are not an HTTP/2 server preface look like,
// "" when they could be one.
func notH2(b []byte) string {
	if len(b) >= 5 && strings.EqualFold(string(b[:5]), "HTTP/") {
		line, _, _ := strings.Cut(string(b[:min(len(b), 80)]), "\n")
		return fmt.Sprintf("an HTTP/1.x response (%s): the server does not speak h2c with prior knowledge (RFC 9113 §3.3); drop --http2, or use wss:// so that ALPN can select h2", escapeString(strings.TrimRight(line, "\r")))
	}
	if len(b) >= 9 && b[3] == byte(http2.FrameSettings) {
		return ""
	}
	if what := classify(b, true); what != "" && !strings.HasPrefix(what, "an HTTP/2") {
		return what
	}
	if len(b) < 9 {
		return fmt.Sprintf("%d bytes, too short for an HTTP/2 frame header", len(b))
	}
	return ""
}
