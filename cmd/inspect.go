package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/wire"
)

func init() { register(newInspectCommand) }

// inspectOptions are the options of one `wsdbg inspect` run.
type inspectOptions struct {
	Handshake *handshake.Options
	JSON      bool
	Color     string
	HAR       string      // --har FILE
	har       *har.Writer // open while inspect runs
}

func newInspectCommand(o *IO) *cli.Command {
	flags := append(handshakeFlags(),
		&cli.BoolFlag{Name: "json", Usage: "print one JSON document (the request, the response, diagnostics, timing, TLS) instead of the transcript"},
		&cli.IntFlag{Name: "expect-status", Usage: "fail with exit code 7 unless the response status is `N`"},
		&cli.StringFlag{Name: "expect-protocol", Usage: "fail with exit code 7 unless the server selects subprotocol `NAME`"},
		listFlag("expect-extension", "", "NAME", "fail with exit code 7 unless the server accepts this extension (parameters are not compared); repeatable"),
	)
	return &cli.Command{
		Name:      "inspect",
		Usage:     "run the opening handshake only: print the exchange and diagnostics, exit with a code for CI",
		UsageText: "wsdbg inspect [options] URL",
		Description: "Sends the upgrade request, prints the request as sent and the response as received with\n" +
			"one diagnostic per finding, then closes the connection (with a close frame, 1000, after a 101).\n\n" +
			"Exit codes: 0 upgraded; 2 usage error; 3 no usable response (DNS, TCP, TLS, proxy, timeout,\n" +
			"not HTTP); 4 the server refused the upgrade; 5 a 101 with errors; 7 an --expect-* was not met.\n\n" +
			"Examples:\n" +
			"  wsdbg inspect ws://127.0.0.1:8080/chat -p chat -p superchat\n" +
			"  wsdbg inspect wss://example.com/socket --json --expect-status 101\n" +
			"  wsdbg inspect ws://example.com/ --connect-to 127.0.0.1:8080 --omit Origin",
		Flags: flags,
		Action: func(c *cli.Context) error {
			opts, err := inspectFromFlags(c, o)
			if err != nil {
				return err
			}
			return withHAR(opts.HAR, &opts.har, func() error { return runInspect(c.Context, o, opts) })
		},
	}
}

// inspectFromFlags reads the inspect flags and the URL argument.
func inspectFromFlags(c *cli.Context, o *IO) (*inspectOptions, error) {
	if c.NArg() > 1 {
		return nil, usageErrorf("inspect takes one URL, got %d arguments (%s); quote a URL that holds &, ? or spaces", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	hs, err := handshakeOptions(c, o)
	if err != nil {
		return nil, err
	}
	if c.IsSet("expect-status") {
		n := c.Int("expect-status")
		if n < 100 || n > 999 {
			return nil, usageErrorf("--expect-status %d is not an HTTP status code; give a number such as 101", n)
		}
		hs.ExpectStatus = n
	}
	if c.IsSet("expect-protocol") {
		p := c.String("expect-protocol")
		if strings.TrimSpace(p) == "" {
			return nil, usageErrorf("--expect-protocol %q is empty; give the subprotocol name the server must select", p)
		}
		hs.ExpectProtocol = p
	}
	for _, x := range listOf(c, "expect-extension") {
		if strings.TrimSpace(x) == "" {
			return nil, usageErrorf("--expect-extension %q is empty; give an extension name such as permessage-deflate", x)
		}
		hs.ExpectExtension = append(hs.ExpectExtension, x)
	}
	return &inspectOptions{Handshake: hs, JSON: c.Bool("json"), Color: c.String("color"), HAR: c.String("har")}, nil
}

// runInspect runs the handshake, prints the transcript (or the JSON
// document) to stdout, closes an upgraded connection with 1000 and returns
// the exit status of SPEC §7.
func runInspect(ctx context.Context, o *IO, opts *inspectOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var r *handshake.Result
	var err error
	if opts.JSON {
		r, err = runHandshake(ctx, o, opts.Handshake, nil, nil)
	} else {
		r, err = runHandshake(ctx, o, opts.Handshake, o.Out, o.painter(opts.Color, o.OutTTY))
	}
	if err != nil {
		return err
	}
	clientEntry(opts.har, r, o.Now)
	if r.Conn != nil {
		// The upgrade happened (or --lenient kept a faulty 101): end it
		// politely, RFC 6455 §5.5.1, without waiting for the reply.
		if cerr := closeUpgraded(r, o.Rand); cerr != nil && !opts.JSON {
			fmt.Fprintf(o.Out, "* Closing: %v\n", cerr)
		}
	}
	if opts.JSON {
		if err := writeJSON(o.Out, r.Document(handshakeCode(r))); err != nil {
			return exitf(ExitFailure, "write JSON: %v", err)
		}
	}
	return handshakeExit(r)
}

// closeUpgraded ends an upgraded connection that no session will use: a
// close frame with status 1000 (RFC 6455 §5.5.1, §7.1.2), masked with a key
// from rnd by the same framing code every session uses, then the TCP close,
// without waiting for the server's close. r no longer holds the connection
// afterwards.
func closeUpgraded(r *handshake.Result, rnd io.Reader) error {
	c := r.Conn
	if c == nil {
		return nil
	}
	r.Conn, r.Reader = nil, nil
	wc := wire.NewConn(bufio.NewReaderSize(strings.NewReader(""), 16), c, wire.Config{Role: wire.RoleClient, Rand: rnd})
	c.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	err := wc.WriteClose(wire.CloseNormal, "")
	cerr := c.Close()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return cerr
}

// closeWriteTimeout bounds the write of the close frame that ends an
// unused upgrade: a server that reads nothing must not hold wsdbg.
const closeWriteTimeout = 2 * time.Second
