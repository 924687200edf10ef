package handshake_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// connectProxy is an in-test HTTP CONNECT proxy (RFC 9110 §9.3.6) that
// records every request head. Reply, when set, is written instead of
// "HTTP/1.1 200 Connection established\r\n\r\n"; a reply whose status is
// not 2xx ends the connection.
type connectProxy struct {
	Addr  string
	Reply string
	mu    sync.Mutex
	heads []string
}

func (p *connectProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.heads...)
}

func startConnectProxy(t testing.TB, reply string, cfg *tls.Config) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	p := &connectProxy{Addr: ln.Addr().String(), Reply: reply}
	wstest.Serve(t, ln, func(c net.Conn) {
		p.serve(c)
	})
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	p.mu.Lock()
	p.heads = append(p.heads, head.String())
	p.mu.Unlock()
	reply := p.Reply
	if reply == "" {
		reply = "HTTP/1.1 200 Connection established\r\n\r\n"
	}
	if !strings.HasPrefix(reply, "HTTP/1.1 2") {
		c.Write([]byte(reply))
		return
	}
	f := strings.Fields(head.String())
	if len(f) < 2 || f[0] != "CONNECT" {
		return
	}
	up, err := net.DialTimeout("tcp", f[1], 5*time.Second)
	if err != nil {
		c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\n\r\n"))
		return
	}
	defer up.Close()
	c.Write([]byte(reply))
	pipe(c, br, up)
}

// pipe copies both ways until either side ends.
func pipe(c net.Conn, r io.Reader, up net.Conn) {
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, r); up.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, up); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// socksServer is an in-test SOCKS5 server (RFC 1928), no authentication,
// CONNECT only, that records each requested address. Refuse makes it
// answer "connection refused" (reply 5).
type socksServer struct {
	Addr    string
	Refuse  bool
	mu      sync.Mutex
	targets []string
}

func (s *socksServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

func startSOCKS(t testing.TB, refuse bool) *socksServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksServer{Addr: ln.Addr().String(), Refuse: refuse}
	wstest.Serve(t, ln, func(c net.Conn) {
		s.serve(c)
	})
	return s
}

func (s *socksServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// Greeting: VER NMETHODS METHODS...; we pick 0x00 (no authentication).
	b := make([]byte, 262)
	if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 5 {
		return
	}
	if _, err := io.ReadFull(c, b[:b[1]]); err != nil {
		return
	}
	c.Write([]byte{5, 0})
	// Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
	if _, err := io.ReadFull(c, b[:4]); err != nil || b[1] != 1 {
		return
	}
	var host string
	switch b[3] {
	case 1:
		io.ReadFull(c, b[:4])
		host = net.IP(b[:4]).String()
	case 4:
		io.ReadFull(c, b[:16])
		host = net.IP(b[:16]).String()
	case 3:
		io.ReadFull(c, b[:1])
		n := int(b[0])
		io.ReadFull(c, b[:n])
		host = string(b[:n])
	default:
		return
	}
	if _, err := io.ReadFull(c, b[:2]); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(b[:2]))))
	s.mu.Lock()
	s.targets = append(s.targets, target)
	s.mu.Unlock()
	fail := []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}
	if s.Refuse {
		c.Write(fail)
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Write(fail)
		return
	}
	defer up.Close()
	la := up.LocalAddr().(*net.TCPAddr)
	reply := append([]byte{5, 0, 0, 1}, la.IP.To4()...)
	reply = binary.BigEndian.AppendUint16(reply, uint16(la.Port))
	c.Write(reply)
	pipe(c, c, up)
}

func TestDialHTTPProxy(t *testing.T) {
	t.Parallel()
	echo := startEcho(t, "tcp", "127.0.0.1:0")
	px := startConnectProxy(t, "", nil)
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, echo), &handshake.Options{Proxy: "http://" + px.Addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	if got, want := px.requests(), []string{"CONNECT " + echo + " HTTP/1.1\r\nHost: " + echo + "\r\n\r\n"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("proxy saw %q; want %q", got, want)
	}
	want := []string{
		"Proxy CONNECT " + echo + " via http://" + px.Addr,
		"> CONNECT " + echo + " HTTP/1.1",
		"> Host: " + echo,
		">",
		"< HTTP/1.1 200 Connection established",
		"<",
	}
	if len(info.Notes) != len(want)+1 || !strings.HasPrefix(info.Notes[0], "Connected to "+px.Addr+" (127.0.0.1) in ") {
		t.Fatalf("notes %q; want the proxy connection then %q", info.Notes, want)
	}
	for i, w := range want {
		if info.Notes[i+1] != w {
			t.Errorf("note %d = %q; want %q", i+1, info.Notes[i+1], w)
		}
	}
	if info.RemoteAddr != px.Addr {
		t.Errorf("RemoteAddr %q; want the proxy's %q", info.RemoteAddr, px.Addr)
	}
}

func TestDialHTTPProxyAuth(t *testing.T) {
	t.Parallel()
	echo := startEcho(t, "tcp", "127.0.0.1:0")
	for _, show := range []bool{false, true} {
		px := startConnectProxy(t, "", nil)
		conn, info, err := handshake.Dial(context.Background(), wsTarget(t, echo), &handshake.Options{Proxy: "http://user:pass@" + px.Addr, ShowSecrets: show, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if reqs := px.requests(); len(reqs) != 1 || !strings.Contains(reqs[0], "\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n") {
			t.Errorf("proxy saw %q; want Basic credentials of user:pass", reqs)
		}
		notes := strings.Join(info.Notes, "\n")
		if show {
			if !strings.Contains(notes, "> Proxy-Authorization: Basic dXNlcjpwYXNz") || !strings.Contains(notes, "via http://user:pass@") {
				t.Errorf("--show-secrets notes %q; want the credentials shown", notes)
			}
		} else if strings.Contains(notes, "dXNlcjpwYXNz") || strings.Contains(notes, "pass@") || !strings.Contains(notes, "> Proxy-Authorization: <redacted 18 bytes>") {
			t.Errorf("notes %q; want the credentials redacted", notes)
		}
	}
}

func TestDialProxyRefused(t *testing.T) {
	t.Parallel()
	px := startConnectProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", nil)
	_, info, err := handshake.Dial(context.Background(), wsTarget(t, "127.0.0.1:9"), &handshake.Options{Proxy: px.Addr, Timeout: 5 * time.Second})
	var de *handshake.DialError
	if !errors.As(err, &de) || de.Stage != "proxy" {
		t.Fatalf("error %v; want a proxy DialError", err)
	}
	for _, s := range []string{`"407 Proxy Authentication Required"`, "127.0.0.1:9", "http://user:password@host:port"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if notes := strings.Join(info.Notes, "\n"); !strings.Contains(notes, "< HTTP/1.1 407 Proxy Authentication Required\n< Proxy-Authenticate: Basic realm=\"x\"") {
		t.Errorf("notes %q lack the proxy's answer", notes)
	}
}

// TestDialProxyEarlyBytes: bytes the proxy sends right after its head
// reach the caller, and control bytes in its head are escaped in notes.
func TestDialProxyEarlyBytes(t *testing.T) {
	t.Parallel()
	echo := startEcho(t, "tcp", "127.0.0.1:0")
	px := startConnectProxy(t, "HTTP/1.1 200 OK\r\nX-Evil: \x1b[31mred\r\n\r\nearly", nil)
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, echo), &handshake.Options{Proxy: px.Addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 5)
	if _, err := io.ReadFull(conn, b); err != nil || string(b) != "early" {
		t.Fatalf("first bytes %q, %v; want \"early\"", b, err)
	}
	roundTrip(t, conn)
	if notes := strings.Join(info.Notes, "\n"); !strings.Contains(notes, `< X-Evil: \x1b[31mred`) || strings.Contains(notes, "\x1b") {
		t.Errorf("notes %q; want ESC shown as \\x1b", notes)
	}
}

func TestDialHTTPSProxyToWSS(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	srv := startTLSServer(t, goodServerConfig(p))
	px := startConnectProxy(t, "", goodServerConfig(p))
	conn, info, err := handshake.Dial(context.Background(), wssTarget(t, "localhost", srv.Addr), &handshake.Options{Proxy: "https://" + px.Addr, CACert: p.CAFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	_, port, _ := net.SplitHostPort(srv.Addr)
	if reqs := px.requests(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "CONNECT localhost:"+port+" HTTP/1.1\r\n") {
		t.Errorf("proxy saw %q; want CONNECT localhost:%s", reqs, port)
	}
	notes := strings.Join(info.Notes, "\n")
	if !strings.Contains(notes, "Proxy TLS TLS 1.3") || !strings.Contains(notes, "TLS handshake in ") || info.TLSInfo == nil || info.TLSInfo.ServerName != "localhost" {
		t.Errorf("notes %q, TLSInfo %+v; want proxy TLS then server TLS for localhost", notes, info.TLSInfo)
	}
}

func TestDialSOCKS5(t *testing.T) {
	t.Parallel()
	echo := startEcho(t, "tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(echo)
	s := startSOCKS(t, false)
	var dialed []string
	var mu sync.Mutex
	nd := &net.Dialer{}
	o := &handshake.Options{
		Proxy:   "socks5://" + s.Addr,
		Timeout: 5 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			return nd.DialContext(ctx, network, addr)
		},
	}
	// The proxy resolves the name: wsdbg must not look up "localhost".
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, "localhost:"+port), o)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	if got := s.requests(); len(got) != 1 || got[0] != "localhost:"+port {
		t.Errorf("SOCKS server saw %q; want [localhost:%s]", got, port)
	}
	if len(dialed) != 1 || dialed[0] != s.Addr {
		t.Errorf("dialed %q; want only the proxy through Options.DialContext", dialed)
	}
	if len(info.Notes) < 2 || info.Notes[1] != "Proxy SOCKS5 CONNECT localhost:"+port+" via socks5://"+s.Addr {
		t.Errorf("notes %q", info.Notes)
	}
}

func TestDialSOCKS5Refused(t *testing.T) {
	t.Parallel()
	s := startSOCKS(t, true)
	_, _, err := handshake.Dial(context.Background(), wsTarget(t, "127.0.0.1:9"), &handshake.Options{Proxy: "socks5://" + s.Addr, Timeout: 5 * time.Second})
	var de *handshake.DialError
	want := "proxy: SOCKS5 proxy socks5://" + s.Addr + " could not connect to 127.0.0.1:9: the proxy reached the host, which refused the connection (SOCKS5 reply 5, RFC 1928 §6); is a server listening on the URL's port? Check the port in the URL"
	if !errors.As(err, &de) || de.Stage != "proxy" || err.Error() != want {
		t.Fatalf("error\n %v\nwant\n %s", err, want)
	}
}

// TestProxyRefusedAdvice: a proxy that refuses the TCP connection is
// blamed, with the flag or variable it came from, not the URL's port; the
// diagnostic cites the proxy's RFC, not RFC 6455 §4.1.
func TestProxyRefusedAdvice(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		o    handshake.Options
		want string
		rfc  string
	}{
		{handshake.Options{Proxy: "http://" + closed}, "is the proxy running? Check the address given to --proxy, or connect directly with --proxy \"\"", "RFC 9110 §9.3.6"},
		{handshake.Options{Getenv: func(k string) string {
			if k == "HTTP_PROXY" {
				return "http://" + closed
			}
			return ""
		}}, "is the proxy running? Check the proxy variable HTTP_PROXY, or connect directly with --proxy \"\"", "RFC 9110 §9.3.6"},
		{handshake.Options{Proxy: "socks5://" + closed}, "Check the address given to --proxy", "RFC 1928 §6"},
	} {
		o := tc.o
		o.URL, o.Timeout = "ws://127.0.0.1:9/", 5*time.Second
		r, err := handshake.Do(context.Background(), &o)
		if err != nil {
			t.Fatal(err)
		}
		var d handshake.Diagnostic
		for _, x := range r.Diagnostics {
			if x.ID == "connect-failed" {
				d = x
			}
		}
		if !strings.Contains(d.Message, tc.want) || strings.Contains(d.Message, "port in the URL") || d.RFC != tc.rfc {
			t.Errorf("%+v: diagnostic %+v; want %q and %s", tc.o, d, tc.want, tc.rfc)
		}
	}
}

// TestDialProxyEnvironment checks which variable picks the proxy.
func TestDialProxyEnvironment(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	echo := startEcho(t, "tcp", "127.0.0.1:0")
	tlsEcho := startTLSServer(t, goodServerConfig(p))
	a := startConnectProxy(t, "", nil)
	b := startConnectProxy(t, "", nil)
	s := startSOCKS(t, false)
	A, B, S := "http://"+a.Addr, "http://"+b.Addr, "socks5://"+s.Addr
	tests := []struct {
		name   string
		secure bool
		proxy  string // --proxy
		env    map[string]string
		want   string // "A", "B", "S" or "direct"
	}{
		{"none", false, "", nil, "direct"},
		{"http_proxy", false, "", map[string]string{"http_proxy": A}, "A"},
		{"HTTP_PROXY", false, "", map[string]string{"HTTP_PROXY": A}, "A"},
		{"lower case first", false, "", map[string]string{"http_proxy": A, "HTTP_PROXY": B}, "A"},
		{"no scheme", false, "", map[string]string{"http_proxy": a.Addr}, "A"},
		{"https_proxy not for ws", false, "", map[string]string{"https_proxy": A}, "direct"},
		{"https_proxy for wss", true, "", map[string]string{"https_proxy": A, "http_proxy": B}, "A"},
		{"HTTPS_PROXY for wss", true, "", map[string]string{"HTTPS_PROXY": B}, "B"},
		{"http_proxy not for wss", true, "", map[string]string{"http_proxy": A}, "direct"},
		{"ALL_PROXY", false, "", map[string]string{"ALL_PROXY": B}, "B"},
		{"all_proxy socks", true, "", map[string]string{"all_proxy": S}, "S"},
		{"scheme variable first", false, "", map[string]string{"http_proxy": A, "ALL_PROXY": B}, "A"},
		{"NO_PROXY ip", false, "", map[string]string{"http_proxy": A, "NO_PROXY": "10.0.0.1, 127.0.0.1"}, "direct"},
		{"no_proxy star", true, "", map[string]string{"https_proxy": A, "no_proxy": "*"}, "direct"},
		{"NO_PROXY cidr", false, "", map[string]string{"http_proxy": A, "NO_PROXY": "127.0.0.0/8"}, "direct"},
		{"loopback proxied", false, "", map[string]string{"http_proxy": A, "NO_PROXY": "localhost"}, "A"},
		{"--proxy wins", false, B, map[string]string{"http_proxy": A, "NO_PROXY": "*"}, "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &handshake.Options{
				Proxy:   tt.proxy,
				Timeout: 5 * time.Second,
				CACert:  p.CAFile,
				Getenv:  func(k string) string { return tt.env[k] },
			}
			tgt := wsTarget(t, echo)
			if tt.secure {
				tgt = wssTarget(t, "127.0.0.1", tlsEcho.Addr)
			}
			na, nb, ns := len(a.requests()), len(b.requests()), len(s.requests())
			conn, info, err := handshake.Dial(context.Background(), tgt, o)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			roundTrip(t, conn)
			got := "direct"
			switch {
			case len(a.requests()) > na:
				got = "A"
			case len(b.requests()) > nb:
				got = "B"
			case len(s.requests()) > ns:
				got = "S"
			}
			if got != tt.want {
				t.Errorf("went %s; want %s (notes %q)", got, tt.want, info.Notes)
			}
			if got != "direct" && tt.proxy == "" {
				if n := strings.Join(info.Notes, "\n"); !strings.Contains(n, "(from ") {
					t.Errorf("notes %q do not name the variable", n)
				}
			}
		})
	}
}
