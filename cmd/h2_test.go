package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/h2test"
	"github.com/wsdbg/wsdbg/wire"
)

// h2Session opens a WebSocket over HTTP/2 to url and returns wire's
// client over the stream.
func h2Session(t *testing.T, url string, protos ...string) (*handshake.Result, *wire.Conn) {
	t.Helper()
	r, err := handshake.Do(context.Background(), &handshake.Options{URL: url, HTTP2: true, Protocols: protos, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Class != handshake.ClassOK || r.Conn == nil {
		var b bytes.Buffer
		r.WriteTranscript(&b, nil)
		t.Fatalf("handshake %v:\n%s", r.Class, b.String())
	}
	t.Cleanup(func() { r.Conn.Close() })
	if testing.Verbose() {
		r.Conn.(interface{ SetFrameLog(func(handshake.H2Frame)) }).SetFrameLog(func(f handshake.H2Frame) { t.Log(f.Out, f) })
	}
	r.Conn.SetDeadline(time.Now().Add(5 * time.Second))
	return r, wire.NewConn(bufio.NewReader(r.Conn), r.Conn, wire.Config{Role: wire.RoleClient, MaxMessageSize: 4 << 20})
}

// readData reads the next data message, skipping pongs.
func readData(t *testing.T, c *wire.Conn) wire.Message {
	t.Helper()
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if m.Op != wire.OpPong && m.Op != wire.OpPing {
			m.Data = bytes.Clone(m.Data)
			return m
		}
	}
}

// TestH2Interop runs WebSockets over HTTP/2 against two independent
// HTTP/2 servers with extended CONNECT: Node's http2 module
// (testdata/peers/h2echo.js) and x/net's http2.Server: subprotocol
// selection, text and binary messages from 0 B to 1 MiB (beyond the
// 65,535-byte initial window, so flow control must work both ways),
// fragments with pings between them, and the closing handshake.
func TestH2Interop(t *testing.T) {
	t.Parallel()
	peers := map[string]func(testing.TB) string{
		"node": func(t testing.TB) string { return startNodeH2(t, "superchat") },
		"xnet": startXNetH2,
	}
	for name, start := range peers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := start(t)
			r, c := h2Session(t, "ws://"+addr+"/echo", "chat", "superchat")
			if r.Negotiated.Protocol != "superchat" {
				t.Errorf("negotiated %q, want superchat", r.Negotiated.Protocol)
			}
			for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000, 1 << 20} {
				for _, op := range []wire.Opcode{wire.OpText, wire.OpBinary} {
					data := bytes.Repeat([]byte("x"), n)
					if op == wire.OpBinary {
						rand.Read(data)
					}
					if err := c.WriteMessage(op, data); err != nil {
						t.Fatalf("write %d bytes: %v", n, err)
					}
					m := readData(t, c)
					if m.Op != op || !bytes.Equal(m.Data, data) {
						t.Fatalf("%v of %d bytes came back as %v of %d bytes", op, n, m.Op, len(m.Data))
					}
				}
			}
			// A message in three frames with pings between them (RFC 6455 §5.4).
			frames := []struct {
				h wire.Header
				p string
			}{
				{wire.Header{Op: wire.OpText, Masked: true}, "frag"},
				{wire.Header{Op: wire.OpPing, Fin: true, Masked: true}, "p1"},
				{wire.Header{Op: wire.OpContinuation, Masked: true}, "ment"},
				{wire.Header{Op: wire.OpPing, Fin: true, Masked: true}, "p2"},
				{wire.Header{Op: wire.OpContinuation, Fin: true, Masked: true}, "ed"},
			}
			for _, f := range frames {
				if err := c.WriteFrame(f.h, []byte(f.p)); err != nil {
					t.Fatal(err)
				}
			}
			var pongs []string
			var msg string
			for msg == "" {
				m, err := c.Read()
				if err != nil {
					t.Fatal(err)
				}
				switch m.Op {
				case wire.OpPong:
					pongs = append(pongs, string(m.Data))
				case wire.OpText:
					msg = string(m.Data)
				}
			}
			if msg != "fragmented" || strings.Join(pongs, ",") != "p1,p2" {
				t.Errorf("fragmented message came back as %q with pongs %q", msg, pongs)
			}
			if name == "node" {
				// The server fragments its echo and pings between the fragments.
				c.WriteMessage(wire.OpText, []byte("frag:abcdef"))
				var pings []string
				for {
					m, err := c.Read()
					if err != nil {
						t.Fatal(err)
					}
					if m.Op == wire.OpPing {
						pings = append(pings, string(m.Data))
						continue
					}
					if m.Op != wire.OpText || string(m.Data) != "frag:abcdef" || m.Frames != 3 || strings.Join(pings, ",") != "p1,p2" {
						t.Errorf("got %v %q in %d frames after pings %q", m.Op, m.Data, m.Frames, pings)
					}
					break
				}
			}
			if err := c.WriteClose(wire.CloseNormal, "done"); err != nil {
				t.Fatal(err)
			}
			for {
				m, err := c.Read()
				if err != nil {
					t.Fatalf("waiting for the close echo: %v", err)
				}
				if m.Op == wire.OpClose {
					if m.CloseCode != wire.CloseNormal {
						t.Errorf("close echo %v", m.CloseCode)
					}
					break
				}
			}
		})
	}
}

// TestH2SendCommand runs `send --http2` against both peers: the replies,
// the exit code, the transcript; and a close started by the server.
func TestH2SendCommand(t *testing.T) {
	t.Parallel()
	node := startNodeH2(t, "chat")
	xnet := startXNetH2(t)
	for _, addr := range []string{node, xnet} {
		res := run(t, nil, "send", "--http2", "-p", "chat", "--expect", "hello", "--expect", "wörld", "ws://"+addr+"/", "hello", "wörld")
		if res.code != 0 || res.out != "hello\nwörld\n" {
			t.Errorf("send to %s: exit %d, stdout %q, stderr:\n%s", addr, res.code, res.out, res.err)
		}
		for _, want := range []string{"> HEADERS stream=1", "> :protocol: websocket", "< :status: 200", "Handshake 200"} {
			if !strings.Contains(res.err, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.err)
			}
		}
	}
	res := run(t, nil, "send", "--http2", "-v", "--wait", "3s", "ws://"+node+"/", "close-me")
	if res.code != 0 || !strings.Contains(res.err, `< close 1000 (normal closure) "bye"`) || !strings.Contains(res.err, "h2 > DATA stream=1 END_STREAM") {
		t.Errorf("server-started close: exit %d, stderr:\n%s", res.code, res.err)
	}
	// connect in line mode over HTTP/2.
	res = run(t, strings.NewReader("one\ntwo\n"), "connect", "--http2", "-q", "ws://"+node+"/")
	if res.code != 0 || res.out != "one\ntwo\n" {
		t.Errorf("connect --http2: exit %d, stdout %q, stderr:\n%s", res.code, res.out, res.err)
	}
	// inspect --json --expect-status 200.
	res = run(t, nil, "inspect", "--http2", "--json", "--expect-status", "200", "ws://"+xnet+"/")
	if res.code != 0 || !strings.Contains(res.out, `"http": "2"`) || !strings.Contains(res.out, `"frames": [`) {
		t.Errorf("inspect --json: exit %d, stdout:\n%s", res.code, res.out)
	}
}

// TestH2SessionFailures checks the exit codes of SPEC §10 for streams that
// end badly after the 2xx: RST_STREAM and GOAWAY with PROTOCOL_ERROR exit
// 6, with another code 1, and a zero flow-control window that never opens
// is bounded by --timeout.
func TestH2SessionFailures(t *testing.T) {
	t.Parallel()
	after := func(end func(c *h2test.Conn)) func(c *h2test.Conn) {
		return func(c *h2test.Conn) {
			if _, err := c.Accept(h2test.ECP); err != nil {
				return
			}
			c.Respond("200", false)
			c.ReadData() // the client's first message
			c.Data(h2test.TextFrame("hi"), false)
			end(c)
			c.ReadData()
		}
	}
	cases := []struct {
		name   string
		script func(c *h2test.Conn)
		args   []string
		code   int
		want   string
	}{
		{"RST_STREAM PROTOCOL_ERROR", after(func(c *h2test.Conn) {
			c.Write(func(fr *http2.Framer) error { return fr.WriteRSTStream(1, http2.ErrCodeProtocol) })
		}), nil, 6, "h2-rst-stream: the server reset stream 1 with PROTOCOL_ERROR"},
		{"RST_STREAM CANCEL", after(func(c *h2test.Conn) {
			c.Write(func(fr *http2.Framer) error { return fr.WriteRSTStream(1, http2.ErrCodeCancel) })
		}), nil, 1, "CANCEL"},
		{"GOAWAY PROTOCOL_ERROR", after(func(c *h2test.Conn) {
			c.Write(func(fr *http2.Framer) error { return fr.WriteGoAway(1, http2.ErrCodeProtocol, []byte("bad frame")) })
		}), nil, 6, `h2-goaway: GOAWAY PROTOCOL_ERROR`},
		{"GOAWAY INTERNAL_ERROR", after(func(c *h2test.Conn) {
			c.Write(func(fr *http2.Framer) error { return fr.WriteGoAway(1, http2.ErrCodeInternal, nil) })
		}), nil, 1, "INTERNAL_ERROR"},
		{"zero window", func(c *h2test.Conn) {
			if _, err := c.Accept(h2test.ECP, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
				return
			}
			c.Respond("200", false)
			time.Sleep(3 * time.Second)
		}, []string{"--timeout", "700ms"}, 1, "window stayed closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := h2test.Start(t, tc.script)
			start := time.Now()
			args := append([]string{"send", "--http2", "--wait", "2s"}, tc.args...)
			res := run(t, nil, append(args, "ws://"+addr+"/", "hello")...)
			if res.code != tc.code || !strings.Contains(res.err, tc.want) {
				t.Errorf("exit %d (want %d), stderr lacks %q:\n%s", res.code, tc.code, tc.want, res.err)
			}
			if el := time.Since(start); el > 2500*time.Millisecond {
				t.Errorf("took %v", el)
			}
		})
	}
}
