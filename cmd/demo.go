package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
)

func init() { register(newDemoCommand) }

// demoMessage is what demo sends when stdin is not a terminal.
const demoMessage = "hello"

// demoOptions are the flags of `wsdbg demo`.
type demoOptions struct {
	Deflate   bool   // --deflate: on both sides
	ServerLog bool   // --server-log: the server's log on stderr
	Color     string // --color
}

func newDemoCommand(o *IO) *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "start the echo server on 127.0.0.1 and connect to it: a try-out without a server of your own",
		UsageText: "wsdbg demo [--deflate] [--server-log]",
		Description: "Starts `wsdbg serve` on 127.0.0.1 (a free port) inside this process and runs\n" +
			"`wsdbg connect` against it. On a terminal that is the REPL: type a line to send it\n" +
			"and see it echoed, /help for commands, Ctrl-D to close. When stdin is not a terminal\n" +
			"it sends \"hello\", prints the echo on stdout, closes with 1000 and exits 0.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "deflate", Usage: "negotiate permessage-deflate (both sides)"},
			&cli.BoolFlag{Name: "server-log", Usage: "print the server's log on stderr too, each line starting with \"server\""},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "color the output: `MODE` auto (on a terminal, unless NO_COLOR is set), always or never"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("demo takes no arguments, got %q; to connect to a server of your own, use wsdbg connect URL", c.Args().First())
			}
			opts := &demoOptions{Deflate: c.Bool("deflate"), ServerLog: c.Bool("server-log"), Color: c.String("color")}
			switch opts.Color {
			case "auto", "always", "never":
			default:
				return usageErrorf("--color %q: use auto, always or never", opts.Color)
			}
			return runDemo(c.Context, o, opts)
		},
	}
}

// runDemo starts the server, runs connect against it, then stops the
// server.
func runDemo(ctx context.Context, o *IO, opts *demoOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	sopts := &serveOptions{
		Listen:         "127.0.0.1:0",
		Deflate:        opts.Deflate,
		Color:          opts.Color,
		Quiet:          !opts.ServerLog,
		MaxMessageSize: defaultMaxMessageSize,
		HeadTimeout:    defaultHeadTimeout,
		WriteTimeout:   defaultWriteTimeout,
		prefix:         "server ",
	}
	// stderr is shared by the server's log and connect's transcript:
	// writes to it take turns, each whole.
	run := *o
	stderr := &logSink{w: o.Err}
	run.Err = stderr
	var log io.Writer = io.Discard
	if opts.ServerLog {
		log = stderr
	}
	s, err := startServer(sctx, o, sopts, log, o.ErrTTY)
	if err != nil {
		return err
	}

	p := o.painter(opts.Color, o.ErrTTY)
	if p == nil {
		p = func(_ handshake.Kind, s string) string { return s }
	}
	note := func(text string) { fmt.Fprintln(stderr, p(handshake.KindNote, "* "+text)) }
	note(fmt.Sprintf("Demo: wsdbg serve is listening on %s and echoes every message; connecting", s.url))

	copts := newConnectOptions(o, s.url)
	copts.Color = opts.Color
	copts.Handshake.Deflate = opts.Deflate
	if !o.InTTY {
		note(fmt.Sprintf("stdin is not a terminal: sending %q, then closing", demoMessage))
		run.In = strings.NewReader(demoMessage + "\n")
	}
	err = runConnect(ctx, &run, copts)
	stop()
	if werr := s.wait(); werr != nil && err == nil {
		err = werr
	}
	return err
}
