package probe

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
)

// idColumn is the width check ids are padded to: the longest id and a space.
var idColumn = func() int {
	n := 0
	for _, c := range checks {
		n = max(n, len(c.id))
	}
	return n + 1
}()

// Printer writes the text output of SPEC §8: a heading line, one line per
// check grouped handshake then frames (with the exchange under it when
// Verbose), and the summary. Report may be called as each verdict becomes
// final, so the output streams. Every network byte is escaped; Paint (nil:
// plain) colors the marks, ids and exchange lines.
type Printer struct {
	W       io.Writer
	Paint   handshake.Painter
	Verbose bool

	group string
	err   error
}

func (p *Printer) paint(k handshake.Kind, s string) string {
	if p.Paint == nil || s == "" {
		return s
	}
	return p.Paint(k, s)
}

func (p *Printer) write(b []byte) {
	if p.err == nil {
		_, p.err = p.W.Write(b)
	}
}

// Start writes the heading: what is probed, how many checks, how.
func (p *Printer) Start(url string, checks, concurrency int, timeout time.Duration) {
	how := fmt.Sprintf("%d at a time", concurrency)
	if concurrency == 1 {
		how = "one at a time"
	}
	p.write([]byte(p.paint(handshake.KindNote, fmt.Sprintf("* Probing %s: %d checks, %s, each within %s",
		handshake.AppendEscaped(nil, []byte(url)), checks, how, timeout)) + "\n"))
}

// Report writes one check's line, and its exchange when verbose.
func (p *Printer) Report(r *Report) {
	var b bytes.Buffer
	if r.Group != p.group {
		p.group = r.Group
		head := "* handshake checks"
		if r.Group == "frames" {
			head = "* frame checks"
		}
		b.WriteString(p.paint(handshake.KindNote, head))
		b.WriteByte('\n')
	}
	k := r.Verdict.kind()
	b.WriteString(p.paint(k, r.Verdict.Marker()+" "+r.Verdict.String()))
	b.WriteByte(' ')
	b.WriteString(p.paint(handshake.KindID, r.ID))
	b.WriteString(strings.Repeat(" ", max(1, idColumn-len(r.ID))))
	b.WriteString(r.Text())
	b.WriteByte('\n')
	if p.Verbose {
		for _, l := range r.Exchange {
			kind := handshake.KindNote
			switch l.Dir {
			case '>':
				kind = handshake.KindRequest
			case '<':
				kind = handshake.KindResponse
			}
			b.WriteString(p.paint(kind, "    "+string(l.Dir)+" "+string(handshake.AppendEscaped(nil, []byte(l.Text)))))
			b.WriteByte('\n')
		}
	}
	p.write(b.Bytes())
}

// Finish writes the summary line and returns the first write error.
func (p *Printer) Finish(res *Result) error {
	p.write([]byte(res.Summary.String() + "\n"))
	return p.err
}

// WriteText writes the whole text output of res at once.
func WriteText(w io.Writer, res *Result, paint handshake.Painter, verbose bool, concurrency int, timeout time.Duration) error {
	p := &Printer{W: w, Paint: paint, Verbose: verbose}
	p.Start(res.URL, len(res.Reports), concurrency, timeout)
	for _, r := range res.Reports {
		p.Report(r)
	}
	return p.Finish(res)
}

// Document is the --json output: one document for the whole run.
type Document struct {
	URL      string     `json:"url"`
	Checks   []DocCheck `json:"checks"`
	Summary  Summary    `json:"summary"`
	ExitCode int        `json:"exit_code"`
}

// DocCheck is one check in the Document. Message, Sent and Received are
// escaped as in the transcript; Sent and Received hold one line per head
// line or frame, joined with newlines.
type DocCheck struct {
	ID       string  `json:"id"`
	Group    string  `json:"group"`
	Verdict  Verdict `json:"verdict"`
	RFC      string  `json:"rfc"`
	Message  string  `json:"message"`
	Why      string  `json:"why"`
	Sent     string  `json:"sent"`
	Received string  `json:"received"`
	MS       float64 `json:"ms"`
}

// Document returns res as the --json document.
func (res *Result) Document() *Document {
	d := &Document{URL: res.URL, Checks: make([]DocCheck, 0, len(res.Reports)), Summary: res.Summary, ExitCode: res.ExitCode}
	for _, r := range res.Reports {
		d.Checks = append(d.Checks, DocCheck{
			ID:       r.ID,
			Group:    r.Group,
			Verdict:  r.Verdict,
			RFC:      r.RFC,
			Message:  string(handshake.AppendEscaped(nil, []byte(r.Message))),
			Why:      string(handshake.AppendEscaped(nil, []byte(r.Why))),
			Sent:     r.Sent(),
			Received: r.Received(),
			MS:       math.Round(float64(r.Elapsed)/float64(time.Millisecond)*10) / 10,
		})
	}
	return d
}
