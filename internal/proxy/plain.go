package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
)

// plain forwards a request that is not an upgrade as plain HTTP/1.1, one
// request per connection (SPEC §9), so that a page that opens a WebSocket
// to its own origin loads through the proxy.
func (p *pair) plain(ctx context.Context, b *block, req *handshake.Request, br *bufio.Reader) {
	o := &p.s.opts
	b.head(handshake.KindRequest, ">", &req.Head, o.ShowSecrets)
	hr, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(req.Raw), br)))
	if err != nil {
		b.fail(fmt.Sprintf("client: not a request the proxy can forward as plain HTTP: %v", err))
		p.answer(b, 400, "Bad Request", fmt.Sprintf("wsdbg proxy: cannot forward this request: %v\n", err))
		return
	}
	up := o.Upstream
	scheme := "http"
	if up.Scheme == "wss" {
		scheme = "https"
	}
	hr.URL.Scheme, hr.URL.Host = scheme, handshake.HostPort(up)
	hr.RequestURI = ""
	if t := TargetFor(up); t != "" {
		path, query, _ := cutQuery(t)
		hr.URL.Path, hr.URL.RawPath, hr.URL.RawQuery = path, "", query
	}
	if !o.KeepHost {
		hr.Host = handshake.HostHeader(up)
	}
	for _, h := range o.Headers {
		if name, value, err := handshake.ParseHeader(h); err == nil {
			hr.Header.Set(name, value)
		}
	}
	for _, name := range o.Omit {
		hr.Header.Del(name)
	}
	hr.Close = true
	dial := func(secure bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, _, _ string) (net.Conn, error) {
			t := p.target()
			t.Secure = secure
			conn, _, err := handshake.Dial(ctx, t, &o.Dial)
			return conn, err
		}
	}
	tr := &http.Transport{
		DialContext:            dial(false),
		DialTLSContext:         dial(true),
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ResponseHeaderTimeout:  p.timeout(),
		MaxResponseHeaderBytes: handshake.MaxHeadSize,
	}
	defer tr.CloseIdleConnections()
	rctx, cancel := context.WithTimeout(ctx, p.timeout()+o.WriteTimeout)
	defer cancel()
	resp, err := tr.RoundTrip(hr.WithContext(rctx))
	if err != nil {
		b.fail(fmt.Sprintf("server: plain HTTP request to %s failed: %v", p.shownUpstream(), err))
		p.answer(b, 502, "Bad Gateway", fmt.Sprintf("wsdbg proxy: the upstream %s did not answer: %v\n", p.shownUpstream(), err))
		return
	}
	defer resp.Body.Close()
	resp.Close = true
	p.client.SetWriteDeadline(time.Now().Add(o.WriteTimeout + p.timeout()))
	cw := &headCapture{w: p.client}
	err = resp.Write(cw)
	// The response as it crossed to the client, secrets redacted as in
	// every head the proxy logs; the body by its size only (SPEC §9).
	if end := bytes.Index(cw.head, []byte("\r\n\r\n")); end >= 0 {
		b.head(handshake.KindResponse, "<", &responseHead(cw.head[:end+4]).Head, o.ShowSecrets)
	} else {
		b.line(handshake.KindResponse, "<", fmt.Sprintf("%s %s", resp.Proto, resp.Status))
	}
	note := fmt.Sprintf("Not an upgrade request: forwarded as plain HTTP, %d bytes relayed back", cw.n)
	if hl := cw.headLen(); hl > 0 {
		note += fmt.Sprintf(" (body %d bytes, not shown)", cw.n-int64(hl))
	}
	if err != nil {
		note += fmt.Sprintf(" before an error: %v", err)
	}
	b.note(note)
	p.write(b)
	linger(p.client)
}

// headCapture writes through and keeps the first bytes, up to the end of
// the response head (bounded by handshake.MaxHeadSize).
type headCapture struct {
	w    io.Writer
	n    int64
	head []byte
	done bool
}

func (c *headCapture) Write(b []byte) (int, error) {
	if !c.done {
		c.head = append(c.head, b[:min(len(b), handshake.MaxHeadSize-len(c.head))]...)
		c.done = len(c.head) >= handshake.MaxHeadSize || bytes.Contains(c.head, []byte("\r\n\r\n"))
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// headLen is the size of the captured head; 0 when its end was not seen.
func (c *headCapture) headLen() int {
	if i := bytes.Index(c.head, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return 0
}
