package handshake

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kind says what a piece of transcript text is, so that a Painter can color
// it.
type Kind uint8

// Kinds of transcript text.
const (
	KindRequest  Kind = iota // "> " request lines
	KindResponse             // "< " response lines
	KindNote                 // "* " notes
	KindOK                   // ✓ marker of an ok diagnostic
	KindInfo                 // i marker
	KindWarning              // ! marker
	KindError                // ✗ marker
	KindID                   // a diagnostic id
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindResponse:
		return "response"
	case KindNote:
		return "note"
	case KindOK:
		return "ok"
	case KindInfo:
		return "info"
	case KindWarning:
		return "warning"
	case KindError:
		return "error"
	case KindID:
		return "id"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Painter decorates transcript text of a kind, typically with color. It
// receives text that is already escaped and must not change it otherwise:
// without a Painter (nil) the transcript is the same text, plain.
type Painter func(k Kind, s string) string

// Marker returns the transcript marker of a severity: ✓, i, ! or ✗.
func (s Severity) Marker() string {
	switch s {
	case SevOK:
		return "✓"
	case SevInfo:
		return "i"
	case SevWarning:
		return "!"
	}
	return "✗"
}

// Kind returns the Painter kind of a severity's marker.
func (s Severity) Kind() Kind {
	return KindOK + Kind(min(s, SevError))
}

// idColumn is the width ids are padded to in diagnostic lines (SPEC §2).
const idColumn = 15

// RequestLines returns the request head as sent, one line per element
// (start line first, without line endings), with secret values redacted
// unless Options.ShowSecrets; nil when no request was written. The text is
// not escaped.
func (r *Result) RequestLines() []string {
	if r.Request == nil || !r.Sent {
		return nil
	}
	return r.Request.Head.RedactedLines(r.shown)
}

// ResponseLines returns the response head as received, as RequestLines
// does for the request, or the lines of the partial response kept when
// reading it failed; nil when nothing came.
func (r *Result) ResponseLines() []string {
	switch {
	case r.Response != nil:
		return r.Response.Head.RedactedLines(r.shown)
	case len(r.Partial) > 0:
		h := parseHead(string(r.Partial), r.Partial)
		return h.RedactedLines(r.shown)
	}
	return nil
}

// headBytes is the length of the head as parsed.
func headBytes(h *Head) int {
	n := len(h.StartLine) + len(h.StartEOL) + len(h.EndEOL)
	for i := range h.Fields {
		n += len(h.Fields[i].Raw) + len(h.Fields[i].EOL)
	}
	return n
}

// WriteTranscript writes the exchange as SPEC §2 shows it: earlier redirect
// hops first, then for each exchange the "*" notes, the request as sent
// ("> "), the response as received ("< "), one line per diagnostic and the
// timing summary. Every byte from the network or the user is escaped
// (AppendEscaped); secret values are redacted unless Options.ShowSecrets.
// p colors pieces of text; nil writes plain text, identical otherwise.
func (r *Result) WriteTranscript(w io.Writer, p Painter) error {
	if p == nil {
		p = func(_ Kind, s string) string { return s }
	}
	var b bytes.Buffer
	for _, hop := range r.Redirects {
		hop.appendTranscript(&b, p)
	}
	r.appendTranscript(&b, p)
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Result) appendTranscript(b *bytes.Buffer, p Painter) {
	r.appendNotes(b, p, 0)
	if r.HTTP2 {
		r.appendH2Frames(b, p, 0)
		r.appendH2Tail(b, p)
		return
	}
	r.appendRequest(b, p)
	r.appendRest(b, p)
}

// transcriptLine writes one "* ", "> " or "< " line, text escaped.
func transcriptLine(b *bytes.Buffer, p Painter, k Kind, prefix, text string) {
	b.WriteString(p(k, prefix+escapeString(text)))
	b.WriteByte('\n')
}

// appendNotes writes the "*" notes before the request, from the from-th.
func (r *Result) appendNotes(b *bytes.Buffer, p Painter, from int) {
	for _, n := range r.Notes[min(from, len(r.Notes)):] {
		transcriptLine(b, p, KindNote, "* ", n)
	}
}

// appendRequest writes the request as sent.
func (r *Result) appendRequest(b *bytes.Buffer, p Painter) {
	if r.HTTP2 {
		return // the frames are printed by appendH2Frames
	}
	if r.Request != nil && r.Sent {
		for _, l := range r.Request.Head.RedactedLines(r.shown) {
			transcriptLine(b, p, KindRequest, "> ", l)
		}
		if r.Request.EndEOL != "" {
			b.WriteString(p(KindRequest, ">"))
			b.WriteByte('\n')
		}
	}
}

// appendRest writes what follows the request: the response, the
// diagnostics, the later notes and the summary.
func (r *Result) appendRest(b *bytes.Buffer, p Painter) {
	if r.HTTP2 {
		r.appendH2Frames(b, p, r.h2Live)
		r.appendH2Tail(b, p)
		return
	}
	if r.Response != nil {
		for _, l := range r.Response.Head.RedactedLines(r.shown) {
			transcriptLine(b, p, KindResponse, "< ", l)
		}
		b.WriteString(p(KindResponse, "<"))
		b.WriteByte('\n')
		if len(r.Response.Body) > 0 {
			for _, l := range bodyLines(r.Response.Body) {
				transcriptLine(b, p, KindResponse, "< ", l)
			}
			if r.Response.BodyTruncated {
				transcriptLine(b, p, KindNote, "* ", fmt.Sprintf("Body cut after %d bytes", MaxBody))
			}
		}
	} else if len(r.Partial) > 0 && !bytes.HasPrefix(r.Partial, []byte("HTTP/")) {
		// Not HTTP (a TLS alert, binary): one line with every byte shown,
		// a final \n included, rather than lines split at bytes that
		// happen to be LF.
		transcriptLine(b, p, KindResponse, "< ", string(r.Partial))
	} else if len(r.Partial) > 0 {
		h := parseHead(string(r.Partial), r.Partial)
		for _, l := range h.RedactedLines(r.shown) {
			transcriptLine(b, p, KindResponse, "< ", l)
		}
	}
	r.appendDiagnostics(b, p)
	for _, n := range r.Later {
		transcriptLine(b, p, KindNote, "* ", n)
	}
	transcriptLine(b, p, KindNote, "* ", r.summary())
}

// appendDiagnostics writes one line per diagnostic (SPEC §2).
func (r *Result) appendDiagnostics(b *bytes.Buffer, p Painter) {
	// Ids are padded to one column (SPEC §2); an id longer than the
	// column widens it for the whole block, so messages stay aligned.
	col := idColumn
	for _, d := range r.Diagnostics {
		col = max(col, len(d.ID))
	}
	for _, d := range r.Diagnostics {
		b.WriteString(p(d.Severity.Kind(), d.Severity.Marker()))
		b.WriteByte(' ')
		b.WriteString(p(KindID, string(d.ID)))
		b.WriteString(strings.Repeat(" ", col+1-len(d.ID)))
		msg := escapeString(d.Message)
		if d.Severity > SevOK && d.RFC != "" && !strings.Contains(msg, d.RFC) {
			msg += " (" + d.RFC + ")"
		}
		b.WriteString(msg)
		b.WriteByte('\n')
	}
}

// summary is the closing "*" line: status, total time and its parts.
func (r *Result) summary() string {
	t := r.Timing
	parts := fmt.Sprintf("dns %s, connect %s, tls %s, response %s", fmtMS(t.DNS), fmtMS(t.Connect), fmtMS(t.TLS), fmtMS(t.Response))
	if t.Proxy >= 0 {
		parts = fmt.Sprintf("dns %s, connect %s, proxy %s, tls %s, response %s", fmtMS(t.DNS), fmtMS(t.Connect), fmtMS(t.Proxy), fmtMS(t.TLS), fmtMS(t.Response))
	}
	switch {
	case r.Response != nil:
		return fmt.Sprintf("Handshake %d in %s (%s)", r.Response.Status, fmtMS(t.Total), parts)
	}
	what := "No response"
	if !r.Sent {
		what = "No connection"
	}
	if r.unexplained() {
		return fmt.Sprintf("%s after %s (%s): %v", what, fmtMS(t.Total), parts, r.Err)
	}
	return fmt.Sprintf("%s after %s (%s)", what, fmtMS(t.Total), parts)
}

// unexplained reports whether r.Err is not explained by an error-level
// diagnostic (a refused connection, a failed write): then the transcript and
// the document carry its text.
func (r *Result) unexplained() bool { return r.Err != nil && Worst(r.Diagnostics) < SevError }

// fmtMS formats a duration as milliseconds with one decimal, "-" when it is
// negative (not measured).
func fmtMS(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
