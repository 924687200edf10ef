package proxy

import (
	"math"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
)

// handshakeEvent is the NDJSON event of one pair's opening handshake:
// the request as the client sent it, as forwarded, the response, and
// every diagnostic with the side it is about.
type handshakeEvent struct {
	Event       string                  `json:"event"`
	Conn        int64                   `json:"conn"`
	Client      string                  `json:"client"`
	Upstream    string                  `json:"upstream"`
	Request     *handshake.DocRequest   `json:"request"`
	Forwarded   *handshake.DocRequest   `json:"forwarded"`
	Response    *handshake.DocResponse  `json:"response"`
	Negotiated  handshake.DocNegotiated `json:"negotiated"`
	Diagnostics []eventDiag             `json:"diagnostics"`
	TotalMS     float64                 `json:"total_ms"`
	Time        string                  `json:"time"`
}

type eventDiag struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	RFC      string `json:"rfc"`
	Dir      string `json:"dir"`
}

func (p *pair) baseEvent() *handshakeEvent {
	o := &p.s.opts
	e := &handshakeEvent{Event: "handshake", Conn: p.id, Client: p.client.RemoteAddr().String(), Upstream: p.shownUpstream(),
		Negotiated: handshake.DocNegotiated{Extensions: []string{}}, Diagnostics: []eventDiag{}}
	for _, d := range p.diags {
		e.Diagnostics = append(e.Diagnostics, eventDiag{string(d.d.ID), d.d.Severity.String(), d.d.Message, d.d.RFC, d.side})
	}
	e.TotalMS = math.Round(float64(o.now().Sub(p.start))/float64(time.Microsecond)) / 1000
	e.Time = o.now().Format(time.RFC3339Nano)
	return e
}

func (p *pair) docRequest(r *handshake.Request) *handshake.DocRequest {
	if r == nil {
		return nil
	}
	show := p.s.opts.ShowSecrets
	return &handshake.DocRequest{Raw: r.Head.RedactedRaw(show), Method: r.Method, Target: r.Target, Headers: r.Head.RedactedPairs(show)}
}

func (p *pair) handshakeJSON(fwd *handshake.Request, resp *handshake.Response, fs handshake.Findings, _ *handshake.DialInfo) {
	if !p.s.opts.JSON || p.log == nil {
		return
	}
	e := p.baseEvent()
	e.Request = p.docRequest(p.clientReq)
	e.Forwarded = p.docRequest(fwd)
	show := p.s.opts.ShowSecrets
	e.Response = &handshake.DocResponse{Raw: resp.Head.RedactedRaw(show), Proto: resp.Proto, Status: resp.Status, Reason: resp.Reason, Headers: resp.Head.RedactedPairs(show)}
	e.Negotiated.Protocol = fs.Negotiated.Protocol
	e.Negotiated.Extensions = append(e.Negotiated.Extensions, fs.Negotiated.Extensions...)
	p.writeJSON(e)
}

func (p *pair) jsonHandshakeFailed() any {
	e := p.baseEvent()
	e.Request = p.docRequest(p.clientReq)
	return e
}

// harInfo describes the pair's WebSocket connection for --har: the
// request as forwarded (what the server saw), the response as relayed.
func (p *pair) harInfo(fwd *handshake.Request, resp *handshake.Response, info *handshake.DialInfo, wait time.Duration) har.EntryInfo {
	show := p.s.opts.ShowSecrets
	u := *p.s.opts.Upstream
	u.User = nil
	if fwd.Target != "" && fwd.Target[0] == '/' {
		path, query, _ := cutQuery(fwd.Target)
		u.RawPath, u.Path, u.RawQuery = "", path, query
	}
	e := har.EntryInfo{
		Started:         p.start,
		URL:             u.String(),
		Method:          fwd.Method,
		HTTPVersion:     fwd.Proto,
		RequestHeaders:  fwd.Head.RedactedPairs(show),
		RequestSize:     len(fwd.Raw),
		Status:          resp.Status,
		StatusText:      resp.Reason,
		ResponseVersion: resp.Proto,
		ResponseHeaders: resp.Head.RedactedPairs(show),
		ResponseSize:    len(resp.Raw),
		Wait:            wait,
		DNS:             -1, Connect: -1, SSL: -1,
	}
	if info != nil {
		e.DNS, e.Connect, e.SSL, e.ServerIP = info.DNS, info.Connect, info.TLS, info.RemoteAddr
	}
	return e
}

func cutQuery(t string) (string, string, bool) {
	for i := 0; i < len(t); i++ {
		if t[i] == '?' {
			return t[:i], t[i+1:], true
		}
	}
	return t, "", false
}

func (p *pair) finishHAR() {
	if p.entry != nil {
		p.entry.End()
		p.entry = nil
	}
}
