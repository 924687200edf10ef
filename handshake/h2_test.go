package handshake_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/h2test"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// h2Do runs an HTTP/2 handshake to addr with o's other options.
func h2Do(t *testing.T, url string, o handshake.Options) *handshake.Result {
	t.Helper()
	o.URL = url
	o.HTTP2 = true
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	start := time.Now()
	r, err := handshake.Do(context.Background(), &o)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if el := time.Since(start); el > o.Timeout+2*time.Second {
		t.Errorf("Do took %v with --timeout %v", el, o.Timeout)
	}
	return r
}

func transcript(r *handshake.Result) string {
	var b bytes.Buffer
	r.WriteTranscript(&b, nil)
	return b.String()
}

// TestH2Handshake runs a correct extended CONNECT against a server built
// frame by frame and checks the request it received, the transcript and
// the JSON document.
func TestH2Handshake(t *testing.T) {
	t.Parallel()
	got := make(chan *h2test.Request, 1)
	addr := h2test.Start(t, func(c *h2test.Conn) {
		req, err := c.Accept(h2test.ECP, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
		if err != nil {
			t.Errorf("server: %v", err)
			return
		}
		got <- req
		c.Respond("200", false, "sec-websocket-protocol", "chat")
		c.ReadData()
	})
	r := h2Do(t, "ws://"+addr+"/chat?x=1", handshake.Options{Protocols: []string{"chat", "superchat"}, Headers: []string{"X-Trace: abc", "Origin: http://o.example"}})
	if r.Class != handshake.ClassOK {
		t.Fatalf("class %v; transcript:\n%s", r.Class, transcript(r))
	}
	defer r.Conn.Close()
	req := <-got
	want := [][2]string{{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "http"}, {":path", "/chat?x=1"}, {":authority", addr}, {"sec-websocket-version", "13"}, {"sec-websocket-protocol", "chat, superchat"}, {"x-trace", "abc"}, {"origin", "http://o.example"}}
	if len(req.Fields) != len(want) {
		t.Fatalf("server got fields %v, want %v", req.Fields, want)
	}
	for i, w := range want {
		if req.Fields[i].Name != w[0] || req.Fields[i].Value != w[1] {
			t.Errorf("field %d = %v, want %v", i, req.Fields[i], w)
		}
	}
	var push, win bool
	for _, s := range req.Settings {
		push = push || (s.ID == http2.SettingEnablePush && s.Val == 0)
		win = win || s.ID == http2.SettingInitialWindowSize
	}
	if !push || !win {
		t.Errorf("client SETTINGS %v lack ENABLE_PUSH=0 or INITIAL_WINDOW_SIZE", req.Settings)
	}
	tr := transcript(r)
	for _, line := range []string{
		"> PRI * HTTP/2.0",
		"> SETTINGS stream=0 length=18 ENABLE_PUSH=0",
		"< SETTINGS stream=0 length=12 ENABLE_CONNECT_PROTOCOL=1 MAX_CONCURRENT_STREAMS=100",
		"> SETTINGS stream=0 ACK length=0",
		"> HEADERS stream=1 END_HEADERS",
		"> :protocol: websocket",
		"> x-trace: abc",
		"< HEADERS stream=1 END_HEADERS length=",
		":status=200",
		"< sec-websocket-protocol: chat",
		"✓ protocol-ok",
		"no Sec-WebSocket-Key or Sec-WebSocket-Accept",
		"* Handshake 200 in",
	} {
		if !strings.Contains(tr, line) {
			t.Errorf("transcript lacks %q:\n%s", line, tr)
		}
	}
	if strings.Contains(tr, "accept-") {
		t.Errorf("transcript checks an accept value:\n%s", tr)
	}
	b, _ := json.Marshal(r.Document(0))
	var doc struct {
		HTTP   string `json:"http"`
		Frames []struct {
			Dir, Type string
			Stream    uint32
			Fields    [][2]string
		} `json:"frames"`
		Response struct{ Status int } `json:"response"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.HTTP != "2" || doc.Response.Status != 200 || len(doc.Frames) < 6 {
		t.Errorf("document http=%q status=%d frames=%d: %s", doc.HTTP, doc.Response.Status, len(doc.Frames), b)
	}
}

// TestH2BrokenServers checks that each broken server gives its
// diagnostic and exit code (SPEC §10) within the timeout.
func TestH2BrokenServers(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("v", 16000)
	cases := []struct {
		name   string
		script func(c *h2test.Conn)
		o      handshake.Options
		id     string
		code   int
		detail string // in the diagnostic's message
	}{
		{"no ENABLE_CONNECT_PROTOCOL", func(c *h2test.Conn) {
			c.ReadPreface()
			c.Settings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
			c.ReadRequest()
		}, handshake.Options{}, "h2-connect-protocol", 4, "MAX_CONCURRENT_STREAMS=100"},
		{"status 400", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Respond("400", true)
		}, handshake.Options{}, "h2-status", 4, "400"},
		{"status 404 with --expect-status", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Respond("404", true)
		}, handshake.Options{ExpectStatus: 200}, "expect-status", 4, "got 404"},
		{"status 200 with END_STREAM", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Respond("200", true)
		}, handshake.Options{}, "h2-status", 4, "END_STREAM"},
		{"GOAWAY after SETTINGS", func(c *h2test.Conn) {
			c.ReadPreface()
			c.Settings(h2test.ECP)
			c.Write(func(fr *http2.Framer) error {
				return fr.WriteGoAway(0, http2.ErrCodeRefusedStream, []byte("maintenance"))
			})
			c.ReadRequest()
		}, handshake.Options{}, "h2-goaway", 4, "REFUSED_STREAM"},
		{"RST_STREAM before the response", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Write(func(fr *http2.Framer) error { return fr.WriteRSTStream(1, http2.ErrCodeRefusedStream) })
		}, handshake.Options{}, "h2-rst-stream", 4, "REFUSED_STREAM"},
		{"HTTP/1.1 answer to h2c", func(c *h2test.Conn) {
			c.NC.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}, handshake.Options{}, "h2-not-h2", 4, "HTTP/1.x response"},
		{"never sends SETTINGS", func(c *h2test.Conn) {
			c.ReadPreface()
			time.Sleep(1500 * time.Millisecond)
		}, handshake.Options{Timeout: 400 * time.Millisecond}, "timeout", 3, "SETTINGS"},
		{"closes without SETTINGS", func(c *h2test.Conn) {
			c.ReadPreface()
		}, handshake.Options{}, "no-response", 3, "closed the connection"},
		{"ENABLE_CONNECT_PROTOCOL=2", func(c *h2test.Conn) {
			c.ReadPreface()
			c.Settings(http2.Setting{ID: h2test.SettingEnableConnectProtocol, Val: 2})
			c.ReadRequest()
		}, handshake.Options{}, "h2-protocol", 3, "RFC 8441 §3"},
		{"ENABLE_CONNECT_PROTOCOL withdrawn", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Settings(http2.Setting{ID: h2test.SettingEnableConnectProtocol, Val: 0})
			c.ReadData()
		}, handshake.Options{}, "h2-protocol", 3, "may not go back to 0"},
		{"INITIAL_WINDOW_SIZE over 2^31-1", func(c *h2test.Conn) {
			c.ReadPreface()
			c.Settings(h2test.ECP, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
			c.ReadRequest()
		}, handshake.Options{}, "h2-protocol", 3, "FLOW_CONTROL_ERROR"},
		{"MAX_FRAME_SIZE too small", func(c *h2test.Conn) {
			c.ReadPreface()
			c.Settings(h2test.ECP, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100})
			c.ReadRequest()
		}, handshake.Options{}, "h2-protocol", 3, "MAX_FRAME_SIZE=100"},
		{"DATA on an unknown stream", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			c.Write(func(fr *http2.Framer) error { return fr.WriteData(3, false, []byte("x")) })
			c.ReadData()
		}, handshake.Options{}, "h2-protocol", 3, "RFC 9113 §5.1"},
		{"HEADERS on a server-opened stream", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			b := c.Block(":status", "200")
			c.Write(func(fr *http2.Framer) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2, BlockFragment: b, EndHeaders: true})
			})
			c.ReadData()
		}, handshake.Options{}, "h2-protocol", 3, "stream 2"},
		{"HEADERS block over 64 KiB", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			b := c.Block(":status", "200", "a", big, "b", big, "c", big, "d", big, "e", big)
			c.Write(func(fr *http2.Framer) error {
				if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:16000]}); err != nil {
					return err
				}
				for b = b[16000:]; len(b) > 0; {
					n := min(len(b), 16000)
					if err := fr.WriteContinuation(1, n == len(b), b[:n]); err != nil {
						return err
					}
					b = b[n:]
				}
				return nil
			})
			c.ReadData()
		}, handshake.Options{}, "h2-protocol", 3, "RFC 9113 §10.5.1"},
		{"CONTINUATION flood", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			b := c.Block(":status", "200")
			c.NC.SetWriteDeadline(time.Now().Add(2 * time.Second))
			c.Write(func(fr *http2.Framer) error {
				if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b}); err != nil {
					return err
				}
				for i := 0; i < 100000; i++ {
					if err := fr.WriteContinuation(1, false, nil); err != nil {
						return err
					}
				}
				return nil
			})
		}, handshake.Options{}, "h2-protocol", 3, "CONTINUATION flood"},
		{"DATA beyond the window", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			chunk := make([]byte, 16384)
			c.NC.SetWriteDeadline(time.Now().Add(8 * time.Second))
			for i := 0; i < 300; i++ {
				if c.Data(chunk, false) != nil {
					return
				}
			}
		}, handshake.Options{Timeout: 8 * time.Second}, "h2-protocol", 3, "RFC 9113 §6.9.1"},
		{"PUSH_PROMISE", func(c *h2test.Conn) {
			c.Accept(h2test.ECP)
			b := c.Block(":method", "GET", ":path", "/", ":scheme", "http", ":authority", "x")
			c.Write(func(fr *http2.Framer) error {
				return fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: b, EndHeaders: true})
			})
			c.ReadData()
		}, handshake.Options{}, "h2-protocol", 3, "ENABLE_PUSH=0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := h2test.Start(t, tc.script)
			r := h2Do(t, "ws://"+addr+"/", tc.o)
			tr := transcript(r)
			if r.Conn != nil {
				r.Conn.Close()
			}
			if got := r.Class.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d; transcript:\n%s", got, tc.code, tr)
			}
			d, ok := findDiag(r.Diagnostics, tc.id)
			if !ok {
				t.Fatalf("no %s diagnostic; transcript:\n%s", tc.id, tr)
			}
			if !strings.Contains(d.Message, tc.detail) {
				t.Errorf("%s says %q, want it to mention %q", tc.id, d.Message, tc.detail)
			}
		})
	}
}

// TestH2ALPN checks that a TLS server that selects http/1.1 (or nothing)
// gets h2-alpn and exit 4, and that one selecting h2 proceeds.
func TestH2ALPN(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	for _, protos := range [][]string{{"http/1.1"}, nil, {"h2", "http/1.1"}} {
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: protos}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
		if err != nil {
			t.Fatal(err)
		}
		wstest.Serve(t, ln, func(nc net.Conn) {
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := nc.(*tls.Conn).Handshake(); err != nil {
				return
			}
			c := h2test.NewConn(nc)
			if _, err := c.Accept(h2test.ECP); err == nil {
				c.Respond("200", false)
				c.ReadData()
			}
		})
		r := h2Do(t, "wss://"+ln.Addr().String()+"/", handshake.Options{Insecure: true})
		if r.Conn != nil {
			r.Conn.Close()
		}
		_, alpn := findDiag(r.Diagnostics, "h2-alpn")
		if want := len(protos) < 2; alpn != want || (want && r.Class.ExitCode() != 4) || (!want && r.Class != handshake.ClassOK) {
			t.Errorf("server ALPN %q: h2-alpn %v, class %v; transcript:\n%s", protos, alpn, r.Class, transcript(r))
		}
		if len(protos) == 2 && (r.TLS == nil || r.TLS.ALPN != "h2" || !strings.Contains(transcript(r), ":scheme: https")) {
			t.Errorf("h2 over TLS: TLS %+v, transcript:\n%s", r.TLS, transcript(r))
		}
	}
}

// TestH2RequestShaping checks -H, --omit and pseudo-header replacement in
// the HEADERS wsdbg builds.
func TestH2RequestShaping(t *testing.T) {
	t.Parallel()
	u, _ := handshake.ParseURL("wss://user:pw@example.com/p")
	fields, err := handshake.BuildH2Fields(u, &handshake.Options{
		Omit:    []string{"sec-websocket-version"},
		Headers: []string{"Host: other.example", ":protocol: chat", "X-A: 1", ":foo: bar"},
		Deflate: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.Name+"="+f.Value)
	}
	want := "[:method=CONNECT :protocol=chat :scheme=https :path=/p :authority=other.example :foo=bar sec-websocket-extensions=permessage-deflate; client_max_window_bits authorization=Basic dXNlcjpwdw== x-a=1]"
	if s := "[" + strings.Join(got, " ") + "]"; s != want {
		t.Errorf("fields\n%s\nwant\n%s", s, want)
	}
	ds := handshake.DiagnoseH2Request(fields, true)
	ids := strings.Join(diagIDs(ds), ",")
	if ids != "request-h2-protocol,request-version" {
		t.Errorf("request diagnostics %s", ids)
	}
}
