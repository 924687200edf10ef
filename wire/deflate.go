package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// DeflateExtension is the extension token of permessage-deflate (RFC 7692 §7).
const DeflateExtension = "permessage-deflate"

// The extension parameters of permessage-deflate (RFC 7692 §7.1).
const (
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// Window sizes allowed by RFC 7692 §7.1.2: the base-2 logarithm of the LZ77
// sliding window, 8 to 15 inclusive.
const (
	minWindowBits = 8
	maxWindowBits = 15
)

// DeflateParams are the permessage-deflate parameters of one extension
// negotiation offer or response (RFC 7692 §7.1). The zero value is an offer
// or response without parameters: context takeover in both directions and
// 32 KiB windows.
type DeflateParams struct {
	// ServerNoContextTakeover: the server does not reuse the LZ77 window of
	// earlier messages when it compresses (RFC 7692 §7.1.1.1).
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client does not reuse the LZ77 window of
	// earlier messages when it compresses (RFC 7692 §7.1.1.2).
	ClientNoContextTakeover bool
	// ServerMaxWindowBits limits the server's compression window to
	// 2^ServerMaxWindowBits bytes; 0 = absent, else 8..15 (RFC 7692 §7.1.2.1).
	ServerMaxWindowBits int
	// ClientMaxWindowBits limits the client's compression window; 0 = absent,
	// -1 = present without a value (allowed in an offer only), else 8..15
	// (RFC 7692 §7.1.2.2).
	ClientMaxWindowBits int
}

// DeflateOffer returns the extension element that --deflate offers:
// permessage-deflate with client_max_window_bits without a value, which tells
// the server it may limit our window (RFC 7692 §7.1.2.2), as browsers do.
func DeflateOffer() string {
	return DeflateExtension + "; " + paramClientMaxWindowBits
}

// String formats p as one extension element that ParseDeflate accepts and
// turns back into p, e.g. "permessage-deflate; server_no_context_takeover;
// client_max_window_bits=10". Parameters come in a fixed order.
func (p DeflateParams) String() string {
	var b strings.Builder
	b.WriteString(DeflateExtension)
	if p.ServerNoContextTakeover {
		b.WriteString("; " + paramServerNoContextTakeover)
	}
	if p.ClientNoContextTakeover {
		b.WriteString("; " + paramClientNoContextTakeover)
	}
	if p.ServerMaxWindowBits != 0 {
		b.WriteString("; " + paramServerMaxWindowBits + "=" + strconv.Itoa(p.ServerMaxWindowBits))
	}
	switch {
	case p.ClientMaxWindowBits < 0:
		b.WriteString("; " + paramClientMaxWindowBits)
	case p.ClientMaxWindowBits > 0:
		b.WriteString("; " + paramClientMaxWindowBits + "=" + strconv.Itoa(p.ClientMaxWindowBits))
	}
	return b.String()
}

// ParseDeflate parses one permessage-deflate extension element, an offer or
// a response, such as "permessage-deflate; client_max_window_bits;
// server_no_context_takeover". The element follows the grammar of RFC 6455
// §9.1: a token, then parameters separated by ";", each a token with an
// optional "=" and a value that is a token or a quoted string whose content
// is a token (RFC 7692 §7.1). Whitespace around ";" and "=" is allowed.
//
// ParseDeflate rejects an element whose name is not permessage-deflate, an
// unknown or repeated parameter, a value on a *_no_context_takeover
// parameter, and a window size that is missing (server_max_window_bits),
// not a decimal number without leading zeros, or outside 8..15
// (RFC 7692 §7.1.2). client_max_window_bits without a value gives
// ClientMaxWindowBits -1; that is only valid in an offer, which
// CheckDeflateResponse enforces for responses.
func ParseDeflate(ext string) (DeflateParams, error) {
	p, problems := parseDeflate(ext)
	if len(problems) > 0 {
		return p, fmt.Errorf("parse permessage-deflate element %q: %s", ext, strings.Join(problems, "; "))
	}
	return p, nil
}

// extParam is one parameter of an extension element as written.
type extParam struct {
	name     string
	value    string // unquoted
	raw      string // as written after the name, including "=" and quotes
	hasValue bool
}

// parseDeflate parses leniently: it fills in every parameter it understands
// and returns one sentence per problem, so that a diagnostic can list them
// all.
func parseDeflate(ext string) (DeflateParams, []string) {
	var p DeflateParams
	name, params, err := parseExtension(ext)
	if err != nil {
		return p, []string{err.Error()}
	}
	var problems []string
	if !strings.EqualFold(name, DeflateExtension) {
		problems = append(problems, fmt.Sprintf("extension %q is not %s", name, DeflateExtension))
	}
	seen := make(map[string]bool, len(params))
	for _, q := range params {
		if seen[q.name] {
			problems = append(problems, fmt.Sprintf("parameter %q is repeated (RFC 7692 §7.1)", q.name))
			continue
		}
		seen[q.name] = true
		switch q.name {
		case paramServerNoContextTakeover, paramClientNoContextTakeover:
			if q.hasValue {
				problems = append(problems, fmt.Sprintf("parameter %q takes no value, got %q (RFC 7692 §7.1.1)", q.name, q.name+q.raw))
				continue
			}
			if q.name == paramServerNoContextTakeover {
				p.ServerNoContextTakeover = true
			} else {
				p.ClientNoContextTakeover = true
			}
		case paramServerMaxWindowBits:
			if !q.hasValue {
				problems = append(problems, fmt.Sprintf("parameter %q needs a value from 8 to 15 (RFC 7692 §7.1.2.1)", q.name))
				continue
			}
			bits, msg := parseWindowBits(q)
			if msg != "" {
				problems = append(problems, msg+" (RFC 7692 §7.1.2.1)")
				continue
			}
			p.ServerMaxWindowBits = bits
		case paramClientMaxWindowBits:
			if !q.hasValue {
				p.ClientMaxWindowBits = -1
				continue
			}
			bits, msg := parseWindowBits(q)
			if msg != "" {
				problems = append(problems, msg+" (RFC 7692 §7.1.2.2)")
				continue
			}
			p.ClientMaxWindowBits = bits
		default:
			problems = append(problems, fmt.Sprintf("unknown parameter %q (RFC 7692 §7.1 defines server_no_context_takeover, client_no_context_takeover, server_max_window_bits, client_max_window_bits)", q.name+q.raw))
		}
	}
	return p, problems
}

// parseWindowBits checks a window size value: a decimal integer without
// leading zeros from 8 to 15 (RFC 7692 §7.1.2.1, §7.1.2.2). It returns a
// sentence naming the value when the value is not one.
func parseWindowBits(q extParam) (int, string) {
	v := q.value
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Sprintf("%s value %q is not a number from 8 to 15", q.name, q.raw[1:])
		}
	}
	if len(v) > 1 && v[0] == '0' {
		return 0, fmt.Sprintf("%s value %q has a leading zero; write a number from 8 to 15 without one", q.name, q.raw[1:])
	}
	if len(v) > 2 {
		return 0, fmt.Sprintf("%s value %q is outside 8..15", q.name, q.raw[1:])
	}
	n, _ := strconv.Atoi(v)
	if n < minWindowBits || n > maxWindowBits {
		return 0, fmt.Sprintf("%s value %q is outside 8..15", q.name, q.raw[1:])
	}
	return n, ""
}

// parseExtension splits one extension element (RFC 6455 §9.1):
//
//	extension = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// with optional whitespace around the separators. A quoted value must be a
// token once unescaped (RFC 6455 §9.1).
func parseExtension(s string) (name string, params []extParam, err error) {
	i := skipOWS(s, 0)
	name, i = scanToken(s, i)
	if name == "" {
		return "", nil, fmt.Errorf("element %q does not start with an extension name", s)
	}
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			return name, params, nil
		}
		if s[i] != ';' {
			return name, params, fmt.Errorf("unexpected %q at byte %d of %q; parameters are separated by \";\"", s[i:i+1], i, s)
		}
		i = skipOWS(s, i+1)
		var q extParam
		q.name, i = scanToken(s, i)
		if q.name == "" {
			if i == len(s) {
				return name, params, fmt.Errorf("element %q ends with \";\" but no parameter follows", s)
			}
			return name, params, fmt.Errorf("expected a parameter name at byte %d of %q, found %q", i, s, s[i:i+1])
		}
		j := skipOWS(s, i)
		if j < len(s) && s[j] == '=' {
			j = skipOWS(s, j+1)
			start := j
			q.hasValue = true
			if j < len(s) && s[j] == '"' {
				q.value, j, err = scanQuoted(s, j)
				if err != nil {
					return name, params, err
				}
				if !isToken(q.value) {
					return name, params, fmt.Errorf("quoted value %s of parameter %q is not a token (RFC 6455 §9.1)", s[start:j], q.name)
				}
			} else {
				q.value, j = scanToken(s, j)
				if q.value == "" {
					return name, params, fmt.Errorf("parameter %q has \"=\" but no value in %q", q.name, s)
				}
			}
			q.raw = "=" + s[start:j]
			i = j
		}
		params = append(params, q)
	}
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func scanToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

// scanQuoted reads a quoted-string (RFC 7230 §3.2.6) starting at s[i] == '"'
// and returns its unescaped content and the index after the closing quote.
func scanQuoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return b.String(), j + 1, nil
		case c == '\\':
			if j+1 == len(s) {
				return "", j, fmt.Errorf("quoted string %s ends with a lone backslash", s[i:])
			}
			j++
			b.WriteByte(s[j])
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", j, fmt.Errorf("control byte %q in quoted string %s", s[j:j+1], s[i:])
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), fmt.Errorf("quoted string %s is not closed", s[i:])
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is a tchar (RFC 7230 §3.2.6).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// CheckDeflateResponse validates a server's permessage-deflate response
// element against the elements the client offered (RFC 7692 §5, §7.1).
// Offers that are not permessage-deflate are ignored. It returns the
// parameters in force and one sentence per problem, each naming the values
// involved; a nil slice means the response is valid. Problems are:
//
//   - the response is malformed or names another extension (then that is
//     the only sentence), has an unknown or repeated parameter, a value on a
//     no_context_takeover parameter, or a window size missing, not a number
//     or outside 8..15 (RFC 7692 §7.1);
//   - client_max_window_bits without a value, or when no offer had it
//     (RFC 7692 §7.1.2.2), or larger than the offered value;
//   - server_max_window_bits larger than offered, or missing when the offer
//     asked for it; server_no_context_takeover missing when the offer asked
//     for it: such a response accepts none of the offers (RFC 7692 §7.1.1.1,
//     §7.1.2.1);
//   - permessage-deflate was not offered at all (RFC 6455 §9.1).
//
// With several offers the response must be a valid answer to one of them;
// when it answers none, the problems reported are those against the offer
// it comes closest to. The parameters in force are the response's, plus
// what the client promised in that offer: client_no_context_takeover and a
// client_max_window_bits value the response does not override
// (RFC 7692 §7.1.1.2, §7.1.2.2).
func CheckDeflateResponse(offers []string, response string) (DeflateParams, []string) {
	if name, _, err := parseExtension(response); err != nil {
		return DeflateParams{}, []string{err.Error()}
	} else if !strings.EqualFold(name, DeflateExtension) {
		return DeflateParams{}, []string{fmt.Sprintf("extension %q is not %s", name, DeflateExtension)}
	}
	resp, problems := parseDeflate(response)
	if resp.ClientMaxWindowBits < 0 {
		problems = append(problems, "parameter \"client_max_window_bits\" has no value; in a response it needs a value from 8 to 15 (RFC 7692 §7.1.2.2)")
	}

	var best []string
	var bestOffer DeflateParams
	found, total := false, 0
	for _, o := range offers {
		name, _, err := parseExtension(o)
		if err == nil && !strings.EqualFold(name, DeflateExtension) {
			continue
		}
		total++
		offer, _ := parseDeflate(o)
		msgs := checkAgainstOffer(offer, resp, o)
		if !found || len(msgs) < len(best) {
			best, bestOffer, found = msgs, offer, true
		}
		if len(msgs) == 0 {
			break
		}
	}
	switch {
	case !found:
		problems = append(problems, fmt.Sprintf("the response accepts %s, which the client did not offer", DeflateExtension))
	case len(best) > 0 && total > 1:
		for _, m := range best {
			problems = append(problems, fmt.Sprintf("%s; the response matches none of the %d offers", m, total))
		}
	default:
		problems = append(problems, best...)
	}

	inForce := resp
	if inForce.ClientMaxWindowBits < 0 {
		inForce.ClientMaxWindowBits = 0
	}
	if found {
		if bestOffer.ClientNoContextTakeover {
			inForce.ClientNoContextTakeover = true
		}
		if inForce.ClientMaxWindowBits == 0 && bestOffer.ClientMaxWindowBits > 0 {
			inForce.ClientMaxWindowBits = bestOffer.ClientMaxWindowBits
		}
	}
	if len(problems) == 0 {
		problems = nil
	}
	return inForce, problems
}

// checkAgainstOffer returns the reasons resp is not a valid acceptance of
// offer (RFC 7692 §7.1.1.1, §7.1.2.1, §7.1.2.2).
func checkAgainstOffer(offer, resp DeflateParams, raw string) []string {
	var msgs []string
	if offer.ServerNoContextTakeover && !resp.ServerNoContextTakeover {
		msgs = append(msgs, fmt.Sprintf("the offer %q asks for server_no_context_takeover but the response does not include it (RFC 7692 §7.1.1.1)", raw))
	}
	switch {
	case offer.ServerMaxWindowBits > 0 && resp.ServerMaxWindowBits == 0:
		msgs = append(msgs, fmt.Sprintf("the offer %q limits server_max_window_bits to %d but the response does not include server_max_window_bits (RFC 7692 §7.1.2.1)", raw, offer.ServerMaxWindowBits))
	case offer.ServerMaxWindowBits > 0 && resp.ServerMaxWindowBits > offer.ServerMaxWindowBits:
		msgs = append(msgs, fmt.Sprintf("server_max_window_bits=%d in the response is larger than the %d offered in %q (RFC 7692 §7.1.2.1)", resp.ServerMaxWindowBits, offer.ServerMaxWindowBits, raw))
	}
	if resp.ClientMaxWindowBits > 0 {
		switch {
		case offer.ClientMaxWindowBits == 0:
			msgs = append(msgs, fmt.Sprintf("client_max_window_bits=%d in the response, but the offer %q does not include client_max_window_bits (RFC 7692 §7.1.2.2)", resp.ClientMaxWindowBits, raw))
		case offer.ClientMaxWindowBits > 0 && resp.ClientMaxWindowBits > offer.ClientMaxWindowBits:
			msgs = append(msgs, fmt.Sprintf("client_max_window_bits=%d in the response is larger than the %d offered in %q (RFC 7692 §7.1.2.2)", resp.ClientMaxWindowBits, offer.ClientMaxWindowBits, raw))
		}
	} else if resp.ClientMaxWindowBits < 0 && offer.ClientMaxWindowBits == 0 {
		msgs = append(msgs, fmt.Sprintf("the response includes client_max_window_bits, but the offer %q does not (RFC 7692 §7.1.2.2)", raw))
	}
	return msgs
}

// AcceptDeflate is the server side of the negotiation (RFC 7692 §5, §7.1):
// it takes the client's permessage-deflate offers in order and answers the
// first acceptable one. An offer is declined when it is malformed, names
// another extension, or has an unknown, repeated or invalid parameter.
//
// The response honours every request of the offer: server_no_context_takeover
// and server_max_window_bits are echoed (our compressor keeps to that window,
// see Compressor), client_no_context_takeover is echoed as well. A
// client_max_window_bits in the offer, with or without a value (browsers send
// it without one), is answered by omitting the parameter: our decompressor
// accepts any window up to 15 bits (RFC 7692 §7.1.2.2 lets the server omit
// it). ok is false when no offer is acceptable.
func AcceptDeflate(offers []string) (resp DeflateParams, ok bool) {
	for _, o := range offers {
		offer, problems := parseDeflate(o)
		if len(problems) > 0 {
			continue
		}
		return DeflateParams{
			ServerNoContextTakeover: offer.ServerNoContextTakeover,
			ClientNoContextTakeover: offer.ClientNoContextTakeover,
			ServerMaxWindowBits:     offer.ServerMaxWindowBits,
		}, true
	}
	return DeflateParams{}, false
}
