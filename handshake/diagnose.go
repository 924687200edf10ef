package handshake

import (
	"fmt"
	"strings"
)

// Severity grades a diagnostic.
type Severity uint8

// Severities, mildest first. On a 101, any SevError fails the connection
// unless Options.Lenient (RFC 6455 §4.1).
const (
	SevOK Severity = iota
	SevInfo
	SevWarning
	SevError
)

// String returns "ok", "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SevOK:
		return "ok"
	case SevInfo:
		return "info"
	case SevWarning:
		return "warning"
	case SevError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// MarshalText makes a Severity encode as its name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one finding about a handshake, with a stable id (SPEC §4).
type Diagnostic struct {
	ID       string
	Severity Severity
	Message  string // names the values involved and the RFC section
	RFC      string // e.g. "RFC 6455 §4.2.2"
}

// CatalogEntry fixes the severity and reference of one diagnostic id.
type CatalogEntry struct {
	ID       string
	Severity Severity
	RFC      string
	Side     string // "response" (SPEC §4.1) or "request" (SPEC §4.2)
}

// Catalog lists every diagnostic id of SPEC §4 with its severity and RFC
// section. Every diagnostic is built through Diag, which looks the id up
// here.
var Catalog = []CatalogEntry{
	// SPEC §4.1, response side.
	{"accept-ok", SevOK, "RFC 6455 §4.2.2", "response"},
	{"accept-missing", SevError, "RFC 6455 §4.1", "response"},
	{"accept-mismatch", SevError, "RFC 6455 §4.1", "response"},
	{"accept-duplicate", SevError, "RFC 6455 §11.3.3", "response"},
	{"status-not-101", SevError, "RFC 6455 §4.1", "response"},
	{"version-unsupported", SevError, "RFC 6455 §4.4", "response"},
	{"upgrade-missing", SevError, "RFC 6455 §4.1", "response"},
	{"upgrade-mismatch", SevError, "RFC 6455 §4.1", "response"},
	{"connection-missing", SevError, "RFC 6455 §4.1", "response"},
	{"protocol-ok", SevOK, "RFC 6455 §4.2.2", "response"},
	{"protocol-not-offered", SevError, "RFC 6455 §4.1", "response"},
	{"protocol-multiple", SevError, "RFC 6455 §11.3.4", "response"},
	{"protocol-ignored", SevWarning, "RFC 6455 §4.2.2", "response"},
	{"extension-ok", SevOK, "RFC 6455 §9.1", "response"},
	{"extension-not-offered", SevError, "RFC 6455 §4.1", "response"},
	{"extension-params", SevError, "RFC 7692 §7.1", "response"},
	{"http-version", SevError, "RFC 6455 §4.1", "response"},
	{"not-http", SevError, "RFC 9112 §4", "response"},
	{"head-too-large", SevError, "RFC 9110 §5.4", "response"},
	{"timeout", SevError, "RFC 6455 §4.1", "response"},
	{"early-data", SevInfo, "RFC 6455 §4.1", "response"},
	{"tls-insecure", SevWarning, "RFC 6455 §10.6", "response"},
	{"tls-verify", SevError, "RFC 5280 §6", "response"},
	{"tls-alpn", SevWarning, "RFC 7301 §3.2", "response"},
	{"redirect", SevInfo, "RFC 6455 §4.1", "response"},
	{"no-response", SevError, "RFC 6455 §4.1", "response"},
	{"extension-declined", SevInfo, "RFC 6455 §9.1", "response"},
	{"body", SevInfo, "RFC 9112 §6", "response"},
	{"expect-status", SevError, "RFC 6455 §4.1", "response"},
	{"expect-protocol", SevError, "RFC 6455 §4.2.2", "response"},
	{"expect-extension", SevError, "RFC 6455 §9.1", "response"},

	// Beyond SPEC §4: no connection could be opened (DNS, TCP, proxy), or it
	// broke while the request was written, and nothing more specific (tls-*,
	// timeout) explains it. RFC 6455 §4.1: "If the connection could not be
	// opened ... the client MUST _Fail the WebSocket Connection_".
	{"connect-failed", SevError, "RFC 6455 §4.1", "response"},

	// SPEC §4.2, request side.
	{"request-method", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-http-version", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-host", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-upgrade", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-connection", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-key", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-version", SevWarning, "RFC 6455 §4.1", "request"},
	{"request-bare-lf", SevWarning, "RFC 9112 §2.2", "request"},
}

var catalogIndex = func() map[string]int {
	m := make(map[string]int, len(Catalog))
	for i, e := range Catalog {
		m[e.ID] = i
	}
	return m
}()

// Lookup returns the catalog entry for id.
func Lookup(id string) (CatalogEntry, bool) {
	i, ok := catalogIndex[id]
	if !ok {
		return CatalogEntry{}, false
	}
	return Catalog[i], true
}

// Diag builds a diagnostic whose severity and RFC section come from the
// Catalog; format and args are as for fmt.Sprintf. An id missing from the Catalog is a programming error: Diag
// panics so that tests catch it.
func Diag(id string, format string, args ...any) Diagnostic {
	e, ok := Lookup(id)
	if !ok {
		panic("handshake: diagnostic id " + id + " is not in the Catalog")
	}
	msg := format
	if len(args) > 0 || strings.IndexByte(format, '%') >= 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return Diagnostic{ID: id, Severity: e.Severity, Message: msg, RFC: e.RFC}
}

// diagMsg is Diag for a message that is already formatted.
func diagMsg(id, msg string) Diagnostic {
	e, ok := Lookup(id)
	if !ok {
		panic("handshake: diagnostic id " + id + " is not in the Catalog")
	}
	return Diagnostic{ID: id, Severity: e.Severity, Message: msg, RFC: e.RFC}
}

// Worst returns the highest severity in ds (SevOK when empty).
func Worst(ds []Diagnostic) Severity {
	w := SevOK
	for _, d := range ds {
		w = max(w, d.Severity)
	}
	return w
}
