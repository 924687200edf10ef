package handshake

import (
	"math"
	"time"
	"unicode/utf8"
)

// Document is the `inspect --json` document of SPEC §3.1. Fields marshal in
// the order and with the names the spec shows; a missing response, accept
// check or TLS summary is null.
type Document struct {
	URL         string        `json:"url"`
	OK          bool          `json:"ok"`
	ExitCode    int           `json:"exit_code"`
	Request     *DocRequest   `json:"request"`
	Response    *DocResponse  `json:"response"`
	Accept      *DocAccept    `json:"accept"`
	Negotiated  DocNegotiated `json:"negotiated"`
	Diagnostics []DocDiag     `json:"diagnostics"`
	Timing      DocTiming     `json:"timing"`
	TLS         *DocTLS       `json:"tls"`
	Redirects   []*Document   `json:"redirects"`
	// HTTP is "2" for an extended CONNECT over HTTP/2, with Frames the
	// frames of the handshake (SPEC §10); both absent for HTTP/1.1.
	HTTP   string     `json:"http,omitempty"`
	Frames []DocFrame `json:"frames,omitempty"`
	// Error says why the exchange failed when no error-level diagnostic
	// does (DNS or connect failure, a failed write); absent otherwise. An
	// addition to SPEC §3.1, whose diagnostic ids have none for a refused
	// or unreachable connection.
	Error string `json:"error,omitempty"`
}

// DocRequest is the request as sent; secrets redacted in Raw and Headers.
type DocRequest struct {
	Raw     string      `json:"raw"`
	Method  string      `json:"method"`
	Target  string      `json:"target"`
	Headers [][2]string `json:"headers"`
}

// DocResponse is the response head as received.
type DocResponse struct {
	Raw     string      `json:"raw"`
	Proto   string      `json:"proto"`
	Status  int         `json:"status"`
	Reason  string      `json:"reason"`
	Headers [][2]string `json:"headers"`
	// Body is the start of a non-101 response's body (at most MaxBody
	// bytes), null when it had none; invalid UTF-8 is escaped as in the
	// transcript.
	Body          *string `json:"body"`
	BodyTruncated bool    `json:"body_truncated"`
}

// DocAccept is the Sec-WebSocket-Accept check.
type DocAccept struct {
	Key      string `json:"key"`
	Expected string `json:"expected"`
	Received string `json:"received"`
	OK       bool   `json:"ok"`
}

// DocNegotiated is what the 101 settled.
type DocNegotiated struct {
	Protocol   string   `json:"protocol"`
	Extensions []string `json:"extensions"`
}

// DocDiag is one diagnostic.
type DocDiag struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	RFC      string `json:"rfc"`
}

// DocTiming holds durations in milliseconds; null when not measured.
type DocTiming struct {
	DNS      *float64 `json:"dns_ms"`
	Connect  *float64 `json:"connect_ms"`
	Proxy    *float64 `json:"proxy_ms"`
	TLS      *float64 `json:"tls_ms"`
	Response *float64 `json:"response_ms"`
	Total    *float64 `json:"total_ms"`
}

// DocTLS summarises the TLS connection.
type DocTLS struct {
	Version      string    `json:"version"`
	Cipher       string    `json:"cipher"`
	ALPN         string    `json:"alpn"`
	ServerName   string    `json:"server_name"`
	Certificates []DocCert `json:"certificates"`
}

// DocCert is one peer certificate; dates in RFC 3339.
type DocCert struct {
	Subject   string `json:"subject"`
	Issuer    string `json:"issuer"`
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
}

// Document returns the SPEC §3.1 document of the exchange. exitCode is the
// process exit code cmd settled on; ok is true when it is 0. Earlier hops
// get the exit code of their own Class.
func (r *Result) Document(exitCode int) *Document {
	d := &Document{
		URL:         r.URL,
		OK:          exitCode == 0,
		ExitCode:    exitCode,
		Negotiated:  DocNegotiated{Protocol: r.Negotiated.Protocol, Extensions: []string{}},
		Diagnostics: make([]DocDiag, 0, len(r.Diagnostics)),
		Redirects:   make([]*Document, 0, len(r.Redirects)),
	}
	if r.unexplained() {
		d.Error = r.Err.Error()
	}
	if r.Request != nil && r.Sent {
		q := r.Request
		d.Request = &DocRequest{Raw: q.Head.RedactedRaw(r.shown), Method: q.Method, Target: q.Target, Headers: q.Head.RedactedPairs(r.shown)}
	}
	if p := r.Response; p != nil {
		d.Response = &DocResponse{Raw: p.Head.RedactedRaw(r.shown), Proto: p.Proto, Status: p.Status, Reason: p.Reason, Headers: p.Head.RedactedPairs(r.shown), BodyTruncated: p.BodyTruncated}
		if p.Body != nil {
			body := string(p.Body)
			if !utf8.Valid(p.Body) {
				body = escapeString(body)
			}
			d.Response.Body = &body
		}
	}
	if a := r.Accept; a != nil {
		d.Accept = &DocAccept{Key: a.Key, Expected: a.Expected, Received: a.Received, OK: a.OK}
	}
	d.Negotiated.Extensions = append(d.Negotiated.Extensions, r.Negotiated.Extensions...)
	for _, g := range r.Diagnostics {
		d.Diagnostics = append(d.Diagnostics, DocDiag{ID: string(g.ID), Severity: g.Severity.String(), Message: g.Message, RFC: g.RFC})
	}
	d.Timing = DocTiming{DNS: msPtr(r.Timing.DNS), Connect: msPtr(r.Timing.Connect), Proxy: msPtr(r.Timing.Proxy), TLS: msPtr(r.Timing.TLS), Response: msPtr(r.Timing.Response), Total: msPtr(r.Timing.Total)}
	if t := r.TLS; t != nil {
		d.TLS = &DocTLS{Version: t.Version, Cipher: t.Cipher, ALPN: t.ALPN, ServerName: t.ServerName, Certificates: make([]DocCert, 0, len(t.Certs))}
		for _, c := range t.Certs {
			d.TLS.Certificates = append(d.TLS.Certificates, DocCert{Subject: c.Subject, Issuer: c.Issuer, NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339)})
		}
	}
	if r.HTTP2 {
		d.HTTP = "2"
		d.Frames = r.docFrames()
	}
	for _, hop := range r.Redirects {
		d.Redirects = append(d.Redirects, hop.Document(hop.Class.ExitCode()))
	}
	return d
}

// JSON returns the SPEC §3.1 document as a value for encoding/json; it is
// Document(exitCode).
func (r *Result) JSON(exitCode int) any { return r.Document(exitCode) }

// msPtr converts a duration to milliseconds rounded to the microsecond,
// nil when negative (not measured).
func msPtr(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	v := math.Round(float64(d)/float64(time.Microsecond)) / 1000
	return &v
}
