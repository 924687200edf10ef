package cmd

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

func init() { register(newServeCommand) }

// page is the document served to a browser that opens the server's address:
// its script opens a WebSocket back to the server (SPEC §1.5).
//
//go:embed page.html
var page []byte

// Server defaults.
const (
	defaultListen      = "127.0.0.1:8080"
	defaultHeadTimeout = 10 * time.Second
	// defaultWriteTimeout bounds every write to a client, so that one that
	// stops reading cannot hold a connection forever.
	defaultWriteTimeout = 10 * time.Second
	// closeGrace bounds the wait for a client's close frame, or for it to
	// read our last bytes, before the connection is dropped.
	closeGrace = 2 * time.Second
)

// serveOptions are the flags of `wsdbg serve`.
type serveOptions struct {
	Listen         string
	Protocols      []string
	Deflate        bool
	TLSCert        string
	TLSKey         string
	HTTP2          bool // --http2: ALPN h2 with TLS, h2c prior knowledge without (SPEC §10)
	Color          string
	Quiet          bool
	Verbose        bool
	ShowSecrets    bool
	MaxMessageSize int64
	HeadTimeout    time.Duration
	IdleTimeout    time.Duration
	WriteTimeout   time.Duration

	HAR string      // --har FILE
	har *har.Writer // open while serve runs

	// prefix starts every log line (demo sets "server ").
	prefix string
}

func newServeCommand(o *IO) *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "run a WebSocket echo server that logs every client's handshake, with request-side diagnostics, and every frame",
		UsageText: "wsdbg serve [--listen ADDR] [--protocol NAME]... [--deflate] [--tls-cert FILE --tls-key FILE]",
		Description: "Accepts WebSocket clients and echoes every data message back. For each client it prints the\n" +
			"request head as received (<), request-side diagnostics, the response it chose (>), then the\n" +
			"messages and control frames. A browser that opens the address gets a page whose script\n" +
			"connects back, so a browser can be debugged as a client. Ctrl-C stops the server.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Aliases: []string{"l"}, Value: defaultListen, Usage: "listen on `ADDR` (host:port; port 0 picks a free one)"},
			&cli.StringSliceFlag{Name: "protocol", Aliases: []string{"p"}, Usage: "support subprotocol `NAME` (repeatable); the client's first supported offer is selected"},
			&cli.BoolFlag{Name: "deflate", Usage: "accept permessage-deflate (RFC 7692)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve wss:// and https:// with the certificate chain in `FILE` (PEM)"},
			&cli.StringFlag{Name: "tls-key", Usage: "private key for --tls-cert, in `FILE` (PEM)"},
			&cli.BoolFlag{Name: "http2", Usage: "serve WebSockets over HTTP/2 too (RFC 8441): ALPN h2 with --tls-cert, h2c with prior knowledge without, beside HTTP/1.1 on the same port"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "color the log: `MODE` auto (on a terminal, unless NO_COLOR is set), always or never"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "log nothing per client, only where the server listens"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every frame: FIN, RSV1-3, opcode, mask, payload length, compressed"},
			&cli.BoolFlag{Name: "show-secrets", Usage: "log the values of Authorization, Cookie and similar fields instead of redacting them"},
			&cli.StringFlag{Name: "max-message-size", Value: "64MiB", Usage: "close with 1009 on a message larger than `SIZE` after decompression, e.g. 1k, 16MiB"},
			&cli.DurationFlag{Name: "head-timeout", Value: defaultHeadTimeout, Usage: "answer 408 and drop a client whose request head is not complete within `DURATION`"},
			&cli.DurationFlag{Name: "idle-timeout", Usage: "close with 1001 a connection silent for `DURATION`", DefaultText: "never"},
			&cli.DurationFlag{Name: "write-timeout", Value: defaultWriteTimeout, Usage: "drop a client that reads nothing of what the server sends for `DURATION`"},
			&cli.StringFlag{Name: "har", Usage: harFlagUsage + "; \"send\" is what a client sent", TakesFile: true},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("serve takes no arguments, got %q; use --listen ADDR", c.Args().First())
			}
			opts, err := serveOptionsFrom(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return withHAR(opts.HAR, &opts.har, func() error { return runServe(ctx, o, opts) })
		},
	}
}

func serveOptionsFrom(c *cli.Context) (*serveOptions, error) {
	opts := &serveOptions{
		Listen:       c.String("listen"),
		Protocols:    c.StringSlice("protocol"),
		Deflate:      c.Bool("deflate"),
		TLSCert:      c.String("tls-cert"),
		TLSKey:       c.String("tls-key"),
		HTTP2:        c.Bool("http2"),
		Color:        c.String("color"),
		Quiet:        c.Bool("quiet"),
		Verbose:      c.Bool("verbose"),
		ShowSecrets:  c.Bool("show-secrets"),
		HeadTimeout:  c.Duration("head-timeout"),
		IdleTimeout:  c.Duration("idle-timeout"),
		WriteTimeout: c.Duration("write-timeout"),
		HAR:          c.String("har"),
	}
	switch opts.Color {
	case "auto", "always", "never":
	default:
		return nil, usageErrorf("--color %q: use auto, always or never", opts.Color)
	}
	if err := checkListen(opts.Listen); err != nil {
		return nil, err
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, usageErrorf("--tls-cert and --tls-key go together; give both files or neither")
	}
	size, err := parseSize(c.String("max-message-size"))
	if err != nil {
		return nil, usageErrorf("--max-message-size %s: %v; write e.g. --max-message-size 16MiB", c.String("max-message-size"), err)
	}
	opts.MaxMessageSize = size
	if opts.HeadTimeout <= 0 {
		return nil, usageErrorf("--head-timeout %s: must be positive, e.g. 10s", opts.HeadTimeout)
	}
	if opts.WriteTimeout <= 0 {
		return nil, usageErrorf("--write-timeout %s: must be positive, e.g. 10s", opts.WriteTimeout)
	}
	if opts.IdleTimeout < 0 {
		return nil, usageErrorf("--idle-timeout %s: must not be negative; 0 turns it off", opts.IdleTimeout)
	}
	for _, p := range opts.Protocols {
		if p == "" || strings.ContainsAny(p, " \t,;\"") {
			return nil, usageErrorf("--protocol %q is not a subprotocol name (a token: no spaces, commas or quotes, RFC 6455 §4.1)", p)
		}
	}
	return opts, nil
}

// runServe listens and serves until ctx is cancelled, then closes every
// connection with 1001 (going away) and returns.
func runServe(ctx context.Context, o *IO, opts *serveOptions) error {
	s, err := startServer(ctx, o, opts, o.Out, o.OutTTY)
	if err != nil {
		return err
	}
	return s.wait()
}

// server is a running `wsdbg serve`.
type server struct {
	opts     *serveOptions
	ln       net.Listener
	url      string // ws:// or wss:// address clients use
	tls      bool
	sink     *logSink
	paint    handshake.Painter
	events   func(repl.Kind, string) string
	respOpts handshake.ServerOptions

	seq   atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*serverConn]struct{}
	done  chan struct{}
	err   error
}

// checkListen validates --listen HOST:PORT before anything listens, so that
// a bare port or a typo is a usage error (exit 2) with the form to use.
func checkListen(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		if n, aerr := strconv.Atoi(v); aerr == nil && n >= 0 && n <= 65535 {
			return usageErrorf("--listen %s is a port without a host; write --listen 127.0.0.1:%s (or --listen :%s for every interface)", v, v, v)
		}
		return usageErrorf("--listen %s is not HOST:PORT; write e.g. --listen 127.0.0.1:8080 (port 0 picks a free one)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usageErrorf("--listen %s: port %q is not a number from 0 to 65535; write e.g. --listen %s", v, port, net.JoinHostPort(host, "8080"))
	}
	return nil
}

// startServer listens on opts.Listen and serves in the background until
// ctx is cancelled. The log goes to w; tty says whether w is a terminal
// (for --color auto).
func startServer(ctx context.Context, o *IO, opts *serveOptions, w io.Writer, tty bool) (*server, error) {
	var tlsConf *tls.Config
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, usageErrorf("load --tls-cert %q and --tls-key %q: %v; both must be PEM files, the key matching the certificate", opts.TLSCert, opts.TLSKey, err)
		}
		// ALPN http/1.1 only, unless --http2 serves WebSockets over HTTP/2
		// too (RFC 8441), h2 preferred as browsers expect (RFC 7301 §3.2).
		protos := []string{"http/1.1"}
		if opts.HTTP2 {
			protos = []string{"h2", "http/1.1"}
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos, MinVersion: tls.VersionTLS12}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return nil, exitf(ExitFailure, "listen on %q: %v; pick another address or port (port 0 picks a free one)", opts.Listen, unwrapListenErr(err))
	}
	s := newServer(o, opts, w, tty)
	s.ln, s.tls = ln, tlsConf != nil
	if tlsConf != nil {
		s.ln = tls.NewListener(ln, tlsConf)
	}
	s.announce(ln.Addr().(*net.TCPAddr))
	go s.acceptLoop(ctx)
	return s, nil
}

// newServer returns a server that is not listening yet: its connections
// come from the accept loop, or from a test that hands one in.
func newServer(o *IO, opts *serveOptions, w io.Writer, tty bool) *server {
	s := &server{
		opts:  opts,
		sink:  &logSink{w: w},
		conns: make(map[*serverConn]struct{}),
		done:  make(chan struct{}),
	}
	s.paint = o.painter(opts.Color, tty)
	s.events = o.sessionPaint(opts.Color, tty)
	s.respOpts = handshake.ServerOptions{Protocols: opts.Protocols, Page: page}
	if opts.Deflate {
		s.respOpts.AcceptExtensions = acceptDeflate
	}
	return s
}

// unwrapListenErr drops the "listen tcp 127.0.0.1:8080: " prefix that the
// message already gives.
func unwrapListenErr(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// acceptDeflate answers permessage-deflate offers (RFC 7692 §5); other
// extensions are declined.
func acceptDeflate(offers []string) (string, bool) {
	var pmd []string
	for _, o := range offers {
		name, _, _ := strings.Cut(o, ";")
		if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
			pmd = append(pmd, o)
		}
	}
	p, ok := wire.AcceptDeflate(pmd)
	if !ok {
		return "", false
	}
	return p.String(), true
}

// announce logs where the server listens, and warns when that is
// reachable from other hosts.
func (s *server) announce(addr *net.TCPAddr) {
	var web string
	s.url, web = serveURLs(s.opts.Listen, addr, s.tls)
	b := newLogBlock(s.paint)
	b.note(fmt.Sprintf("Listening on %s (open %s in a browser for a test page)", s.url, web))
	if w := reachableWarning(addr); w != "" {
		b.warn(w)
	}
	newLineWriter(s.sink, s.opts.prefix).Write(b.b.Bytes())
}

// serveURLs returns the WebSocket and web addresses of a server listening
// on addr, named as the user wrote --listen (a host name stays a name); an
// unspecified address (0.0.0.0, ::) is shown as 127.0.0.1, which reaches
// it from this machine.
func serveURLs(listen string, addr *net.TCPAddr, tls bool) (ws, web string) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil {
		host = addr.IP.String()
		if addr.IP.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	hostport := net.JoinHostPort(host, strconv.Itoa(addr.Port))
	if tls {
		return "wss://" + hostport + "/", "https://" + hostport + "/"
	}
	return "ws://" + hostport + "/", "http://" + hostport + "/"
}

// reachableWarning returns the warning for a listening address that is
// not loopback, or "".
func reachableWarning(addr *net.TCPAddr) string {
	if addr.IP.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("%s is reachable from other hosts: anyone who can connect to it gets every message echoed and the test page; use --listen 127.0.0.1:%d to keep it to this machine", addr, addr.Port)
}

func (s *server) acceptLoop(ctx context.Context) {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		s.ln.Close()
	}()
	defer close(s.done)
	defer close(stopped)
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.shutdown()
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors or similar: back off, keep serving.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.err = exitf(ExitFailure, "accept on %s: %v", s.ln.Addr(), err)
			s.shutdown()
			return
		}
		delay = 0
		sc := s.newConn(c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(sc)
			sc.serve(ctx)
		}()
	}
}

// shutdown asks every open connection to close with 1001 and waits for
// them; each is dropped after closeGrace at the latest.
func (s *server) shutdown() {
	var leaving sync.WaitGroup
	s.mu.Lock()
	for sc := range s.conns {
		leaving.Go(sc.goAway)
	}
	s.mu.Unlock()
	leaving.Wait()
	s.wg.Wait()
}

func (s *server) forget(sc *serverConn) {
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
}

// wait blocks until the server has stopped and every connection is closed.
func (s *server) wait() error {
	<-s.done
	if err := s.sink.failed(); err != nil && s.err == nil {
		return exitf(ExitFailure, "write log: %v; is stdout still open?", err)
	}
	return s.err
}
