package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// listValue is a repeatable string flag that keeps each value exactly as
// given. urfave/cli's StringSliceFlag splits values at commas, which would
// break -H "Sec-WebSocket-Protocol: a, b" and -x "permessage-deflate; ...".
type listValue struct{ vals []string }

func (l *listValue) Set(s string) error { l.vals = append(l.vals, s); return nil }

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, ", ")
}

// repeatFlag is a repeatable flag whose values are kept verbatim and in
// order, whichever of its names is used: -H a --header b gives [a b].
// (urfave/cli refuses two forms of one flag with aliases, so the short name
// is registered here as a second name of the same value instead.)
type repeatFlag struct {
	name, short string
	placeholder string
	usage       string
	value       *listValue
}

// listFlag returns a repeatable flag named name (and -short, if not ""),
// shown in --help with placeholder for its value.
func listFlag(name, short, placeholder, usage string) *repeatFlag {
	return &repeatFlag{name: name, short: short, placeholder: placeholder, usage: usage, value: &listValue{}}
}

func (f *repeatFlag) Names() []string { return []string{f.name} }
func (f *repeatFlag) IsSet() bool     { return len(f.value.vals) > 0 }
func (f *repeatFlag) IsVisible() bool { return true }
func (f *repeatFlag) TakesValue() bool {
	return true
}
func (f *repeatFlag) GetUsage() string       { return f.usage }
func (f *repeatFlag) GetValue() string       { return "" }
func (f *repeatFlag) GetDefaultText() string { return "" }
func (f *repeatFlag) GetEnvVars() []string   { return nil }
func (f *repeatFlag) IsSliceFlag() bool      { return true }

// Apply registers the flag's names on set, all bound to one list.
func (f *repeatFlag) Apply(set *flag.FlagSet) error {
	set.Var(f.value, f.name, f.usage)
	if f.short != "" {
		set.Var(f.value, f.short, f.usage)
	}
	return nil
}

// String is the flag's line in --help.
func (f *repeatFlag) String() string { return flagLine(f) }

// listOf returns the values given to a listFlag, in order.
func listOf(c *cli.Context, name string) []string {
	if l, ok := c.Generic(name).(*listValue); ok && l != nil {
		return append([]string(nil), l.vals...)
	}
	return nil
}

// handshakeFlags returns the handshake flags of SPEC §1.1 shared by inspect,
// connect and send. -q/--quiet and -v/--verbose belong to the commands that
// have a session and are not here. Each call returns fresh flags.
func handshakeFlags() []cli.Flag {
	return []cli.Flag{
		listFlag("header", "H", `"Name: value"`, "add a request header; repeatable; a default header's name (Host, Upgrade, Connection, Sec-WebSocket-*, User-Agent) replaces that header in place; several -H with one name send several lines"),
		listFlag("omit", "", "NAME", "do not send this default header (e.g. --omit Sec-WebSocket-Key, --omit User-Agent); repeatable"),
		listFlag("protocol", "p", "NAME", "offer this subprotocol; repeatable, in order of preference; sent comma-joined in one Sec-WebSocket-Protocol line"),
		&cli.BoolFlag{Name: "split-headers", Usage: "send each offered subprotocol and extension on its own header line instead of comma-joined"},
		listFlag("extension", "x", "RAW", "offer this extension verbatim, e.g. -x \"permessage-deflate; client_max_window_bits\"; repeatable"),
		&cli.BoolFlag{Name: "deflate", Usage: "offer permessage-deflate (\"permessage-deflate; client_max_window_bits\") and use it if accepted"},
		&cli.StringFlag{Name: "ws-version", Usage: "send `N` as Sec-WebSocket-Version; any string, e.g. 8 to provoke 426", Value: "13"},
		&cli.StringFlag{Name: "key", Usage: "send this fixed Sec-WebSocket-Key `BASE64` (default: 16 random bytes, base64)"},
		&cli.StringFlag{Name: "origin", Usage: "send an Origin header with this `URL`"},
		&cli.StringFlag{Name: "request-file", Usage: "send this `FILE`'s bytes as the request head, byte for byte; the accept check uses the key found in it", TakesFile: true},
		&cli.DurationFlag{Name: "timeout", Usage: "deadline for connect + handshake, a `DURATION` such as 5s or 500ms", Value: handshake.DefaultTimeout},
		&cli.BoolFlag{Name: "insecure", Aliases: []string{"k"}, Usage: "do not verify the server certificate (a warning diagnostic says so)"},
		&cli.StringFlag{Name: "cacert", Usage: "trust the CA certificates in this PEM `FILE` instead of the system's", TakesFile: true},
		&cli.StringFlag{Name: "cert", Usage: "client certificate, PEM `FILE`", TakesFile: true},
		&cli.StringFlag{Name: "cert-key", Usage: "private key of the client certificate, PEM `FILE` (default: in the --cert file)", TakesFile: true},
		&cli.StringFlag{Name: "sni", Usage: "TLS server `NAME` to send and verify instead of the URL's host"},
		&cli.StringFlag{Name: "proxy", Usage: "connect through this proxy `URL`: http:// or https:// (CONNECT) or socks5://; default from https_proxy (wss) / http_proxy (ws) / all_proxy, upper case too, honouring no_proxy; --proxy \"\" connects directly"},
		&cli.StringFlag{Name: "unix", Usage: "connect to the Unix domain socket `PATH`; the URL still gives Host and path", TakesFile: true},
		&cli.StringFlag{Name: "connect-to", Usage: "connect to `HOST:PORT` instead, keeping Host and TLS name from the URL (like curl --connect-to)"},
		&cli.BoolFlag{Name: "http2", Usage: "open the WebSocket as an HTTP/2 extended CONNECT (RFC 8441): TLS with ALPN h2 for wss://, prior knowledge (h2c) for ws://"},
		&cli.BoolFlag{Name: "location", Usage: "follow 3xx redirects (at most 5), printing each exchange"},
		&cli.BoolFlag{Name: "lenient", Usage: "keep a 101 that has error-level diagnostics instead of failing the connection (RFC 6455 §4.1)"},
		&cli.BoolFlag{Name: "show-secrets", Usage: "print the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie instead of <redacted N bytes>"},
		&cli.StringFlag{Name: "color", Usage: "color the output when `MODE` is always; never: plain; auto: color on a terminal unless NO_COLOR is set", Value: "auto"},
		&cli.StringFlag{Name: "har", Usage: harFlagUsage, TakesFile: true},
	}
}

// proxyVariables are hidden from the handshake when --proxy "" asks for a
// direct connection.
var proxyVariables = map[string]bool{
	"http_proxy": true, "HTTP_PROXY": true, "https_proxy": true, "HTTPS_PROXY": true,
	"all_proxy": true, "ALL_PROXY": true, "no_proxy": true, "NO_PROXY": true,
}

// handshakeOptions turns the handshake flags and the URL argument (the
// first argument) into handshake options, with the IO's dialer, clock,
// random source and environment wired in. Bad values are usage errors
// (exit 2) that name the flag and the value.
func handshakeOptions(c *cli.Context, o *IO) (*handshake.Options, error) {
	cmdName := "COMMAND"
	if c.Command != nil && c.Command.Name != "" {
		cmdName = c.Command.Name
	}
	if c.NArg() == 0 {
		return nil, usageErrorf("missing URL; usage: wsdbg %s [options] URL, e.g. wsdbg %s ws://127.0.0.1:8080/chat", cmdName, cmdName)
	}
	raw := c.Args().First()
	if _, err := handshake.ParseURL(raw); err != nil {
		return nil, usageErrorf("%v", err)
	}
	opts := &handshake.Options{
		URL:          raw,
		Headers:      listOf(c, "header"),
		Omit:         listOf(c, "omit"),
		Protocols:    listOf(c, "protocol"),
		SplitHeaders: c.Bool("split-headers"),
		Extensions:   listOf(c, "extension"),
		Deflate:      c.Bool("deflate"),
		Version:      c.String("ws-version"),
		Key:          c.String("key"),
		Origin:       c.String("origin"),
		RequestFile:  c.String("request-file"),
		UserAgent:    UserAgent(),
		Timeout:      c.Duration("timeout"),
		Insecure:     c.Bool("insecure"),
		CACert:       c.String("cacert"),
		Cert:         c.String("cert"),
		CertKey:      c.String("cert-key"),
		SNI:          c.String("sni"),
		Proxy:        c.String("proxy"),
		Unix:         c.String("unix"),
		ConnectTo:    c.String("connect-to"),
		HTTP2:        c.Bool("http2"),
		Location:     c.Bool("location"),
		Lenient:      c.Bool("lenient"),
		ShowSecrets:  c.Bool("show-secrets"),
		Now:          o.Now,
		Rand:         o.Rand,
		DialContext:  o.Dial,
		Getenv:       o.getenv,
		CheckExtension: func(offers []string, accepted string) []string {
			_, problems := wire.CheckDeflateResponse(offers, accepted)
			return problems
		},
	}
	for _, h := range opts.Headers {
		parse := handshake.ParseHeader
		if opts.HTTP2 {
			parse = handshake.ParseH2Header // ":protocol: x" replaces a pseudo-header field
		}
		if _, _, err := parse(h); err != nil {
			return nil, usageErrorf("-H %q is not \"Name: value\"; write e.g. -H \"X-Token: abc\"", h)
		}
	}
	for _, n := range opts.Omit {
		if name := strings.TrimPrefix(n, ":"); name == "" || strings.ContainsAny(name, ": \t\r\n") || (name != n && !opts.HTTP2) {
			return nil, usageErrorf("--omit %q is not a header name; give the name only, e.g. --omit Origin", n)
		}
	}
	for _, f := range [][2]string{{"--ws-version", opts.Version}, {"--key", opts.Key}, {"--origin", opts.Origin}, {"--sni", opts.SNI}} {
		if strings.ContainsAny(f[1], "\r\n") {
			return nil, usageErrorf("%s %q contains a line break; to send raw bytes use --request-file FILE", f[0], f[1])
		}
	}
	for _, p := range opts.Protocols {
		if p == "" || strings.ContainsAny(p, "\r\n") {
			return nil, usageErrorf("-p %q is not a subprotocol name; give a token such as chat", p)
		}
	}
	for _, x := range opts.Extensions {
		if strings.TrimSpace(x) == "" || strings.ContainsAny(x, "\r\n") {
			return nil, usageErrorf("-x %q is not an extension; give one like \"permessage-deflate; client_max_window_bits\"", x)
		}
	}
	if opts.Timeout <= 0 {
		return nil, usageErrorf("--timeout %s must be positive, e.g. --timeout 5s", c.Duration("timeout"))
	}
	switch m := c.String("color"); m {
	case "auto", "always", "never":
	default:
		return nil, usageErrorf("--color %q: use auto, always or never", m)
	}
	if opts.Unix != "" && opts.ConnectTo != "" {
		return nil, usageErrorf("--unix %q and --connect-to %q both say where to connect; give one", opts.Unix, opts.ConnectTo)
	}
	if opts.Unix != "" && opts.Proxy != "" {
		return nil, usageErrorf("--unix %q and --proxy %q cannot be combined; a Unix socket is always reached directly", opts.Unix, opts.Proxy)
	}
	if opts.ConnectTo != "" {
		if err := checkConnectTo(opts.ConnectTo); err != nil {
			return nil, err
		}
	}
	if opts.Proxy != "" {
		if _, err := handshake.ParseProxyURL(opts.Proxy); err != nil {
			return nil, usageErrorf("--proxy: %v", err)
		}
	} else if c.IsSet("proxy") {
		// --proxy "": connect directly, whatever the environment says (curl -x "").
		opts.Getenv = func(k string) string {
			if proxyVariables[k] {
				return ""
			}
			return o.getenv(k)
		}
	}
	if opts.CACert != "" || opts.Cert != "" || opts.CertKey != "" {
		if _, err := handshake.TLSConfig(opts); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return opts, nil
}

// checkConnectTo validates --connect-to HOST:PORT; either part may be
// empty to keep the URL's.
func checkConnectTo(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		why := err.Error()
		var ae *net.AddrError
		if errors.As(err, &ae) {
			why = ae.Err
		}
		return usageErrorf("--connect-to %q is not HOST:PORT (%s); write e.g. --connect-to 127.0.0.1:8080 or --connect-to [::1]:8080", v, why)
	}
	if host == "" && port == "" {
		return usageErrorf("--connect-to %q gives neither host nor port; e.g. --connect-to 127.0.0.1:8080", v)
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return usageErrorf("--connect-to %q: port %q is not a number from 1 to 65535", v, port)
		}
	}
	return nil
}

// unwrapUsage strips the operation prefix of a *handshake.UsageError when
// the message names the flag already.
func unwrapUsage(err error) error {
	var ue *handshake.UsageError
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// handshakeCode is the exit code of a handshake outcome (SPEC §7): 0, 3,
// 4, 5 or 7.
func handshakeCode(r *handshake.Result) int {
	return r.Class.ExitCode()
}

// handshakeExit returns nil when the handshake succeeded, else an
// *ExitError with the exit code of SPEC §7 for r.Class. The error is Quiet:
// the caller printed the transcript or the JSON document, which tell the
// story. A caller that printed neither (connect -q) should use
// handshakeExitError(r, false) so that the reason reaches stderr.
func handshakeExit(r *handshake.Result) error {
	if e := handshakeExitError(r, true); e != nil {
		return e
	}
	return nil
}

// handshakeExitError is handshakeExit with the choice of Quiet; nil on
// success. Its message says what went wrong in one line.
func handshakeExitError(r *handshake.Result, quiet bool) *ExitError {
	code := handshakeCode(r)
	if code == ExitOK {
		return nil
	}
	var msg string
	switch r.Class {
	case handshake.ClassNoResponse:
		msg = "no usable response"
		if r.Err != nil {
			msg += ": " + r.Err.Error()
		} else if d, ok := firstError(r.Diagnostics, ""); ok {
			msg += ": " + d.Message
		}
	case handshake.ClassRefused:
		msg = "the server refused the upgrade"
		if r.Response != nil {
			msg += fmt.Sprintf(" with %d %s", r.Response.Status, r.Response.Reason)
		}
		if d, ok := firstError(r.Diagnostics, "status-not-101"); ok {
			msg += ": " + d.Message
		}
	case handshake.ClassBadHandshake:
		msg = "the 101 response breaks RFC 6455: " + strings.Join(errorIDs(r.Diagnostics, false), ", ") + "; see the diagnostics (--lenient continues anyway)"
	case handshake.ClassExpect:
		msg = "expectation not met: " + strings.Join(errorIDs(r.Diagnostics, true), ", ")
		if d, ok := firstExpectation(r.Diagnostics); ok {
			msg += " (" + d.Message + ")"
		}
	default:
		msg = "handshake failed (" + r.Class.String() + ")"
	}
	return &ExitError{Code: code, Err: errors.New(msg), Quiet: quiet}
}

// firstError returns the first error-level diagnostic with id, or of any
// id when id is "".
func firstError(ds []handshake.Diagnostic, id handshake.ID) (handshake.Diagnostic, bool) {
	for _, d := range ds {
		if d.Severity == handshake.SevError && (id == "" || d.ID == id) {
			return d, true
		}
	}
	return handshake.Diagnostic{}, false
}

// firstExpectation returns the first unmet --expect-*.
func firstExpectation(ds []handshake.Diagnostic) (handshake.Diagnostic, bool) {
	for _, d := range ds {
		if d.Severity == handshake.SevError && d.Entry().Expectation() {
			return d, true
		}
	}
	return handshake.Diagnostic{}, false
}

// errorIDs lists the ids of error-level diagnostics: expectations only, or
// everything but expectations and request-side findings.
func errorIDs(ds []handshake.Diagnostic, expect bool) []string {
	var ids []string
	for _, d := range ds {
		e := d.Entry()
		if d.Severity != handshake.SevError || e.Side == handshake.SideRequest {
			continue
		}
		if e.Expectation() == expect {
			ids = append(ids, string(d.ID))
		}
	}
	return ids
}

// runHandshake runs the handshake that opts describe and writes its
// transcript, redirect hops included, to transcript (nil: print nothing)
// painted with p. A *handshake.UsageError (bad URL, unreadable
// --request-file) is returned as a usage error (exit 2); every outcome of
// the exchange itself is in the Result, whose exit code handshakeExit gives.
// After a 101 the caller owns r.Conn and r.Reader.
func runHandshake(ctx context.Context, o *IO, opts *handshake.Options, transcript io.Writer, p handshake.Painter) (*handshake.Result, error) {
	if opts.Now == nil {
		opts.Now = o.Now
	}
	if opts.Rand == nil {
		opts.Rand = o.Rand
	}
	if opts.DialContext == nil {
		opts.DialContext = o.Dial
	}
	if opts.Getenv == nil {
		opts.Getenv = o.getenv
	}
	// The transcript is printed as the exchange happens (SPEC §1.1), so a
	// server that never answers shows what was sent while wsdbg waits.
	opts.Live = nil
	if transcript != nil {
		opts.Live = handshake.NewLive(transcript, p)
	}
	r, err := handshake.Do(ctx, opts)
	if err != nil {
		var ue *handshake.UsageError
		if errors.As(err, &ue) {
			return nil, usageErrorf("%v", err)
		}
		return nil, exitf(ExitFailure, "handshake: %v", err)
	}
	if err := opts.Live.Err(); err != nil {
		if r.Conn != nil {
			r.Conn.Close()
		}
		return r, exitf(ExitFailure, "write transcript: %v", err)
	}
	return r, nil
}
