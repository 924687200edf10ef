package cmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/proxy"
)

func init() { register(newProxyCommand) }

// proxyOptions are the flags of `wsdbg proxy` (SPEC §9).
type proxyOptions struct {
	Listen string
	proxy.Options
	Color string
	HAR   string
}

func newProxyCommand(o *IO) *cli.Command {
	return &cli.Command{
		Name:      "proxy",
		Usage:     "relay between a real client and a real server, showing both handshakes with diagnostics and every frame",
		UsageText: "wsdbg proxy [--listen ADDR] [--keep-host] [--strict] [-H \"Name: value\"]... UPSTREAM_URL",
		Description: "Accepts WebSocket clients, forwards each opening handshake to UPSTREAM_URL with the client's header\n" +
			"lines in order (Host replaced unless --keep-host; the client's path unless UPSTREAM_URL has one),\n" +
			"relays the response head byte for byte, then every frame both ways as it is. The log shows the\n" +
			"request (>) and response (<) with diagnostics, then each message per direction (> from the\n" +
			"client, < from the server). Requests that are not upgrades are forwarded as plain HTTP.\n" +
			"Ctrl-C closes every connection with 1001.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Aliases: []string{"l"}, Value: defaultListen, Usage: "listen on `ADDR` (host:port; port 0 picks a free one)"},
			&cli.BoolFlag{Name: "keep-host", Usage: "forward the client's Host header instead of the upstream's"},
			&cli.BoolFlag{Name: "strict", Usage: "fail a side that breaks RFC 6455 (close 1002/1007/1009) and close the other with 1001, instead of relaying the frame"},
			listFlag("header", "H", `"Name: value"`, "set this header on the forwarded request: replaces the client's line of that name in place, else added; repeatable"),
			listFlag("omit", "", "NAME", "drop the client's header lines of this name from the forwarded request; repeatable"),
			&cli.DurationFlag{Name: "timeout", Usage: "deadline for the upstream's connect + response head, a `DURATION`", Value: handshake.DefaultTimeout},
			&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "do not verify the upstream's certificate"},
			&cli.StringFlag{Name: "cacert", Usage: "trust the CA certificates in this PEM `FILE` for the upstream", TakesFile: true},
			&cli.StringFlag{Name: "cert", Usage: "client certificate for the upstream, PEM `FILE`", TakesFile: true},
			&cli.StringFlag{Name: "cert-key", Usage: "private key of --cert, PEM `FILE` (default: in the --cert file)", TakesFile: true},
			&cli.StringFlag{Name: "sni", Usage: "TLS server `NAME` to send to the upstream and verify"},
			&cli.StringFlag{Name: "proxy", Usage: "reach the upstream through this proxy `URL` (http://, https://, socks5://); default from the proxy environment variables; --proxy \"\" connects directly"},
			&cli.StringFlag{Name: "unix", Usage: "reach the upstream over the Unix domain socket `PATH`", TakesFile: true},
			&cli.StringFlag{Name: "connect-to", Usage: "connect to `HOST:PORT` for the upstream, keeping its Host and TLS name"},
			&cli.BoolFlag{Name: "show-secrets", Usage: "print the values of Authorization, Cookie and similar fields instead of redacting them"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "color the log: `MODE` auto (on a terminal, unless NO_COLOR is set), always or never"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "log nothing per connection, only where the proxy listens"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every frame: FIN, RSV1-3, opcode, mask, payload length"},
			&cli.BoolFlag{Name: "json", Usage: "log NDJSON events with \"conn\" and \"dir\" (client or server: the side that sent it)"},
			&cli.StringFlag{Name: "max-message-size", Value: "64MiB", Usage: "show messages up to `SIZE` after decompression (larger ones are relayed and shown by size); --strict fails a frame declaring more with 1009"},
			&cli.DurationFlag{Name: "head-timeout", Value: defaultHeadTimeout, Usage: "answer 408 to a client whose request head is not complete within `DURATION`"},
			&cli.DurationFlag{Name: "write-timeout", Value: defaultWriteTimeout, Usage: "drop a pair when one side reads nothing of what is relayed to it for `DURATION`"},
			&cli.StringFlag{Name: "har", Usage: harFlagUsage + "; \"send\" is what a client sent", TakesFile: true},
		},
		Action: func(c *cli.Context) error {
			opts, err := proxyOptionsFrom(c, o)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return withHAR(opts.HAR, &opts.Options.HAR, func() error { return runProxy(ctx, o, opts) })
		},
	}
}

func proxyOptionsFrom(c *cli.Context, o *IO) (*proxyOptions, error) {
	switch c.NArg() {
	case 0:
		return nil, usageErrorf("missing UPSTREAM_URL; usage: wsdbg proxy [--listen ADDR] UPSTREAM_URL, e.g. wsdbg proxy ws://127.0.0.1:9000")
	case 1:
	default:
		return nil, usageErrorf("proxy takes one UPSTREAM_URL, got %d arguments (%q ...)", c.NArg(), c.Args().Get(1))
	}
	up, err := handshake.ParseURL(c.Args().First())
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	opts := &proxyOptions{Listen: c.String("listen"), Color: c.String("color"), HAR: c.String("har")}
	opts.Upstream = up
	opts.Headers = listOf(c, "header")
	opts.Omit = listOf(c, "omit")
	opts.KeepHost = c.Bool("keep-host")
	opts.Strict = c.Bool("strict")
	opts.Quiet = c.Bool("quiet")
	opts.Verbose = c.Bool("verbose")
	opts.JSON = c.Bool("json")
	opts.ShowSecrets = c.Bool("show-secrets")
	opts.HeadTimeout = c.Duration("head-timeout")
	opts.WriteTimeout = c.Duration("write-timeout")
	opts.Now = o.Now
	opts.Rand = o.Rand
	opts.Dial = handshake.Options{
		Timeout:     c.Duration("timeout"),
		Insecure:    c.Bool("insecure"),
		CACert:      c.String("cacert"),
		Cert:        c.String("cert"),
		CertKey:     c.String("cert-key"),
		SNI:         c.String("sni"),
		Proxy:       c.String("proxy"),
		Unix:        c.String("unix"),
		ConnectTo:   c.String("connect-to"),
		ShowSecrets: opts.ShowSecrets,
		Now:         o.Now,
		Rand:        o.Rand,
		DialContext: o.Dial,
		Getenv:      o.getenv,
	}
	switch opts.Color {
	case "auto", "always", "never":
	default:
		return nil, usageErrorf("--color %q: use auto, always or never", opts.Color)
	}
	for _, h := range opts.Headers {
		if _, _, err := handshake.ParseHeader(h); err != nil {
			return nil, usageErrorf("-H %q: %v; write it as \"Name: value\"", h, unwrapUsage(err))
		}
	}
	for _, n := range opts.Omit {
		if n == "" || strings.ContainsAny(n, ": \t\r\n") {
			return nil, usageErrorf("--omit %q is not a header name; give the name only, e.g. --omit Origin", n)
		}
	}
	size, err := parseSize(c.String("max-message-size"))
	if err != nil {
		return nil, usageErrorf("--max-message-size: %v", err)
	}
	opts.MaxMessageSize = size
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--timeout", opts.Dial.Timeout}, {"--head-timeout", opts.HeadTimeout}, {"--write-timeout", opts.WriteTimeout}} {
		if d.v <= 0 {
			return nil, usageErrorf("%s %s: must be positive, e.g. 10s", d.name, d.v)
		}
	}
	if opts.Dial.Unix != "" && opts.Dial.ConnectTo != "" {
		return nil, usageErrorf("--unix %q and --connect-to %q both say where to connect; give one", opts.Dial.Unix, opts.Dial.ConnectTo)
	}
	if opts.Dial.ConnectTo != "" {
		if err := checkConnectTo(opts.Dial.ConnectTo); err != nil {
			return nil, err
		}
	}
	if opts.Dial.Proxy != "" {
		if _, err := handshake.ParseProxyURL(opts.Dial.Proxy); err != nil {
			return nil, usageErrorf("--proxy: %v", err)
		}
	} else if c.IsSet("proxy") {
		opts.Dial.Getenv = func(k string) string {
			if proxyVariables[k] {
				return ""
			}
			return o.getenv(k)
		}
	}
	if opts.Dial.CACert != "" || opts.Dial.Cert != "" || opts.Dial.CertKey != "" {
		if _, err := handshake.TLSConfig(&opts.Dial); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return opts, nil
}

// runProxy listens and relays until ctx is cancelled, then closes every
// pair with 1001 and returns nil (exit 0).
func runProxy(ctx context.Context, o *IO, opts *proxyOptions) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return exitf(ExitFailure, "listen on %q: %v; pick another address or port (port 0 picks a free one)", opts.Listen, unwrapListenErr(err))
	}
	defer ln.Close()
	sink := &logSink{w: o.Out}
	opts.Paint = o.painter(opts.Color, o.OutTTY)
	opts.Events = o.sessionPaint(opts.Color, o.OutTTY)
	opts.Log = func(id int64) io.WriteCloser {
		if opts.JSON {
			return newLineWriter(sink, "")
		}
		return newLineWriter(sink, "#"+strconv.FormatInt(id, 10)+" ")
	}
	proxyAnnounce(sink, opts, ln.Addr().(*net.TCPAddr))
	if err := proxy.New(opts.Options).Serve(ctx, ln); err != nil {
		return exitf(ExitFailure, "%v", err)
	}
	if err := sink.failed(); err != nil {
		return exitf(ExitFailure, "write log: %v; is stdout still open?", err)
	}
	return nil
}

// proxyAnnounce logs where the proxy listens and where it relays to, and
// warns when the listening address is reachable from other hosts.
func proxyAnnounce(sink *logSink, opts *proxyOptions, addr *net.TCPAddr) {
	ws, web := serveURLs(opts.Listen, addr, false)
	up := opts.Upstream.Redacted()
	if opts.ShowSecrets {
		up = opts.Upstream.String()
	}
	if opts.JSON {
		fmt.Fprintf(sink, "{\"event\":\"listening\",\"url\":%q,\"upstream\":%q}\n", ws, up)
	} else {
		b := newLogBlock(opts.Paint)
		b.note(fmt.Sprintf("Proxying %s to %s (pages load through %s)", ws, up, web))
		if !addr.IP.IsLoopback() {
			b.warn(fmt.Sprintf("%s is reachable from other hosts: anyone who can connect to it reaches %s through this proxy and their traffic is logged here; use --listen 127.0.0.1:%d to keep it to this machine", addr, up, addr.Port))
		}
		sink.Write(b.b.Bytes())
	}
}
