package handshake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ServerOptions say what a server supports when it answers an opening
// handshake with Respond.
type ServerOptions struct {
	// Protocols are the subprotocols the server speaks. Respond selects the
	// first one the client offered, in the client's order of preference
	// (RFC 6455 §4.2.2 item 5.4).
	Protocols []string

	// AcceptExtensions receives every offered Sec-WebSocket-Extensions
	// element, in order, and returns the server's response element, or ok
	// false to accept none (RFC 6455 §9.1). nil accepts none.
	AcceptExtensions func(offers []string) (response string, ok bool)

	// Page is the HTML document sent with 200 to a GET that is not an
	// upgrade request (a browser opening the server's address). nil answers
	// such requests with 426 Upgrade Required.
	Page []byte
}

// ServerReply is the answer Respond chose for one request.
type ServerReply struct {
	Head   []byte // status line and fields, blank line included, as written
	Body   []byte // nil for 101
	Status int

	// Upgrade is true for 101: the connection now speaks WebSocket.
	Upgrade bool
	// Page is true when the request was a plain GET answered with
	// ServerOptions.Page.
	Page bool

	Protocol   string   // selected subprotocol, "" for none
	Extensions []string // accepted extension elements, as sent

	// Diagnostics are the request-side findings (SPEC §4.2) for an upgrade
	// attempt; nil for a plain page request, which is not meant to be one.
	Diagnostics []Diagnostic
	// Refused lists the diagnostics that made Respond refuse the upgrade
	// (400 or 426); a subset of Diagnostics.
	Refused []Diagnostic
}

// Bytes returns the whole response: head, then body.
func (r *ServerReply) Bytes() []byte {
	b := make([]byte, 0, len(r.Head)+len(r.Body))
	return append(append(b, r.Head...), r.Body...)
}

// Respond chooses a server's answer to req.
//
// A GET (or HEAD) without Upgrade, Sec-WebSocket-Key or
// Sec-WebSocket-Version fields gets opts.Page with 200. Any other request is
// an upgrade attempt and is judged by DiagnoseRequest: when the only fault is
// a Sec-WebSocket-Version field other than 13 the answer is 426 Upgrade Required
// with "Sec-WebSocket-Version: 13" (RFC 6455 §4.2.2 item 4, §4.4); any other
// fault gets 400 Bad Request (RFC 6455 §4.2.1) whose text body names each
// diagnostic id and what was wrong. A valid request gets 101 Switching
// Protocols with Sec-WebSocket-Accept (RFC 6455 §4.2.2 item 5), the client's
// first offered subprotocol that opts.Protocols lists, and the extension
// response opts.AcceptExtensions returns.
func Respond(req *Request, opts ServerOptions) *ServerReply {
	if isPlainRequest(req) {
		return pageReply(req, opts.Page)
	}
	diags := DiagnoseRequest(req)
	var refused []Diagnostic
	for _, d := range diags {
		if d.Entry().Refuses() {
			refused = append(refused, d)
		}
	}
	if len(refused) > 0 {
		r := refusal(refused, req.Count("Sec-WebSocket-Version") > 0)
		r.Diagnostics = diags
		return r
	}

	key, _ := req.Get("Sec-WebSocket-Key")
	r := &ServerReply{Status: 101, Upgrade: true, Diagnostics: diags}
	var h replyHead
	h.status(101)
	h.field("Upgrade", "websocket")
	h.field("Connection", "Upgrade")
	h.field("Sec-WebSocket-Accept", AcceptKey(key))
	if p := chooseProtocol(req.Tokens("Sec-WebSocket-Protocol"), opts.Protocols); p != "" {
		r.Protocol = p
		h.field("Sec-WebSocket-Protocol", p)
	}
	if offers := req.Tokens("Sec-WebSocket-Extensions"); len(offers) > 0 && opts.AcceptExtensions != nil {
		if ext, ok := opts.AcceptExtensions(offers); ok && ext != "" {
			r.Extensions = []string{ext}
			h.field("Sec-WebSocket-Extensions", ext)
		}
	}
	r.Head = h.end()
	return r
}

// RespondError chooses the answer to a request head that could not be
// read: 431 Request Header Fields Too Large for a head over MaxHeadSize
// (RFC 6585 §5), 408 Request Timeout when it did not arrive in time
// (RFC 9110 §15.5.9), 400 Bad Request for bytes that are not HTTP/1.x. It
// returns nil when nothing should be sent: the client closed the connection
// or it failed.
func RespondError(err error) *ServerReply {
	var (
		tooLarge   *HeadTooLargeError
		notHTTP    *NotHTTPError
		incomplete *IncompleteError
	)
	switch {
	case errors.As(err, &tooLarge):
		return textReply(431, nil, fmt.Sprintf("The request head is larger than %d bytes (RFC 6585 §5); send fewer or shorter header fields.\n", MaxHeadSize))
	case errors.As(err, &notHTTP):
		return textReply(400, nil, fmt.Sprintf("This is an HTTP/1.1 WebSocket server; the request is not HTTP/1.x: %s (RFC 9112 §3).\n", notHTTP.What))
	case errors.As(err, &incomplete) && readTimedOut(incomplete.Err):
		return textReply(408, nil, fmt.Sprintf("The request head was not complete in time (%d bytes received, RFC 9110 §15.5.9).\n", incomplete.N))
	}
	return nil
}

// readTimedOut reports whether err is a deadline expiry (net.Error or
// os.ErrDeadlineExceeded), without importing net.
func readTimedOut(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// isPlainRequest reports whether req is an ordinary page request: GET or
// HEAD, and no field that a WebSocket opening handshake sends.
func isPlainRequest(req *Request) bool {
	if req.Method != "GET" && req.Method != "HEAD" {
		return false
	}
	for _, name := range []string{"Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		if req.Count(name) > 0 {
			return false
		}
	}
	return true
}

func pageReply(req *Request, page []byte) *ServerReply {
	if page == nil {
		return textReply(426, [][2]string{{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}},
			"This is a WebSocket server: send an opening handshake (RFC 6455 §4.1).\n")
	}
	var h replyHead
	h.status(200)
	h.field("Content-Type", "text/html; charset=utf-8")
	h.field("Content-Length", strconv.Itoa(len(page)))
	h.field("Cache-Control", "no-store")
	h.field("Connection", "close")
	r := &ServerReply{Head: h.end(), Body: page, Status: 200, Page: true}
	if req.Method == "HEAD" {
		r.Body = nil
	}
	return r
}

// refusal builds 426 or 400 for an invalid opening handshake: 426 only
// when the one fault is a version other than 13; a missing version field
// is a malformed request (400). Both name the version the server speaks.
func refusal(refused []Diagnostic, versionPresent bool) *ServerReply {
	status := 400
	if len(refused) == 1 && refused[0].ID == "request-version" && versionPresent {
		status = 426 // RFC 6455 §4.2.2 item 4
	}
	var extra [][2]string
	var body strings.Builder
	if status == 426 {
		extra = append(extra, [2]string{"Upgrade", "websocket"})
		body.WriteString("This server speaks WebSocket version 13 only (RFC 6455 §4.4).\n")
	} else {
		body.WriteString("This is not a valid WebSocket opening handshake (RFC 6455 §4.2.1):\n")
	}
	for _, d := range refused {
		if d.ID == "request-version" {
			extra = append(extra, [2]string{"Sec-WebSocket-Version", "13"})
		}
		fmt.Fprintf(&body, "%s: %s\n", d.ID, d.Message)
	}
	r := textReply(status, extra, body.String())
	r.Refused = refused
	return r
}

// TextReply builds a response with status and a short text/plain body,
// which ends the connection: for answers Respond and RespondError do not
// cover, such as plain HTTP sent to a TLS port.
func TextReply(status int, body string) *ServerReply { return textReply(status, nil, body) }

// textReply builds a response with a short text/plain body that ends the
// connection.
func textReply(status int, extra [][2]string, body string) *ServerReply {
	var h replyHead
	h.status(status)
	for _, f := range extra {
		h.field(f[0], f[1])
	}
	h.field("Content-Type", "text/plain; charset=utf-8")
	h.field("Content-Length", strconv.Itoa(len(body)))
	if status == 426 {
		// RFC 9110 §7.8: a sender of Upgrade also sends the upgrade option.
		h.field("Connection", "Upgrade, close")
	} else {
		h.field("Connection", "close")
	}
	return &ServerReply{Head: h.end(), Body: []byte(body), Status: status}
}

// chooseProtocol returns the first of offered that supported lists
// (subprotocol names compare exactly, RFC 6455 §4.1 item 10), or "".
func chooseProtocol(offered, supported []string) string {
	for _, p := range offered {
		for _, s := range supported {
			if p == s {
				return p
			}
		}
	}
	return ""
}

// replyHead writes a response head with CRLF line endings (RFC 9112 §2.1).
type replyHead struct{ b []byte }

func (h *replyHead) status(code int) {
	h.b = append(h.b, "HTTP/1.1 "...)
	h.b = strconv.AppendInt(h.b, int64(code), 10)
	h.b = append(h.b, ' ')
	h.b = append(h.b, replyReason(code)...)
	h.b = append(h.b, "\r\n"...)
}

func (h *replyHead) field(name, value string) {
	h.b = append(h.b, name...)
	h.b = append(h.b, ": "...)
	h.b = append(h.b, value...)
	h.b = append(h.b, "\r\n"...)
}

func (h *replyHead) end() []byte { return append(h.b, "\r\n"...) }

// replyReason returns the reason phrase of RFC 9110 §15 for code.
func replyReason(code int) string {
	switch code {
	case 101:
		return "Switching Protocols"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 408:
		return "Request Timeout"
	case 426:
		return "Upgrade Required"
	case 431:
		return "Request Header Fields Too Large"
	}
	return "Status"
}
