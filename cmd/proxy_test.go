package cmd_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/cmd"
)

// testProxy is a `wsdbg proxy` running in the test process.
type testProxy struct {
	url  string // ws://127.0.0.1:PORT/
	addr string
	log  *logBuffer
	errs *logBuffer
	stop func() int
}

// startProxy runs `wsdbg proxy --listen 127.0.0.1:0 args... upstream`
// and waits for its first line.
func startProxy(t *testing.T, upstream string, args ...string) *testProxy {
	t.Helper()
	tp := &testProxy{log: newLogBuffer(), errs: newLogBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	argv := append([]string{"wsdbg", "proxy", "--listen", "127.0.0.1:0"}, args...)
	argv = append(argv, upstream)
	serveMainMu.Lock()
	defer serveMainMu.Unlock()
	go func() { code <- cmd.MainContext(ctx, argv, &cmd.IO{Out: tp.log, Err: tp.errs}) }()
	var once sync.Once
	exit := -1
	tp.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(15 * time.Second):
				t.Errorf("proxy did not stop within 15s; log:\n%s", tp.log)
			}
		})
		return exit
	}
	t.Cleanup(func() { tp.stop() })
	rx := regexp.MustCompile(`(?:Proxying |"url":")(ws://([0-9.]+:[0-9]+)/)`)
	deadline := time.After(10 * time.Second)
	for {
		if m := rx.FindStringSubmatch(tp.log.String()); m != nil {
			tp.url, tp.addr = m[1], m[2]
			return tp
		}
		select {
		case c := <-code:
			t.Fatalf("proxy exited with %d before listening; stderr:\n%s", c, tp.errs)
		case <-deadline:
			t.Fatalf("proxy did not listen within 10s; log:\n%s", tp.log)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// interopMessages are the messages of the end-to-end tests: 0 B to
// 16 MiB, text and binary.
func interopMessages(huge bool) [][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	var out [][]byte
	sizes := []int{0, 1, 125, 126, 65535, 65536}
	if !raceEnabled {
		sizes = append(sizes, 1<<20)
	}
	if huge {
		sizes = append(sizes, 16<<20)
	}
	for _, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		out = append(out, b)
	}
	return out
}

// startCoder runs an echo server on coder/websocket.
func startCoder(t *testing.T, compress bool) string {
	mode := coder.CompressionDisabled
	if compress {
		mode = coder.CompressionContextTakeover
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: mode})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(64 << 20)
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, data); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/coder"
}

// TestProxyInterop relays between independent implementations and wsdbg
// in every combination, with and without permessage-deflate, messages of
// 0 B to 16 MiB (1 MiB with compression, 64 KiB under the race
// detector, which slows relaying tenfold; internal/proxy's
// TestRelayBytesIdentical relays 16 MiB compressed): what each end sent
// is what the other received, and the proxy shows every message once per
// direction.
func TestProxyInterop(t *testing.T) {
	for _, compress := range []bool{false, true} {
		msgs := interopMessages(!compress && !raceEnabled)
		type peer struct {
			name  string
			start func(t *testing.T) string
		}
		servers := []peer{
			{"gorilla", func(t *testing.T) string { return startGorilla(t, compress, gorillaEcho) }},
			{"coder", func(t *testing.T) string { return startCoder(t, compress) }},
			{"wsdbg serve", func(t *testing.T) string {
				args := []string{"-q"}
				if compress {
					args = append(args, "--deflate")
				}
				return startServe(t, args...).url
			}},
		}
		clients := []string{"wsdbg send", "gorilla", "coder"}
		for _, srv := range servers {
			for _, client := range clients {
				if (srv.name == "wsdbg serve") == (client == "wsdbg send") {
					continue // one side is always an independent implementation
				}
				t.Run(fmt.Sprintf("%s→proxy→%s/deflate=%v", client, srv.name, compress), func(t *testing.T) {
					p := startProxy(t, srv.start(t), "--json")
					got := interopClient(t, client, p.url+"chat", compress, msgs)
					if len(got) != len(msgs) {
						t.Fatalf("client got %d echoes, want %d", len(got), len(msgs))
					}
					for i := range msgs {
						if !bytes.Equal(got[i], msgs[i]) {
							t.Errorf("echo %d: %d bytes, not the %d sent", i, len(got[i]), len(msgs[i]))
						}
					}
					p.log.waitTail(t, `"event":"summary"`, serveWait)
					counts := map[string]int{}
					for _, line := range strings.Split(p.log.String(), "\n") {
						if !strings.Contains(line, `"event":"message"`) {
							continue
						}
						m := regexp.MustCompile(`"dir":"(\w+)","type":"(\w+)","data":"([^"]*)","size":(\d+)`).FindStringSubmatch(line)
						if m == nil {
							t.Fatalf("message event %.200q", line)
						}
						data := m[3]
						if m[2] == "binary" {
							b, _ := base64.StdEncoding.DecodeString(data)
							data = string(b)
						}
						if i := counts[m[1]]; i < len(msgs) && data != string(msgs[i]) {
							t.Errorf("%s message %d shown as %d bytes, want %d", m[1], i, len(data), len(msgs[i]))
						}
						counts[m[1]]++
					}
					if counts["client"] != len(msgs) || counts["server"] != len(msgs) {
						t.Errorf("messages shown: %v, want %d per direction", counts, len(msgs))
					}
					if compress && !strings.Contains(p.log.String(), `"compressed":true`) {
						t.Errorf("no compressed message shown with deflate on:\n%.3000s", p.log)
					}
				})
			}
		}
	}
}

// interopClient sends msgs through url with the named client and returns
// the echoes.
func interopClient(t *testing.T, client, url string, compress bool, msgs [][]byte) [][]byte {
	t.Helper()
	var got [][]byte
	switch client {
	case "wsdbg send":
		args := []string{"send", "--json", "-q", "--count", fmt.Sprint(len(msgs)), "--max-message-size", "64MiB"}
		if compress {
			args = append(args, "--deflate")
		}
		args = append(args, url)
		for _, m := range msgs {
			args = append(args, string(m))
		}
		r := run(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("send exit %d; stderr:\n%s", r.code, r.err)
		}
		for _, e := range parseEvents(t, r.out) {
			if e.Event == "message" && e.Dir == "in" {
				got = append(got, []byte(*e.Data))
			}
		}
	case "gorilla":
		d := websocket.Dialer{EnableCompression: compress, HandshakeTimeout: serveWait}
		c, _, err := d.Dial(url, nil)
		if err != nil {
			t.Fatalf("gorilla dial %s: %v", url, err)
		}
		defer c.Close()
		c.SetReadLimit(64 << 20)
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		for i, m := range msgs {
			op := websocket.BinaryMessage
			if i%2 == 0 {
				op = websocket.TextMessage
			}
			if err := c.WriteMessage(op, m); err != nil {
				t.Fatal(err)
			}
			_, data, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("gorilla read echo %d: %v", i, err)
			}
			got = append(got, data)
		}
		c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
		c.ReadMessage()
	case "coder":
		mode := coder.CompressionDisabled
		if compress {
			mode = coder.CompressionContextTakeover
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, _, err := coder.Dial(ctx, url, &coder.DialOptions{CompressionMode: mode})
		if err != nil {
			t.Fatalf("coder dial %s: %v", url, err)
		}
		defer c.CloseNow()
		c.SetReadLimit(64 << 20)
		for i, m := range msgs {
			typ := coder.MessageBinary
			if i%2 == 0 {
				typ = coder.MessageText
			}
			if err := c.Write(ctx, typ, m); err != nil {
				t.Fatal(err)
			}
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("coder read echo %d: %v", i, err)
			}
			got = append(got, data)
		}
		c.Close(coder.StatusNormalClosure, "")
	}
	return got
}

// TestProxyLog checks the text log of a pair in front of wsdbg serve:
// both handshakes with labels, the forwarded Host, each message per
// direction, the close summary; Ctrl-C ends the proxy with exit 0.
func TestProxyLog(t *testing.T) {
	srv := startServe(t, "--deflate")
	p := startProxy(t, srv.url, "--color", "never", "-H", "X-Added: yes", "--omit", "Origin")
	r := run(t, nil, "send", "--deflate", "--origin", "http://example.test", "--wait", "200ms", p.url+"room?x=1", "hi there")
	if r.code != 0 || r.out != "hi there\n" {
		t.Fatalf("send through the proxy: exit %d, out %q, stderr:\n%s", r.code, r.out, r.err)
	}
	p.log.waitFor(t, `#1 \* Closed after`, serveWait)
	log := p.log.String()
	host := strings.TrimPrefix(strings.TrimSuffix(srv.url, "/"), "ws://")
	for _, re := range []string{
		`#1 \* Connection from 127\.0\.0\.1:\d+`,
		`#1 > GET /room\?x=1 HTTP/1\.1`,
		`#1 > Host: ` + regexp.QuoteMeta(p.addr),
		`#1 > Origin: http://example\.test`,
		`#1 > Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`,
		`#1 \* Connected to ` + regexp.QuoteMeta(host),
		`#1 \* Forwarding to ws://` + regexp.QuoteMeta(host) + `/ with "Host: ` + regexp.QuoteMeta(host) + `" instead of "Host: ` + regexp.QuoteMeta(p.addr) + `", dropped "Origin: http://example.test", added "X-Added: yes"`,
		`#1 < HTTP/1\.1 101 Switching Protocols`,
		`#1 ✓ accept-ok +server: `,
		`#1 ✓ extension-ok +server: `,
		`#1 \* Relaying frames: extension "permessage-deflate`,
		`#1 > hi there\n`,
		`#1 < hi there\n`,
		`#1 > close 1000 \(normal closure\)`,
		`#1 < close 1000 \(normal closure\)`,
		`#1 \* Closed after [0-9.]+m?s: client closed first; client: close 1000 \(normal closure\), 1 message, \d+ bytes sent; server: close 1000 \(normal closure\), 1 message`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("log lacks %s:\n%s", re, log)
		}
	}
	// The server saw the forwarded head.
	srv.log.waitFor(t, `< X-Added: yes`, serveWait)
	if strings.Contains(srv.log.String(), "Origin:") {
		t.Errorf("--omit Origin: the server still got it:\n%s", srv.log)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("proxy exit %d after cancel, want 0; stderr %s", code, p.errs)
	}
}

// TestProxyPlainHTTP loads serve's test page through the proxy.
func TestProxyPlainHTTP(t *testing.T) {
	srv := startServe(t)
	p := startProxy(t, srv.url, "--color", "never")
	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "new WebSocket") {
		t.Errorf("page through the proxy: %d, %.200q", resp.StatusCode, body.String())
	}
	p.log.waitFor(t, `#1 \* Not an upgrade request: forwarded as plain HTTP`, serveWait)
}

// waitTail waits until the end of the log holds text: cheaper than
// waitFor on a log of many megabytes.
func (s *logBuffer) waitTail(t *testing.T, text string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		b := s.b.Bytes()
		found := bytes.Contains(b[max(0, len(b)-8192):], []byte(text))
		s.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q at the end of the log within %s", text, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
