package handshake

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DeflateOffer is the extension element --deflate offers (RFC 7692 §7.1).
const DeflateOffer = "permessage-deflate; client_max_window_bits"

// UsageError reports a problem with what the user asked for (a bad URL, a
// malformed -H, an unreadable --request-file): exit code 2.
type UsageError struct {
	Op  string // "parse URL", "parse header", "read request file"
	Err error
}

func (e *UsageError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ParseURL parses a WebSocket URL the way SPEC §1 describes: ws and wss as
// they are, http → ws, https → wss, no scheme → ws. The fragment is dropped
// (RFC 6455 §3: fragments are not used). Errors are *UsageError.
func ParseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, &UsageError{"parse URL", errors.New("empty URL; try ws://host:port/path")}
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(rest, "//") && !allDigits(rest) {
		if _, known := wsScheme(scheme); known {
			// "ws:/host/" or "wss:host:port": url.Parse reads these as a
			// path or as host "ws", so the request would go elsewhere.
			return nil, &UsageError{"parse URL", fmt.Errorf("%q: the scheme %q needs \"//\" before the host; write %s://%s", raw, scheme+":", strings.ToLower(scheme), strings.TrimLeft(rest, "/"))}
		}
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, &UsageError{"parse URL", fmt.Errorf("%q: %v", raw, errors.Unwrap(err))}
	}
	scheme, ok := wsScheme(u.Scheme)
	if !ok {
		return nil, &UsageError{"parse URL", fmt.Errorf("unsupported scheme %q in %q; use ws://, wss://, http:// or https://", u.Scheme, raw)}
	}
	u.Scheme = scheme
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, &UsageError{"parse URL", fmt.Errorf("no host in %q; try ws://host:port/path", raw)}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, &UsageError{"parse URL", fmt.Errorf("bad port %q in %q; a port is 1..65535", p, raw)}
		}
	}
	u.Fragment, u.RawFragment = "", ""
	// A space in the path is sent as %20 (EscapedPath); the query gets the
	// same treatment, so that neither breaks the request line (RFC 9112
	// §3: the request-target has no spaces; RFC 3986 §2.1).
	u.RawQuery = escapeQuery(u.RawQuery)
	return u, nil
}

// URLNote describes how ParseURL changed the path or query of raw into u's
// request-target (spaces and other bytes a request line cannot carry, sent
// percent-encoded), for the transcript; "" when it is sent as typed.
func URLNote(raw string, u *url.URL) string {
	s := strings.TrimSpace(raw)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	i := strings.IndexAny(s, "/?")
	if i < 0 {
		return ""
	}
	typed, sent := s[i:], RequestTarget(u)
	if strings.HasPrefix(typed, "?") {
		typed = "/" + typed
	}
	if typed == sent {
		return ""
	}
	return fmt.Sprintf("Request-target %s: the URL's %s is sent percent-encoded: a request line carries no spaces, quotes or non-ASCII bytes (RFC 3986 §2.1, RFC 9112 §3)", escapeString(sent), escapeString(typed))
}

// escapeQuery percent-encodes the bytes of a raw query that cannot appear
// in a request-target, leaving everything else (and existing %XX) as typed.
func escapeQuery(q string) string {
	n := 0
	for i := 0; i < len(q); i++ {
		if queryEscapes(q[i]) {
			n++
		}
	}
	if n == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		c := q[i]
		if queryEscapes(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// queryEscapes reports whether c must be percent-encoded in a query: the
// WHATWG query percent-encode set for special schemes (controls, space,
// ", #, <, >, ' and non-ASCII).
func queryEscapes(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\''
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// defaultPort returns 443 for wss and 80 otherwise (RFC 6455 §3).
func defaultPort(u *url.URL) string {
	if u.Scheme == "wss" {
		return "443"
	}
	return "80"
}

// HostPort returns the address to connect to for u: host:port with the
// scheme's default port filled in and IPv6 literals bracketed.
func HostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = defaultPort(u)
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// HostHeader returns the Host value for u: the host, with the port only when
// it is not the scheme's default, IPv6 literals in brackets (RFC 9110 §7.2,
// RFC 6455 §4.1 item 4).
func HostHeader(u *url.URL) string {
	h := u.Hostname()
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if p := u.Port(); p != "" && p != defaultPort(u) {
		h += ":" + p
	}
	return h
}

// RequestTarget returns the request-target for u: path (or "/") and query
// (RFC 6455 §3, RFC 9112 §3.2.1).
func RequestTarget(u *url.URL) string {
	t := u.EscapedPath()
	if t == "" {
		t = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		t += "?" + u.RawQuery
	}
	return t
}

// ParseHeader splits a -H argument "Name: value" into name and value (value
// trimmed of surrounding spaces and tabs). Errors are *UsageError.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", &UsageError{"parse header", fmt.Errorf("%q is not \"Name: value\"; try -H \"X-Token: abc\"", s)}
	}
	return name, strings.Trim(value, " \t"), nil
}

// isDefaultName reports whether a -H name replaces a default field in place
// rather than being appended (SPEC §1.1).
func isDefaultName(name string) bool {
	switch strings.ToLower(name) {
	case "host", "origin", "upgrade", "connection", "authorization", "user-agent":
		return true
	}
	return len(name) >= len("sec-websocket-") && strings.EqualFold(name[:len("sec-websocket-")], "sec-websocket-")
}

// appendOffers appends the default fields that HTTP/1.1 and HTTP/2
// requests share, in this order, each only when it applies: the version and
// the offers (RFC 6455 §4.1 items 9–11), Origin (item 8), the Authorization
// the URL's userinfo stands for (RFC 7617) and User-Agent. name spells each
// field name (HTTP/2 lower-cases them, RFC 9113 §8.2.1).
func appendOffers(fields []kv, u *url.URL, o *Options, name func(string) string) []kv {
	version := o.Version
	if version == "" {
		version = "13"
	}
	fields = append(fields, kv{name: name("Sec-WebSocket-Version"), value: version})
	fields = appendJoined(fields, name("Sec-WebSocket-Protocol"), o.Protocols, o.SplitHeaders)
	exts := append([]string(nil), o.Extensions...)
	if o.Deflate {
		exts = append(exts, DeflateOffer)
	}
	fields = appendJoined(fields, name("Sec-WebSocket-Extensions"), exts, o.SplitHeaders)
	if o.Origin != "" {
		fields = append(fields, kv{name: name("Origin"), value: o.Origin})
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass))
		fields = append(fields, kv{name: name("Authorization"), value: "Basic " + cred})
	}
	if o.UserAgent != "" {
		fields = append(fields, kv{name: name("User-Agent"), value: o.UserAgent})
	}
	return fields
}

// canonicalName spells an HTTP/1.1 field name as the request builder
// writes it.
func canonicalName(name string) string { return name }

type kv struct {
	name, value string
	user        bool // from -H
}

// BuildRequest returns the request head for u and o, as bytes ready to
// write. Default fields come in this fixed order (each only when it applies):
//
//	GET <path?query> HTTP/1.1 (Options.Method and Options.Proto replace GET and HTTP/1.1)
//	Host                      (port only when not the default; RFC 6455 §4.1 item 4)
//	Upgrade: websocket        (item 5)
//	Connection: Upgrade       (item 6)
//	Sec-WebSocket-Key         (item 7; Options.Key or 16 random bytes)
//	Sec-WebSocket-Version     (item 9; Options.Version or 13)
//	Sec-WebSocket-Protocol    (item 10; comma-joined, or one line each with SplitHeaders)
//	Sec-WebSocket-Extensions  (item 11; -x verbatim, then the --deflate offer)
//	Origin                    (item 8; only when given)
//	Authorization: Basic      (from the URL's userinfo, RFC 7617)
//	User-Agent                (Options.UserAgent, e.g. wsdbg/v1.2.0; RFC 9110 §10.1.5)
//
// Then the -H fields: a name among the defaults (Host, Origin, Upgrade,
// Connection, Authorization, User-Agent, Sec-WebSocket-*) replaces that default in place,
// several -H of one name giving several lines there; other names, and
// default names not present, are appended in order. --omit removes
// defaults by name (ASCII case-insensitive) before -H applies.
func BuildRequest(u *url.URL, o *Options) ([]byte, error) {
	fields := make([]kv, 0, 12)
	fields = append(fields,
		kv{"Host", HostHeader(u), false},
		kv{"Upgrade", "websocket", false},
		kv{"Connection", "Upgrade", false})
	key := o.Key
	if key == "" {
		r := o.Rand
		if r == nil {
			r = rand.Reader
		}
		key = NewKey(r)
	}
	fields = append(fields, kv{name: "Sec-WebSocket-Key", value: key})
	fields = appendOffers(fields, u, o, canonicalName)

	// --omit
	if len(o.Omit) > 0 {
		kept := fields[:0]
		for _, f := range fields {
			if !containsFold(o.Omit, f.name) {
				kept = append(kept, f)
			}
		}
		fields = kept
	}

	// -H
	for _, h := range o.Headers {
		name, value, err := ParseHeader(h)
		if err != nil {
			return nil, err
		}
		fields = applyHeader(fields, name, value)
	}

	b := make([]byte, 0, 256)
	method, proto := o.Method, o.Proto
	if method == "" {
		method = "GET"
	}
	if proto == "" {
		proto = "HTTP/1.1"
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, RequestTarget(u)...)
	b = append(b, ' ')
	b = append(b, proto...)
	b = append(b, "\r\n"...)
	for _, f := range fields {
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...), nil
}

func appendJoined(fields []kv, name string, values []string, split bool) []kv {
	if len(values) == 0 {
		return fields
	}
	if split {
		for _, v := range values {
			fields = append(fields, kv{name: name, value: v})
		}
		return fields
	}
	return append(fields, kv{name: name, value: strings.Join(values, ", ")})
}

// applyHeader applies one -H field. For a default name: the first -H
// replaces every default line of that name at the place of the first one;
// later -H of the name go right after the previous -H line. Anything else
// is appended.
func applyHeader(fields []kv, name, value string) []kv {
	f := kv{name: name, value: value, user: true}
	if !isDefaultName(name) {
		return append(fields, f)
	}
	lastUser, firstDefault := -1, -1
	for i, g := range fields {
		if !strings.EqualFold(g.name, name) {
			continue
		}
		if g.user {
			lastUser = i
		} else if firstDefault < 0 {
			firstDefault = i
		}
	}
	switch {
	case lastUser >= 0:
		return slices.Insert(fields, lastUser+1, f)
	case firstDefault >= 0:
		kept := fields[:0]
		for i, g := range fields {
			switch {
			case i == firstDefault:
				kept = append(kept, f)
			case !strings.EqualFold(g.name, name):
				kept = append(kept, g)
			}
		}
		return kept
	}
	return append(fields, f)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}

// wsScheme maps a URL scheme to "ws" or "wss": http and https are aliases,
// since the upgrade runs over them anyway (SPEC §1). ok is false for any
// other scheme.
func wsScheme(scheme string) (string, bool) {
	switch strings.ToLower(scheme) {
	case "ws", "http":
		return "ws", true
	case "wss", "https":
		return "wss", true
	}
	return "", false
}
