package handshake

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// H2Field is one field of an HTTP/2 header block as HPACK decoded it
// (RFC 9113 §8.2, RFC 7541): pseudo-header fields (":status") included, in
// block order, name and value as they arrived.
type H2Field struct {
	Name, Value string
}

// Limits on a header block received (RFC 9113 §10.5.1): the encoded block
// with its CONTINUATION frames, the number of those frames, and the
// decoded field list (each field counted as name + value + 32, RFC 9113
// §6.5.2). wsdbg advertises MaxH2HeaderList as SETTINGS_MAX_HEADER_LIST_SIZE.
const (
	MaxH2HeaderBlock  = 64 << 10
	MaxH2HeaderList   = 64 << 10
	maxH2Continuation = 64
)

// HeaderBlockError says why a header block was refused; Section is the
// RFC section it breaks, for the diagnostic.
type HeaderBlockError struct {
	Reason  string
	Section string
}

func (e *HeaderBlockError) Error() string { return e.Reason + " (" + e.Section + ")" }

// DecodeH2Fields decodes one complete header block with a fresh HPACK
// decoder (RFC 7541). It is DecodeH2FieldsWith for a block that does not
// depend on the connection's dynamic table; fuzzing and serve's tests use it.
func DecodeH2Fields(block []byte) ([]H2Field, error) {
	return DecodeH2FieldsWith(hpack.NewDecoder(4096, nil), block)
}

// DecodeH2FieldsWith decodes one complete header block with dec, whose
// dynamic table is the connection's (RFC 7541 §2.3.2). It refuses a block
// over MaxH2HeaderBlock and stops collecting fields once the decoded list
// passes MaxH2HeaderList, so that a small block of table references cannot
// make it allocate without bound; the decoder still consumes the whole
// block, to keep its table in step with the peer's encoder.
func DecodeH2FieldsWith(dec *hpack.Decoder, block []byte) ([]H2Field, error) {
	if len(block) > MaxH2HeaderBlock {
		return nil, &HeaderBlockError{fmt.Sprintf("header block of %d bytes is larger than the %d bytes wsdbg accepts", len(block), MaxH2HeaderBlock), "RFC 9113 §10.5.1"}
	}
	var fields []H2Field
	size := 0
	over := false
	dec.SetMaxStringLength(MaxH2HeaderList)
	dec.SetEmitFunc(func(f hpack.HeaderField) {
		if over {
			return
		}
		size += len(f.Name) + len(f.Value) + 32
		if size > MaxH2HeaderList {
			over = true
			dec.SetEmitEnabled(false)
			return
		}
		fields = append(fields, H2Field{Name: f.Name, Value: f.Value})
	})
	defer dec.SetEmitEnabled(true)
	if _, err := dec.Write(block); err != nil {
		return fields, &HeaderBlockError{fmt.Sprintf("HPACK decoding failed: %v", err), "RFC 7541 §3"}
	}
	if err := dec.Close(); err != nil {
		return fields, &HeaderBlockError{fmt.Sprintf("HPACK decoding failed: %v", err), "RFC 7541 §3"}
	}
	if over {
		return fields, &HeaderBlockError{fmt.Sprintf("decoded header list is larger than the %d bytes advertised in SETTINGS_MAX_HEADER_LIST_SIZE", MaxH2HeaderList), "RFC 9113 §10.5.1"}
	}
	return fields, nil
}

// EncodeH2Fields encodes fields as one header block (RFC 7541), names as
// given: the caller lower-cases them.
func EncodeH2Fields(enc *hpack.Encoder, fields []H2Field) error {
	for _, f := range fields {
		if err := enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value}); err != nil {
			return err
		}
	}
	return nil
}

// h2Scheme is the :scheme of an extended CONNECT for a ws or wss URL
// (RFC 8441 §4: the scheme of the target URI, http or https).
func h2Scheme(u *url.URL) string {
	if u.Scheme == "wss" {
		return "https"
	}
	return "http"
}

// BuildH2Fields returns the extended CONNECT request of RFC 8441 §4 for u
// and o, lower-cased as RFC 9113 §8.2.1 requires. The fields come in this
// order, each only when it applies:
//
//	:method CONNECT, :protocol websocket, :scheme, :path, :authority
//	sec-websocket-version     (o.Version or 13)
//	sec-websocket-protocol    (comma-joined, or one field each with SplitHeaders)
//	sec-websocket-extensions  (-x verbatim, then the --deflate offer)
//	origin                    (only when given)
//	authorization: Basic      (from the URL's userinfo)
//	user-agent                (Options.UserAgent)
//
// There is no Sec-WebSocket-Key, Upgrade or Connection (RFC 8441 §4, RFC
// 9113 §8.2.2). --omit removes fields by name, pseudo-headers included;
// then each -H applies: a name already present replaces it in place (Host
// replaces :authority), several -H of one name giving several fields there;
// other names are appended, lower-cased.
func BuildH2Fields(u *url.URL, o *Options) ([]H2Field, error) {
	fields := []kv{
		{name: ":method", value: "CONNECT"},
		{name: ":protocol", value: "websocket"},
		{name: ":scheme", value: h2Scheme(u)},
		{name: ":path", value: RequestTarget(u)},
		{name: ":authority", value: HostHeader(u)},
	}
	fields = appendOffers(fields, u, o, strings.ToLower)
	if len(o.Omit) > 0 {
		kept := fields[:0]
		for _, f := range fields {
			if !containsFold(o.Omit, f.name) && !(f.name == ":authority" && containsFold(o.Omit, "host")) {
				kept = append(kept, f)
			}
		}
		fields = kept
	}
	for _, h := range o.Headers {
		name, value, err := ParseH2Header(h)
		if err != nil {
			return nil, err
		}
		fields = applyH2Header(fields, name, value)
	}
	out := make([]H2Field, len(fields))
	for i, f := range fields {
		out[i] = H2Field{Name: f.name, Value: f.value}
	}
	return out, nil
}

// ParseH2Header splits a -H value for HTTP/2: "Name: value", or
// ":pseudo: value" to replace a pseudo-header field. The name is
// lower-cased; "host" becomes ":authority" (RFC 9113 §8.3.1).
func ParseH2Header(h string) (name, value string, err error) {
	if strings.HasPrefix(h, ":") {
		n, v, ok := strings.Cut(h[1:], ":")
		if !ok || n == "" {
			return "", "", &UsageError{"header", fmt.Errorf("%q has no value; write a pseudo-header as \":name: value\"", h)}
		}
		return ":" + strings.ToLower(strings.TrimSpace(n)), strings.TrimSpace(v), nil
	}
	name, value, err = ParseHeader(h)
	if err != nil {
		return "", "", err
	}
	name = strings.ToLower(name)
	if name == "host" {
		name = ":authority"
	}
	return name, value, nil
}

// applyH2Header applies one -H field: the first -H of a name present among
// the defaults replaces every default of that name at the place of the
// first; later ones follow the previous -H of the name; anything else is
// appended.
func applyH2Header(fields []kv, name, value string) []kv {
	f := kv{name: name, value: value, user: true}
	lastUser, firstDefault := -1, -1
	for i, g := range fields {
		if g.name != name {
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
		fields = append(fields[:lastUser+1], append([]kv{f}, fields[lastUser+1:]...)...)
		return fields
	case firstDefault >= 0:
		kept := fields[:0]
		for i, g := range fields {
			switch {
			case i == firstDefault:
				kept = append(kept, f)
			case g.name != name:
				kept = append(kept, g)
			}
		}
		return kept
	}
	if strings.HasPrefix(name, ":") {
		// Pseudo-header fields must precede the others (RFC 9113 §8.3);
		// a new one goes after the last pseudo-header.
		i := 0
		for i < len(fields) && strings.HasPrefix(fields[i].name, ":") {
			i++
		}
		return append(fields[:i], append([]kv{f}, fields[i:]...)...)
	}
	return append(fields, f)
}

// h2Head builds a Head from decoded fields so that the lookups and checks
// written for HTTP/1.1 heads (subprotocol, extensions) apply: each field a
// line "name: value", Raw their concatenation with CRLF endings.
func h2Head(fields []H2Field) Head {
	h := Head{Fields: make([]Field, 0, len(fields))}
	var raw []byte
	for _, f := range fields {
		line := f.Name + ": " + f.Value
		h.Fields = append(h.Fields, Field{Name: f.Name, Value: f.Value, Raw: line, EOL: "\r\n"})
		raw = append(raw, line...)
		raw = append(raw, "\r\n"...)
	}
	h.Raw = raw
	return h
}

// h2Request is the request view of an extended CONNECT's fields.
func h2Request(fields []H2Field) *Request {
	r := &Request{Head: h2Head(fields), Proto: "HTTP/2"}
	r.Method, _ = r.Get(":method")
	r.Target, _ = r.Get(":path")
	return r
}

// h2Response is the response view of a HEADERS block: Status from :status
// (0 when it is missing or not three digits), Reason the standard phrase.
func h2Response(fields []H2Field) *Response {
	r := &Response{Head: h2Head(fields), Proto: "HTTP/2"}
	if v, ok := r.Get(":status"); ok && len(v) == 3 {
		if n, err := strconv.Atoi(v); err == nil && n >= 100 {
			r.Status = n
			r.Reason = replyReason(n)
		}
	}
	return r
}

// DiagnoseH2Request returns the request-side warnings of SPEC §10 for an
// extended CONNECT (RFC 8441 §4): the pseudo-header fields, and the rules
// of SPEC §4.2 that still apply (method, version). secure says whether the
// connection runs over TLS, which decides the :scheme expected.
func DiagnoseH2Request(fields []H2Field, secure bool) []Diagnostic {
	req := h2Request(fields)
	var ds []Diagnostic
	one := func(name string) (string, int) {
		vs := req.Values(name)
		if len(vs) == 0 {
			return "", 0
		}
		return vs[0], len(vs)
	}
	if m, n := one(":method"); n != 1 || m != "CONNECT" {
		ds = append(ds, Diag("request-method", "%s; a WebSocket over HTTP/2 is opened with :method CONNECT (RFC 8441 §4)", describePseudo(":method", req)))
	}
	if p, n := one(":protocol"); n != 1 || p != "websocket" {
		ds = append(ds, Diag("request-h2-protocol", "%s; an extended CONNECT for a WebSocket needs :protocol websocket", describePseudo(":protocol", req)))
	}
	want := "http"
	if secure {
		want = "https"
	}
	if s, n := one(":scheme"); n != 1 || s != want {
		ds = append(ds, Diag("request-h2-scheme", "%s; over %s it must be %q", describePseudo(":scheme", req), map[bool]string{true: "TLS", false: "cleartext (h2c)"}[secure], want))
	}
	if p, n := one(":path"); n != 1 || p == "" || (p[0] != '/' && p != "*") {
		ds = append(ds, Diag("request-h2-path", "%s; it must be the request target, starting with /", describePseudo(":path", req)))
	}
	if a, n := one(":authority"); n != 1 || a == "" {
		ds = append(ds, Diag("request-h2-authority", "%s; it must name the host (and port) of the WebSocket URI", describePseudo(":authority", req)))
	}
	switch vs := req.Values("sec-websocket-version"); {
	case len(vs) == 0:
		ds = append(ds, Diag("request-version", "no sec-websocket-version field; it must be 13 (RFC 8441 §5)"))
	case len(vs) > 1 || vs[0] != "13":
		ds = append(ds, Diag("request-version", "sec-websocket-version is %s; it must be 13", quoteList(vs)))
	}
	for _, f := range fields {
		switch f.Name {
		case "connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding":
			id := ID("request-connection")
			if f.Name == "upgrade" {
				id = "request-upgrade"
			}
			ds = append(ds, Diag(id, "field %q is connection-specific and makes an HTTP/2 request malformed (RFC 9113 §8.2.2)", f.Name))
		case "sec-websocket-key":
			ds = append(ds, Diag("request-key", "sec-websocket-key is not used over HTTP/2 (RFC 8441 §5: no key, no accept); a server may ignore it"))
		}
	}
	return ds
}

// describePseudo says what a request holds for a pseudo-header field.
func describePseudo(name string, req *Request) string {
	vs := req.Values(name)
	switch len(vs) {
	case 0:
		return "no " + name + " pseudo-header field"
	case 1:
		return fmt.Sprintf("%s is %q", name, vs[0])
	}
	return fmt.Sprintf("%d %s fields (%s)", len(vs), name, quoteList(vs))
}

// fieldNotes lists ways fields break RFC 9113 §8.2-§8.3 that no
// diagnostic covers, as transcript notes.
func fieldNotes(fields []H2Field, what string) []string {
	var notes []string
	regular := false
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") {
			if regular {
				notes = append(notes, fmt.Sprintf("%s: pseudo-header %q after a regular field (RFC 9113 §8.3)", what, f.Name))
			}
			continue
		}
		regular = true
		if f.Name != strings.ToLower(f.Name) {
			notes = append(notes, fmt.Sprintf("%s: field name %q has upper-case letters (RFC 9113 §8.2.1)", what, f.Name))
		}
	}
	return notes
}

var errNoStatus = errors.New("no :status")
