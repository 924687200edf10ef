package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/wire"
)

// Sides, as the log and the NDJSON "dir" name them.
const (
	sideClient = "client"
	sideServer = "server"
)

// pair is one client and its upstream connection.
type pair struct {
	s      *Server
	client net.Conn
	id     int64
	log    io.WriteCloser // nil with Quiet
	start  time.Time

	diags     []sideDiag         // handshake diagnostics, for --json
	clientReq *handshake.Request // the client's request head
	entry     *har.Entry         // nil without --har

	mu       sync.Mutex
	leaving  bool
	upstream net.Conn
	relays   [2]*relay // client→server, server→client; set once relaying
	grace    *time.Timer
	first    string // side whose close frame came first; "proxy" when we closed first
	dropped  atomic.Bool
}

type sideDiag struct {
	side string
	d    handshake.Diagnostic
}

// write sends a block of log lines.
func (p *pair) write(b *block) {
	if p.log != nil && b.b.Len() > 0 && !p.s.opts.JSON {
		p.log.Write(b.b.Bytes())
	}
}

// writeJSON sends one NDJSON event.
func (p *pair) writeJSON(v any) {
	if p.log == nil || !p.s.opts.JSON {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	p.log.Write(append(data, '\n'))
}

func (p *pair) diag(b *block, side string, d handshake.Diagnostic) {
	p.diags = append(p.diags, sideDiag{side, d})
	b.diag(side, d)
}

// run serves one client: the opening handshake, then the relay.
func (p *pair) run(ctx context.Context) {
	defer p.client.Close()
	defer func() {
		if p.log != nil {
			p.log.Close()
		}
	}()
	o := &p.s.opts
	b := newBlock(o.Paint)
	b.note(fmt.Sprintf("Connection from %s", p.client.RemoteAddr()))

	p.client.SetReadDeadline(time.Now().Add(o.HeadTimeout))
	br := bufio.NewReaderSize(p.client, 4096)
	req, err := handshake.ReadRequest(br)
	if err != nil {
		p.unreadable(b, err)
		return
	}
	p.client.SetReadDeadline(time.Time{})
	p.clientReq = req
	if !isUpgrade(req) {
		p.plain(ctx, b, req, br)
		return
	}
	b.head(handshake.KindRequest, ">", &req.Head, o.ShowSecrets)
	for _, d := range handshake.DiagnoseRequest(req) {
		p.diag(b, sideClient, d)
	}
	rw := Rewrite{Target: TargetFor(o.Upstream), Headers: o.Headers, Omit: o.Omit}
	if !o.KeepHost {
		rw.Host = handshake.HostHeader(o.Upstream)
	}
	fwd, changes, err := ForwardHead(req, rw)
	if err != nil { // -H was checked by the caller; keep the client's head
		fwd = req.Raw
		b.fail(fmt.Sprintf("Could not apply -H: %v", err))
	}
	fwdReq := handshake.ParseRequest(fwd)

	up, ubr, info, ok := p.dialUpstream(ctx, b, fwd, changes)
	if !ok {
		return
	}
	defer up.Close()

	resp, ok := p.readResponse(ctx, b, up, ubr, fwdReq, info)
	if !ok {
		return
	}
	if resp.Status != 101 {
		p.relayRefusal(resp)
		return
	}
	p.session(br, ubr, up, fwdReq, resp)
}

// isUpgrade reports whether req asks for an upgrade at all: anything but a
// plain GET or HEAD without WebSocket fields is forwarded as a handshake.
func isUpgrade(req *handshake.Request) bool {
	if req.Method != "GET" && req.Method != "HEAD" {
		return req.Count("Upgrade") > 0 || req.Count("Sec-WebSocket-Key") > 0
	}
	for _, name := range []string{"Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		if req.Count(name) > 0 {
			return true
		}
	}
	return false
}

// target returns where the upstream connection goes.
func (p *pair) target() handshake.Target {
	u := p.s.opts.Upstream
	t := handshake.Target{URL: u, Host: handshake.HostPort(u), ServerName: u.Hostname(), Secure: u.Scheme == "wss"}
	if p.s.opts.Dial.SNI != "" {
		t.ServerName = p.s.opts.Dial.SNI
	}
	return t
}

func (p *pair) timeout() time.Duration {
	if t := p.s.opts.Dial.Timeout; t > 0 {
		return t
	}
	return handshake.DefaultTimeout
}

// dialUpstream connects to the upstream and writes the forwarded head.
// When that fails it answers the client with 502 and returns ok false.
func (p *pair) dialUpstream(ctx context.Context, b *block, fwd []byte, changes []Change) (net.Conn, *bufio.Reader, *handshake.DialInfo, bool) {
	o := &p.s.opts
	dctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	conn, info, err := handshake.Dial(dctx, p.target(), &o.Dial)
	if info != nil {
		for _, n := range info.Notes {
			b.note(n)
		}
		for _, d := range info.Diagnostics {
			p.diag(b, sideServer, d)
		}
	}
	if err != nil {
		var de *handshake.DialError
		if errors.As(err, &de) && len(de.Diagnostics) > 0 {
			for _, d := range de.Diagnostics {
				p.diag(b, sideServer, d)
			}
		} else {
			p.diag(b, sideServer, handshake.Diag("connect-failed", "could not connect to the upstream %s: %v", p.shownUpstream(), err))
		}
		p.answer(b, 502, "Bad Gateway", fmt.Sprintf("wsdbg proxy could not connect to the upstream %s: %v\n", p.shownUpstream(), err))
		return nil, nil, nil, false
	}
	p.mu.Lock()
	p.upstream = conn
	leaving := p.leaving
	p.mu.Unlock()
	if leaving {
		conn.Close()
		b.note("Proxy shutting down: dropped the connection during its handshake")
		p.write(b)
		return nil, nil, nil, false
	}
	var what []string
	for _, c := range changes {
		what = append(what, c.describe())
	}
	if len(what) > 0 {
		b.note(fmt.Sprintf("Forwarding to %s with %s", p.shownUpstream(), strings.Join(what, ", ")))
	} else {
		b.note(fmt.Sprintf("Forwarding to %s as it is", p.shownUpstream()))
	}
	p.write(b)
	b.b.Reset()
	conn.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
	if _, err := conn.Write(fwd); err != nil {
		conn.Close()
		p.diag(b, sideServer, handshake.Diag("connect-failed", "the upstream connection broke while the request was written: %v", err))
		p.answer(b, 502, "Bad Gateway", fmt.Sprintf("wsdbg proxy could not send the request to the upstream %s: %v\n", p.shownUpstream(), err))
		return nil, nil, nil, false
	}
	return conn, bufio.NewReaderSize(conn, 4096), info, true
}

func (p *pair) shownUpstream() string {
	if p.s.opts.ShowSecrets {
		return p.s.opts.Upstream.String()
	}
	return p.s.opts.Upstream.Redacted()
}

// readResponse reads and judges the upstream's response head and relays
// it to the client byte for byte.
func (p *pair) readResponse(ctx context.Context, b *block, up net.Conn, ubr *bufio.Reader, fwdReq *handshake.Request, info *handshake.DialInfo) (*handshake.Response, bool) {
	o := &p.s.opts
	sent := o.now()
	up.SetReadDeadline(time.Now().Add(p.timeout()))
	stop := context.AfterFunc(ctx, func() { up.SetReadDeadline(time.Unix(1, 0)) })
	resp, err := handshake.ReadResponse(ubr)
	stop()
	elapsed := o.now().Sub(sent)
	if err != nil {
		d, status, reason := p.responseError(ctx, err)
		p.diag(b, sideServer, d)
		p.answer(b, status, reason, fmt.Sprintf("wsdbg proxy: the upstream %s gave no usable response: %s\n", p.shownUpstream(), d.Message))
		return nil, false
	}
	up.SetReadDeadline(time.Time{})
	var body *refusalBody
	if resp.Status != 101 {
		// A refusal and its body reach the client first; the log then
		// shows the body after the head, as inspect does.
		if !p.relayHead(resp) {
			return nil, false
		}
		body = p.relayBody(up, ubr, resp)
	}
	fs := handshake.DiagnoseResponse(fwdReq, resp, &handshake.Options{CheckExtension: func(offers []string, accepted string) []string {
		_, problems := wire.CheckDeflateResponse(offers, accepted)
		return problems
	}})
	b.head(handshake.KindResponse, "<", &resp.Head, o.ShowSecrets)
	if body != nil {
		body.lines(b, resp)
	}
	for _, d := range fs.Diagnostics {
		p.diag(b, sideServer, d)
	}
	if resp.Status == 101 && ubr.Buffered() > 0 {
		p.diag(b, sideServer, handshake.Diag("early-data", "%d bytes of frame data arrived with the 101 head; they are relayed and decoded as the first frames", ubr.Buffered()))
	}
	b.note(fmt.Sprintf("Handshake %d in %s (upstream response %s)", resp.Status, ms(o.now().Sub(p.start)), ms(elapsed)))
	if body != nil && body.err != nil {
		b.note(fmt.Sprintf("Relaying the body stopped after %d bytes: %v", body.n, body.err))
	}
	p.write(b)
	p.handshakeJSON(fwdReq, resp, fs, info)
	if p.s.opts.HAR != nil {
		p.entry = p.s.opts.HAR.Begin(p.harInfo(fwdReq, resp, info, elapsed))
	}
	if body == nil && !p.relayHead(resp) {
		return nil, false
	}
	return resp, true
}

// relayHead writes the response head to the client.
func (p *pair) relayHead(resp *handshake.Response) bool {
	p.client.SetWriteDeadline(time.Now().Add(p.s.opts.WriteTimeout))
	if _, err := p.client.Write(resp.Raw); err != nil {
		p.note(fmt.Sprintf("Could not relay the response to the client: %v", err))
		p.finishHAR()
		return false
	}
	return true
}

// responseError turns a ReadResponse error into its diagnostic and the
// status the client gets instead.
func (p *pair) responseError(ctx context.Context, err error) (handshake.Diagnostic, int, string) {
	var (
		nh *handshake.NotHTTPError
		tl *handshake.HeadTooLargeError
		ie *handshake.IncompleteError
	)
	switch {
	case errors.As(err, &nh):
		return handshake.Diag("not-http", "the upstream's answer is not HTTP: %s (first bytes %q)", nh.What, nh.First), 502, "Bad Gateway"
	case errors.As(err, &tl):
		return handshake.Diag("head-too-large", "the upstream's response head is larger than %d bytes (%d read without its end)", handshake.MaxHeadSize, tl.N), 502, "Bad Gateway"
	case errors.As(err, &ie) && ctx.Err() != nil:
		return handshake.Diag("timeout", "the proxy stopped after %d bytes of the upstream's response head", ie.N), 502, "Bad Gateway"
	case errors.As(err, &ie) && isTimeout(ie.Err):
		return handshake.Diag("timeout", "the upstream sent no complete response head within --timeout %s (%d bytes arrived)", p.timeout(), ie.N), 504, "Gateway Timeout"
	case errors.As(err, &ie):
		return handshake.Diag("timeout", "the upstream closed the connection after %d bytes, before its response head was complete (%v)", ie.N, ie.Err), 502, "Bad Gateway"
	}
	return handshake.Diag("timeout", "reading the upstream's response failed: %v", err), 502, "Bad Gateway"
}

// unreadable answers a client whose request head could not be read.
func (p *pair) unreadable(b *block, err error) {
	var (
		tooLarge   *handshake.HeadTooLargeError
		notHTTP    *handshake.NotHTTPError
		incomplete *handshake.IncompleteError
	)
	switch {
	case errors.As(err, &tooLarge):
		b.fail(fmt.Sprintf("client: request head larger than %d bytes (%d read without its end); not forwarded", handshake.MaxHeadSize, tooLarge.N))
	case errors.As(err, &notHTTP):
		b.fail(fmt.Sprintf("client: not an HTTP request: %s (first bytes %q)", notHTTP.What, notHTTP.First))
	case errors.As(err, &incomplete) && incomplete.N == 0 && errors.Is(err, io.EOF):
		b.note("Client closed the connection without sending a request")
	case errors.As(err, &incomplete) && isTimeout(err):
		b.fail(fmt.Sprintf("client: request head not complete after --head-timeout %s (%d bytes received); not forwarded", p.s.opts.HeadTimeout, incomplete.N))
	case errors.As(err, &incomplete):
		b.note(fmt.Sprintf("Client connection ended after %d bytes, before the request head was complete: %v", incomplete.N, incomplete.Err))
	default:
		b.fail(fmt.Sprintf("client: read request head: %v", err))
	}
	reply := handshake.RespondError(err)
	if reply == nil {
		p.write(b)
		return
	}
	b.head(handshake.KindResponse, "<", &responseHead(reply.Head).Head, true)
	p.write(b)
	p.client.SetWriteDeadline(time.Now().Add(p.s.opts.WriteTimeout))
	p.client.Write(reply.Bytes())
	linger(p.client)
}

// answer sends the client a response the proxy made up (502, 504) and
// logs it.
func (p *pair) answer(b *block, status int, reason, body string) {
	head := "HTTP/1.1 " + strconv.Itoa(status) + " " + reason + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n"
	b.note("Answering the client instead of the upstream:")
	b.head(handshake.KindResponse, "<", &responseHead([]byte(head)).Head, true)
	p.write(b)
	p.writeJSON(p.jsonHandshakeFailed())
	p.client.SetWriteDeadline(time.Now().Add(p.s.opts.WriteTimeout))
	p.client.Write([]byte(head + body))
	linger(p.client)
}

// refusalBody is what followed a refusal's head.
type refusalBody struct {
	n   int64
	err error
}

// relayBody relays what follows a response other than 101 (its body)
// until the upstream ends it: the client reads the refusal as the server
// sent it (SPEC §9). The first handshake.MaxBody bytes go to resp.Body,
// for the transcript and the body diagnostic, as inspect keeps them.
func (p *pair) relayBody(up net.Conn, ubr *bufio.Reader, resp *handshake.Response) *refusalBody {
	o := &p.s.opts
	var body capped
	var src io.Reader = ubr
	if n, err := strconv.ParseInt(firstValue(&resp.Head, "Content-Length"), 10, 64); err == nil && n >= 0 {
		src = io.LimitReader(ubr, n)
	}
	up.SetReadDeadline(time.Now().Add(o.WriteTimeout))
	w := &deadlineWriter{c: p.client, d: o.WriteTimeout}
	n, err := io.Copy(io.MultiWriter(w, &body), io.LimitReader(src, 64<<20))
	if isTimeout(err) {
		err = nil
	}
	if len(body.b) > 0 {
		resp.Body, resp.BodyTruncated = body.b, n > int64(len(body.b))
	}
	return &refusalBody{n: n, err: err}
}

// lines shows the body's first bytes after the head, line by line, as
// inspect does.
func (rb *refusalBody) lines(b *block, resp *handshake.Response) {
	if len(resp.Body) == 0 {
		return
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(resp.Body), "\n"), "\n") {
		b.line(handshake.KindResponse, "<", strings.TrimSuffix(l, "\r"))
	}
	if resp.BodyTruncated {
		b.note(fmt.Sprintf("Body cut after %d bytes", handshake.MaxBody))
	}
}

// relayRefusal ends a pair whose upstream refused the upgrade, once the
// refusal has been relayed.
func (p *pair) relayRefusal(resp *handshake.Response) {
	p.note(fmt.Sprintf("Relayed the refusal (%d %s) to the client; closed after %s", resp.Status, resp.Reason, ms(p.s.opts.now().Sub(p.start))))
	p.finishHAR()
	linger(p.client)
}

// capped keeps the first handshake.MaxBody bytes written to it, for the
// body diagnostic.
type capped struct{ b []byte }

func (c *capped) Write(p []byte) (int, error) {
	if room := handshake.MaxBody - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

type deadlineWriter struct {
	c net.Conn
	d time.Duration
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.d))
	return w.c.Write(b)
}

func firstValue(h *handshake.Head, name string) string {
	v, _ := h.Get(name)
	return v
}

// note logs one "*" line.
func (p *pair) note(text string) {
	b := newBlock(p.s.opts.Paint)
	b.note(text)
	p.write(b)
}

// goAway starts closing the pair because the proxy stops: 1001 to both
// sides of a relayed connection; a connection still in its handshake is
// dropped.
func (p *pair) goAway() {
	p.mu.Lock()
	p.leaving = true
	relays, up := p.relays, p.upstream
	p.mu.Unlock()
	if relays[0] == nil {
		p.client.Close()
		if up != nil {
			up.Close()
		}
		return
	}
	p.closeBoth(wire.CloseGoingAway, "proxy shutting down", wire.CloseGoingAway, "proxy shutting down")
}

// linger ends a connection whose last response has been written: it shuts
// the sending side and reads what the peer still sends, for CloseGrace at
// most, so that the peer reads the whole response rather than a reset
// (RFC 9112 §9.6).
func linger(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(CloseGrace))
	io.CopyN(io.Discard, c, 1<<20)
}

// responseHead parses a head the proxy wrote, to log it like a received one.
func responseHead(raw []byte) *handshake.Response {
	resp, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))))
	if err != nil {
		return &handshake.Response{}
	}
	return resp
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ms formats a duration as the transcript does: milliseconds with one
// decimal below a second, else rounded to the millisecond.
func ms(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}
