package handshake_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// fixedKey is the RFC 6455 §1.3 sample key.
const fixedKey = "dGhlIHNhbXBsZSBub25jZQ=="

// TestRequestShaping checks the bytes a server receives for each way of
// shaping the request.
func TestRequestShaping(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"\r\n"))
	host := s.addr
	tests := []struct {
		name string
		o    handshake.Options
		path string
		want string // request head, with {host} for the server's host:port
	}{
		{
			name: "defaults in order",
			o:    handshake.Options{Key: fixedKey},
			path: "/chat?room=1&x=%20",
			want: "GET /chat?room=1&x=%20 HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		},
		{
			name: "protocols, extensions, deflate, origin",
			o: handshake.Options{Key: fixedKey, Protocols: []string{"chat", "superchat"}, Extensions: []string{"x-foo; a=1"},
				Deflate: true, Origin: "http://example.com", Version: "8"},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 8\r\n" +
				"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: x-foo; a=1, permessage-deflate; client_max_window_bits\r\nOrigin: http://example.com\r\n\r\n",
		},
		{
			name: "method and request-line version",
			o:    handshake.Options{Key: fixedKey, Method: "POST", Proto: "HTTP/1.0"},
			want: "POST / HTTP/1.0\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		},
		{
			name: "split headers",
			o:    handshake.Options{Key: fixedKey, Protocols: []string{"a", "b"}, Extensions: []string{"x-foo"}, Deflate: true, SplitHeaders: true},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\n" +
				"Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\nSec-WebSocket-Extensions: x-foo\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
		},
		{
			name: "replace in place, several lines, append others",
			o: handshake.Options{Key: fixedKey, Headers: []string{
				"X-Trace: 1", "connection: keep-alive, Upgrade", "Sec-WebSocket-Version: 8", "Sec-WebSocket-Version: 13", "X-Trace: 2", "host: example.com",
			}},
			want: "GET / HTTP/1.1\r\nhost: example.com\r\nUpgrade: websocket\r\nconnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\n" +
				"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Version: 13\r\nX-Trace: 1\r\nX-Trace: 2\r\n\r\n",
		},
		{
			name: "replace split lines with one",
			o:    handshake.Options{Key: fixedKey, Protocols: []string{"a", "b"}, SplitHeaders: true, Headers: []string{"Sec-WebSocket-Protocol: c"}},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: c\r\n\r\n",
		},
		{
			name: "default name not present is appended",
			o:    handshake.Options{Key: fixedKey, Headers: []string{"Origin: https://a.example", "Sec-WebSocket-Protocol: p"}},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\nOrigin: https://a.example\r\nSec-WebSocket-Protocol: p\r\n\r\n",
		},
		{
			name: "omit",
			o:    handshake.Options{Key: fixedKey, Omit: []string{"sec-websocket-key", "CONNECTION"}, Origin: "o"},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nOrigin: o\r\n\r\n",
		},
		{
			name: "omit then add",
			o:    handshake.Options{Key: fixedKey, Omit: []string{"Upgrade"}, Headers: []string{"Upgrade: WebSocket"}},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\nUpgrade: WebSocket\r\n\r\n",
		},
		{
			name: "random key from Options.Rand",
			o:    handshake.Options{Rand: zeroRand{}},
			want: "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			o.URL = s.url(tt.path)
			o.Lenient = true
			res := run(t, &o)
			want := strings.ReplaceAll(tt.want, "{host}", host)
			if got := string(res.Request.Raw); got != want {
				t.Errorf("request as sent:\n%q\nwant\n%q", got, want)
			}
			if !receivedOnce(s, want) {
				t.Errorf("the server did not receive %q", want)
			}
		})
	}
}

// receivedOnce reports whether the server received exactly want.
func receivedOnce(s *rawServer, want string) bool {
	for _, g := range s.got() {
		if string(g) == want {
			return true
		}
	}
	return false
}

func TestUserinfoBecomesBasicAuth(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"\r\n"))
	res := run(t, &handshake.Options{URL: "ws://alice:s%3Acret@" + s.addr + "/", Key: fixedKey})
	// alice:s:cret
	want := "Authorization: Basic YWxpY2U6czpjcmV0\r\n"
	if !strings.Contains(string(res.Request.Raw), want) {
		t.Fatalf("request %q lacks %q", res.Request.Raw, want)
	}
	if !receivedOnce(s, string(res.Request.Raw)) {
		t.Error("server did not receive the request as recorded")
	}
	if h, _ := res.Request.Get("Host"); h != s.addr {
		t.Errorf("Host = %q, want %q without userinfo", h, s.addr)
	}
}

func TestIPv6Host(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	ln.Close()
	s := startRawOn(t, "[::1]:0", write(ok101+"\r\n"))
	_, port, _ := net.SplitHostPort(s.addr)
	res := run(t, &handshake.Options{URL: "ws://[::1]:" + port + "/v6", Key: fixedKey})
	if h, _ := res.Request.Get("Host"); h != "[::1]:"+port {
		t.Errorf("Host = %q, want [::1]:%s", h, port)
	}
	if res.Class != handshake.ClassOK {
		t.Errorf("Class = %v, diagnostics %v", res.Class, idsOf(res.Diagnostics))
	}
}

func TestRequestFile(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"\r\n"))
	// Odd on purpose: bare LF, lower-case names, a custom key, extra spaces.
	file := "GET /file HTTP/1.1\nhost:  example.org \r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: " + fixedKey + "\r\nsec-websocket-version: 13\r\n\r\n"
	path := filepath.Join(t.TempDir(), "req.txt")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	res := run(t, &handshake.Options{URL: s.url("/ignored"), RequestFile: path, Headers: []string{"X-Not: sent"}})
	if string(res.Request.Raw) != file {
		t.Errorf("Request.Raw = %q, want the file", res.Request.Raw)
	}
	if !receivedOnce(s, file) {
		t.Errorf("server received %q, want the file byte for byte", s.got())
	}
	if res.Accept == nil || res.Accept.Key != fixedKey || !res.Accept.OK {
		t.Errorf("accept check = %+v, want the file's key", res.Accept)
	}
	d := diagOf(t, res.Diagnostics, "request-bare-lf")
	if d.Severity != handshake.SevWarning || !strings.Contains(d.Message, "1 of 7 lines") {
		t.Errorf("request-bare-lf = %+v", d)
	}
	if res.Class != handshake.ClassOK {
		t.Errorf("Class = %v, want OK (request warnings do not fail)", res.Class)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "-H, --omit") {
		t.Errorf("notes %q do not say that -H does not apply", res.Notes)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    handshake.Options
		want string
	}{
		{"bad scheme", handshake.Options{URL: "ftp://x/"}, `unsupported scheme "ftp"`},
		{"no host", handshake.Options{URL: "ws:///path"}, "no host"},
		{"bad port", handshake.Options{URL: "ws://host:http/"}, "port"},
		{"port out of range", handshake.Options{URL: "ws://host:65536/"}, `bad port "65536"`},
		{"empty", handshake.Options{URL: ""}, "empty URL"},
		{"one slash", handshake.Options{URL: "ws:/127.0.0.1:17310/"}, `parse URL: "ws:/127.0.0.1:17310/": the scheme "ws:" needs "//" before the host; write ws://127.0.0.1:17310/`},
		{"no slashes", handshake.Options{URL: "wss:127.0.0.1:17311"}, `parse URL: "wss:127.0.0.1:17311": the scheme "wss:" needs "//" before the host; write wss://127.0.0.1:17311`},
		{"upper case", handshake.Options{URL: "HTTP:/h/"}, `the scheme "HTTP:" needs "//" before the host; write http://h/`},
		{"bad header", handshake.Options{URL: "ws://127.0.0.1:1/", Headers: []string{"NoColon"}}, `"NoColon" is not "Name: value"`},
		{"missing file", handshake.Options{URL: "ws://127.0.0.1:1/", RequestFile: "/nonexistent/req"}, "read request file"},
	}
	for _, tt := range tests {
		_, err := handshake.Do(t.Context(), &tt.o)
		var ue *handshake.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a *UsageError mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, url, hostHeader, hostPort, target string }{
		{"ws://example.com/chat", "ws://example.com/chat", "example.com", "example.com:80", "/chat"},
		{"wss://example.com:443", "wss://example.com:443", "example.com", "example.com:443", "/"},
		{"http://example.com:8080/a?b=c#frag", "ws://example.com:8080/a?b=c", "example.com:8080", "example.com:8080", "/a?b=c"},
		{"HTTPS://example.com:80/", "wss://example.com:80/", "example.com:80", "example.com:80", "/"},
		{"localhost:9000/x", "ws://localhost:9000/x", "localhost:9000", "localhost:9000", "/x"},
		{"example.com", "ws://example.com", "example.com", "example.com:80", "/"},
		{"ws://[::1]:9000/", "ws://[::1]:9000/", "[::1]:9000", "[::1]:9000", "/"},
		{"wss://[2001:db8::1]/", "wss://[2001:db8::1]/", "[2001:db8::1]", "[2001:db8::1]:443", "/"},
		{"ws://u:p@h/p%20q?", "ws://u:p@h/p%20q?", "h", "h:80", "/p%20q?"},
		{"ws://h/a b?q=c d&e=\"f\"", "ws://h/a%20b?q=c%20d&e=%22f%22", "h", "h:80", "/a%20b?q=c%20d&e=%22f%22"},
		{"ws://h/?q=é", "ws://h/?q=%C3%A9", "h", "h:80", "/?q=%C3%A9"},
		{"ws:8080", "ws://ws:8080", "ws:8080", "ws:8080", "/"},
	}
	for _, tt := range tests {
		u, err := handshake.ParseURL(tt.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if u.String() != tt.url || handshake.HostHeader(u) != tt.hostHeader || handshake.HostPort(u) != tt.hostPort || handshake.RequestTarget(u) != tt.target {
			t.Errorf("ParseURL(%q) = %s, Host %q, addr %q, target %q; want %s, %q, %q, %q", tt.in, u, handshake.HostHeader(u), handshake.HostPort(u), handshake.RequestTarget(u), tt.url, tt.hostHeader, tt.hostPort, tt.target)
		}
	}
}

// TestURLNote: a URL whose path or query had to be percent-encoded gets a
// note saying what is sent instead; one sent as typed gets none.
func TestURLNote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"ws://h/a b?q=c d", `Request-target /a%20b?q=c%20d: the URL's /a b?q=c d is sent percent-encoded: a request line carries no spaces, quotes or non-ASCII bytes (RFC 3986 §2.1, RFC 9112 §3)`},
		{"ws://h?q=c d", `Request-target /?q=c%20d: the URL's /?q=c d is sent percent-encoded: a request line carries no spaces, quotes or non-ASCII bytes (RFC 3986 §2.1, RFC 9112 §3)`},
		{"ws://h/chat?room=1&x=%20", ""},
		{"ws://h", ""},
		{"h:80/x#frag", ""},
	} {
		u, err := handshake.ParseURL(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := handshake.URLNote(tt.in, u); got != tt.want {
			t.Errorf("URLNote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestUserAgent: Options.UserAgent goes after the WebSocket fields; -H
// replaces it in place and --omit leaves it out (SPEC §1.1).
func TestUserAgent(t *testing.T) {
	t.Parallel()
	u, _ := handshake.ParseURL("ws://h/")
	base := "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + fixedKey + "\r\nSec-WebSocket-Version: 13\r\n"
	for _, tt := range []struct {
		name string
		o    handshake.Options
		want string
	}{
		{"default", handshake.Options{Key: fixedKey, UserAgent: "wsdbg/v1.0.0", Origin: "http://o"}, base + "Origin: http://o\r\nUser-Agent: wsdbg/v1.0.0\r\n\r\n"},
		{"-H replaces", handshake.Options{Key: fixedKey, UserAgent: "wsdbg/v1.0.0", Headers: []string{"X-A: 1", "user-agent: curl/8"}}, base + "user-agent: curl/8\r\nX-A: 1\r\n\r\n"},
		{"--omit", handshake.Options{Key: fixedKey, UserAgent: "wsdbg/v1.0.0", Omit: []string{"user-agent"}}, base + "\r\n"},
		{"none", handshake.Options{Key: fixedKey}, base + "\r\n"},
	} {
		got, err := handshake.BuildRequest(u, &tt.o)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: %v\n got %q\nwant %q", tt.name, err, got, tt.want)
		}
	}
}
