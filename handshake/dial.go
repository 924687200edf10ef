package handshake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Dial opens the connection a handshake runs over: a Unix socket (--unix),
// or TCP to t.Host (or --connect-to), directly or through a proxy (--proxy or
// the proxy environment variables), then TLS when t.Secure. The whole dial is
// bounded by ctx and o.Timeout.
//
// Host names are resolved before connecting, so that DNS time is measured
// apart from connect time; an IP literal needs no lookup (DNS 0), and with a
// Unix socket no lookup happens at all (DNS -1). With a proxy, the lookup
// and connect times are those of the proxy, and a SOCKS5 proxy resolves the
// target itself.
//
// The returned DialInfo holds the transcript notes ("Connected to ...", the
// proxy's CONNECT exchange, the TLS summary), the dial-time diagnostics
// (tls-insecure, tls-alpn) and the timings. On failure the error is a
// *DialError whose Stage says which step failed, and the DialInfo holds what
// happened up to then.
func Dial(ctx context.Context, t Target, o *Options) (net.Conn, *DialInfo, error) {
	if o == nil {
		o = &Options{}
	}
	return dial(ctx, t, o, o.now())
}

// dial is Dial with the instant the handshake's clock started: every
// moment from start to the end of the dial is counted in exactly one of
// DNS, Connect, Proxy and TLS (each phase runs from the end of the one
// before), so that the parts add up to the total (SPEC §2).
func dial(ctx context.Context, t Target, o *Options, start time.Time) (net.Conn, *DialInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	d := &dialer{
		o:    o,
		t:    t,
		info: &DialInfo{DNS: -1, Connect: -1, Proxy: -1, TLS: -1},
		dial: o.DialContext,
		mark: start,
	}
	if d.dial == nil {
		nd := &net.Dialer{}
		d.dial = nd.DialContext
	}
	conn, err := d.run(ctx)
	if err != nil {
		return nil, d.info, err
	}
	return conn, d.info, nil
}

// dialer holds the state of one Dial.
type dialer struct {
	o    *Options
	t    Target
	info *DialInfo
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	mark time.Time // end of the last phase timed
	// proxySource is set while connecting to a proxy: "--proxy" or the
	// environment variable the proxy came from, for the advice.
	proxySource string
}

// note adds a transcript line, printed at once with Options.Live.
func (d *dialer) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	d.info.Notes = append(d.info.Notes, n)
	d.o.Live.note(n)
}

// lap returns the time since the end of the last timed phase and starts
// the next one.
func (d *dialer) lap() time.Duration {
	now := d.o.now()
	el := now.Sub(d.mark)
	if el < 0 {
		el = 0
	}
	d.mark = now
	d.info.End = now
	return el
}

func (d *dialer) run(ctx context.Context) (net.Conn, error) {
	var conn net.Conn
	var err error
	if d.o.Unix != "" {
		conn, err = d.connectUnix(ctx, d.o.Unix)
	} else {
		var addr string
		addr, err = d.address()
		if err != nil {
			return nil, err
		}
		var px *proxySpec
		px, err = d.proxy()
		if err != nil {
			return nil, err
		}
		if px == nil {
			conn, err = d.connectTCP(ctx, addr)
		} else {
			conn, err = d.viaProxy(ctx, px, addr)
		}
	}
	if err != nil {
		return nil, err
	}
	if !d.t.Secure {
		return conn, nil
	}
	return d.handshakeTLS(ctx, conn)
}

// address returns the host:port to connect to: --connect-to when given
// (an empty host or port in it keeps the URL's), else t.Host.
func (d *dialer) address() (string, error) {
	addr := d.t.Host
	if addr == "" && d.t.URL != nil {
		addr = d.t.URL.Host
	}
	if ct := d.o.ConnectTo; ct != "" {
		host, port, err := net.SplitHostPort(ct)
		if err != nil {
			return "", &DialError{Stage: "connect", Err: fmt.Errorf("--connect-to %q is not HOST:PORT (%v); write it like 127.0.0.1:8080 or [::1]:8080", ct, err)}
		}
		if host == "" || port == "" {
			uh, up, _ := net.SplitHostPort(addr)
			if host == "" {
				host = uh
			}
			if port == "" {
				port = up
			}
		}
		addr = net.JoinHostPort(host, port)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", &DialError{Stage: "connect", Err: fmt.Errorf("address %q is not HOST:PORT (%v); check the URL", addr, err)}
	}
	return addr, nil
}

// connectUnix dials the Unix domain socket at path.
func (d *dialer) connectUnix(ctx context.Context, path string) (net.Conn, error) {
	conn, err := d.dial(ctx, "unix", path)
	d.info.Connect = d.lap()
	if err != nil {
		hint := "check the path given to --unix and that a server listens on it"
		switch {
		case errors.Is(err, os.ErrNotExist):
			hint = "no socket exists at that path; start the server or fix the path given to --unix"
		case errors.Is(err, syscall.ECONNREFUSED):
			hint = "the socket file exists but nothing accepts on it; is the server still running?"
		case errors.Is(err, os.ErrPermission):
			hint = "you may not open that socket; check its permissions"
		case ctx.Err() != nil:
			hint = d.timeoutHint()
		}
		return nil, &DialError{Stage: "connect", Err: fmt.Errorf("unix socket %q: %v; %s", path, unwrapOp(err), hint)}
	}
	d.info.RemoteAddr = path
	d.note("Connected to %s (unix socket) in %s", path, durMS(d.info.Connect))
	return conn, nil
}

// connectTCP resolves the host of addr (unless it is an IP literal) and
// connects to its addresses in turn until one accepts. DNS and connect
// times add up in d.info, so that a proxy's lookup is counted too.
func (d *dialer) connectTCP(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &DialError{Stage: "connect", Err: fmt.Errorf("address %q is not HOST:PORT: %v", addr, err)}
	}
	ips, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	var errs []string
	var lastErr error
	for _, ip := range ips {
		conn, err = d.dial(ctx, "tcp", net.JoinHostPort(ip, port))
		if err == nil {
			break
		}
		lastErr = err
		errs = append(errs, fmt.Sprintf("%s: %v", ip, unwrapOp(err)))
		if ctx.Err() != nil {
			break
		}
	}
	d.info.Connect = addDur(d.info.Connect, d.lap())
	if conn == nil {
		return nil, &DialError{Stage: "connect", Err: d.connectError(ctx, addr, ips, errs, lastErr)}
	}
	ip := ips[0]
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok && ta != nil {
		ip = ta.IP.String()
	}
	if ra := conn.RemoteAddr(); ra != nil {
		d.info.RemoteAddr = ra.String()
	}
	d.note("Connected to %s (%s) in %s", addr, ip, durMS(d.info.Connect))
	return conn, nil
}

// resolve returns the addresses of host; an IP literal is returned as is.
func (d *dialer) resolve(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(strings.SplitN(host, "%", 2)[0]); ip != nil {
		if d.info.DNS < 0 {
			d.info.DNS = 0
		}
		return []string{host}, nil
	}
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	d.info.DNS = addDur(d.info.DNS, d.lap())
	if err == nil && len(ips) == 0 {
		err = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	if err != nil {
		var hint string
		var de *net.DNSError
		switch {
		case ctx.Err() != nil || (errors.As(err, &de) && de.IsTimeout):
			err = fmt.Errorf("lookup of %q got no answer within %s", host, d.o.timeout())
			hint = "check your DNS server, or raise --timeout"
		case errors.As(err, &de) && de.IsNotFound:
			err = fmt.Errorf("host %q not found", host)
			hint = "check the host name in the URL, or use --connect-to HOST:PORT to connect to an address while keeping this Host"
		default:
			err = fmt.Errorf("lookup of %q failed: %v", host, unwrapOp(err))
			hint = "check your network and DNS settings"
		}
		return nil, &DialError{Stage: "dns", Err: fmt.Errorf("%w; %s", err, hint)}
	}
	return ips, nil
}

func (d *dialer) connectError(ctx context.Context, addr string, ips, errs []string, last error) error {
	where := fmt.Sprintf("%q", addr)
	if len(ips) > 0 && ips[0] != strings.Trim(addr[:strings.LastIndexByte(addr, ':')], "[]") {
		where += " (" + strings.Join(ips, ", ") + ")"
	}
	switch {
	case ctx.Err() != nil || isTimeout(last):
		return fmt.Errorf("no connection to %s within %s; %s", where, d.o.timeout(), d.timeoutHint())
	case errors.Is(last, syscall.ECONNREFUSED) && d.proxySource == "--proxy":
		return fmt.Errorf("%s refused the connection; is the proxy running? Check the address given to --proxy, or connect directly with --proxy \"\"", where)
	case errors.Is(last, syscall.ECONNREFUSED) && d.proxySource != "":
		return fmt.Errorf("%s refused the connection; is the proxy running? Check the proxy variable %s, or connect directly with --proxy \"\"", where, d.proxySource)
	case errors.Is(last, syscall.ECONNREFUSED) && len(errs) == 1:
		return fmt.Errorf("%s refused the connection; is a server listening on that port? Check the port in the URL, or use --connect-to HOST:PORT", where)
	case errors.Is(last, syscall.ECONNREFUSED):
		return fmt.Errorf("every address of %s refused the connection (%s); is a server listening on that port?", where, strings.Join(errs, "; "))
	case errors.Is(last, syscall.ENETUNREACH) || errors.Is(last, syscall.EHOSTUNREACH):
		return fmt.Errorf("%s is unreachable (%s); check the address and your network", where, strings.Join(errs, "; "))
	}
	return fmt.Errorf("cannot connect to %s: %s; check the address", where, strings.Join(errs, "; "))
}

func (d *dialer) timeoutHint() string {
	return "check the address and any firewall, or raise --timeout (now " + d.o.timeout().String() + ")"
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()))
}

// unwrapOp strips the "dial tcp 1.2.3.4:80: " prefix of a *net.OpError so
// that messages name the address once.
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err
		}
		return oe.Err
	}
	return err
}

// addDur adds el to a duration that is -1 when nothing was measured yet.
func addDur(d, el time.Duration) time.Duration {
	if d < 0 {
		return el
	}
	return d + el
}

// durMS formats a duration in milliseconds with one decimal, as the
// transcript shows timings ("0.4ms").
func durMS(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// deadlineFrom applies ctx's deadline to conn for an exchange that runs
// inside Dial (proxy CONNECT, SOCKS5); the returned func clears it.
func deadlineFrom(ctx context.Context, conn net.Conn) func() {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		conn.SetDeadline(time.Time{})
	}
}
