package handshake_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// startEcho starts a loopback TCP (network "tcp", addr "127.0.0.1:0") or
// Unix echo server and returns its address.
func startEcho(t testing.TB, network, addr string) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	wstest.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.Copy(c, c)
	})
	return ln.Addr().String()
}

// wsTarget is the Target of ws://hostport/ as the request builder makes it.
func wsTarget(t testing.TB, hostport string) handshake.Target {
	t.Helper()
	u, err := url.Parse("ws://" + hostport + "/")
	if err != nil {
		t.Fatal(err)
	}
	return handshake.Target{URL: u, Host: u.Host, ServerName: u.Hostname()}
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

func TestDialTCP(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, "tcp", "127.0.0.1:0")
	o := &handshake.Options{Now: fakeClock(400 * time.Microsecond)}
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, addr), o)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	want := "Connected to " + addr + " (127.0.0.1) in 0.4ms"
	if len(info.Notes) != 1 || info.Notes[0] != want {
		t.Errorf("notes %q; want [%q]", info.Notes, want)
	}
	if info.DNS != 0 || info.Connect != 400*time.Microsecond || info.TLS != -1 || info.TLSInfo != nil {
		t.Errorf("DNS %v, connect %v, TLS %v, TLSInfo %v; want 0, 400µs, -1, nil", info.DNS, info.Connect, info.TLS, info.TLSInfo)
	}
	if info.RemoteAddr != addr {
		t.Errorf("RemoteAddr %q; want %q", info.RemoteAddr, addr)
	}
}

// TestDialIPv6 connects to an IPv6 literal, directly and through a proxy.
func TestDialIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	addr := startEcho(t, "tcp", "[::1]:0")
	px := startConnectProxy(t, "", nil)
	for _, proxy := range []string{"", "http://" + px.Addr} {
		conn, info, err := handshake.Dial(context.Background(), wsTarget(t, addr), &handshake.Options{Proxy: proxy, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, conn)
		conn.Close()
		notes := strings.Join(info.Notes, "\n")
		if proxy == "" && !strings.HasPrefix(notes, "Connected to "+addr+" (::1) in ") {
			t.Errorf("notes %q", notes)
		}
		if proxy != "" && !strings.Contains(notes, "> CONNECT "+addr+" HTTP/1.1") {
			t.Errorf("notes %q; want CONNECT %s", notes, addr)
		}
	}
}

// TestDialLocalhost resolves a name first and times the lookup.
func TestDialLocalhost(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, "tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(addr)
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, "localhost:"+port), &handshake.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	if info.DNS < 0 {
		t.Errorf("DNS %v; want a measured lookup", info.DNS)
	}
	if len(info.Notes) == 0 || !strings.HasPrefix(info.Notes[0], "Connected to localhost:"+port+" (127.0.0.1) in ") {
		t.Errorf("notes %q; want Connected to localhost:%s (127.0.0.1)", info.Notes, port)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	refused := freeAddr(t)
	hang := func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	tests := []struct {
		name   string
		target handshake.Target
		opts   handshake.Options
		stage  string
		want   []string
	}{
		{"refused", wsTarget(t, refused), handshake.Options{}, "connect", []string{`"` + refused + `"`, "refused", "listening"}},
		{"timeout", wsTarget(t, "127.0.0.1:9"), handshake.Options{Timeout: 50 * time.Millisecond, DialContext: hang}, "connect", []string{`"127.0.0.1:9"`, "within 50ms", "--timeout"}},
		{"no such host", wsTarget(t, "no-such-host.invalid:80"), handshake.Options{Timeout: 5 * time.Second}, "dns", []string{`"no-such-host.invalid"`, "--connect-to"}},
		{"bad connect-to", wsTarget(t, "127.0.0.1:9"), handshake.Options{ConnectTo: "nocolon"}, "connect", []string{`"nocolon"`, "HOST:PORT"}},
		{"unix missing", wsTarget(t, "example.test"), handshake.Options{Unix: filepath.Join(t.TempDir(), "nope.sock")}, "connect", []string{"nope.sock", "--unix"}},
		{"bad proxy", wsTarget(t, "127.0.0.1:9"), handshake.Options{Proxy: "ftp://127.0.0.1:21"}, "proxy", []string{`"ftp"`, "socks5://"}},
		{"proxy down", wsTarget(t, "127.0.0.1:9"), handshake.Options{Proxy: "http://" + refused}, "proxy", []string{"proxy http://" + refused, "refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, info, err := handshake.Dial(context.Background(), tt.target, &tt.opts)
			if err == nil {
				conn.Close()
				t.Fatal("Dial succeeded; want an error")
			}
			var de *handshake.DialError
			if !errors.As(err, &de) || de.Stage != tt.stage {
				t.Fatalf("error %T %v; want *DialError at stage %q", err, err, tt.stage)
			}
			if info == nil {
				t.Fatal("nil DialInfo with the error")
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestDialUnix(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ws.sock")
	startEcho(t, "unix", path)
	var dialed []string
	var mu sync.Mutex
	nd := &net.Dialer{}
	o := &handshake.Options{
		Unix: path,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			return nd.DialContext(ctx, network, addr)
		},
	}
	conn, info, err := handshake.Dial(context.Background(), wsTarget(t, "example.test"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	if len(dialed) != 1 || dialed[0] != "unix "+path {
		t.Errorf("dialed %q; want only the socket", dialed)
	}
	if info.DNS != -1 || info.RemoteAddr != path || len(info.Notes) != 1 || !strings.HasPrefix(info.Notes[0], "Connected to "+path+" (unix socket) in ") {
		t.Errorf("DNS %v, RemoteAddr %q, notes %q", info.DNS, info.RemoteAddr, info.Notes)
	}
}

func TestDialConnectTo(t *testing.T) {
	t.Parallel()
	addr := startEcho(t, "tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name, url, connectTo string
	}{
		{"host and port", "example.invalid:80", addr},
		{"port only", "127.0.0.1:1", ":" + port},
		{"host only", "example.invalid:" + port, "127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, info, err := handshake.Dial(context.Background(), wsTarget(t, tt.url), &handshake.Options{ConnectTo: tt.connectTo, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			roundTrip(t, conn)
			if info.DNS != 0 || !strings.HasPrefix(info.Notes[0], "Connected to "+addr+" (127.0.0.1)") {
				t.Errorf("DNS %v, notes %q; want a direct connection to %s", info.DNS, info.Notes, addr)
			}
		})
	}
}

// TestDialConnectToTLS keeps the URL's name for SNI and verification while
// connecting to another address.
func TestDialConnectToTLS(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	srv := startTLSServer(t, goodServerConfig(p))
	tgt := wssTarget(t, "other.test", "127.0.0.1:443")
	conn, info, err := handshake.Dial(context.Background(), tgt, &handshake.Options{ConnectTo: srv.Addr, CACert: p.CAFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	roundTrip(t, conn)
	st, _ := srv.last()
	if st.ServerName != "other.test" || info.TLSInfo.ServerName != "other.test" {
		t.Errorf("server saw SNI %q, TLSInfo %q; want other.test", st.ServerName, info.TLSInfo.ServerName)
	}
}

// BenchmarkDial measures one Dial over loopback: plain TCP, TLS 1.3 with a
// full handshake (no session resumption), through an HTTP CONNECT proxy
// and through a SOCKS5 proxy. The connection carries one round trip.
func BenchmarkDial(b *testing.B) {
	p := testPKI(b)
	echo := startEcho(b, "tcp", "127.0.0.1:0")
	tlsEcho := startTLSServer(b, goodServerConfig(p))
	httpProxy := startConnectProxy(b, "", nil)
	socks := startSOCKS(b, false)
	cases := []struct {
		name string
		t    handshake.Target
		o    handshake.Options
	}{
		{"tcp", wsTarget(b, echo), handshake.Options{}},
		{"tls", wssTarget(b, "localhost", tlsEcho.Addr), handshake.Options{CACert: p.CAFile}},
		{"http-proxy", wsTarget(b, echo), handshake.Options{Proxy: "http://" + httpProxy.Addr}},
		{"socks5", wsTarget(b, echo), handshake.Options{Proxy: "socks5://" + socks.Addr}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				conn, _, err := handshake.Dial(context.Background(), bc.t, &bc.o)
				if err != nil {
					b.Fatal(err)
				}
				roundTrip(b, conn)
				conn.Close()
			}
		})
	}
}
