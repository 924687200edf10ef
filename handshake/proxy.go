package handshake

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/proxy"
)

// ParseProxyURL parses a proxy given as --proxy or in a proxy variable.
// Without a scheme, http:// is assumed (as curl and Go do). The schemes are
// http and https (HTTP CONNECT, RFC 9110 §9.3.6) and socks5 or socks5h
// (RFC 1928; the proxy resolves the target's name in both cases). Without a
// port, http uses 80, https 443 and socks5 1080.
func ParseProxyURL(s string) (*url.URL, error) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("proxy %q is not a URL (%v); write it like http://127.0.0.1:3128 or socks5://127.0.0.1:1080", raw, unwrapURLError(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("proxy %q has scheme %q; use http://, https:// or socks5://", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("proxy %q has no host; write it like %s://127.0.0.1:%s", raw, u.Scheme, proxyDefaultPort(u.Scheme))
	}
	if _, _, err := net.SplitHostPort(proxyHostPort(u)); err != nil || strings.ContainsAny(u.Hostname(), "[]/\\ \t") {
		return nil, fmt.Errorf("proxy %q has host %q, which is not a host name or IP address", raw, u.Hostname())
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("proxy %q has a path or query; a proxy URL is only scheme://[user:password@]host[:port]", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("proxy %q has port %q; a port is a number from 1 to 65535", raw, p)
		}
	}
	return u, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func proxyDefaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "socks5", "socks5h":
		return "1080"
	}
	return "80"
}

// proxyHostPort returns the proxy's host:port, with the scheme's default
// port when the URL has none.
func proxyHostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = proxyDefaultPort(u.Scheme)
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// proxySpec is the proxy chosen for one dial, and where it came from.
type proxySpec struct {
	URL    *url.URL
	Source string // "--proxy" or the variable's name
}

// proxyVars lists the variables consulted, in order, for a ws:// (secure
// false) or wss:// target. The lower-case name comes first, as in curl.
func proxyVars(secure bool) []string {
	if secure {
		return []string{"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}
	}
	return []string{"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"}
}

// proxy chooses the proxy for this dial: --proxy when given (always used;
// NO_PROXY does not apply to it), else the first non-empty proxy variable
// for the URL's scheme unless NO_PROXY excludes the URL's host.
func (d *dialer) proxy() (*proxySpec, error) {
	if d.o.Proxy != "" {
		u, err := ParseProxyURL(d.o.Proxy)
		if err != nil {
			return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("--proxy: %w", err)}
		}
		return &proxySpec{URL: u, Source: "--proxy"}, nil
	}
	getenv := d.o.Getenv
	if getenv == nil {
		return nil, nil
	}
	for _, name := range proxyVars(d.t.Secure) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		host, port := d.urlHostPort()
		npName := "no_proxy"
		np := getenv(npName)
		if np == "" {
			npName = "NO_PROXY"
			np = getenv(npName)
		}
		if noProxyMatch(np, host, port) {
			d.note("Not using proxy %s from %s: %s=%q matches %s", redactURL(v, d.o.ShowSecrets), name, npName, np, host)
			return nil, nil
		}
		u, err := ParseProxyURL(v)
		if err != nil {
			return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("%s: %w; fix or unset the variable, or give --proxy", name, err)}
		}
		return &proxySpec{URL: u, Source: name}, nil
	}
	return nil, nil
}

// urlHostPort returns the URL's host (for NO_PROXY) and port.
func (d *dialer) urlHostPort() (host, port string) {
	if d.t.URL != nil && d.t.URL.Hostname() != "" {
		host, port = d.t.URL.Hostname(), d.t.URL.Port()
	} else {
		host, port, _ = net.SplitHostPort(d.t.Host)
	}
	if port == "" {
		port = "80"
		if d.t.Secure {
			port = "443"
		}
	}
	return host, port
}

// noProxyMatch reports whether NO_PROXY excludes host:port. The list is
// separated by commas (spaces around entries are ignored) and each entry is:
//
//   - "*": every host;
//   - an IP address ("10.1.2.3", "::1", "[::1]"): that address literally;
//   - a CIDR block ("10.0.0.0/8", "fd00::/8"): an IP literal in the block
//     (names are not resolved for the comparison);
//   - a domain ("example.com"): the domain and every subdomain;
//   - a domain with a leading dot or "*." (".example.com"): subdomains only;
//
// each optionally followed by ":PORT" to match that port only. Matching is
// ASCII case-insensitive. These are the rules of Go's
// golang.org/x/net/http/httpproxy, except that, as in curl, localhost and
// loopback addresses are proxied like any other unless NO_PROXY lists them.
func noProxyMatch(noProxy, host, port string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	hostIP := net.ParseIP(host)
	for _, e := range strings.Split(noProxy, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if e == "*" {
			return true
		}
		if _, block, err := net.ParseCIDR(e); err == nil {
			if hostIP != nil && block.Contains(hostIP) {
				return true
			}
			continue
		}
		eh, ep := e, ""
		if h, p, err := net.SplitHostPort(e); err == nil {
			eh, ep = h, p
		}
		eh = strings.TrimSuffix(strings.Trim(eh, "[]"), ".")
		if ep != "" && ep != port {
			continue
		}
		if eip := net.ParseIP(eh); eip != nil {
			if hostIP != nil && hostIP.Equal(eip) {
				return true
			}
			continue
		}
		if strings.HasPrefix(eh, "*.") {
			eh = eh[1:]
		}
		if strings.HasPrefix(eh, ".") {
			if strings.HasSuffix(host, eh) && len(host) > len(eh) {
				return true
			}
			continue
		}
		if host == eh || strings.HasSuffix(host, "."+eh) {
			return true
		}
	}
	return false
}

// redactURL hides the password of a proxy URL unless show is set.
func redactURL(s string, show bool) string {
	if show {
		return s
	}
	if !strings.Contains(s, "://") {
		if u, err := url.Parse("http://" + s); err == nil && u.User != nil {
			return strings.TrimPrefix(u.Redacted(), "http://")
		}
		return s
	}
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// viaProxy connects to the proxy and asks it for a tunnel to target.
func (d *dialer) viaProxy(ctx context.Context, px *proxySpec, target string) (net.Conn, error) {
	shown := redactURL(px.URL.String(), d.o.ShowSecrets)
	from := ""
	if px.Source != "--proxy" {
		from = " (from " + px.Source + ")"
	}
	paddr := proxyHostPort(px.URL)
	d.info.ProxyScheme = px.URL.Scheme
	d.proxySource = px.Source
	conn, err := d.connectTCP(ctx, paddr)
	d.proxySource = ""
	if err != nil {
		var de *DialError
		if errors.As(err, &de) {
			de.Stage = "proxy"
			de.Err = fmt.Errorf("proxy %s%s: %w", shown, from, de.Err)
		}
		return nil, err
	}
	// The proxy's own TLS and its CONNECT (or SOCKS5) exchange are one
	// phase of the timing, apart from the connect to the proxy.
	defer func() { d.info.Proxy = d.lap() }()
	switch px.URL.Scheme {
	case "socks5", "socks5h":
		d.note("Proxy SOCKS5 CONNECT %s via %s%s", target, shown, from)
		return d.socks5(ctx, conn, px, shown, target)
	case "https":
		tc, err := d.proxyTLS(ctx, conn, px.URL)
		if err != nil {
			conn.Close()
			return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("TLS with proxy %s%s: %w", shown, from, err)}
		}
		conn = tc
	}
	d.note("Proxy CONNECT %s via %s%s", target, shown, from)
	return d.httpConnect(ctx, conn, px, shown, target)
}

// proxyTLS runs TLS with an https:// proxy. The proxy is verified with the
// same trust as the server (--cacert, --insecure); its name is the proxy
// URL's host.
func (d *dialer) proxyTLS(ctx context.Context, conn net.Conn, u *url.URL) (net.Conn, error) {
	cfg, err := TLSConfig(d.o)
	if err != nil {
		return nil, err
	}
	cfg.ServerName = u.Hostname()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("%v; for a proxy with its own CA give --cacert, or --insecure", describeTLSError(err, cfg.ServerName, d.o.CACert).Text)
	}
	st := tc.ConnectionState()
	d.note("Proxy TLS %s (%s)", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	return tc, nil
}

// httpConnect sends CONNECT target (RFC 9110 §9.3.6) and reads the proxy's
// answer; any 2xx opens the tunnel. Both heads are added to the notes.
func (d *dialer) httpConnect(ctx context.Context, conn net.Conn, px *proxySpec, shown, target string) (net.Conn, error) {
	type line struct{ text, shown string }
	lines := []line{
		{"CONNECT " + target + " HTTP/1.1", ""},
		{"Host: " + target, ""},
	}
	if u := px.URL.User; u != nil {
		pass, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
		l := line{text: "Proxy-Authorization: Basic " + cred}
		if !d.o.ShowSecrets {
			l.shown = fmt.Sprintf("Proxy-Authorization: <redacted %d bytes>", len("Basic "+cred))
		}
		lines = append(lines, l)
	}
	var req strings.Builder
	for _, l := range lines {
		req.WriteString(l.text + "\r\n")
		if l.shown == "" {
			l.shown = l.text
		}
		d.note("> %s", l.shown)
	}
	req.WriteString("\r\n")
	d.note(">")

	clear := deadlineFrom(ctx, conn)
	fail := func(err error) (net.Conn, error) {
		conn.Close()
		return nil, &DialError{Stage: "proxy", Err: err}
	}
	if _, err := conn.Write([]byte(req.String())); err != nil {
		return fail(fmt.Errorf("send CONNECT to proxy %s: %v; check that it is an HTTP proxy", shown, unwrapOp(err)))
	}
	br := bufio.NewReader(conn)
	s, err := readHead(br)
	if err != nil {
		if isTimeout(err) || ctx.Err() != nil {
			return fail(fmt.Errorf("proxy %s did not answer CONNECT %s within %s; raise --timeout or check the proxy", shown, target, d.o.timeout()))
		}
		return fail(fmt.Errorf("read proxy %s's answer to CONNECT %s: %v; check that it is an HTTP proxy (for SOCKS use socks5://)", shown, target, err))
	}
	clear()
	h := parseHead(s, []byte(s))
	d.note("< %s", escapeNote(h.StartLine))
	for _, f := range h.Fields {
		raw := f.Raw
		if !d.o.ShowSecrets && IsSecret(f.Name) {
			raw = fmt.Sprintf("%s: <redacted %d bytes>", f.Name, len(f.Value))
		}
		d.note("< %s", escapeNote(raw))
	}
	d.note("<")
	status, reason := parseStatus(h.StartLine)
	if status < 200 || status > 299 {
		return fail(fmt.Errorf("proxy %s refused CONNECT %s with %q; %s", shown, target, escapeNote(strings.TrimSpace(fmt.Sprintf("%d %s", status, reason))), proxyStatusHint(status, px.URL.User != nil)))
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// parseStatus reads the status code and reason of "HTTP/1.1 200 OK"; the
// status is 0 when the line is not a status line.
func parseStatus(line string) (int, string) {
	_, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(line, "HTTP/") {
		return 0, line
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 {
		return 0, line
	}
	return n, reason
}

func proxyStatusHint(status int, hadAuth bool) string {
	switch {
	case status == 407 && hadAuth:
		return "the proxy rejected the credentials in the proxy URL; check user and password"
	case status == 407:
		return "the proxy wants credentials: put them in the proxy URL (http://user:password@host:port)"
	case status == 403 || status == 405:
		return "the proxy does not allow a tunnel to this address or port"
	case status == 502 || status == 503 || status == 504:
		return "the proxy could not reach the server; check the URL's host and port"
	case status == 0:
		return "the answer is not an HTTP status line; check that it is an HTTP proxy (for SOCKS use socks5://)"
	}
	return "check the proxy's configuration, or connect without it"
}

// escapeNote shows control bytes and invalid UTF-8 of text that came from
// the network as \xNN, so notes are safe to print on a terminal.
func escapeNote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			for _, c := range []byte(s[i : i+max(n, 1)]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
			i += max(n, 1)
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

// socksReason turns an error of x/net's SOCKS5 client, which has no types,
// into what happened and what to try. The proxy's reply codes are those of
// RFC 1928 §6 ("unknown error connection refused" is reply 5).
func socksReason(msg string) (what, hint string) {
	reply := strings.TrimPrefix(msg, "unknown error ")
	switch {
	case reply != msg && reply == "connection refused":
		return "the proxy reached the host, which refused the connection (SOCKS5 reply 5, RFC 1928 §6)", "is a server listening on the URL's port? Check the port in the URL"
	case reply != msg && (reply == "host unreachable" || reply == "network unreachable"):
		return fmt.Sprintf("the proxy says %s (RFC 1928 §6)", reply), "check the URL's host, and that the proxy can reach it"
	case reply != msg && reply == "connection not allowed by ruleset":
		return "the proxy does not allow a connection to this address (SOCKS5 reply 2, RFC 1928 §6)", "check the proxy's rules, or connect without it (--proxy \"\")"
	case reply != msg:
		return fmt.Sprintf("the proxy answered %q (RFC 1928 §6)", reply), "check the proxy's log, or connect without it (--proxy \"\")"
	case strings.Contains(msg, "authentication"):
		return fmt.Sprintf("the proxy refused the authentication (%s)", msg), "put the credentials it wants in the proxy URL (socks5://user:password@host:port)"
	case strings.HasPrefix(msg, "unexpected protocol version"):
		return fmt.Sprintf("the proxy does not speak SOCKS5 (%s)", msg), "for an HTTP proxy use --proxy http://HOST:PORT"
	case strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset"):
		return fmt.Sprintf("the proxy closed the connection (%s)", msg), "check that it is a SOCKS5 proxy and see its log"
	}
	return msg, "check the proxy address and that the target is reachable from it"
}

// bufferedConn is a conn whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}

// withConn is the part of x/net/proxy's SOCKS5 dialer that runs the
// handshake over a connection we opened ourselves.
type withConn interface {
	DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
}

// socks5 asks the SOCKS5 proxy on conn to connect to target (RFC 1928),
// with username/password authentication (RFC 1929) when the proxy URL has
// userinfo.
func (d *dialer) socks5(ctx context.Context, conn net.Conn, px *proxySpec, shown, target string) (net.Conn, error) {
	var auth *proxy.Auth
	if u := px.URL.User; u != nil {
		pass, _ := u.Password()
		auth = &proxy.Auth{User: u.Username(), Password: pass}
	}
	pd, err := proxy.SOCKS5("tcp", proxyHostPort(px.URL), auth, nil)
	if err != nil {
		conn.Close()
		return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("proxy %s: %v", shown, err)}
	}
	wc, ok := pd.(withConn)
	if !ok {
		conn.Close()
		return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("proxy %s: SOCKS5 dialer cannot use an open connection", shown)}
	}
	clear := deadlineFrom(ctx, conn)
	bound, err := wc.DialWithConn(ctx, conn, "tcp", target)
	clear()
	if err != nil {
		conn.Close()
		what, hint := socksReason(unwrapOp(err).Error())
		if isTimeout(err) || ctx.Err() != nil {
			what, hint = "no answer from the proxy", "raise --timeout or check the proxy"
		}
		return nil, &DialError{Stage: "proxy", Err: fmt.Errorf("SOCKS5 proxy %s could not connect to %s: %s; %s", shown, target, what, hint)}
	}
	if bound != nil {
		d.note("SOCKS5 proxy connected to %s (bound %s)", target, bound)
	}
	return conn, nil
}
