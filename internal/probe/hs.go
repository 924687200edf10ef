package probe

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// probeToken is the subprotocol and extension name nobody implements.
const probeToken = "x-wsdbg-probe"

// windowOffer is hs-deflate-window's offer (RFC 7692 §7.1.2).
const windowOffer = "permessage-deflate; client_max_window_bits=9; server_max_window_bits=10"

// probeOrigin is an Origin no server should trust (RFC 6455 §10.2).
const probeOrigin = "http://wsdbg-probe.invalid"

// exchange runs one handshake: the baseline request changed by vary (nil:
// as it is). It records the request and response in r and returns the
// result, or nil after setting r to SKIP when the options are unusable.
func (e *env) exchange(ctx context.Context, r *Report, vary func(*handshake.Options)) *handshake.Result {
	o := cloneOptions(e.base)
	if vary != nil {
		vary(o)
	}
	res, err := e.do(ctx, o)
	if err != nil {
		r.set(Skip, "", "the request could not be built: %v", err)
		return nil
	}
	record(r, res)
	return res
}

// record adds a handshake's request and response heads to r's exchange,
// and its error-level findings (the request-side ones excepted: probe
// breaks the request on purpose) as notes.
func record(r *Report, res *handshake.Result) {
	for _, l := range res.RequestLines() {
		r.Exchange = append(r.Exchange, Line{'>', l})
	}
	for _, l := range res.ResponseLines() {
		r.Exchange = append(r.Exchange, Line{'<', l})
	}
	for _, d := range res.Diagnostics {
		if d.Severity >= handshake.SevWarning && d.ID.Entry().Side != handshake.SideRequest {
			r.note("%s %s: %s", d.Severity.Marker(), d.ID, d.Message)
		}
	}
}

// closeResult ends a handshake's connection: politely after an upgrade,
// with a close frame 1000 (RFC 6455 §7.1.2) and without waiting for the
// answer, which no check needs.
func closeResult(res *handshake.Result) {
	if res == nil || res.Conn == nil {
		return
	}
	c := res.Conn
	res.Conn, res.Reader = nil, nil
	ws := wire.NewConn(bufio.NewReaderSize(strings.NewReader(""), 16), c, wire.Config{Role: wire.RoleClient})
	c.SetWriteDeadline(time.Now().Add(time.Second))
	ws.WriteClose(wire.CloseNormal, "")
	c.Close()
}

// status names a response's status: "400 Bad Request".
func status(resp *handshake.Response) string {
	if resp.Reason == "" {
		return fmt.Sprint(resp.Status)
	}
	return fmt.Sprintf("%d %s", resp.Status, resp.Reason)
}

// noAnswer describes a handshake that got no response head, and says
// whether that is a failure in itself (nothing within the deadline, or
// bytes that are not HTTP) rather than a refusal by closing.
func noAnswer(res *handshake.Result) (desc string, failed bool) {
	var nh *handshake.NotHTTPError
	var tl *handshake.HeadTooLargeError
	msg := "no response"
	for _, d := range res.Diagnostics {
		if d.Severity == handshake.SevError {
			msg = "no response: " + d.Message
			break
		}
	}
	switch {
	case errors.As(res.Err, &nh), errors.As(res.Err, &tl):
		return msg, true
	case errors.Is(res.Err, os.ErrDeadlineExceeded):
		return msg, true
	}
	return msg, false
}

// unreachable sets r to SKIP when the check's connection could not be
// opened at all, and reports whether it did.
func unreachable(r *Report, res *handshake.Result, sent string) bool {
	if res.Sent {
		return false
	}
	desc, _ := noAnswer(res)
	r.set(Skip, "the check needs its own connection", "%s → %s", sent, desc)
	return true
}

// refusal judges a request the server must not upgrade. With need4xx only
// a 4xx passes; any other refusal is WARN. rule says what the RFC requires.
func refusal(r *Report, res *handshake.Result, sent, rule string, need4xx bool) {
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	if res.Response == nil {
		desc, failed := noAnswer(res)
		if failed {
			r.set(Fail, rule, "%s → %s", sent, desc)
		} else {
			r.set(Warn, rule+"; a refusal should say why with an HTTP status", "%s → %s", sent, desc)
		}
		return
	}
	st := res.Response.Status
	switch {
	case st == 101:
		r.set(Fail, rule, "%s → %s: the server upgraded it", sent, status(res.Response))
	case need4xx && (st < 400 || st > 499):
		r.set(Warn, rule+"; a client error is answered with a 4xx", "%s → %s, a refusal but not a 4xx", sent, status(res.Response))
	default:
		r.set(Pass, "", "%s → %s", sent, status(res.Response))
	}
}

// upgraded judges a request the server must upgrade.
func upgraded(r *Report, res *handshake.Result, sent, rule string) {
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Fail, rule, "%s → %s", sent, desc)
	case res.Response.Status != 101:
		r.set(Fail, rule, "%s → %s instead of 101", sent, status(res.Response))
	case res.Class != handshake.ClassOK:
		r.set(Fail, "a 101 must be a valid answer (RFC 6455 §4.1)", "%s → 101 with errors: %s", sent, errorList(res))
	default:
		r.set(Pass, "", "%s → 101 Switching Protocols", sent)
	}
}

// errorList names a 101's error-level diagnostics.
func errorList(res *handshake.Result) string {
	var s []string
	for _, d := range res.Diagnostics {
		if d.Severity == handshake.SevError && d.ID.Entry().Side != handshake.SideRequest {
			s = append(s, string(d.ID)+" ("+d.Message+")")
		}
	}
	return strings.Join(s, "; ")
}

func hsBaseline(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, nil)
	if res == nil {
		return
	}
	e.baseline = res
	defer closeResult(res)
	sent := fmt.Sprintf("sent %s %s", res.Request.Method, res.Request.Target)
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Fail, "a valid request is answered with 101", "%s → %s", sent, desc)
	case res.Response.Status != 101:
		r.set(Fail, "a valid request is answered with 101", "%s → %s: %s", sent, status(res.Response), firstErrorMessage(res))
	case res.Class != handshake.ClassOK:
		r.set(Fail, "the client must fail a 101 with errors (RFC 6455 §4.1)", "%s → 101 with errors: %s", sent, errorList(res))
	default:
		neg := ""
		if p := res.Negotiated.Protocol; p != "" {
			neg = ", subprotocol " + quote(p)
		}
		if len(res.Negotiated.Extensions) > 0 {
			neg += ", extensions " + quote(strings.Join(res.Negotiated.Extensions, ", "))
		}
		r.set(Pass, "", "%s → 101 Switching Protocols, Sec-WebSocket-Accept correct%s", sent, neg)
	}
}

func firstErrorMessage(res *handshake.Result) string {
	for _, d := range res.Diagnostics {
		if d.Severity == handshake.SevError && d.ID.Entry().Side != handshake.SideRequest {
			return d.Message
		}
	}
	return "refused"
}

func hsVersionUnsupported(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) {
		o.Version = "8"
		dropHeader(o, "Sec-WebSocket-Version")
	})
	if res == nil {
		return
	}
	const sent = "sent Sec-WebSocket-Version: 8"
	const rule = "a server that does not speak the version refuses it and lists the versions it supports"
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	if res.Response == nil {
		desc, _ := noAnswer(res)
		r.set(Fail, rule, "%s → %s", sent, desc)
		return
	}
	vs := res.Response.Tokens("Sec-WebSocket-Version")
	switch {
	case res.Response.Status == 101:
		r.set(Warn, "§4.4 lets a server speak several versions, but wsdbg only speaks 13", "%s → 101 Switching Protocols: the server accepted version 8", sent)
	case len(vs) == 0:
		r.set(Fail, rule, "%s → %s without Sec-WebSocket-Version", sent, status(res.Response))
	case !containsString(vs, "13"):
		r.set(Fail, rule, "%s → %s with Sec-WebSocket-Version: %s, without 13, which the server just accepted", sent, status(res.Response), strings.Join(vs, ", "))
	default:
		r.set(Pass, "", "%s → %s with Sec-WebSocket-Version: %s", sent, status(res.Response), strings.Join(vs, ", "))
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hsVersionMissing(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { omit(o, "Sec-WebSocket-Version") }); res != nil {
		refusal(r, res, "sent no Sec-WebSocket-Version", "a request without |Sec-WebSocket-Version| is not a valid opening handshake", true)
	}
}

func hsKeyMissing(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { omit(o, "Sec-WebSocket-Key") }); res != nil {
		refusal(r, res, "sent no Sec-WebSocket-Key", "a request without |Sec-WebSocket-Key| is not a valid opening handshake", true)
	}
}

func hsKeyInvalid(ctx context.Context, e *env, r *Report) {
	key := base64.StdEncoding.EncodeToString([]byte("wsdbg-pr"))
	if res := e.exchange(ctx, r, func(o *handshake.Options) { o.Key = key; dropHeader(o, "Sec-WebSocket-Key") }); res != nil {
		refusal(r, res, fmt.Sprintf("sent Sec-WebSocket-Key: %s (8 bytes)", key), "the key must decode to 16 bytes", true)
	}
}

func hsUpgradeMissing(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { omit(o, "Upgrade") }); res != nil {
		refusal(r, res, "sent no Upgrade", "an opening handshake has \"Upgrade: websocket\"", false)
	}
}

func hsConnectionMissing(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { setHeader(o, "Connection", "keep-alive") }); res != nil {
		refusal(r, res, "sent Connection: keep-alive", "an opening handshake has the token Upgrade in Connection", false)
	}
}

func hsMethod(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { o.Method = "POST" }); res != nil {
		refusal(r, res, "sent POST", "the opening handshake is a GET", false)
	}
}

func hsHTTP10(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { o.Proto = "HTTP/1.0" }); res != nil {
		refusal(r, res, "sent an HTTP/1.0 request line", "the opening handshake is HTTP/1.1 or higher", false)
	}
}

func hsHostMissing(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) { omit(o, "Host") })
	if res == nil {
		return
	}
	const sent = "sent no Host"
	const rule = "a server must answer 400 to an HTTP/1.1 request without Host"
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Fail, rule, "%s → %s", sent, desc)
	case res.Response.Status != 400:
		r.set(Fail, rule, "%s → %s", sent, status(res.Response))
	default:
		r.set(Pass, "", "%s → %s", sent, status(res.Response))
	}
}

func hsTokenCase(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) {
		setHeader(o, "Upgrade", "WebSocket")
		setHeader(o, "Connection", "upgrade")
	})
	if res != nil {
		upgraded(r, res, "sent Upgrade: WebSocket, Connection: upgrade", "Upgrade and Connection tokens are case-insensitive")
	}
}

func hsConnectionList(ctx context.Context, e *env, r *Report) {
	if res := e.exchange(ctx, r, func(o *handshake.Options) { setHeader(o, "Connection", "keep-alive, Upgrade") }); res != nil {
		upgraded(r, res, "sent Connection: keep-alive, Upgrade (as Firefox does)", "Connection is a list; Upgrade need not be alone")
	}
}

func hsProtocolUnknown(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) {
		o.Protocols = []string{probeToken}
		dropHeader(o, "Sec-WebSocket-Protocol")
	})
	if res == nil {
		return
	}
	sent := "sent Sec-WebSocket-Protocol: " + probeToken
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Fail, "an unknown subprotocol is answered by selecting none", "%s → %s", sent, desc)
	case res.Response.Status != 101:
		r.set(Warn, "a server should upgrade and select no subprotocol rather than refuse", "%s → %s", sent, status(res.Response))
	case res.Negotiated.Protocol == probeToken:
		r.set(Warn, "a server selects only a subprotocol it speaks", "%s → 101 selecting %q, which no server speaks", sent, probeToken)
	case res.Response.Count("Sec-WebSocket-Protocol") > 0:
		r.set(Fail, "the server must select one of the offered subprotocols or none", "%s → 101 with Sec-WebSocket-Protocol: %s", sent, strings.Join(res.Response.Values("Sec-WebSocket-Protocol"), ", "))
	default:
		r.set(Pass, "", "%s → 101 without a subprotocol", sent)
	}
}

func hsProtocolSplit(ctx context.Context, e *env, r *Report) {
	if len(e.base.Protocols) < 1 {
		r.set(Skip, "give the subprotocols to offer with -p", "no subprotocol offered")
		return
	}
	split := !e.base.SplitHeaders
	res := e.exchange(ctx, r, func(o *handshake.Options) { o.SplitHeaders = split })
	if res == nil {
		return
	}
	form, other := "on separate header lines", "comma-joined"
	if !split {
		form, other = "comma-joined", "on separate header lines"
	}
	sent := fmt.Sprintf("sent the -p offers %s", form)
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	want := e.baseline.Negotiated.Protocol
	name := func(p string) string {
		if p == "" {
			return "no subprotocol"
		}
		return quote(p)
	}
	const rule = "several Sec-WebSocket-Protocol lines mean the same as one comma-joined line"
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Fail, rule, "%s → %s", sent, desc)
	case res.Response.Status != 101:
		r.set(Fail, rule, "%s → %s, while %s they got 101", sent, status(res.Response), other)
	case res.Negotiated.Protocol != want:
		r.set(Fail, rule, "%s → %s, while %s they got %s", sent, name(res.Negotiated.Protocol), other, name(want))
	default:
		r.set(Pass, "", "%s → %s, as %s", sent, name(want), other)
	}
}

func hsExtensionUnknown(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) {
		o.Extensions, o.Deflate = []string{probeToken}, false
		dropHeader(o, "Sec-WebSocket-Extensions")
	})
	if res == nil {
		return
	}
	sent := "sent Sec-WebSocket-Extensions: " + probeToken
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	if res.Response == nil {
		desc, _ := noAnswer(res)
		r.set(Fail, "an unknown extension is ignored", "%s → %s", sent, desc)
		return
	}
	exts := res.Response.Values("Sec-WebSocket-Extensions")
	switch {
	case res.Response.Status != 101:
		r.set(Warn, "a server should upgrade and accept no extension rather than refuse", "%s → %s", sent, status(res.Response))
	case len(exts) == 1 && exts[0] == probeToken:
		r.set(Warn, "a server accepts only an extension it implements", "%s → 101 accepting %q, which no server implements", sent, probeToken)
	case len(exts) > 0:
		r.set(Fail, "the server may accept only offered extensions", "%s → 101 with Sec-WebSocket-Extensions: %s, which was not offered", sent, strings.Join(exts, ", "))
	default:
		r.set(Pass, "", "%s → 101 without an extension", sent)
	}
}

// deflateOffer runs a handshake offering only offer and sorts the
// answer: accepted (the element, valid), declined, or judged already
// (r set, e.g. a refusal or invalid parameters).
func deflateOffer(ctx context.Context, e *env, r *Report, offer string) (res *handshake.Result, accepted string, judged bool) {
	res = e.exchange(ctx, r, func(o *handshake.Options) {
		o.Extensions, o.Deflate = []string{offer}, false
		dropHeader(o, "Sec-WebSocket-Extensions")
	})
	if res == nil {
		return nil, "", true
	}
	sent := "sent Sec-WebSocket-Extensions: " + offer
	if unreachable(r, res, sent) {
		return res, "", true
	}
	if res.Response == nil {
		desc, _ := noAnswer(res)
		r.set(Fail, "an offer is accepted or declined", "%s → %s", sent, desc)
		return res, "", true
	}
	if res.Response.Status != 101 {
		r.set(Warn, "a server that does not want permessage-deflate upgrades without it rather than refuse", "%s → %s", sent, status(res.Response))
		return res, "", true
	}
	exts := res.Response.Values("Sec-WebSocket-Extensions")
	if len(exts) == 0 {
		return res, "", false
	}
	elem := strings.Join(exts, ", ")
	if _, problems := wire.CheckDeflateResponse([]string{offer}, elem); len(problems) > 0 {
		r.set(Fail, "the response parameters must answer the offer", "%s → 101 with Sec-WebSocket-Extensions: %s: %s", sent, elem, strings.Join(problems, "; "))
		return res, "", true
	}
	return res, elem, false
}

func hsDeflate(ctx context.Context, e *env, r *Report) {
	res, elem, judged := deflateOffer(ctx, e, r, handshake.DeflateOffer)
	defer closeResult(res)
	if judged {
		return
	}
	sent := "sent Sec-WebSocket-Extensions: " + handshake.DeflateOffer
	if elem == "" {
		r.set(Info, "", "%s → 101 without permessage-deflate: declined", sent)
		return
	}
	r.deflate = elem
	r.set(Info, "", "%s → accepted: %s", sent, elem)
}

func hsOrigin(ctx context.Context, e *env, r *Report) {
	res := e.exchange(ctx, r, func(o *handshake.Options) { o.Origin = probeOrigin; dropHeader(o, "Origin") })
	if res == nil {
		return
	}
	sent := "sent Origin: " + probeOrigin
	defer closeResult(res)
	if unreachable(r, res, sent) {
		return
	}
	const why = "a server that serves browsers should check Origin"
	switch {
	case res.Response == nil:
		desc, _ := noAnswer(res)
		r.set(Info, why, "%s → %s", sent, desc)
	case res.Response.Status == 101:
		r.set(Info, why, "%s → 101 Switching Protocols: Origin is not checked", sent)
	default:
		r.set(Info, "", "%s → %s: the server checks Origin", sent, status(res.Response))
	}
}
