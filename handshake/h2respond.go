package handshake

import (
	"fmt"
	"strconv"
	"strings"
)

// H2Reply is the answer RespondH2 chose for one HTTP/2 request stream.
type H2Reply struct {
	Status int
	Fields []H2Field // :status first, lower-case names
	Body   []byte    // sent in DATA after the HEADERS; nil for a WebSocket

	Upgrade    bool // a 200 to an extended CONNECT: the stream carries a WebSocket
	Page       bool // a GET answered with ServerOptions.Page
	Protocol   string
	Extensions []string

	// Diagnostics are the request-side findings of SPEC §10 for an
	// extended CONNECT; Refused the ones that made it a 400.
	Diagnostics []Diagnostic
	Refused     []Diagnostic
}

// RespondH2 chooses a server's answer to a request stream on HTTP/2, the
// counterpart of Respond (RFC 8441 §5): a GET or HEAD gets the test page;
// a CONNECT is judged by DiagnoseH2Request (secure: the connection runs
// over TLS) and refused with 400, naming each fault in a text body, when
// a pseudo-header field, the method or the version is wrong; otherwise it
// gets :status 200 with the client's first offered subprotocol that opts
// lists and the extension response opts.AcceptExtensions returns. There is
// no Sec-WebSocket-Accept over HTTP/2.
func RespondH2(fields []H2Field, opts ServerOptions, secure bool) *H2Reply {
	req := h2Request(fields)
	_, hasProto := req.Get(":protocol")
	if (req.Method == "GET" || req.Method == "HEAD") && !hasProto {
		if opts.Page == nil {
			return h2Text(404, nil, "This is a WebSocket server: open a WebSocket with an extended CONNECT (RFC 8441).\n")
		}
		r := &H2Reply{Status: 200, Page: true, Body: opts.Page, Fields: []H2Field{
			{":status", "200"}, {"content-type", "text/html; charset=utf-8"},
			{"content-length", strconv.Itoa(len(opts.Page))}, {"cache-control", "no-store"},
		}}
		if req.Method == "HEAD" {
			r.Body = nil
		}
		return r
	}
	diags := DiagnoseH2Request(fields, secure)
	var refused []Diagnostic
	for _, d := range diags {
		if d.Entry().Refuses() && d.ID != "request-key" && d.ID != "request-connection" && d.ID != "request-upgrade" {
			refused = append(refused, d)
		}
	}
	if len(refused) > 0 {
		var body strings.Builder
		body.WriteString("This is not a valid WebSocket extended CONNECT (RFC 8441 §4):\n")
		var extra []H2Field
		for _, d := range refused {
			if d.ID == "request-version" {
				extra = append(extra, H2Field{"sec-websocket-version", "13"})
			}
			fmt.Fprintf(&body, "%s: %s\n", d.ID, d.Message)
		}
		r := h2Text(400, extra, body.String())
		r.Diagnostics, r.Refused = diags, refused
		return r
	}
	r := &H2Reply{Status: 200, Upgrade: true, Diagnostics: diags, Fields: []H2Field{{":status", "200"}}}
	if p := chooseProtocol(req.Tokens("sec-websocket-protocol"), opts.Protocols); p != "" {
		r.Protocol = p
		r.Fields = append(r.Fields, H2Field{"sec-websocket-protocol", p})
	}
	if offers := req.Tokens("sec-websocket-extensions"); len(offers) > 0 && opts.AcceptExtensions != nil {
		if ext, ok := opts.AcceptExtensions(offers); ok && ext != "" {
			r.Extensions = []string{ext}
			r.Fields = append(r.Fields, H2Field{"sec-websocket-extensions", ext})
		}
	}
	return r
}

func h2Text(status int, extra []H2Field, body string) *H2Reply {
	fields := append([]H2Field{{":status", strconv.Itoa(status)}}, extra...)
	fields = append(fields, H2Field{"content-type", "text/plain; charset=utf-8"}, H2Field{"content-length", strconv.Itoa(len(body))})
	return &H2Reply{Status: status, Fields: fields, Body: []byte(body)}
}
