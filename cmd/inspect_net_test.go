package cmd_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

// inspectCA writes a CA certificate to a PEM file and returns it with a
// server certificate for localhost and loopback that it signed.
func inspectCA(t *testing.T) (caFile string, server tls.Certificate) {
	t.Helper()
	ca, srv := wstest.LoopbackCA(t)
	return ca.CertFile(t), srv.TLS
}

func TestInspectTLS(t *testing.T) {
	t.Parallel()
	caFile, cert := inspectCA(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	addr, saw := serveInspectPeer(t, ln, upgradeReply(""))
	_, port, _ := net.SplitHostPort(addr)
	url := "wss://localhost:" + port + "/tls"
	tests := []struct {
		name string
		args []string
		code int
		out  []string
	}{
		{"verified", []string{"--cacert", caFile}, 0, []string{"* TLS handshake in ", "ALPN http/1.1", `server name "localhost"`, "✓ accept-ok"}},
		{"unknown authority", nil, 3, []string{"✗ tls-verify", `"CN=wsdbg test CA"`, "--cacert"}},
		{"insecure", []string{"-k"}, 0, []string{"! tls-insecure", "would have failed", "✓ accept-ok"}},
		{"wrong sni", []string{"--cacert", caFile, "--sni", "other.test"}, 3, []string{"✗ tls-verify", `not "other.test"`}},
	}
	for _, tt := range tests {
		code, out, errOut := runInspectMain(t, nil, false, append(append([]string{"inspect"}, tt.args...), url)...)
		if code != tt.code {
			t.Fatalf("%s: exit %d; want %d\n%s%s", tt.name, code, tt.code, out, errOut)
		}
		for _, s := range tt.out {
			if !strings.Contains(out, s) {
				t.Errorf("%s: stdout lacks %q:\n%s", tt.name, s, out)
			}
		}
		if tt.code == 0 {
			select {
			case s := <-saw:
				if !isCloseFrame1000(s.After) {
					t.Errorf("%s: server got % x after the head; want a close frame 1000", tt.name, s.After)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: server saw no request", tt.name)
			}
		}
	}

	code, out, _ := runInspectMain(t, nil, false, "inspect", "--json", "--cacert", caFile, url)
	var doc struct {
		TLS *struct {
			Version, Cipher, ALPN string
			ServerName            string `json:"server_name"`
			Certificates          []struct {
				Subject, Issuer string
				NotAfter        string `json:"not_after"`
			}
		}
		Timing struct {
			TLS *float64 `json:"tls_ms"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if doc.TLS == nil || doc.TLS.Version != "TLS 1.3" || doc.TLS.ALPN != "http/1.1" || doc.TLS.ServerName != "localhost" || !strings.HasPrefix(doc.TLS.Cipher, "TLS_") {
		t.Fatalf("tls %+v", doc.TLS)
	}
	if c := doc.TLS.Certificates; len(c) != 1 || c[0].Subject != "CN=localhost" || c[0].Issuer != "CN=wsdbg test CA" || c[0].NotAfter == "" {
		t.Errorf("certificates %+v", c)
	}
	if doc.Timing.TLS == nil {
		t.Errorf("tls_ms is null over TLS")
	}
}

// startInspectProxy starts an HTTP CONNECT proxy that answers reply when it is
// not empty and otherwise tunnels; it counts the CONNECT requests.
func startInspectProxy(t *testing.T, reply string) (addr string, count func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	wstest.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for l := line; l != "\r\n" && err == nil; l, err = br.ReadString('\n') {
		}
		mu.Lock()
		n++
		mu.Unlock()
		if reply != "" {
			io.WriteString(c, reply)
			return
		}
		f := strings.Fields(line)
		up, err := net.Dial("tcp", f[1])
		if err != nil {
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { io.Copy(up, br); up.Close() }()
		io.Copy(c, up)
	})
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestInspectProxy(t *testing.T) {
	t.Parallel()
	addr, _ := startInspectPeer(t, upgradeReply(""))
	px, count := startInspectProxy(t, "")
	refusing, _ := startInspectProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
	url := "ws://" + addr + "/"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		proxied bool
		out     []string
	}{
		{"--proxy", nil, []string{"--proxy", "http://" + px}, 0, true, []string{"* Proxy CONNECT " + addr + " via http://" + px, "* > CONNECT " + addr + " HTTP/1.1", "* < HTTP/1.1 200 Connection established"}},
		{"http_proxy", map[string]string{"http_proxy": px}, nil, 0, true, []string{"(from http_proxy)"}},
		{"NO_PROXY", map[string]string{"HTTP_PROXY": px, "NO_PROXY": "127.0.0.1"}, nil, 0, false, []string{"* Not using proxy"}},
		{"--proxy empty", map[string]string{"http_proxy": px}, []string{"--proxy", ""}, 0, false, nil},
		{"refused", nil, []string{"--proxy", "http://" + refusing}, 3, false, []string{"* < HTTP/1.1 407 Proxy Authentication Required", "407"}},
	}
	for _, tt := range tests {
		before := count()
		code, out, errOut := runInspectMain(t, tt.env, false, append(append([]string{"inspect"}, tt.args...), url)...)
		if code != tt.code {
			t.Fatalf("%s: exit %d; want %d\n%s%s", tt.name, code, tt.code, out, errOut)
		}
		if got := count() > before; got != tt.proxied {
			t.Errorf("%s: went through the proxy: %v; want %v\n%s", tt.name, got, tt.proxied, out)
		}
		for _, s := range tt.out {
			if !strings.Contains(out, s) {
				t.Errorf("%s: stdout lacks %q:\n%s", tt.name, s, out)
			}
		}
	}
}

func TestInspectUnix(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_, saw := serveInspectPeer(t, ln, upgradeReply(""))
	code, out, errOut := runInspectMain(t, nil, false, "inspect", "--unix", path, "ws://wsdbg.test/chat")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "* Connected to "+path+" (unix socket)") {
		t.Errorf("stdout lacks the socket note:\n%s", out)
	}
	select {
	case s := <-saw:
		if h, _ := s.Req.Get("Host"); h != "wsdbg.test" || s.Req.Target != "/chat" {
			t.Errorf("server saw Host %q, target %q; want the URL's", h, s.Req.Target)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no request")
	}
}

func TestInspectLocation(t *testing.T) {
	t.Parallel()
	final, _ := startInspectPeer(t, upgradeReply(""))
	first, _ := startInspectPeer(t, fixedReply("HTTP/1.1 302 Found\r\nLocation: ws://"+final+"/next\r\nContent-Length: 0\r\n\r\n"))
	url := "ws://" + first + "/start"

	code, out, _ := runInspectMain(t, nil, false, "inspect", url)
	if code != 4 || !strings.Contains(out, "< Location: ws://"+final+"/next") {
		t.Fatalf("without --location: exit %d; want 4 showing the Location\n%s", code, out)
	}

	code, out, _ = runInspectMain(t, nil, false, "inspect", "--location", url)
	if code != 0 {
		t.Fatalf("--location: exit %d\n%s", code, out)
	}
	for _, s := range []string{"> GET /start HTTP/1.1", "< HTTP/1.1 302 Found", "i redirect", "> GET /next HTTP/1.1", "< HTTP/1.1 101 Switching Protocols"} {
		if !strings.Contains(out, s) {
			t.Errorf("--location: stdout lacks %q:\n%s", s, out)
		}
	}
	if strings.Index(out, "302 Found") > strings.Index(out, "101 Switching") {
		t.Errorf("hops out of order:\n%s", out)
	}

	code, out, _ = runInspectMain(t, nil, false, "inspect", "--location", "--json", url)
	var doc struct {
		URL       string
		Redirects []struct {
			URL      string
			Response struct{ Status int }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if doc.URL != "ws://"+final+"/next" || len(doc.Redirects) != 1 || doc.Redirects[0].URL != url || doc.Redirects[0].Response.Status != 302 {
		t.Errorf("document %+v", doc)
	}
}
