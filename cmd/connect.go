package cmd

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/repl"
)

func init() { register(newConnectCommand) }

// connectOptions are the options of one `wsdbg connect` run. demo builds
// one with newConnectOptions for its own server's URL.
type connectOptions struct {
	sessionOptions
	Echo    bool   // --echo: mirror every data message; stdin is not read
	History string // --history FILE for the REPL; "" → ~/.wsdbg_history
}

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
	}}
}

func newConnectCommand(o *IO) *cli.Command {
	flags := append(handshakeFlags(), sessionFlags()...)
	flags = append(flags,
		&cli.BoolFlag{Name: "echo", Usage: "send every received data message back with the same opcode and payload until the server closes (for conformance suites); stdin is not read"},
		&cli.StringFlag{Name: "history", Usage: "REPL history `FILE` (default ~/.wsdbg_history)", TakesFile: true},
	)
	return &cli.Command{
		Name:      "connect",
		Usage:     "handshake, then an interactive session (line mode when stdin is not a terminal)",
		UsageText: "wsdbg connect [options] URL",
		Description: "On a terminal, opens a REPL: type a line to send it, /help for commands.\n" +
			"When stdin is not a terminal, each line of stdin is sent as a text message and every\n" +
			"received message is printed on stdout; at the end of stdin wsdbg closes with 1000\n" +
			"and waits for the server's close. --echo mirrors received messages instead.\n\n" +
			"Exit codes: 0 ok; 1 connection dropped or I/O error; 2 usage; 3 no response; 4 refused;\n" +
			"5 bad 101; 6 protocol violation by the server or message too big;\n" +
			"8 the server closed with a code other than 1000/1001.\n\n" +
			"Examples:\n" +
			"  wsdbg connect ws://127.0.0.1:8080/\n" +
			"  printf 'one\\ntwo\\n' | wsdbg connect -q ws://127.0.0.1:8080/\n" +
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
	return &connectOptions{sessionOptions: *s, Echo: c.Bool("echo"), History: c.String("history")}, nil
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
	p := newSessionPrinter(o, &opts.sessionOptions, hide)
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
		err = repl.RunLines(ctx, s, o.In)
	}
	return finishSession(p, err)
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
	return repl.Interactive(ctx, s, repl.InteractiveConfig{
		In:          in,
		Out:         o.Out,
		Err:         o.Err,
		HistoryFile: history,
		Host:        host,
	})
}
