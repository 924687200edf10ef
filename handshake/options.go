package handshake

import (
	"context"
	"io"
	"net"
	"time"
)

// DefaultTimeout bounds connect + handshake when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options describe one client handshake: every handshake flag of SPEC §1.1
// plus the injected clock, random source and dialer that make tests
// deterministic.
type Options struct {
	URL string // ws, wss, http, https or no scheme (→ ws)

	Headers      []string // -H "Name: value", in order
	Omit         []string // --omit NAME: default fields not to send
	Protocols    []string // -p, in order of preference
	SplitHeaders bool     // one Sec-WebSocket-Protocol / -Extensions line per value
	Extensions   []string // -x RAW, verbatim
	Deflate      bool     // --deflate: offer "permessage-deflate; client_max_window_bits"
	Version      string   // --ws-version; "" → "13"
	Key          string   // --key; "" → NewKey(Rand)
	Origin       string   // --origin; "" → no Origin field
	RequestFile  string   // --request-file: send this file's bytes as the request
	UserAgent    string   // User-Agent sent after the WebSocket fields; "" → none (SPEC §1.1)
	// Method and Proto replace GET and HTTP/1.1 in the request line, so
	// that a request RFC 6455 §4.1 forbids can be built on purpose (probe's
	// hs-method and hs-http10 checks); "" keeps the default.
	Method  string
	Proto   string
	Timeout time.Duration

	// TLS, proxy and routing (used by Dial).
	Insecure  bool   // -k
	CACert    string // --cacert FILE
	Cert      string // --cert FILE
	CertKey   string // --cert-key FILE
	SNI       string // --sni NAME
	Proxy     string // --proxy URL; "" → from the environment via Getenv
	Unix      string // --unix PATH
	ConnectTo string // --connect-to HOST:PORT

	HTTP2 bool // --http2: extended CONNECT over HTTP/2 (RFC 8441, SPEC §10)

	Location    bool // --location: follow up to MaxRedirects 3xx
	Lenient     bool // --lenient: keep a 101 with error-level diagnostics
	ShowSecrets bool // --show-secrets

	ExpectStatus    int      // --expect-status; 0 → none
	ExpectProtocol  string   // --expect-protocol
	ExpectExtension []string // --expect-extension, extension names

	// Live, when not nil, prints the transcript while the exchange
	// happens (SPEC §1.1) instead of leaving it all to WriteTranscript.
	Live *Live

	// CheckExtension validates a permessage-deflate element the server
	// accepted against the offered elements (RFC 7692 §7.1); each returned
	// sentence becomes an extension-params diagnostic. cmd passes a wrapper
	// of wire.CheckDeflateResponse. nil → no parameter check.
	CheckExtension func(offers []string, accepted string) []string

	Now         func() time.Time                                                  // nil → time.Now
	Rand        io.Reader                                                         // keys and masks; nil → crypto/rand
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error) // nil → net.Dialer
	Getenv      func(string) string                                               // proxy variables; nil → none
}

// MaxRedirects is how many 3xx responses --location follows.
const MaxRedirects = 5

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}
