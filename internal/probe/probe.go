package probe

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// Verdict is the outcome of one check (SPEC §8).
type Verdict uint8

// Verdicts.
const (
	Pass Verdict = iota // the server did what the RFC requires
	Fail                // a MUST of the RFC was broken: exit 9
	Warn                // a SHOULD was broken, or the right outcome with the wrong detail
	Info                // a fact worth knowing
	Skip                // the check could not run; the message says why
)

// String returns PASS, FAIL, WARN, INFO or SKIP.
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Warn:
		return "WARN"
	case Info:
		return "INFO"
	case Skip:
		return "SKIP"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// MarshalText makes a Verdict encode as its name in JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Marker returns the verdict's mark in the text output: ✓, ✗, !, i or -.
func (v Verdict) Marker() string {
	switch v {
	case Pass:
		return "✓"
	case Fail:
		return "✗"
	case Warn:
		return "!"
	case Info:
		return "i"
	}
	return "-"
}

// kind is the Painter kind that colors the verdict.
func (v Verdict) kind() handshake.Kind {
	switch v {
	case Pass:
		return handshake.KindOK
	case Fail:
		return handshake.KindError
	case Warn:
		return handshake.KindWarning
	case Info:
		return handshake.KindInfo
	}
	return handshake.KindNote
}

// Line is one line of a check's exchange: Dir is '>' for what probe sent,
// '<' for what came back and '*' for probe's own notes. Text is as it was
// on the wire (or as probe wrote it), not yet escaped.
type Line struct {
	Dir  byte
	Text string
}

// Report is the verdict of one check.
type Report struct {
	ID      string
	Group   string // "handshake" or "frames"
	RFC     string // e.g. "RFC 6455 §4.2.2"; "" when no RFC rule applies
	Verdict Verdict
	// Message says what was sent and what came back, with the values;
	// Why says what the RFC asks for, or why the check was skipped.
	Message  string
	Why      string
	Exchange []Line
	Elapsed  time.Duration

	// Findings later checks use.
	echoes  bool   // fr-echo: the server echoed the text message
	deflate string // hs-deflate: the valid permessage-deflate element accepted
}

// set fixes the verdict, the reason and the message; args are as for
// fmt.Sprintf.
func (r *Report) set(v Verdict, why, format string, args ...any) {
	r.Verdict, r.Why = v, why
	r.Message = fmt.Sprintf(format, args...)
}

// Text is the report's line after the id: "sent … → … (RFC 6455 §4.2.2:
// why)", escaped.
func (r *Report) Text() string {
	b := handshake.AppendEscaped(nil, []byte(r.Message))
	switch {
	case r.RFC != "" && r.Why != "":
		b = fmt.Appendf(b, " (%s: %s)", r.RFC, handshake.AppendEscaped(nil, []byte(r.Why)))
	case r.RFC != "":
		b = fmt.Appendf(b, " (%s)", r.RFC)
	case r.Why != "":
		b = fmt.Appendf(b, " (%s)", handshake.AppendEscaped(nil, []byte(r.Why)))
	}
	return string(b)
}

// note adds a '*' line to the exchange.
func (r *Report) note(format string, args ...any) {
	r.Exchange = append(r.Exchange, Line{'*', fmt.Sprintf(format, args...)})
}

// Sent returns the lines probe sent, escaped as in the transcript and
// joined with newlines.
func (r *Report) Sent() string { return r.joined('>') }

// Received returns the lines that came back, as Sent does.
func (r *Report) Received() string { return r.joined('<') }

func (r *Report) joined(dir byte) string {
	var b []byte
	for _, l := range r.Exchange {
		if l.Dir != dir {
			continue
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = handshake.AppendEscaped(b, []byte(l.Text))
	}
	return string(b)
}

// DefaultTimeout is each check's deadline when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultConcurrency is how many checks run at once when
// Options.Concurrency is zero.
const DefaultConcurrency = 4

// MaxMessage caps a message probe reads, after decompression: fr-large
// sends 1 MiB, and a server's answer larger than this ends the check
// rather than costing memory (the 1 GiB frame of a hostile server is
// refused from its header).
const MaxMessage = 2 << 20

// HandshakeFunc performs one opening handshake as o describes. handshake.Do
// is the HTTP/1.1 upgrade; another transport (RFC 8441 over HTTP/2)
// returns the same Result with Conn and Reader open after a success.
type HandshakeFunc func(ctx context.Context, o *handshake.Options) (*handshake.Result, error)

// Options configure a probe run.
type Options struct {
	// Handshake is the baseline request every check starts from: the
	// handshake flags of SPEC §1.1. Its Now and Rand are the clock and the
	// random source of the whole run. Its Timeout is ignored: Timeout
	// below bounds each check.
	Handshake *handshake.Options

	Timeout     time.Duration // per check; 0 → DefaultTimeout
	Concurrency int           // checks at once; 0 → DefaultConcurrency, 1 → serial
	Only, Skip  []string      // check ids to run, or not to run

	// Do performs each handshake; nil → handshake.Do.
	Do HandshakeFunc

	// OnReport, if set, is called with each report once it and every
	// report before it in table order are final, so output can stream in
	// order. It is called from one goroutine at a time.
	OnReport func(*Report)
}

// Summary counts the verdicts.
type Summary struct {
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Warnings int `json:"warnings"`
	Info     int `json:"info"`
	Skipped  int `json:"skipped"`
}

// String is the last line of the text output.
func (s Summary) String() string {
	return fmt.Sprintf("probe: %d passed, %d failed, %d warnings, %d info, %d skipped", s.Passed, s.Failed, s.Warnings, s.Info, s.Skipped)
}

func (s *Summary) add(v Verdict) {
	switch v {
	case Pass:
		s.Passed++
	case Fail:
		s.Failed++
	case Warn:
		s.Warnings++
	case Info:
		s.Info++
	default:
		s.Skipped++
	}
}

// Exit codes of a run (SPEC §7); a failed hs-baseline gives the
// handshake's own code (3, 4 or 5) instead.
const (
	ExitOK     = 0
	ExitFailed = 9 // at least one MUST-level check failed
)

// Result is a whole run.
type Result struct {
	URL      string
	Reports  []*Report // in table order: handshake checks, then frame checks
	Summary  Summary
	ExitCode int
	Elapsed  time.Duration
}

// UsageError reports a check id that does not exist, or a selection that
// cannot run.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// lockedReader serialises reads of a random source shared by concurrent
// checks; a test's deterministic source need not be safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// checkDeflate is the permessage-deflate parameter check handshake
// diagnoses a 101 with (RFC 7692 §7.1), when the caller gave none.
func checkDeflate(offers []string, accepted string) []string {
	_, problems := wire.CheckDeflateResponse(offers, accepted)
	return problems
}

// cloneOptions returns a copy of o whose slices can be changed freely.
func cloneOptions(o *handshake.Options) *handshake.Options {
	c := *o
	c.Headers = append([]string(nil), o.Headers...)
	c.Omit = append([]string(nil), o.Omit...)
	c.Protocols = append([]string(nil), o.Protocols...)
	c.Extensions = append([]string(nil), o.Extensions...)
	c.ExpectExtension = nil
	c.ExpectStatus, c.ExpectProtocol = 0, ""
	c.Live = nil // checks record their exchanges; nothing prints while they run
	return &c
}

// dropHeader removes the -H fields named name from o.
func dropHeader(o *handshake.Options, name string) {
	kept := o.Headers[:0]
	for _, h := range o.Headers {
		n, _, err := handshake.ParseHeader(h)
		if err == nil && strings.EqualFold(n, name) {
			continue
		}
		kept = append(kept, h)
	}
	o.Headers = kept
}

// setHeader makes o send name: value, replacing any -H of that name (and,
// for a default field, the default, in place).
func setHeader(o *handshake.Options, name, value string) {
	dropHeader(o, name)
	o.Headers = append(o.Headers, name+": "+value)
}

// omit makes o leave out the field name, whether a default or from -H.
func omit(o *handshake.Options, name string) {
	dropHeader(o, name)
	o.Omit = append(o.Omit, name)
}
