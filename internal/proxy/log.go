package proxy

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/wsdbg/wsdbg/handshake"
)

// block builds log lines in the transcript's format (SPEC §2), painted by
// p, with every network byte escaped.
type block struct {
	b bytes.Buffer
	p handshake.Painter
}

func newBlock(p handshake.Painter) *block {
	if p == nil {
		p = func(_ handshake.Kind, s string) string { return s }
	}
	return &block{p: p}
}

// line adds marker, a space and the escaped text.
func (l *block) line(k handshake.Kind, marker, text string) {
	s := marker
	if text != "" {
		s += " " + string(handshake.AppendEscaped(nil, []byte(text)))
	}
	l.b.WriteString(l.p(k, s))
	l.b.WriteByte('\n')
}

func (l *block) note(text string) { l.line(handshake.KindNote, "*", text) }

// head adds the lines of a head with marker, then the marker alone for the
// blank line that ends it (when the head has one).
func (l *block) head(k handshake.Kind, marker string, h *handshake.Head, show bool) {
	for _, s := range headLines(h, show) {
		l.line(k, marker, s)
	}
	if h.EndEOL != "" {
		l.line(k, marker, "")
	}
}

// diag adds a diagnostic as the transcript prints it, the side that it is
// about in front of the sentence.
func (l *block) diag(side string, d handshake.Diagnostic) {
	l.b.WriteString(l.p(d.Severity.Kind(), d.Severity.Marker()))
	l.b.WriteByte(' ')
	l.b.WriteString(l.p(handshake.KindID, string(d.ID)))
	l.b.WriteString(strings.Repeat(" ", max(1, 16-len(d.ID))))
	msg := string(handshake.AppendEscaped(nil, []byte(d.Message)))
	if d.Severity > handshake.SevOK && d.RFC != "" && !strings.Contains(msg, d.RFC) {
		msg += " (" + d.RFC + ")"
	}
	if side != "" {
		msg = side + ": " + msg
	}
	l.b.WriteString(msg)
	l.b.WriteByte('\n')
}

// fail adds a "✗" line that is not a catalogued diagnostic.
func (l *block) fail(text string) {
	l.b.WriteString(l.p(handshake.KindError, "✗"))
	l.b.WriteString(" " + string(handshake.AppendEscaped(nil, []byte(text))) + "\n")
}

// warn adds a "!" line that is not a catalogued diagnostic.
func (l *block) warn(text string) {
	l.b.WriteString(l.p(handshake.KindWarning, "!"))
	l.b.WriteString(" " + string(handshake.AppendEscaped(nil, []byte(text))) + "\n")
}

// secretFields are redacted unless --show-secrets (SPEC §1.1).
var secretFields = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

func isSecret(name string) bool {
	for _, s := range secretFields {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// headLines returns a head's lines as they crossed the wire (start line
// first, line endings dropped), secret values replaced by
// "<redacted N bytes>" unless show.
func headLines(h *handshake.Head, show bool) []string {
	lines := []string{h.StartLine}
	secret := false
	for _, f := range h.Fields {
		switch {
		case f.Folded:
		case f.Name != "":
			secret = isSecret(f.Name)
		default:
			secret = false
		}
		if !secret || show {
			lines = append(lines, f.Raw)
			continue
		}
		colon := 0
		if !f.Folded {
			colon = strings.IndexByte(f.Raw, ':') + 1
		}
		rest := f.Raw[colon:]
		value := strings.TrimLeft(rest, " \t")
		n := len(strings.TrimRight(value, " \t"))
		lines = append(lines, f.Raw[:colon]+rest[:len(rest)-len(value)]+"<redacted "+strconv.Itoa(n)+" bytes>")
	}
	return lines
}

// headerPairs returns [name, value] pairs in wire order, secrets redacted.
func headerPairs(h *handshake.Head, show bool) [][2]string {
	out := make([][2]string, 0, len(h.Fields))
	for _, f := range h.Fields {
		if f.Name == "" {
			continue
		}
		v := f.Value
		if !show && isSecret(f.Name) {
			v = "<redacted " + strconv.Itoa(len(v)) + " bytes>"
		}
		out = append(out, [2]string{f.Name, v})
	}
	return out
}
