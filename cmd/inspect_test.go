package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// inspectPeerSaw is what an in-test server received: the request head and the
// bytes that followed it until the client closed the connection.
type inspectPeerSaw struct {
	Req   *handshake.Request
	After []byte
}

// startInspectPeer starts a loopback server that reads one request head per
// connection, answers with reply(req) and records what came next.
func startInspectPeer(t testing.TB, reply func(req *handshake.Request) string) (string, <-chan inspectPeerSaw) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveInspectPeer(t, ln, reply)
}

// serveInspectPeer serves reply on ln (TCP, TLS or Unix) until the test ends.
func serveInspectPeer(t testing.TB, ln net.Listener, reply func(req *handshake.Request) string) (string, <-chan inspectPeerSaw) {
	t.Helper()
	saw := make(chan inspectPeerSaw, 8)
	wstest.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		req, err := handshake.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, reply(req))
		after, _ := io.ReadAll(br)
		select {
		case saw <- inspectPeerSaw{Req: req, After: after}:
		default:
		}
	})
	return ln.Addr().String(), saw
}

// upgrade answers a correct 101, selecting the first offered subprotocol,
// with extra header lines ("Name: value\r\n" each).
func upgradeReply(extra string) func(*handshake.Request) string {
	return func(req *handshake.Request) string {
		key, _ := req.Get("Sec-WebSocket-Key")
		s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(key) + "\r\n"
		if p := req.Tokens("Sec-WebSocket-Protocol"); len(p) > 0 {
			s += "Sec-WebSocket-Protocol: " + p[0] + "\r\n"
		}
		return s + extra + "\r\n"
	}
}

func fixedReply(resp string) func(*handshake.Request) string {
	return func(*handshake.Request) string { return resp }
}

// inspectRand is a deterministic random source: 0, 1, 2, ...
type inspectRand struct{ n byte }

func (r *inspectRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// inspectIO returns an IO over buffers with a fake clock (100µs per reading),
// a counting random source, the given environment and terminal flags.
func inspectIO(env map[string]string, outTTY bool) (*cmd.IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	var mu sync.Mutex
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	nd := &net.Dialer{}
	return &cmd.IO{
		In:     strings.NewReader(""),
		Out:    &out,
		Err:    &errb,
		OutTTY: outTTY,
		ErrTTY: outTTY,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(100 * time.Microsecond)
			return now
		},
		Rand: &inspectRand{},
		Dial: nd.DialContext,
	}, &out, &errb
}

// runInspectMain runs wsdbg with args and returns the exit code and both streams.
func runInspectMain(t testing.TB, env map[string]string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	cmd.MainMu.Lock() // see cmd.MainMu
	defer cmd.MainMu.Unlock()
	o, out, errb := inspectIO(env, tty)
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { done <- cmd.MainContext(ctx, append([]string{"wsdbg"}, args...), o) }()
	select {
	case code := <-done:
		return code, out.String(), errb.String()
	case <-time.After(30 * time.Second):
		t.Fatalf("wsdbg %q did not finish", args)
		return 0, "", ""
	}
}

// isCloseFrame1000 reports whether b is one masked close frame with code
// 1000 (RFC 6455 §5.5.1).
func isCloseFrame1000(b []byte) bool {
	if len(b) != 8 || b[0] != 0x88 || b[1] != 0x82 {
		return false
	}
	return b[6]^b[2] == 0x03 && b[7]^b[3] == 0xE8
}

func inspectFreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestInspectExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     func(*handshake.Request) string // nil: nothing listens
		args      []string                        // after "inspect"; URL appended unless noURL
		noURL     bool
		code      int
		out       []string // substrings of stdout
		errOut    []string // substrings of stderr
		wantClose bool     // the server must receive a close frame 1000
	}{
		{name: "upgrade", reply: upgradeReply(""), args: []string{"-p", "chat", "-p", "superchat"}, code: 0, out: []string{"> GET /chat HTTP/1.1", "< HTTP/1.1 101 Switching Protocols", "✓ accept-ok", "✓ protocol-ok", "* Handshake 101 in "}, wantClose: true},
		{name: "refused 404", reply: fixedReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), code: 4, out: []string{"< HTTP/1.1 404 Not Found", "✗ status-not-101"}},
		{name: "426", reply: fixedReply("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n"), args: []string{"--ws-version", "8"}, code: 4, out: []string{"> Sec-WebSocket-Version: 8", "version-unsupported"}},
		{name: "bad accept", reply: fixedReply("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"), code: 5, out: []string{"✗ accept-mismatch", "Failing the connection"}},
		{name: "bad accept lenient", reply: fixedReply("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"), args: []string{"--lenient"}, code: 5, out: []string{"✗ accept-mismatch"}, wantClose: true},
		{name: "not http", reply: fixedReply("\x16\x03\x01\x00\x05hello"), code: 3, out: []string{"not-http"}},
		{name: "no server", code: 3, out: []string{"refused the connection"}},
		{name: "expect status", reply: upgradeReply(""), args: []string{"--expect-status", "200"}, code: 7, out: []string{"✗ expect-status"}, wantClose: true},
		{name: "expect status met", reply: upgradeReply(""), args: []string{"--expect-status", "101"}, code: 0, wantClose: true},
		{name: "expect protocol", reply: upgradeReply(""), args: []string{"--expect-protocol", "chat"}, code: 7, out: []string{"✗ expect-protocol"}, wantClose: true},
		{name: "expect extension", reply: upgradeReply(""), args: []string{"--deflate", "--expect-extension", "permessage-deflate"}, code: 7, out: []string{"> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "✗ expect-extension"}, wantClose: true},
		{name: "expect extension met", reply: upgradeReply("Sec-WebSocket-Extensions: permessage-deflate\r\n"), args: []string{"--deflate", "--expect-extension", "permessage-deflate"}, code: 0, out: []string{"✓ extension-ok"}, wantClose: true},
		{name: "deflate params", reply: upgradeReply("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n"), args: []string{"--deflate"}, code: 5, out: []string{"✗ extension-params"}},
		{name: "missing URL", noURL: true, code: 2, errOut: []string{"missing URL", "wsdbg inspect"}},
		{name: "two URLs", args: []string{"ws://a.test/"}, code: 2, errOut: []string{"one URL"}},
		{name: "bad URL", noURL: true, args: []string{"ftp://a.test/"}, code: 2, errOut: []string{`"ftp"`}},
		{name: "bad color", args: []string{"--color", "purple"}, code: 2, errOut: []string{`--color "purple"`}},
		{name: "bad timeout", args: []string{"--timeout", "0s"}, code: 2, errOut: []string{"--timeout 0s"}},
		{name: "bad header", args: []string{"-H", "NoColon"}, code: 2, errOut: []string{`-H "NoColon"`}},
		{name: "bad connect-to", args: []string{"--connect-to", "nowhere"}, code: 2, errOut: []string{`--connect-to "nowhere"`}},
		{name: "bad expect-status", args: []string{"--expect-status", "42"}, code: 2, errOut: []string{"--expect-status 42"}},
		{name: "bad proxy", args: []string{"--proxy", "ftp://p.test"}, code: 2, errOut: []string{"--proxy", `"ftp"`}},
		{name: "missing cacert", args: []string{"--cacert", "/nonexistent/ca.pem"}, code: 2, errOut: []string{`--cacert "/nonexistent/ca.pem"`}},
		{name: "missing request file", args: []string{"--request-file", "/nonexistent/req.txt"}, code: 2, errOut: []string{"/nonexistent/req.txt"}},
		{name: "unknown flag", args: []string{"--frobnicate"}, code: 2, errOut: []string{"frobnicate", "wsdbg inspect --help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := inspectFreePort(t)
			var saw <-chan inspectPeerSaw
			if tt.reply != nil {
				addr, saw = startInspectPeer(t, tt.reply)
			}
			args := append([]string{"inspect"}, tt.args...)
			if !tt.noURL {
				args = append(args, "ws://"+addr+"/chat")
			}
			code, out, errOut := runInspectMain(t, nil, false, args...)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, s := range tt.out {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.errOut {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if tt.code != 2 && errOut != "" {
				t.Errorf("stderr %q; want nothing (the transcript tells the story)", errOut)
			}
			if saw == nil {
				return
			}
			select {
			case s := <-saw:
				if got := isCloseFrame1000(s.After); got != tt.wantClose {
					t.Errorf("after the head the server got % x; close frame 1000: %v, want %v", s.After, got, tt.wantClose)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("server saw no request")
			}
		})
	}
}

func TestInspectJSON(t *testing.T) {
	t.Parallel()
	ok, _ := startInspectPeer(t, upgradeReply(""))
	refused, _ := startInspectPeer(t, fixedReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	tests := []struct {
		name string
		addr string
		args []string
		code int
		// check inspects the decoded document.
		check func(t *testing.T, doc map[string]any)
	}{
		{"upgrade", ok, []string{"-p", "chat", "-H", "Authorization: Bearer secret"}, 0, func(t *testing.T, doc map[string]any) {
			req := doc["request"].(map[string]any)
			if req["method"] != "GET" || req["target"] != "/chat" || !strings.HasPrefix(req["raw"].(string), "GET /chat HTTP/1.1\r\n") {
				t.Errorf("request %v", req)
			}
			hdrs := req["headers"].([]any)
			if first := hdrs[0].([]any); first[0] != "Host" || first[1] != strings.TrimPrefix(ok, "") {
				t.Errorf("first header %v; want [Host %s]", first, ok)
			}
			if strings.Contains(req["raw"].(string), "secret") {
				t.Errorf("raw request shows the Authorization value: %q", req["raw"])
			}
			resp := doc["response"].(map[string]any)
			if resp["status"] != 101.0 || resp["proto"] != "HTTP/1.1" || resp["reason"] != "Switching Protocols" {
				t.Errorf("response %v", resp)
			}
			acc := doc["accept"].(map[string]any)
			if acc["ok"] != true || acc["expected"] != acc["received"] || acc["key"] == "" {
				t.Errorf("accept %v", acc)
			}
			if neg := doc["negotiated"].(map[string]any); neg["protocol"] != "chat" {
				t.Errorf("negotiated %v", neg)
			}
			timing := doc["timing"].(map[string]any)
			if timing["tls_ms"] != nil || timing["connect_ms"] == nil || timing["total_ms"] == nil {
				t.Errorf("timing %v; want tls_ms null, connect_ms and total_ms numbers", timing)
			}
			if doc["tls"] != nil || len(doc["redirects"].([]any)) != 0 {
				t.Errorf("tls %v, redirects %v; want null and []", doc["tls"], doc["redirects"])
			}
		}},
		{"refused", refused, nil, 4, func(t *testing.T, doc map[string]any) {
			if resp := doc["response"].(map[string]any); resp["status"] != 404.0 {
				t.Errorf("response %v", resp)
			}
			if doc["accept"] != nil {
				t.Errorf("accept %v; want null without a 101", doc["accept"])
			}
		}},
		{"no response", inspectFreePort(t), nil, 3, func(t *testing.T, doc map[string]any) {
			if doc["response"] != nil || doc["request"] != nil {
				t.Errorf("response %v, request %v; want null", doc["response"], doc["request"])
			}
			diags, _ := doc["diagnostics"].([]any)
			if len(diags) != 1 {
				t.Fatalf("diagnostics %v; want one saying why", diags)
			}
			d := diags[0].(map[string]any)
			if d["id"] != "connect-failed" || d["severity"] != "error" || !strings.Contains(d["message"].(string), "refused") {
				t.Errorf("diagnostic %v; want connect-failed naming the refusal", d)
			}
		}},
		{"expectation", ok, []string{"--expect-protocol", "chat"}, 7, func(t *testing.T, doc map[string]any) {
			var ids []string
			for _, d := range doc["diagnostics"].([]any) {
				m := d.(map[string]any)
				ids = append(ids, m["id"].(string))
				if m["id"] == "expect-protocol" && (m["severity"] != "error" || m["rfc"] == "") {
					t.Errorf("diagnostic %v", m)
				}
			}
			if !strings.Contains(strings.Join(ids, " "), "expect-protocol") {
				t.Errorf("diagnostics %v lack expect-protocol", ids)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runInspectMain(t, nil, true, append(append([]string{"inspect", "--json"}, tt.args...), "ws://"+tt.addr+"/chat")...)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\n%s%s", code, tt.code, out, errOut)
			}
			if errOut != "" {
				t.Errorf("stderr %q; want nothing", errOut)
			}
			var doc map[string]any
			dec := json.NewDecoder(strings.NewReader(out))
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			if dec.More() {
				t.Errorf("stdout holds more than one document:\n%s", out)
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("JSON output holds ESC")
			}
			if doc["url"] != "ws://"+tt.addr+"/chat" || doc["ok"] != (tt.code == 0) || doc["exit_code"] != float64(tt.code) {
				t.Errorf("url %v, ok %v, exit_code %v; want %s, %v, %d", doc["url"], doc["ok"], doc["exit_code"], tt.addr, tt.code == 0, tt.code)
			}
			tt.check(t, doc)
		})
	}
}

// stripSGR removes SGR sequences.
func stripSGR(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] == ';' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestInspectColor(t *testing.T) {
	t.Parallel()
	addr, _ := startInspectPeer(t, upgradeReply(""))
	tests := []struct {
		name  string
		mode  string
		tty   bool
		env   map[string]string
		color bool
	}{
		{"always", "always", false, nil, true},
		{"always beats NO_COLOR", "always", true, map[string]string{"NO_COLOR": "1"}, true},
		{"never", "never", true, nil, false},
		{"auto on a terminal", "auto", true, nil, true},
		{"auto on a pipe", "auto", false, nil, false},
		{"auto with NO_COLOR", "auto", true, map[string]string{"NO_COLOR": "1"}, false},
		{"auto with empty NO_COLOR", "auto", true, map[string]string{"NO_COLOR": ""}, true},
	}
	var plain string
	for _, tt := range tests {
		code, out, errOut := runInspectMain(t, tt.env, tt.tty, "inspect", "--color", tt.mode, "-p", "chat", "ws://"+addr+"/chat")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", tt.name, code, out, errOut)
		}
		if got := strings.Contains(out, "\x1b["); got != tt.color {
			t.Errorf("%s: colored %v; want %v\n%q", tt.name, got, tt.color, out)
		}
		if tt.color {
			for _, want := range []string{"\x1b[32m✓\x1b[0m", "\x1b[1maccept-ok\x1b[22m", "\x1b[34m> GET /chat HTTP/1.1\x1b[0m", "\x1b[35m< HTTP/1.1 101 Switching Protocols\x1b[0m"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: output lacks %q:\n%q", tt.name, want, out)
				}
			}
		}
		// Without the color sequences the text is the same (SPEC §2).
		text := stripSGR(out)
		if plain == "" {
			plain = text
		}
		if text != plain {
			t.Errorf("%s: text differs from the plain run:\n%s\nvs\n%s", tt.name, text, plain)
		}
	}
}

func TestInspectEscapesServerBytes(t *testing.T) {
	t.Parallel()
	addr, _ := startInspectPeer(t, upgradeReply("X-Title: \x1b]0;pwned\x07\x1b[2J\r\nX-Bad: caf\xe9\r\n"))
	for _, mode := range []string{"never", "always"} {
		code, out, _ := runInspectMain(t, nil, true, "inspect", "--color", mode, "ws://"+addr+"/")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		text := stripSGR(out)
		if strings.ContainsAny(text, "\x1b\x07") || !strings.Contains(text, `< X-Title: \x1b]0;pwned\x07\x1b[2J`) || !strings.Contains(text, `< X-Bad: caf\xe9`) {
			t.Errorf("--color %s: server bytes not escaped:\n%q", mode, out)
		}
	}
}

// BenchmarkInspect measures a whole `wsdbg inspect` run against a loopback
// server: flag parsing, dial, request, response, diagnostics, transcript
// (or JSON) and the close frame.
func BenchmarkInspect(b *testing.B) {
	addr, _ := startInspectPeer(b, upgradeReply(""))
	for _, mode := range []string{"text", "json"} {
		b.Run(mode, func(b *testing.B) {
			args := []string{"inspect", "-p", "chat", "ws://" + addr + "/chat"}
			if mode == "json" {
				args = append([]string{"inspect", "--json"}, args[1:]...)
			}
			b.ReportAllocs()
			for b.Loop() {
				if code, out, _ := runInspectMain(b, nil, false, args...); code != 0 {
					b.Fatalf("exit %d\n%s", code, out)
				}
			}
		})
	}
}
