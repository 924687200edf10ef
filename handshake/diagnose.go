package handshake

import (
	"fmt"
	"slices"
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

// ID is a diagnostic's stable id (SPEC §4), such as "accept-mismatch".
// Everything else about an id (its severity, side, RFC section, and what it
// means for the outcome) is in the catalogue: code asks the catalogue, never
// the spelling of the id.
type ID string

// Entry returns the catalogue entry of id; a zero entry for an id that is
// not in the catalogue.
func (id ID) Entry() CatalogEntry {
	if i, ok := catalogIndex[id]; ok {
		return catalog[i]
	}
	return CatalogEntry{}
}

// Diagnostic is one finding about a handshake, with a stable id (SPEC §4).
type Diagnostic struct {
	ID       ID
	Severity Severity
	Message  string // names the values involved and the RFC section
	RFC      string // e.g. "RFC 6455 §4.2.2"
}

// Entry returns the catalogue entry of the diagnostic's id.
func (d Diagnostic) Entry() CatalogEntry { return d.ID.Entry() }

// Side says which message a diagnostic judges.
type Side uint8

// Sides: the server's answer as the client sees it (SPEC §4.1), or the
// opening request, as wsdbg sent it or serve received it (SPEC §4.2).
const (
	SideResponse Side = iota
	SideRequest
)

// String returns "response" or "request".
func (s Side) String() string {
	if s == SideRequest {
		return "request"
	}
	return "response"
}

// entryFlag marks what an id means for the outcome of a handshake.
type entryFlag uint8

const (
	// expectation: an --expect-* that was not met (exit 7), not a fault of
	// the server's answer.
	expectation entryFlag = 1 << iota
	// refuses: a request-side fault that makes the opening handshake
	// invalid, so that a server refuses it (RFC 6455 §4.2.1; RFC 9112 §3.2
	// for Host). A bare LF is tolerated (RFC 9112 §2.2) and only reported.
	refuses
)

// CatalogEntry fixes everything about one diagnostic id but the message.
type CatalogEntry struct {
	ID       ID
	Severity Severity
	RFC      string
	Side     Side
	flags    entryFlag
}

// Expectation reports whether the id is an unmet --expect-*.
func (e CatalogEntry) Expectation() bool { return e.flags&expectation != 0 }

// Refuses reports whether a server refuses an opening request with this
// request-side finding.
func (e CatalogEntry) Refuses() bool { return e.flags&refuses != 0 }

// Catalog returns a copy of the catalogue: every diagnostic id of SPEC §4
// (and the few beyond it that README.md lists), in a fixed order.
func Catalog() []CatalogEntry { return slices.Clone(catalog) }

// catalog lists every diagnostic id with its severity, RFC section, side
// and meaning. Every diagnostic is built through Diag, which looks the id
// up here.
var catalog = []CatalogEntry{
	// SPEC §4.1, response side.
	{"accept-ok", SevOK, "RFC 6455 §4.2.2", SideResponse, 0},
	{"accept-missing", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"accept-mismatch", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"accept-duplicate", SevError, "RFC 6455 §11.3.3", SideResponse, 0},
	{"status-not-101", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"version-unsupported", SevError, "RFC 6455 §4.4", SideResponse, 0},
	{"upgrade-missing", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"upgrade-mismatch", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"connection-missing", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"protocol-ok", SevOK, "RFC 6455 §4.2.2", SideResponse, 0},
	{"protocol-not-offered", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"protocol-multiple", SevError, "RFC 6455 §11.3.4", SideResponse, 0},
	{"protocol-ignored", SevWarning, "RFC 6455 §4.2.2", SideResponse, 0},
	{"extension-ok", SevOK, "RFC 6455 §9.1", SideResponse, 0},
	{"extension-not-offered", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"extension-params", SevError, "RFC 7692 §7.1", SideResponse, 0},
	{"http-version", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"not-http", SevError, "RFC 9112 §4", SideResponse, 0},
	{"head-too-large", SevError, "RFC 9110 §5.4", SideResponse, 0},
	{"timeout", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"early-data", SevInfo, "RFC 6455 §4.1", SideResponse, 0},
	{"tls-insecure", SevWarning, "RFC 6455 §10.6", SideResponse, 0},
	{"tls-verify", SevError, "RFC 5280 §6", SideResponse, 0},
	{"tls-alpn", SevWarning, "RFC 7301 §3.2", SideResponse, 0},
	{"redirect", SevInfo, "RFC 6455 §4.1", SideResponse, 0},
	{"no-response", SevError, "RFC 6455 §4.1", SideResponse, 0},
	{"extension-declined", SevInfo, "RFC 6455 §9.1", SideResponse, 0},
	{"body", SevInfo, "RFC 9112 §6", SideResponse, 0},
	{"expect-status", SevError, "RFC 6455 §4.1", SideResponse, expectation},
	{"expect-protocol", SevError, "RFC 6455 §4.2.2", SideResponse, expectation},
	{"expect-extension", SevError, "RFC 6455 §9.1", SideResponse, expectation},

	// Beyond SPEC §4: no connection could be opened (DNS, TCP, proxy), or it
	// broke while the request was written, and nothing more specific (tls-*,
	// timeout) explains it. RFC 6455 §4.1: "If the connection could not be
	// opened ... the client MUST _Fail the WebSocket Connection_".
	{"connect-failed", SevError, "RFC 6455 §4.1", SideResponse, 0},

	// SPEC §10, WebSocket over HTTP/2 (RFC 8441).
	{"h2-alpn", SevError, "RFC 9113 §3.2", SideResponse, 0},
	{"h2-connect-protocol", SevError, "RFC 8441 §3", SideResponse, 0},
	{"h2-status", SevError, "RFC 8441 §5", SideResponse, 0},
	{"h2-goaway", SevError, "RFC 9113 §6.8", SideResponse, 0},
	{"h2-rst-stream", SevError, "RFC 9113 §6.4", SideResponse, 0},
	{"h2-not-h2", SevError, "RFC 9113 §3.4", SideResponse, 0},
	// Beyond SPEC §10: the server broke RFC 9113 and wsdbg ended the
	// connection with a GOAWAY (§5.4.1); the message names the section.
	{"h2-protocol", SevError, "RFC 9113 §5.4.1", SideResponse, 0},
	{"request-h2-protocol", SevWarning, "RFC 8441 §4", SideRequest, refuses},
	{"request-h2-scheme", SevWarning, "RFC 8441 §4", SideRequest, refuses},
	{"request-h2-path", SevWarning, "RFC 8441 §4", SideRequest, refuses},
	{"request-h2-authority", SevWarning, "RFC 8441 §4", SideRequest, refuses},

	// SPEC §4.2, request side.
	{"request-method", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-http-version", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-host", SevWarning, "RFC 9112 §3.2", SideRequest, refuses},
	{"request-upgrade", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-connection", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-key", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-version", SevWarning, "RFC 6455 §4.1", SideRequest, refuses},
	{"request-bare-lf", SevWarning, "RFC 9112 §2.2", SideRequest, 0},
}

var catalogIndex = func() map[ID]int {
	m := make(map[ID]int, len(catalog))
	for i, e := range catalog {
		m[e.ID] = i
	}
	return m
}()

// Lookup returns the catalog entry for id.
func Lookup(id ID) (CatalogEntry, bool) {
	i, ok := catalogIndex[id]
	if !ok {
		return CatalogEntry{}, false
	}
	return catalog[i], true
}

// Diag builds a diagnostic whose severity and RFC section come from the
// catalogue; format and args are as for fmt.Sprintf. An id missing from the
// catalogue is a programming error: Diag panics so that tests catch it.
func Diag(id ID, format string, args ...any) Diagnostic {
	msg := format
	if len(args) > 0 || strings.IndexByte(format, '%') >= 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return diagMsg(id, msg)
}

// diagMsg is Diag for a message that is already formatted.
func diagMsg(id ID, msg string) Diagnostic {
	e, ok := Lookup(id)
	if !ok {
		panic("handshake: diagnostic id " + string(id) + " is not in the catalogue")
	}
	return Diagnostic{ID: id, Severity: e.Severity, Message: msg, RFC: e.RFC}
}

// plural returns "1 line" or "2 lines".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Worst returns the highest severity in ds (SevOK when empty).
func Worst(ds []Diagnostic) Severity {
	w := SevOK
	for _, d := range ds {
		w = max(w, d.Severity)
	}
	return w
}
