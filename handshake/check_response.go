package handshake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Findings is the verdict on one response: every diagnostic, plus the
// accept check and what was negotiated.
type Findings struct {
	Diagnostics []Diagnostic
	Accept      *AcceptInfo // nil unless the status is 101
	Negotiated  Negotiated
}

// DiagnoseResponse judges resp against req, the request as sent, and the
// expectations in o (which may be nil). It is a pure function that collects
// every finding rather than stopping at the first (RFC 6455 §4.1 lists what
// a client must check; RFC 7692 §7.1 the permessage-deflate parameters).
func DiagnoseResponse(req *Request, resp *Response, o *Options) Findings {
	if o == nil {
		o = &Options{}
	}
	var f Findings
	f.Diagnostics = make([]Diagnostic, 0, 4)
	add := func(d Diagnostic) { f.Diagnostics = append(f.Diagnostics, d) }

	if resp.Proto != "HTTP/1.1" {
		add(Diag("http-version", "status line %q says %q; a WebSocket upgrade needs HTTP/1.1 (RFC 9110 §7.8: Upgrade is HTTP/1.1 only)", resp.StartLine, resp.Proto))
	}
	offeredVersion, _ := req.lookup("Sec-WebSocket-Version")
	if _, n := resp.lookup("Sec-WebSocket-Version"); n > 0 && !hasExact(&resp.Head, "Sec-WebSocket-Version", offeredVersion) {
		add(versionDiagnostic(resp, offeredVersion))
	}

	if resp.Status != 101 {
		add(statusDiagnostic(req, resp, o))
		if len(resp.Body) > 0 {
			add(bodyDiagnostic(resp))
		}
		checkExpectations(&f, resp, o)
		return f
	}

	checkAccept(&f, req, resp)
	checkUpgrade(&f, req, resp)
	if _, n := resp.lookup("Connection"); n == 0 {
		add(Diag("connection-missing", "101 without a Connection field; it must contain the token Upgrade"))
	} else if !resp.HasToken("Connection", "upgrade") {
		add(Diag("connection-missing", "Connection is %s, without the token Upgrade", quoteList(resp.Values("Connection"))))
	}
	checkProtocol(&f, req, resp)
	checkExtensions(&f, req, resp, o)
	checkExpectations(&f, resp, o)
	return f
}

// versionDiagnostic explains a Sec-WebSocket-Version response field that
// does not list the offered version (RFC 6455 §4.4: a server that does not
// understand the requested version lists the ones it supports). The field
// may be present with no usable token at all.
func versionDiagnostic(resp *Response, offered string) Diagnostic {
	vs := resp.Tokens("Sec-WebSocket-Version")
	if len(vs) == 0 {
		return Diag("version-unsupported", "server sent Sec-WebSocket-Version %s, an empty list: it names no version it supports, and it must list them; the request offered %q (RFC 6455 is version 13)", quoteList(resp.Values("Sec-WebSocket-Version")), offered)
	}
	return Diag("version-unsupported", "server supports Sec-WebSocket-Version %s; the request offered %q; try --ws-version %s", strings.Join(vs, ", "), offered, vs[0])
}

// secureURL reports whether a URL as given names wss:// or https://.
func secureURL(u string) bool {
	scheme, _, _ := strings.Cut(u, ":")
	return strings.EqualFold(scheme, "wss") || strings.EqualFold(scheme, "https")
}

// statusDiagnostic explains a status other than 101.
func statusDiagnostic(req *Request, resp *Response, o *Options) Diagnostic {
	got := fmt.Sprintf("%d %s", resp.Status, resp.Reason)
	if resp.Reason == "" {
		got = fmt.Sprint(resp.Status)
	}
	s := resp.Status
	switch {
	case s == 0:
		return Diag("status-not-101", "status line %q has no three-digit status code; expected 101 Switching Protocols", resp.StartLine)
	case s == 200:
		return Diag("status-not-101", "server answered %q instead of 101: it ignored the Upgrade and served a plain HTTP response (RFC 9110 §7.8); check that %q is a WebSocket endpoint", got, req.Target)
	case s == 400 && bodyMentionsTLS(resp.Body) && !secureURL(o.URL):
		return Diag("status-not-101", "server answered %q and its body says it wants TLS (%q); try wss:// instead of ws://", got, bodyPreview(resp.Body))
	case s == 400 && len(resp.Body) > 0:
		return Diag("status-not-101", "server answered %q: it rejected the handshake request and says why in its body (%q); check the request diagnostics too", got, bodyPreview(resp.Body))
	case s == 400:
		return Diag("status-not-101", "server answered %q: it rejected the handshake request; check the request diagnostics and the Sec-WebSocket-Key, -Version and Host fields", got)
	case s == 401:
		msg := fmt.Sprintf("server answered %q: the endpoint needs credentials", got)
		if v, ok := resp.Get("WWW-Authenticate"); ok {
			msg += fmt.Sprintf(" (WWW-Authenticate: %q)", v)
		}
		return Diag("status-not-101", "%s; try ws://user:pass@host/ or -H \"Authorization: ...\"", msg)
	case s == 403:
		if origin, ok := req.Get("Origin"); ok {
			return Diag("status-not-101", "server answered %q: it refused this client; servers often check Origin (sent %q) or credentials; try another --origin", got, origin)
		}
		return Diag("status-not-101", "server answered %q: it refused this client; servers often require an Origin (none was sent) or credentials; try --origin", got)
	case s == 404:
		return Diag("status-not-101", "server answered %q: nothing at %q; check the path in the URL", got, req.Target)
	case s == 426:
		if _, n := resp.lookup("Sec-WebSocket-Version"); n > 0 {
			v, _ := req.Get("Sec-WebSocket-Version")
			if vs := resp.Tokens("Sec-WebSocket-Version"); len(vs) > 0 {
				return Diag("status-not-101", "server answered %q: it supports Sec-WebSocket-Version %s, the request offered %q", got, strings.Join(vs, ", "), v)
			}
			return Diag("status-not-101", "server answered %q with an empty Sec-WebSocket-Version list; the request offered %q", got, v)
		}
		if up, ok := resp.Get("Upgrade"); ok {
			return Diag("status-not-101", "server answered %q: it requires \"Upgrade: %s\" (RFC 9110 §15.5.22)", got, up)
		}
		return Diag("status-not-101", "server answered %q: it requires a protocol upgrade it did not name (RFC 9110 §15.5.22)", got)
	case s >= 300 && s < 400:
		if loc, ok := resp.Get("Location"); ok {
			return Diag("status-not-101", "server answered %q: redirect to Location %q; follow it with --location", got, loc)
		}
		return Diag("status-not-101", "server answered %q: a redirect without a Location field", got)
	case s >= 500 && s < 600:
		return Diag("status-not-101", "server answered %q: a server-side failure; a proxy or gateway in front of the server may not pass WebSocket upgrades", got)
	case s >= 100 && s < 200:
		return Diag("status-not-101", "server answered %q, an interim response; expected 101 Switching Protocols", got)
	}
	return Diag("status-not-101", "server answered %q instead of 101 Switching Protocols", got)
}

func checkAccept(f *Findings, req *Request, resp *Response) {
	key, nkeys := req.lookup("Sec-WebSocket-Key")
	got, n := resp.lookup("Sec-WebSocket-Accept")
	a := &AcceptInfo{Key: key, Received: got}
	if nkeys > 0 {
		a.Expected = AcceptKey(key)
	}
	f.Accept = a
	switch {
	case n == 0:
		f.Diagnostics = append(f.Diagnostics, Diag("accept-missing", "101 without Sec-WebSocket-Accept; expected %q for key %q", a.Expected, key))
	case n > 1:
		vs := resp.Values("Sec-WebSocket-Accept")
		f.Diagnostics = append(f.Diagnostics, Diag("accept-duplicate", "%d Sec-WebSocket-Accept fields (%s); there must be exactly one (expected %q)", n, quoteList(vs), a.Expected))
	case nkeys == 0:
		f.Diagnostics = append(f.Diagnostics, Diag("accept-mismatch", "Sec-WebSocket-Accept %q received, but the request had no Sec-WebSocket-Key to check it against", got))
	case got != a.Expected:
		f.Diagnostics = append(f.Diagnostics, Diag("accept-mismatch", "Sec-WebSocket-Accept is %q; expected %q = base64(SHA-1(key %q + %s))", got, a.Expected, key, GUID))
	default:
		a.OK = true
		f.Diagnostics = append(f.Diagnostics, Diag("accept-ok", "Sec-WebSocket-Accept matches SHA-1(key + "+GUID+")"))
	}
}

// firstToken returns the first list element of the fields named name and
// how many elements there are.
func firstToken(h *Head, name string) (first string, n int) {
	h.forTokens(name, func(t string) bool {
		if n == 0 {
			first = t
		}
		n++
		return true
	})
	return first, n
}

func checkUpgrade(f *Findings, req *Request, resp *Response) {
	if _, n := resp.lookup("Upgrade"); n == 0 {
		f.Diagnostics = append(f.Diagnostics, Diag("upgrade-missing", "101 without an Upgrade field; it must be \"Upgrade: websocket\""))
		return
	}
	got, ngot := firstToken(&resp.Head, "Upgrade")
	_, noffered := firstToken(&req.Head, "Upgrade")
	if noffered == 0 || req.HasToken("Upgrade", "websocket") {
		if ngot != 1 || !strings.EqualFold(got, "websocket") {
			f.Diagnostics = append(f.Diagnostics, Diag("upgrade-mismatch", "Upgrade is %s; it must be websocket (ASCII case-insensitive)", quoteList(resp.Values("Upgrade"))))
		}
		return
	}
	// A generic upgrade (-H "Upgrade: ..."): the server must pick one of
	// the offered protocols (RFC 9110 §7.8).
	if ngot != 1 || !req.HasToken("Upgrade", got) {
		f.Diagnostics = append(f.Diagnostics, Diag("upgrade-mismatch", "Upgrade is %s; it must be one of the offered protocols (%s)", quoteList(resp.Values("Upgrade")), strings.Join(req.Tokens("Upgrade"), ", ")))
	}
}

// offeredList formats the subprotocols offered in req as
// "offered: a, b", or "none offered".
func offeredList(h *Head, name string) string {
	var b strings.Builder
	h.forTokens(name, func(t string) bool {
		if b.Len() == 0 {
			b.Grow(64)
			b.WriteString("offered: ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(t)
		return true
	})
	if b.Len() == 0 {
		return "none offered"
	}
	return b.String()
}

// hasExact reports whether some list element of the fields named name is
// exactly token (subprotocol names are case-sensitive, RFC 6455 §4.1).
func hasExact(h *Head, name, token string) bool {
	found := false
	h.forTokens(name, func(t string) bool {
		found = t == token
		return !found
	})
	return found
}

func checkProtocol(f *Findings, req *Request, resp *Response) {
	_, lines := resp.lookup("Sec-WebSocket-Protocol")
	_, noffered := firstToken(&req.Head, "Sec-WebSocket-Protocol")
	if lines == 0 {
		if noffered > 0 {
			f.Diagnostics = append(f.Diagnostics, Diag("protocol-ignored", "server selected no subprotocol (%s); it may not support any of them", offeredList(&req.Head, "Sec-WebSocket-Protocol")))
		}
		return
	}
	got, ngot := firstToken(&resp.Head, "Sec-WebSocket-Protocol")
	offeredText := offeredList(&req.Head, "Sec-WebSocket-Protocol")
	switch {
	case ngot > 1 || lines > 1:
		all := resp.Tokens("Sec-WebSocket-Protocol")
		f.Diagnostics = append(f.Diagnostics, Diag("protocol-multiple", "server selected %d subprotocols (%s in %s); it must select exactly one (%s)", len(all), quoteList(all), plural(lines, "line", "lines"), offeredText))
	case ngot == 0:
		f.Diagnostics = append(f.Diagnostics, Diag("protocol-not-offered", "server sent an empty Sec-WebSocket-Protocol (%s)", offeredText))
	case !hasExact(&req.Head, "Sec-WebSocket-Protocol", got):
		f.Negotiated.Protocol = got
		if noffered == 0 {
			f.Diagnostics = append(f.Diagnostics, Diag("protocol-not-offered", "server selected %q but no subprotocol was offered", got))
		} else {
			f.Diagnostics = append(f.Diagnostics, Diag("protocol-not-offered", "server selected %q, which was not offered (%s)", got, offeredText))
		}
	default:
		f.Negotiated.Protocol = got
		msg := make([]byte, 0, len("server selected  ()")+len(got)+2+len(offeredText))
		msg = append(msg, "server selected "...)
		msg = strconv.AppendQuote(msg, got)
		msg = append(msg, " ("...)
		msg = append(msg, offeredText...)
		msg = append(msg, ')')
		f.Diagnostics = append(f.Diagnostics, diagMsg("protocol-ok", string(msg)))
	}
}

// extensionName returns the extension token of an element
// ("permessage-deflate; client_max_window_bits" → "permessage-deflate").
func extensionName(elem string) string {
	name, _, _ := strings.Cut(elem, ";")
	return strings.TrimSpace(name)
}

func checkExtensions(f *Findings, req *Request, resp *Response, o *Options) {
	offered := req.Tokens("Sec-WebSocket-Extensions")
	got := resp.Tokens("Sec-WebSocket-Extensions")
	defer checkDeclined(f, offered, got)
	if len(got) == 0 {
		return
	}
	f.Negotiated.Extensions = got
	offeredText := "none offered"
	if len(offered) > 0 {
		offeredText = "offered: " + strings.Join(offered, ", ")
	}
	seen := make(map[string]bool, len(got))
	for _, elem := range got {
		name := extensionName(elem)
		var offers []string
		for _, x := range offered {
			if strings.EqualFold(extensionName(x), name) {
				offers = append(offers, x)
			}
		}
		if len(offers) == 0 {
			f.Diagnostics = append(f.Diagnostics, Diag("extension-not-offered", "server accepted %q, which was not offered (%s)", elem, offeredText))
			continue
		}
		var problems []string
		if strings.EqualFold(name, "permessage-deflate") {
			if seen[strings.ToLower(name)] {
				problems = append(problems, fmt.Sprintf("server accepted %s more than once (%q)", name, elem))
			} else if o.CheckExtension != nil {
				problems = o.CheckExtension(offers, elem)
			}
		}
		seen[strings.ToLower(name)] = true
		for _, p := range problems {
			f.Diagnostics = append(f.Diagnostics, Diag("extension-params", "%s (accepted %q; offered %s)", p, elem, quoteList(offers)))
		}
		if len(problems) == 0 {
			f.Diagnostics = append(f.Diagnostics, Diag("extension-ok", "server accepted %s", describeExtension(elem)))
		}
	}
}

// checkDeclined reports each offered extension the server did not accept
// (RFC 6455 §9.1: the server selects among the offers, and may accept
// none); several offers of one extension (alternatives) are one line.
func checkDeclined(f *Findings, offered, got []string) {
	var names []string
	for _, x := range offered {
		name := extensionName(x)
		if name == "" || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			continue
		}
		names = append(names, name)
		if slices.ContainsFunc(got, func(e string) bool { return strings.EqualFold(extensionName(e), name) }) {
			continue
		}
		var offers []string
		for _, y := range offered {
			if strings.EqualFold(extensionName(y), name) {
				offers = append(offers, y)
			}
		}
		f.Diagnostics = append(f.Diagnostics, Diag("extension-declined", "server did not accept %s (offered %s); the session runs without it", name, quoteList(offers)))
	}
}

// describeExtension names an element and its parameters:
// `permessage-deflate with server_no_context_takeover, client_max_window_bits=10`.
func describeExtension(elem string) string {
	parts := strings.Split(elem, ";")
	name := strings.TrimSpace(parts[0])
	var params []string
	for _, p := range parts[1:] {
		if p = strings.TrimSpace(p); p != "" {
			params = append(params, p)
		}
	}
	if len(params) == 0 {
		return fmt.Sprintf("%q without parameters", name)
	}
	return fmt.Sprintf("%q with %s", name, strings.Join(params, ", "))
}

func checkExpectations(f *Findings, resp *Response, o *Options) {
	if o.ExpectStatus != 0 && resp.Status != o.ExpectStatus {
		f.Diagnostics = append(f.Diagnostics, Diag("expect-status", "expected status %d, got %d (--expect-status)", o.ExpectStatus, resp.Status))
	}
	if o.ExpectProtocol != "" && f.Negotiated.Protocol != o.ExpectProtocol {
		if f.Negotiated.Protocol == "" {
			f.Diagnostics = append(f.Diagnostics, Diag("expect-protocol", "expected subprotocol %q, none was selected (--expect-protocol)", o.ExpectProtocol))
		} else {
			f.Diagnostics = append(f.Diagnostics, Diag("expect-protocol", "expected subprotocol %q, server selected %q (--expect-protocol)", o.ExpectProtocol, f.Negotiated.Protocol))
		}
	}
	for _, want := range o.ExpectExtension {
		want = strings.TrimSpace(want)
		found := slices.ContainsFunc(f.Negotiated.Extensions, func(e string) bool { return strings.EqualFold(extensionName(e), extensionName(want)) })
		if !found {
			acc := "none"
			if len(f.Negotiated.Extensions) > 0 {
				acc = quoteList(f.Negotiated.Extensions)
			}
			f.Diagnostics = append(f.Diagnostics, Diag("expect-extension", "expected extension %q, accepted: %s (--expect-extension)", want, acc))
		}
	}
}
