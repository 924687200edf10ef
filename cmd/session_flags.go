package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// sessionOptions are the options shared by the commands that run a session
// after the handshake (send, connect).
type sessionOptions struct {
	Handshake *handshake.Options
	Color     string // --color auto|always|never

	JSON       bool   // --json: NDJSON events on stdout, only errors on stderr
	Quiet      bool   // -q: no transcript, no notes; errors still printed
	Verbose    bool   // -v: a line per frame
	Timestamps bool   // --timestamps
	BinaryOut  string // --binary-out raw|hex|base64; "" chooses by terminal

	NoAutoPong     bool          // --no-auto-pong
	PingInterval   time.Duration // --ping-interval; 0: none
	CloseTimeout   time.Duration // --close-timeout
	MaxMessageSize int64         // --max-message-size, bytes

	HAR string      // --har FILE
	har *har.Writer // open while the command runs
}

// defaultMaxMessageSize is --max-message-size's default (SPEC §6).
const defaultMaxMessageSize = 64 << 20

// sessionFlags returns the output and session flags of send and connect.
func sessionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print NDJSON events (handshake, message, ping, pong, close, error) on stdout; stderr carries only errors"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print no transcript and no notes; received messages and errors are still printed"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print every frame: FIN, RSV1-3, opcode, mask, payload length, compressed"},
		&cli.BoolFlag{Name: "timestamps", Usage: "prefix printed events with the time of day"},
		&cli.StringFlag{Name: "binary-out", Usage: "print binary messages as `FORMAT`: raw, hex (a dump with offsets) or base64 (default: raw into a pipe, hex on a terminal)"},
		&cli.BoolFlag{Name: "no-auto-pong", Usage: "do not answer pings with pongs"},
		&cli.DurationFlag{Name: "ping-interval", Usage: "send a ping every `DURATION` (e.g. 30s)"},
		&cli.DurationFlag{Name: "close-timeout", Usage: "after sending close, wait at most `DURATION` for the server's close", Value: repl.DefaultCloseTimeout},
		&cli.StringFlag{Name: "max-message-size", Usage: "refuse (close 1009) messages larger than `SIZE` after decompression, e.g. 1k, 16MiB", Value: "64MiB"},
	}
}

// sessionFromFlags reads the handshake and session flags.
func sessionFromFlags(c *cli.Context, o *IO) (*sessionOptions, error) {
	hs, err := handshakeOptions(c, o)
	if err != nil {
		return nil, err
	}
	s := &sessionOptions{
		Handshake:    hs,
		Color:        c.String("color"),
		JSON:         c.Bool("json"),
		Quiet:        c.Bool("quiet"),
		Verbose:      c.Bool("verbose"),
		Timestamps:   c.Bool("timestamps"),
		BinaryOut:    c.String("binary-out"),
		NoAutoPong:   c.Bool("no-auto-pong"),
		PingInterval: c.Duration("ping-interval"),
		CloseTimeout: c.Duration("close-timeout"),
		HAR:          c.String("har"),
	}
	if s.BinaryOut != "" {
		if _, err := repl.ParseBinaryFormat(s.BinaryOut); err != nil {
			return nil, usageErrorf("--binary-out %q is not a format; write --binary-out raw, --binary-out hex or --binary-out base64", s.BinaryOut)
		}
	}
	if s.PingInterval < 0 {
		return nil, usageErrorf("--ping-interval %v is negative; give a duration such as 30s", s.PingInterval)
	}
	if s.CloseTimeout <= 0 {
		return nil, usageErrorf("--close-timeout %v must be positive, e.g. --close-timeout 2s", s.CloseTimeout)
	}
	n, err := parseSize(c.String("max-message-size"))
	if err != nil {
		return nil, usageErrorf("--max-message-size %s: %v; write e.g. --max-message-size 16MiB", c.String("max-message-size"), err)
	}
	s.MaxMessageSize = n
	return s, nil
}

// parseSize parses a byte count: a whole number with an optional unit k,
// M, G (powers of 1024; KiB, MiB, GiB and KB, MB, GB mean the same), e.g.
// 1k, 64MiB, 1048576. Its errors say what is wrong with the value without
// repeating it; the caller names the flag and the value.
func parseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("not a size in bytes")
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	frac := ""
	if strings.HasPrefix(unit, ".") {
		j := 1
		for j < len(unit) && unit[j] >= '0' && unit[j] <= '9' {
			j++
		}
		frac, unit = unit[:j], strings.TrimSpace(unit[j:])
	}
	var shift uint
	switch strings.ToLower(unit) {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	default:
		return 0, fmt.Errorf("unknown unit %q; the units are k, M and G (or KiB, MiB, GiB)", unit)
	}
	if frac != "" {
		f, _ := strconv.ParseFloat(num+frac, 64)
		bytes := fmt.Sprintf("%.0f", f*float64(int64(1)<<shift))
		return 0, &sizeError{msg: fmt.Sprintf("a size is a whole number of bytes (%s%s is %s bytes)", num+frac, unit, bytes), example: bytes}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > (1<<62)>>shift {
		return 0, errors.New("too large; the largest size is 4 EiB")
	}
	if n == 0 {
		return 0, errors.New("a size must be at least 1 byte")
	}
	return n << shift, nil
}

// sizeError is a parseSize error that knows a good value to suggest.
type sizeError struct{ msg, example string }

func (e *sizeError) Error() string { return e.msg }

// notePalette colors the session's text-mode lines on a terminal.
var notePalette = map[repl.Kind][]color.Attribute{
	repl.KindIn:      {color.FgGreen},
	repl.KindOut:     {color.FgBlue},
	repl.KindControl: {color.FgCyan},
	repl.KindClose:   {color.FgYellow},
	repl.KindFrame:   {color.Faint},
	repl.KindError:   {color.FgRed, color.Bold},
	repl.KindNote:    {color.Faint},
}

// sessionPaint returns the printer's Paint for a stream, or nil without
// color.
func (o *IO) sessionPaint(mode string, tty bool) func(repl.Kind, string) string {
	if !o.useColor(mode, tty) {
		return nil
	}
	return paintFunc(notePalette)
}

// newSessionPrinter builds the printer of a send or connect run: messages
// to stdout, notes to stderr (none with -q or --json), errors to stderr.
// logSent adds the messages sent to the notes (send's transcript).
func newSessionPrinter(o *IO, opts *sessionOptions, hideData, logSent bool) *repl.Printer {
	cfg := repl.PrinterConfig{
		Out:        o.Out,
		Err:        o.Err,
		JSON:       opts.JSON,
		Escape:     o.OutTTY,
		Timestamps: opts.Timestamps,
		Verbose:    opts.Verbose,
		HideData:   hideData,
		LogSent:    logSent,
		Now:        o.Now,
		Paint:      o.sessionPaint(opts.Color, o.ErrTTY),
	}
	// -q drops the notes; -v asks for frame lines, which then go out with
	// the control frames even under -q.
	if !opts.JSON && (!opts.Quiet || opts.Verbose) {
		cfg.Log = o.Err
	}
	if opts.BinaryOut != "" {
		cfg.Binary, _ = repl.ParseBinaryFormat(opts.BinaryOut)
	} else if o.OutTTY {
		cfg.Binary = repl.BinaryHex
	}
	return repl.NewPrinter(cfg)
}

// openSession runs the handshake, printing the transcript to stderr (not
// with -q or --json) or the NDJSON handshake event, and on a 101 returns a
// session over the upgraded connection. When it returns an error the
// printer is closed and the error is final (an *ExitError).
func openSession(ctx context.Context, o *IO, opts *sessionOptions, p *repl.Printer, onMessage func(wire.Message)) (*repl.Session, *handshake.Result, error) {
	var transcript = o.Err
	if opts.Quiet || opts.JSON {
		transcript = nil
	}
	r, err := runHandshake(ctx, o, opts.Handshake, transcript, o.painter(opts.Color, o.ErrTTY))
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	code := handshakeCode(r)
	entry := clientEntry(opts.har, r, o.Now) // refused and failed handshakes are entries too
	if opts.JSON {
		if err := p.Handshake(r.Document(code)); err != nil {
			p.Close()
			return nil, r, exitf(ExitFailure, "%v", err)
		}
	}
	// --lenient keeps a 101 with error-level diagnostics: the session
	// runs and decides the exit code.
	lenient := opts.Handshake.Lenient && code == ExitHandshake && r.Conn != nil
	if (code != ExitOK && !lenient) || r.Conn == nil {
		if r.Conn != nil {
			_ = closeUpgraded(r, o.Rand)
		}
		if code == ExitOK {
			code = ExitFailure
		}
		he := handshakeExitError(r, false)
		msg := fmt.Sprintf("handshake failed (exit %d)", code)
		if he != nil {
			msg = he.Err.Error()
		}
		if opts.JSON || opts.Quiet {
			// Nothing else told the story: say it on stderr (and as an
			// error event in JSON mode).
			p.Error(msg, code)
		}
		p.Close()
		return nil, r, &ExitError{Code: code, Err: errors.New(msg), Quiet: true}
	}
	_ = r.Conn.SetDeadline(time.Time{})
	var deflate *wire.DeflateParams
	for _, ext := range r.Negotiated.Extensions {
		if dp, err := wire.ParseDeflate(ext); err == nil {
			deflate = &dp
			break
		}
	}
	var writeTimeout time.Duration // the session's default
	if _, h2 := r.Conn.(interface{ SetFrameLog(func(handshake.H2Frame)) }); h2 {
		writeTimeout = -1 // the stream bounds its wait for window updates (--timeout)
	}
	conn, br := tapSession(entry, r.Conn, r.Reader, true, deflate, opts.MaxMessageSize, o.Now)
	s := repl.NewSession(conn, br, repl.SessionConfig{
		Role:           wire.RoleClient,
		WriteTimeout:   writeTimeout,
		MaxMessageSize: opts.MaxMessageSize,
		Deflate:        deflate,
		Rand:           o.Rand,
		NoAutoPong:     opts.NoAutoPong,
		PingInterval:   opts.PingInterval,
		CloseTimeout:   opts.CloseTimeout,
		Printer:        p,
		OnMessage:      onMessage,
	})
	if fl, ok := r.Conn.(interface{ SetFrameLog(func(handshake.H2Frame)) }); ok {
		// -v (and /verbose on) shows every HTTP/2 frame of the session.
		fl.SetFrameLog(func(f handshake.H2Frame) {
			if p.Verbose() {
				dir := "< "
				if f.Out {
					dir = "> "
				}
				p.Note("h2 " + dir + f.String())
			}
		})
	}
	return s, r, nil
}

// expectationError is an unmet --count or --expect (exit 7).
type expectationError struct{ msg string }

func (e *expectationError) Error() string { return e.msg }

// sessionExit maps the outcome of a session to its exit code (SPEC §7):
// a protocol violation by the peer or an oversized message → 6, a peer
// close with a code other than 1000/1001/none → 8, an unmet expectation →
// 7, anything else (dropped connection, I/O error) → 1.
func sessionExit(err error) int {
	var pe *wire.ProtocolError
	var ce *wire.CloseError
	var xe *expectationError
	var ee *ExitError
	var he *handshake.H2Error
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &he):
		// SPEC §10: a GOAWAY or RST_STREAM after the 2xx.
		return he.ExitCode()
	case errors.As(err, &pe):
		return ExitProtocol
	case errors.As(err, &ce):
		return ExitPeerCloseErr
	case errors.As(err, &xe):
		return ExitExpectation
	}
	return ExitFailure
}

// finishSession prints err (one sentence on stderr, plus an error event
// with --json), writes out everything printed and returns the exit error.
func finishSession(p *repl.Printer, err error) error {
	code := sessionExit(err)
	if err != nil {
		p.Error(err.Error(), code)
	}
	if perr := p.Close(); perr != nil {
		if err == nil {
			return exitf(ExitFailure, "%v; is stdout still open?", perr)
		}
	}
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err, Quiet: true}
}
