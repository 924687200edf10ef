package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

func init() { register(newConnectCommand) }

// connectOptions are the options of one `wsdbg connect` run. demo builds
// one with newConnectOptions for its own server's URL.
type connectOptions struct {
	sessionOptions
	Echo     bool          // --echo: mirror every data message; stdin is not read
	History  string        // --history FILE for the REPL; "" → ~/.wsdbg_history
	Messages []string      // -m/--message: text messages sent right after the handshake
	Wait     time.Duration // --wait: line mode's listening after stdin ends; repl.WaitForever for inf
}

// defaultLineWait is how long line mode keeps listening after the end of
// stdin before it closes (SPEC §1.4 --wait).
const defaultLineWait = time.Second

// newConnectOptions returns the options connect has when only URL is
// given, for callers that run connect without flags (demo).
func newConnectOptions(o *IO, url string) *connectOptions {
	return &connectOptions{sessionOptions: sessionOptions{
		Handshake: &handshake.Options{
			URL:         url,
			UserAgent:   UserAgent(),
			Timeout:     handshake.DefaultTimeout,
			Now:         o.Now,
			Rand:        o.Rand,
			DialContext: o.Dial,
			Getenv:      o.getenv,
		},
		Color:          "auto",
		CloseTimeout:   repl.DefaultCloseTimeout,
		MaxMessageSize: defaultMaxMessageSize,
	}, Wait: defaultLineWait}
}

func newConnectCommand(o *IO) *cli.Command {
	flags := append(handshakeFlags(), sessionFlags()...)
	flags = append(flags,
		&cli.BoolFlag{Name: "echo", Usage: "send every received data message back with the same opcode and payload until the server closes (for conformance suites); stdin is not read"},
		&cli.StringFlag{Name: "history", Usage: "REPL history `FILE` (default ~/.wsdbg_history)", TakesFile: true},
		listFlag("message", "m", "TEXT", "send TEXT as a text message right after the handshake, then continue in the REPL or line mode; repeatable, sent in order"),
		&cli.StringFlag{Name: "wait", Usage: "in line mode, after the end of stdin keep reading until nothing has arrived for `DURATION` (0: close at once; inf: until the server closes or Ctrl-C), then close", Value: "1s"},
	)
	return &cli.Command{
		Name:      "connect",
		Usage:     "handshake, then an interactive session (line mode when stdin is not a terminal)",
		UsageText: "wsdbg connect [options] URL",
		Description: "On a terminal, opens a REPL: type a line to send it, /help for commands.\n" +
			"When stdin is not a terminal, each line of stdin is sent as a text message and every\n" +
			"received message is printed on stdout; at the end of stdin wsdbg keeps reading until\n" +
			"nothing has arrived for --wait (1s), then closes with 1000 and waits for the server's\n" +
			"close. -m sends messages first. --echo mirrors received messages instead.\n\n" +
			"Exit codes: 0 ok; 1 connection dropped or I/O error; 2 usage; 3 no response; 4 refused;\n" +
			"5 bad 101; 6 protocol violation by the server or message too big;\n" +
			"8 the server closed with a code other than 1000/1001 (or than the code wsdbg sent);\n" +
			"130 a second Ctrl-C ended wsdbg at once.\n\n" +
			"Examples:\n" +
			"  wsdbg connect ws://127.0.0.1:8080/\n" +
			"  printf 'one\\ntwo\\n' | wsdbg connect -q ws://127.0.0.1:8080/\n" +
			"  wsdbg connect -m '{\"op\":\"subscribe\"}' --wait inf ws://127.0.0.1:8080/ </dev/null\n" +
			"  wsdbg connect --echo 'ws://127.0.0.1:9001/runCase?case=1&agent=wsdbg'",
		Flags: flags,
		Action: func(c *cli.Context) error {
			opts, err := connectFromFlags(c, o)
			if err != nil {
				return err
			}
			return withHAR(opts.HAR, &opts.har, func() error { return runConnect(c.Context, o, opts) })
		},
	}
}

// connectFromFlags reads the connect flags and the URL argument.
func connectFromFlags(c *cli.Context, o *IO) (*connectOptions, error) {
	if args := c.Args().Slice(); len(args) > 1 {
		return nil, usageErrorf("connect takes one URL, got %d arguments (%q); to send messages use 'wsdbg send URL MESSAGE...' or pipe them into connect", len(args), args)
	}
	s, err := sessionFromFlags(c, o)
	if err != nil {
		return nil, err
	}
	opts := &connectOptions{sessionOptions: *s, Echo: c.Bool("echo"), History: c.String("history"), Messages: listOf(c, "message")}
	for i, m := range opts.Messages {
		if !utf8.ValidString(m) {
			return nil, usageErrorf("-m/--message %d %q is not valid UTF-8, which a text message must be (RFC 6455 §5.6); use 'wsdbg send --binary' for binary data", i+1, m)
		}
	}
	if opts.Echo && len(opts.Messages) > 0 {
		return nil, usageErrorf("-m/--message cannot be combined with --echo, which only sends back what arrives; drop one of them")
	}
	if opts.Wait, err = parseLineWait(c.String("wait")); err != nil {
		return nil, err
	}
	return opts, nil
}

// parseLineWait parses connect's --wait: a duration, 0, or inf.
func parseLineWait(v string) (time.Duration, error) {
	if strings.EqualFold(strings.TrimSpace(v), "inf") {
		return repl.WaitForever, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, usageErrorf("--wait %q is not a duration; give one such as --wait 2s or --wait 500ms, --wait 0 to close at once, or --wait inf to listen until the server closes", v)
	}
	if d < 0 {
		return 0, usageErrorf("--wait %q is negative; give a duration such as --wait 2s, 0 to close at once, or inf", v)
	}
	return d, nil
}

// runConnect runs `wsdbg connect`: the handshake, then echo mode, the REPL
// (stdin is a terminal) or line mode.
func runConnect(ctx context.Context, o *IO, opts *connectOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// --json is for programs: it keeps line mode even on a terminal.
	interactive := !opts.Echo && !opts.JSON && o.InTTY
	// Echo mode prints no message unless asked (-v or --json): a
	// conformance run sends thousands.
	hide := opts.Echo && !opts.Verbose && !opts.JSON
	p := newSessionPrinter(o, &opts.sessionOptions, hide, false)
	s, r, err := openSession(ctx, o, &opts.sessionOptions, p, nil)
	if err != nil {
		return err
	}
	switch {
	case opts.Echo:
		err = repl.RunEcho(ctx, s)
	case interactive:
		err = runInteractive(ctx, o, opts, s, r)
	default:
		s.Start(ctx)
		if err = sendMessages(s, opts.Messages); err == nil {
			err = repl.RunLines(ctx, s, o.In, opts.Wait)
		} else {
			_ = s.Close(wire.CloseNormal, "")
			if werr := s.Wait(); werr != nil || errors.Is(err, wire.ErrCloseSent) {
				err = werr
			}
		}
	}
	return finishSession(p, err)
}

// sendMessages sends the -m messages in one write.
func sendMessages(s *repl.Session, msgs []string) error {
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		if err := s.Queue(wire.OpText, []byte(m)); err != nil {
			return err
		}
	}
	return s.Flush()
}

// runInteractive runs the REPL on the terminal of o.
func runInteractive(ctx context.Context, o *IO, opts *connectOptions, s *repl.Session, r *handshake.Result) error {
	in, ok := o.In.(io.ReadCloser)
	if !ok {
		in = io.NopCloser(o.In)
	}
	history := opts.History
	if history == "" {
		if home, ok := o.LookupEnv("HOME"); ok && home != "" {
			history = filepath.Join(home, ".wsdbg_history")
		} else if home, err := os.UserHomeDir(); err == nil {
			history = filepath.Join(home, ".wsdbg_history")
		}
	}
	host := ""
	if r != nil && r.Request != nil {
		if h, ok := r.Request.Get("Host"); ok {
			host = h
		}
	}
	scheme := "ws"
	if r != nil && strings.HasPrefix(r.URL, "wss:") {
		scheme = "wss"
	}
	return repl.Interactive(ctx, s, repl.InteractiveConfig{
		In:          in,
		Out:         o.Out,
		Err:         o.Err,
		HistoryFile: history,
		Host:        host,
		Scheme:      scheme,
		Quiet:       opts.Quiet,
		Messages:    opts.Messages,
		OnInterrupt: o.interrupt,
	})
}
