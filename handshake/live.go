package handshake

import (
	"bytes"
	"io"
)

// Live prints a handshake's transcript while the exchange happens, as curl
// -v does (SPEC §1.1): each "*" note as its step ends (the "Connected to"
// line as soon as the connection is open), the request as soon as it is
// written, and the response, diagnostics and summary once the response
// head has been read or the exchange failed. So a server that never
// answers shows what was sent while wsdbg waits. The text is the same as
// Result.WriteTranscript's, redirect hops included, in the same order.
//
// A Live is used by one Do at a time, from Do's goroutine; the first write
// error stops the output and is kept for Err.
type Live struct {
	w     io.Writer
	p     Painter
	err   error
	notes int // notes of the current exchange already written
	buf   bytes.Buffer
}

// NewLive returns a Live writing to w, painted with p (nil: plain).
func NewLive(w io.Writer, p Painter) *Live {
	if p == nil {
		p = func(_ Kind, s string) string { return s }
	}
	return &Live{w: w, p: p}
}

// Err returns the first error writing the transcript.
func (l *Live) Err() error {
	if l == nil {
		return nil
	}
	return l.err
}

func (l *Live) flush() {
	if l.err == nil && l.buf.Len() > 0 {
		_, l.err = l.w.Write(l.buf.Bytes())
	}
	l.buf.Reset()
}

// begin starts the transcript of a new exchange.
func (l *Live) begin() {
	if l != nil {
		l.notes = 0
	}
}

// note writes one "*" note of the exchange at once.
func (l *Live) note(n string) {
	if l == nil {
		return
	}
	transcriptLine(&l.buf, l.p, KindNote, "* ", n)
	l.notes++
	l.flush()
}

// catchUp writes the notes of r not written yet.
func (l *Live) catchUp(r *Result) {
	if l == nil {
		return
	}
	r.appendNotes(&l.buf, l.p, l.notes)
	l.notes = len(r.Notes)
	l.flush()
}

// request writes r's request, once it has been sent.
func (l *Live) request(r *Result) {
	if l == nil {
		return
	}
	r.appendNotes(&l.buf, l.p, l.notes)
	l.notes = len(r.Notes)
	r.appendRequest(&l.buf, l.p)
	l.flush()
}

// rest writes the rest of r's transcript: the response, the diagnostics
// and the summary.
func (l *Live) rest(r *Result) {
	if l == nil {
		return
	}
	r.appendNotes(&l.buf, l.p, l.notes)
	l.notes = len(r.Notes)
	r.appendRest(&l.buf, l.p)
	l.flush()
}
