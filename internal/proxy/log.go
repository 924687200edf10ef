package proxy

import (
	"bytes"
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
	for _, s := range h.RedactedLines(show) {
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
