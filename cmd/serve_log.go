package cmd

import (
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/wsdbg/wsdbg/handshake"
)

// logSink is the server log shared by every connection. Each write holds
// whole lines, so lines from different clients never interleave mid-line.
type logSink struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// failed returns the first write error.
func (s *logSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Write makes the sink an io.Writer that others can share: demo gives it
// to connect as stderr, so that both logs take turns on one stream.
func (s *logSink) Write(b []byte) (int, error) {
	s.write(b)
	return len(b), nil
}

func (s *logSink) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
	}
}

// lineWriter prefixes every line written to it with a connection's label
// and hands complete lines to the sink; all the complete lines of one Write
// go to the sink in one write, so a block such as a handshake stays
// together.
type lineWriter struct {
	sink   *logSink
	prefix string

	mu   sync.Mutex
	part []byte // an unterminated line, kept until its newline arrives
	out  []byte
}

func newLineWriter(sink *logSink, prefix string) *lineWriter {
	return &lineWriter{sink: sink, prefix: prefix}
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	w.out = w.out[:0]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.part = append(w.part, b...)
			break
		}
		w.out = append(w.out, w.prefix...)
		w.out = append(w.out, w.part...)
		w.out = append(w.out, b[:i+1]...)
		w.part = w.part[:0]
		b = b[i+1:]
	}
	if len(w.out) > 0 {
		w.sink.write(w.out)
	}
	return n, nil
}

// Close ends an unterminated last line.
func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.part) > 0 {
		w.sink.write([]byte(w.prefix + string(w.part) + "\n"))
		w.part = w.part[:0]
	}
	return nil
}

// logBlock builds a block of log lines in the transcript's format (SPEC
// §2), painted by p, escaped where they carry network bytes.
type logBlock struct {
	b bytes.Buffer
	p handshake.Painter
}

func newLogBlock(p handshake.Painter) *logBlock {
	if p == nil {
		p = func(_ handshake.Kind, s string) string { return s }
	}
	return &logBlock{p: p}
}

// line adds marker + " " + the escaped text.
func (l *logBlock) line(k handshake.Kind, marker, text string) {
	s := marker
	if text != "" {
		s += " " + string(handshake.AppendEscaped(nil, []byte(text)))
	}
	l.b.WriteString(l.p(k, s))
	l.b.WriteByte('\n')
}

// note adds a "*" line.
func (l *logBlock) note(text string) { l.line(handshake.KindNote, "*", text) }

// head adds every line of a head with marker, then the marker alone for the
// blank line that ends it.
func (l *logBlock) head(k handshake.Kind, marker string, lines []string) {
	for _, s := range lines {
		l.line(k, marker, s)
	}
	l.line(k, marker, "")
}

// diag adds a diagnostic line as the transcript prints it: marker, id
// padded to col, sentence, RFC section.
func (l *logBlock) diag(d handshake.Diagnostic, col int) {
	l.b.WriteString(l.p(d.Severity.Kind(), d.Severity.Marker()))
	l.b.WriteByte(' ')
	l.b.WriteString(l.p(handshake.KindID, string(d.ID)))
	l.b.WriteString(strings.Repeat(" ", max(1, col+1-len(d.ID))))
	msg := string(handshake.AppendEscaped(nil, []byte(d.Message)))
	if d.Severity > handshake.SevOK && d.RFC != "" && !strings.Contains(msg, d.RFC) {
		msg += " (" + d.RFC + ")"
	}
	l.b.WriteString(msg)
	l.b.WriteByte('\n')
}

// warn adds a "!" line that is not a catalogued diagnostic.
func (l *logBlock) warn(text string) {
	l.b.WriteString(l.p(handshake.KindWarning, "!"))
	l.b.WriteString(" " + string(handshake.AppendEscaped(nil, []byte(text))) + "\n")
}

// fail adds a "✗" line that is not a catalogued diagnostic.
func (l *logBlock) fail(text string) {
	l.b.WriteString(l.p(handshake.KindError, "✗"))
	l.b.WriteString(" " + string(handshake.AppendEscaped(nil, []byte(text))) + "\n")
}
