package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/probe"
)

func init() { register(newProbeCommand) }

// probeOptions are the options of one `wsdbg probe` run.
type probeOptions struct {
	Probe   *probe.Options
	JSON    bool
	Verbose bool
	Color   string
}

func newProbeCommand(o *IO) *cli.Command {
	flags := handshakeFlags()
	for _, f := range flags {
		if d, ok := f.(*cli.DurationFlag); ok && d.Name == "timeout" {
			d.Value = probe.DefaultTimeout
			d.Usage = "deadline of each check (its connect, handshake and frames), a `DURATION` such as 5s or 500ms"
		}
	}
	flags = append(flags,
		&cli.BoolFlag{Name: "json", Usage: "print one JSON document (every check with its verdict, RFC section, message, bytes sent and received, time) instead of text"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print each check's exchange under its verdict: the request and response heads, the frames both ways"},
		listFlag("only", "", "ID,...", "run only these checks (and those their verdicts need); comma-separated, repeatable"),
		listFlag("skip", "", "ID,...", "leave these checks out; comma-separated, repeatable"),
		&cli.BoolFlag{Name: "serial", Usage: fmt.Sprintf("run the checks one at a time (default: %d at a time)", probe.DefaultConcurrency)},
	)
	return &cli.Command{
		Name:      "probe",
		Usage:     "check a server against RFC 6455 and RFC 7692: handshake variants and broken frames, one verdict each",
		UsageText: "wsdbg probe [options] URL",
		Description: "Runs hs-baseline (the request inspect would send), then each check of the handshake and the\n" +
			"framing rules on its own connection, and prints one line per check: PASS, FAIL (a MUST was\n" +
			"broken), WARN (a SHOULD, or the right outcome with the wrong detail), INFO or SKIP, with what\n" +
			"was sent, what came back and the RFC section. The handshake flags shape the baseline request.\n\n" +
			"Checks: " + strings.Join(probe.IDs(), ", ") + ".\n\n" +
			"Exit codes: 0 no check failed; 9 at least one check failed; if hs-baseline fails, the other\n" +
			"checks are skipped and the code is inspect's (3 no usable response, 4 refused, 5 a 101 with errors).\n\n" +
			"Examples:\n" +
			"  wsdbg probe ws://127.0.0.1:8080/\n" +
			"  wsdbg probe wss://example.com/socket -p chat --json\n" +
			"  wsdbg probe ws://127.0.0.1:8080/ --only fr-utf8,fr-close -v",
		Flags: flags,
		Action: func(c *cli.Context) error {
			opts, err := probeFromFlags(c, o)
			if err != nil {
				return err
			}
			return runProbe(c.Context, o, opts)
		},
	}
}

// probeFromFlags reads the probe flags and the URL argument.
func probeFromFlags(c *cli.Context, o *IO) (*probeOptions, error) {
	if c.NArg() > 1 {
		return nil, usageErrorf("probe takes one URL, got %d arguments (%s); quote a URL that holds &, ? or spaces", c.NArg(), strings.Join(c.Args().Slice(), " "))
	}
	hs, err := handshakeOptions(c, o)
	if err != nil {
		return nil, err
	}
	if hs.HTTP2 {
		// The handshake checks are written for the HTTP/1.1 upgrade (key,
		// Upgrade, Connection, HTTP/1.0, Host); their HTTP/2 counterparts
		// are not written yet, and running them over an extended CONNECT
		// would give verdicts that mean nothing.
		return nil, usageErrorf("probe --http2 is not available yet: the checks are those of the HTTP/1.1 upgrade; check an HTTP/2 server with inspect --http2 and send --http2")
	}
	if hs.RequestFile != "" {
		return nil, usageErrorf("--request-file cannot be used with probe: each check builds its own variant of the request; shape the baseline with -H, --omit, -p, -x and --origin")
	}
	split := func(name string) []string {
		var ids []string
		for _, v := range listOf(c, name) {
			for _, id := range strings.Split(v, ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
		}
		return ids
	}
	po := &probe.Options{
		Handshake: hs,
		Timeout:   hs.Timeout,
		Only:      split("only"),
		Skip:      split("skip"),
	}
	if _, err := probe.Count(po.Only, po.Skip); err != nil {
		return nil, usageErrorf("%v", err)
	}
	if c.Bool("serial") {
		po.Concurrency = 1
	}
	return &probeOptions{Probe: po, JSON: c.Bool("json"), Verbose: c.Bool("verbose"), Color: c.String("color")}, nil
}

// runProbe runs the checks, prints the verdicts as they come (or the JSON
// document at the end) to stdout and returns the exit status: 0, 9, or
// hs-baseline's handshake code.
func runProbe(ctx context.Context, o *IO, opts *probeOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	po := opts.Probe
	hs := po.Handshake
	if hs.Now == nil {
		hs.Now = o.Now
	}
	if hs.Rand == nil {
		hs.Rand = o.Rand
	}
	if hs.DialContext == nil {
		hs.DialContext = o.Dial
	}
	if hs.Getenv == nil {
		hs.Getenv = o.getenv
	}
	conc := po.Concurrency
	if conc <= 0 {
		conc = probe.DefaultConcurrency
	}
	var pr *probe.Printer
	if !opts.JSON {
		pr = &probe.Printer{W: o.Out, Paint: o.painter(opts.Color, o.OutTTY), Verbose: opts.Verbose}
		u, _ := handshake.ParseURL(hs.URL)
		shown := u.Redacted()
		if hs.ShowSecrets {
			shown = u.String()
		}
		n, _ := probe.Count(po.Only, po.Skip)
		pr.Start(shown, n, conc, po.Timeout)
		po.OnReport = pr.Report
	}
	res, err := probe.Run(ctx, po)
	if err != nil {
		var ue *probe.UsageError
		var he *handshake.UsageError
		if errors.As(err, &ue) || errors.As(err, &he) {
			return usageErrorf("%v", err)
		}
		return exitf(ExitFailure, "probe: %v", err)
	}
	if opts.JSON {
		if err := writeJSON(o.Out, res.Document()); err != nil {
			return exitf(ExitFailure, "write JSON: %v", err)
		}
	} else if err := pr.Finish(res); err != nil {
		return exitf(ExitFailure, "write output: %v", err)
	}
	if res.ExitCode != 0 {
		return &ExitError{Code: res.ExitCode, Err: fmt.Errorf("probe: %s", res.Summary), Quiet: true}
	}
	return nil
}
