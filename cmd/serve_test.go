package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

const serveWait = 10 * time.Second

// dialGorilla connects an independent client implementation.
func dialGorilla(t *testing.T, url string, d websocket.Dialer) (*websocket.Conn, *http.Response) {
	t.Helper()
	d.HandshakeTimeout = serveWait
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("gorilla dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(serveWait))
	return c, resp
}

// TestServeGorilla runs gorilla/websocket, an independent client, against
// serve with and without compression and subprotocols.
func TestServeGorilla(t *testing.T) {
	tests := []struct {
		name       string
		serveArgs  []string
		offer      []string
		compress   bool
		protocol   string
		compressed bool
	}{
		{name: "plain"},
		{name: "deflate offered, not served", compress: true},
		{name: "deflate", serveArgs: []string{"--deflate"}, compress: true, compressed: true},
		{name: "deflate served, not offered", serveArgs: []string{"--deflate"}},
		{name: "client preference", serveArgs: []string{"-p", "superchat", "-p", "chat"}, offer: []string{"chat", "superchat"}, protocol: "chat"},
		{name: "no common subprotocol", serveArgs: []string{"--protocol", "mqtt"}, offer: []string{"chat"}},
		{name: "subprotocol and deflate", serveArgs: []string{"-p", "v2", "--deflate", "-v"}, offer: []string{"v1", "v2"}, compress: true, protocol: "v2", compressed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServe(t, tt.serveArgs...)
			c, resp := dialGorilla(t, srv.url, websocket.Dialer{EnableCompression: tt.compress, Subprotocols: tt.offer})
			if got := c.Subprotocol(); got != tt.protocol {
				t.Errorf("subprotocol %q, want %q", got, tt.protocol)
			}
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.HasPrefix(ext, "permessage-deflate"); got != tt.compressed {
				t.Errorf("Sec-WebSocket-Extensions %q, compression wanted: %v", ext, tt.compressed)
			}
			long := strings.Repeat("compressible text ", 40)
			msgs := []struct {
				typ  int
				data string
			}{{websocket.TextMessage, "hello"}, {websocket.BinaryMessage, "\x00\x01\xff"}, {websocket.TextMessage, long}, {websocket.TextMessage, "héllo \x1b[31m"}}
			for _, m := range msgs {
				if err := c.WriteMessage(m.typ, []byte(m.data)); err != nil {
					t.Fatalf("write: %v", err)
				}
				typ, got, err := c.ReadMessage()
				if err != nil {
					t.Fatalf("read echo of %q: %v", m.data, err)
				}
				if typ != m.typ || string(got) != m.data {
					t.Errorf("echo: type %d %q, want type %d %q", typ, got, m.typ, m.data)
				}
			}
			pong := make(chan string, 1)
			c.SetPongHandler(func(s string) error { pong <- s; return nil })
			if err := c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(serveWait)); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye")); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 1000 {
				t.Errorf("after our close: %v, want the server's close 1000", err)
			}
			select {
			case s := <-pong:
				if s != "are you there" {
					t.Errorf("pong %q, want the ping's data", s)
				}
			default:
				t.Error("no pong before the close")
			}

			log := srv.log.waitFor(t, `(?s)#1 \* Closed after.*`, serveWait)
			want := []string{
				`#1 * Connection from 127.0.0.1:`,
				"#1 < GET / HTTP/1.1",
				"#1 < Sec-WebSocket-Version: 13",
				"#1 > HTTP/1.1 101 Switching Protocols",
				"#1 > Sec-WebSocket-Accept: ",
				"#1 < hello",
				"#1 > hello",
				"#1 < binary, 3 bytes",
				`#1 < héllo \x1b[31m`,
				`#1 < ping "are you there"`,
				`#1 > pong "are you there"`,
				`#1 < close 1000`,
				`#1 > close 1000`,
			}
			if tt.protocol != "" {
				want = append(want, "#1 > Sec-WebSocket-Protocol: "+tt.protocol, fmt.Sprintf("subprotocol %q", tt.protocol))
			}
			if tt.compressed {
				want = append(want, "#1 > Sec-WebSocket-Extensions: permessage-deflate", `extension "permessage-deflate`)
			} else {
				want = append(want, "no extension")
			}
			if tt.compressed && hasArg(tt.serveArgs, "-v") {
				want = append(want, "#1 < frame FIN=1 RSV=100 op=text(0x1) mask=1", " compressed")
			}
			all := srv.log.String()
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			if strings.Contains(all, "\x1b[31m") {
				t.Errorf("log passes an escape sequence from the network through:\n%s", all)
			}
		})
	}
}

func hasArg(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestServeWsdbgClient runs wsdbg's own client path against serve: the
// handshake document of `inspect --json` over cmd.Main, for several flag
// combinations on both sides.
func TestServeWsdbgClient(t *testing.T) {
	tests := []struct {
		name       string
		serveArgs  []string
		clientArgs []string
		exit       int
		status     int
		protocol   string
		extension  string
		logs       []string
	}{
		{name: "plain", exit: 0, status: 101, logs: []string{"#1 > HTTP/1.1 101 Switching Protocols"}},
		{name: "protocols", serveArgs: []string{"-p", "superchat", "-p", "chat"}, clientArgs: []string{"-p", "chat", "-p", "superchat"},
			status: 101, protocol: "chat", logs: []string{"#1 < Sec-WebSocket-Protocol: chat, superchat", "#1 > Sec-WebSocket-Protocol: chat"}},
		{name: "split protocol lines", serveArgs: []string{"-p", "superchat"}, clientArgs: []string{"-p", "chat", "-p", "superchat", "--split-headers"},
			status: 101, protocol: "superchat", logs: []string{"#1 < Sec-WebSocket-Protocol: chat\n", "#1 < Sec-WebSocket-Protocol: superchat\n"}},
		{name: "deflate", serveArgs: []string{"--deflate"}, clientArgs: []string{"--deflate"},
			status: 101, extension: "permessage-deflate", logs: []string{"#1 < Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "#1 > Sec-WebSocket-Extensions: permessage-deflate"}},
		{name: "deflate off on the server", clientArgs: []string{"--deflate"}, status: 101, logs: []string{"Upgraded to WebSocket: no subprotocol, no extension",
			`#1 * Declined extension offer "permessage-deflate; client_max_window_bits": start serve with --deflate to accept it`}},
		{name: "bad deflate offer", serveArgs: []string{"--deflate"}, clientArgs: []string{"-x", "permessage-deflate; server_max_window_bits=7", "-x", "x-webkit-deflate-frame"}, status: 101,
			logs: []string{`#1 * Declined extension offer: parse permessage-deflate element "permessage-deflate; server_max_window_bits=7": `,
				`#1 * Declined extension offer "x-webkit-deflate-frame": serve supports only permessage-deflate`}},
		{name: "version 12", clientArgs: []string{"--ws-version", "12"}, exit: cmd.ExitRefused, status: 426,
			logs: []string{"#1 < Sec-WebSocket-Version: 12", "#1 ! request-version", "#1 > HTTP/1.1 426 Upgrade Required", "#1 > Sec-WebSocket-Version: 13", "#1 * Refused the upgrade with 426"}},
		{name: "no key", clientArgs: []string{"--omit", "Sec-WebSocket-Key"}, exit: cmd.ExitRefused, status: 400,
			logs: []string{"#1 ! request-key", "#1 > HTTP/1.1 400 Bad Request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServe(t, tt.serveArgs...)
			var out, errb bytes.Buffer
			args := append(append([]string{"wsdbg", "inspect", "--json"}, tt.clientArgs...), srv.url)
			code := serveMain(args, &cmd.IO{Out: &out, Err: &errb})
			if code != tt.exit {
				t.Errorf("inspect exit %d, want %d; stderr: %s\nstdout: %s", code, tt.exit, errb.String(), out.String())
			}
			var doc struct {
				Response struct {
					Status int `json:"status"`
				} `json:"response"`
				Negotiated struct {
					Protocol   string   `json:"protocol"`
					Extensions []string `json:"extensions"`
				} `json:"negotiated"`
				Diagnostics []struct {
					ID       string `json:"id"`
					Severity string `json:"severity"`
				} `json:"diagnostics"`
			}
			if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
				t.Fatalf("inspect --json: %v\n%s", err, out.String())
			}
			if doc.Response.Status != tt.status {
				t.Errorf("status %d, want %d", doc.Response.Status, tt.status)
			}
			if doc.Negotiated.Protocol != tt.protocol {
				t.Errorf("protocol %q, want %q", doc.Negotiated.Protocol, tt.protocol)
			}
			gotExt := strings.Join(doc.Negotiated.Extensions, ",")
			if !strings.HasPrefix(gotExt, tt.extension) || (tt.extension == "") != (gotExt == "") {
				t.Errorf("extensions %q, want %q", gotExt, tt.extension)
			}
			for _, d := range doc.Diagnostics {
				if d.Severity == "error" && tt.exit == 0 {
					t.Errorf("client found an error in serve's answer: %+v", d)
				}
			}
			srv.log.waitFor(t, `#1 \* Closed`, serveWait)
			all := srv.log.String()
			for _, w := range tt.logs {
				if !strings.Contains(all, w) {
					t.Errorf("log lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

// upgradeRequest is a valid opening handshake; cases edit it.
const upgradeRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: 127.0.0.1\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

// TestServeRequestDiagnostics sends raw requests, one per request-side
// diagnostic (SPEC §4.2), and checks the answer and the log line.
func TestServeRequestDiagnostics(t *testing.T) {
	srv := startServe(t)
	tests := []struct {
		id      string
		request string
		status  int
		header  [2]string
		body    string
		logLine string // regexp for the diagnostic line
	}{
		{"request-method", strings.Replace(upgradeRequest, "GET", "PUT", 1), 400, [2]string{"Content-Type", "text/plain; charset=utf-8"},
			`request-method: request method is "PUT"`, `! request-method +request method is "PUT"; an opening handshake must be a GET \(RFC 6455 §4\.1\)`},
		{"request-http-version", strings.Replace(upgradeRequest, "HTTP/1.1", "HTTP/1.0", 1), 400, [2]string{"Connection", ""},
			`request-http-version: `, `! request-http-version +request line "GET /chat HTTP/1\.0" says "HTTP/1\.0"`},
		{"request-host", strings.Replace(upgradeRequest, "Host: 127.0.0.1\r\n", "", 1), 400, [2]string{"Content-Type", "text/plain; charset=utf-8"},
			`request-host: no Host field`, `! request-host +no Host field`},
		{"request-upgrade", strings.Replace(upgradeRequest, "Upgrade: websocket", "Upgrade: h2c", 1), 400, [2]string{"Content-Type", "text/plain; charset=utf-8"},
			`request-upgrade: Upgrade is "h2c"`, `! request-upgrade +Upgrade is "h2c", without the keyword websocket`},
		{"request-connection", strings.Replace(upgradeRequest, "Connection: Upgrade", "Connection: keep-alive", 1), 400, [2]string{"Content-Type", "text/plain; charset=utf-8"},
			`request-connection: Connection is "keep-alive"`, `! request-connection +Connection is "keep-alive", without the token Upgrade`},
		{"request-key", strings.Replace(upgradeRequest, "dGhlIHNhbXBsZSBub25jZQ==", "not-base64!", 1), 400, [2]string{"Content-Type", "text/plain; charset=utf-8"},
			`request-key: Sec-WebSocket-Key "not-base64!" is not base64`, `! request-key +Sec-WebSocket-Key "not-base64!" is not base64`},
		{"request-version", strings.Replace(upgradeRequest, "Version: 13", "Version: 8", 1), 426, [2]string{"Sec-WebSocket-Version", "13"},
			`request-version: Sec-WebSocket-Version is "8"; it must be 13`, `! request-version +Sec-WebSocket-Version is "8"; it must be 13`},
		{"request-bare-lf", strings.ReplaceAll(upgradeRequest, "\r\n", "\n"), 101, [2]string{"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
			``, `! request-bare-lf +7 of 7 lines end with a bare LF instead of CRLF \(RFC 9112 §2\.2\)`},
	}
	var mu sync.Mutex // one exchange at a time: each is #N in order
	for i, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			raw := []byte(tt.request)
			var got []byte
			if tt.status == 101 {
				got = upgradeAndClose(t, srv.addr, raw)
			} else {
				got = rawExchange(t, srv.addr, raw)
			}
			resp, body := parseHTTP(t, got)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; response:\n%s", resp.StatusCode, tt.status, got)
			}
			if name, want := tt.header[0], tt.header[1]; want != "" && resp.Header.Get(name) != want {
				t.Errorf("%s: %q, want %q", name, resp.Header.Get(name), want)
			}
			if tt.status != 101 && !resp.Close {
				t.Errorf("refusal does not close the connection:\n%s", got)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body %q lacks %q", body, tt.body)
			}
			label := fmt.Sprintf("#%d ", i+1)
			srv.log.waitFor(t, regexp.QuoteMeta(label)+`\* Closed`, serveWait)
			srv.log.waitFor(t, regexp.QuoteMeta(label)+tt.logLine, serveWait)
			for _, l := range logLines(srv.log.String(), label+"!") {
				if !strings.Contains(l, tt.id) {
					t.Errorf("unexpected diagnostic for a request with only %s wrong: %q", tt.id, l)
				}
			}
		})
	}
}

// upgradeAndClose completes a raw upgrade, sends a close frame and
// returns the response head.
func upgradeAndClose(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, br, head := rawUpgrade(t, addr, req)
	defer c.Close()
	c.Write(clientFrame(0x88, []byte{0x03, 0xe8}))
	op, payload := readServerFrame(t, br)
	if op != 0x88 || !bytes.Equal(payload, []byte{0x03, 0xe8}) {
		t.Errorf("after our close: frame op %#x payload %x, want close 1000", op, payload)
	}
	return head
}

// rawUpgrade sends req and reads the response head through the blank line.
func rawUpgrade(t *testing.T, addr string, req []byte) (net.Conn, *bufio.Reader, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, serveWait)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(serveWait))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var head []byte
	for {
		line, err := br.ReadBytes('\n')
		head = append(head, line...)
		if err != nil {
			t.Fatalf("read response head: %v (got %q)", err, head)
		}
		if string(line) == "\r\n" {
			return c, br, head
		}
	}
}

// clientFrame builds one client frame: first byte b0, masked payload.
func clientFrame(b0 byte, payload []byte) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	default:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// readServerFrame reads one unmasked server frame.
func readServerFrame(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	if h[1]&0x80 != 0 {
		t.Errorf("server frame is masked (RFC 6455 §5.1 forbids it)")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(br, ext[:])
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		t.Fatalf("unexpected 64-bit frame length")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("read frame payload: %v", err)
	}
	return h[0], p
}

// TestServeBadInput: the server answers broken clients per RFC, frees the
// connection within bounded time and keeps serving others.
func TestServeBadInput(t *testing.T) {
	srv := startServe(t)

	t.Run("slowloris", func(t *testing.T) {
		srv := startServe(t, "--head-timeout", "300ms")
		c, err := net.DialTimeout("tcp", srv.addr, serveWait)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(serveWait))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		resp, body := parseHTTP(t, got)
		if resp.StatusCode != 408 || !strings.Contains(body, "not complete in time (33 bytes received") {
			t.Errorf("got %d %q, want 408 naming the 33 bytes", resp.StatusCode, body)
		}
		srv.log.waitFor(t, `✗ Request head not complete after --head-timeout 300ms \(33 bytes received\)`, serveWait)
	})
	t.Run("head over 64 KiB", func(t *testing.T) {
		req := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("a", 1000)+"\r\n", 100) + "\r\n"
		resp, body := parseHTTP(t, rawExchange(t, srv.addr, []byte(req)))
		if resp.StatusCode != 431 || !strings.Contains(body, "larger than 65536 bytes") {
			t.Errorf("got %d %q, want 431", resp.StatusCode, body)
		}
		srv.log.waitFor(t, `✗ Request head larger than 65536 bytes`, serveWait)
	})
	t.Run("TLS to a plain server", func(t *testing.T) {
		resp, body := parseHTTP(t, rawExchange(t, srv.addr, []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage")))
		if resp.StatusCode != 400 || !strings.Contains(body, "not HTTP/1.x") {
			t.Errorf("got %d %q, want 400", resp.StatusCode, body)
		}
		srv.log.waitFor(t, `✗ Not an HTTP request: .*TLS`, serveWait)
	})
	t.Run("binary garbage", func(t *testing.T) {
		resp, _ := parseHTTP(t, rawExchange(t, srv.addr, []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\r\n\r\n")))
		if resp.StatusCode != 400 {
			t.Errorf("got %d, want 400", resp.StatusCode)
		}
	})
	t.Run("text garbage", func(t *testing.T) {
		resp, body := parseHTTP(t, rawExchange(t, srv.addr, []byte("hello there\r\n\r\n")))
		if resp.StatusCode != 400 || !strings.Contains(body, "not HTTP/1.x: text that is not an HTTP request line") {
			t.Errorf("got %d %q, want 400 saying it is not HTTP", resp.StatusCode, body)
		}
	})
	t.Run("connect and leave", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", srv.addr, serveWait)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		srv.log.waitFor(t, `Client closed the connection without sending a request`, serveWait)
	})

	frames := []struct {
		name   string
		frame  []byte
		code   uint16
		reason string
	}{
		{"reserved opcode", clientFrame(0x83, nil), 1002, "opcode"},
		{"unmasked frame", []byte{0x81, 0x02, 'h', 'i'}, 1002, "mask"},
		{"reserved bit", clientFrame(0xc1, []byte("hi")), 1002, "RSV1"},
		{"fragmented ping", clientFrame(0x09, []byte("p")), 1002, ""},
		{"invalid UTF-8", clientFrame(0x81, []byte{0xff, 0xfe}), 1007, ""},
		{"close with 1 byte", clientFrame(0x88, []byte{0x03}), 1002, ""},
	}
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			c, br, head := rawUpgrade(t, srv.addr, []byte(upgradeRequest))
			defer c.Close()
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
				t.Fatalf("no upgrade: %q", head)
			}
			c.Write(f.frame)
			op, payload := readServerFrame(t, br)
			if op != 0x88 || len(payload) < 2 {
				t.Fatalf("got frame %#x %q, want a close frame with a code", op, payload)
			}
			if code := binary.BigEndian.Uint16(payload); code != f.code {
				t.Errorf("close code %d (%q), want %d", code, payload[2:], f.code)
			}
			if !strings.Contains(string(payload[2:]), f.reason) {
				t.Errorf("close reason %q does not mention %q", payload[2:], f.reason)
			}
			// The server then ends the connection.
			if _, err := io.ReadAll(br); err != nil {
				t.Errorf("after the close frame: %v, want EOF", err)
			}
		})
	}
	srv.log.waitFor(t, fmt.Sprintf(`> close 1002 \(protocol error\)`), serveWait)
	srv.log.waitFor(t, `Connection failed: the client broke the protocol`, serveWait)

	// And it still serves others.
	c, _ := dialGorilla(t, srv.url, websocket.Dialer{})
	c.WriteMessage(websocket.TextMessage, []byte("still here"))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "still here" {
		t.Errorf("echo after the bad clients: %q, %v", m, err)
	}
}

// TestServeConcurrentClients: several clients at once, each answered, the
// log in whole lines, each labelled with its client.
func TestServeConcurrentClients(t *testing.T) {
	srv := startServe(t, "--deflate")
	const clients, msgs = 8, 20
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := (&websocket.Dialer{EnableCompression: i%2 == 0, HandshakeTimeout: serveWait}).Dial(srv.url+fmt.Sprintf("?client=%d", i), nil)
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(serveWait))
			for j := range msgs {
				m := fmt.Sprintf("client-%d-message-%d %s", i, j, strings.Repeat("x", 100*j))
				if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				if _, got, err := c.ReadMessage(); err != nil || string(got) != m {
					t.Errorf("client %d: echo %.30q, %v; want %.30q", i, got, err, m)
					return
				}
			}
			c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
			c.ReadMessage()
		}()
	}
	wg.Wait()
	srv.log.waitUntil(t, "close of every client", serveWait, func(log string) bool {
		return strings.Count(log, " * Closed after") == clients
	})
	// Map each client to its label through its request line, then check
	// that every message line carries that label.
	log := srv.log.String()
	label := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(#\d+) < GET /\?client=(\d+) HTTP/1.1$`).FindAllStringSubmatch(log, -1) {
		label[m[2]] = m[1]
	}
	if len(label) != clients {
		t.Fatalf("found %d labelled request lines, want %d:\n%s", len(label), clients, log)
	}
	lineRx := regexp.MustCompile(`^(\* Listening on .*|#\d+ [*<>!✓✗i] ?.*|#\d+ [<>]|#\d+ [ 0-9a-f|.]*)$`)
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !lineRx.MatchString(l) {
			t.Errorf("malformed log line: %q", l)
		}
		if m := regexp.MustCompile(`client-(\d+)-message`).FindAllStringSubmatch(l, -1); len(m) > 0 {
			if len(m) > 1 {
				t.Errorf("two messages on one log line: %.100q", l)
			}
			if !strings.HasPrefix(l, label[m[0][1]]+" ") {
				t.Errorf("message of client %s logged without its label %s: %.60q", m[0][1], label[m[0][1]], l)
			}
		}
	}
	if n := strings.Count(log, "> client-"); n != clients*msgs {
		t.Errorf("%d echoes logged, want %d", n, clients*msgs)
	}
}

// TestServeShutdown: cancelling the run closes open WebSockets with 1001
// and serve returns 0.
func TestServeShutdown(t *testing.T) {
	srv := startServe(t)
	c, _ := dialGorilla(t, srv.url, websocket.Dialer{})
	idle, err := net.Dial("tcp", srv.addr) // never sends a request
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	srv.log.waitFor(t, `#2 \* Connection from`, serveWait)
	got := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		if err == nil {
			err = fmt.Errorf("a message instead of a close")
		}
		c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1001, ""))
		got <- err
	}()
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exit %d after cancel, want 0; stderr: %s", code, srv.errs)
	}
	var ce *websocket.CloseError
	if err := <-got; !errors.As(err, &ce) || ce.Code != 1001 || ce.Text != "server shutting down" {
		t.Errorf("client got %v, want close 1001 \"server shutting down\"", err)
	}
	idle.SetReadDeadline(time.Now().Add(serveWait))
	if n, err := idle.Read(make([]byte, 1)); err == nil {
		t.Errorf("the idle connection is still open (read %d bytes)", n)
	}
}

// TestServeLimits: --max-message-size and --idle-timeout.
func TestServeLimits(t *testing.T) {
	t.Run("max message size", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t, "--max-message-size", "1KiB")
		c, _ := dialGorilla(t, srv.url, websocket.Dialer{})
		c.WriteMessage(websocket.BinaryMessage, make([]byte, 1024))
		if _, m, err := c.ReadMessage(); err != nil || len(m) != 1024 {
			t.Fatalf("1 KiB message: %d bytes, %v; want its echo", len(m), err)
		}
		c.WriteMessage(websocket.BinaryMessage, make([]byte, 1025))
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1009 {
			t.Errorf("1025-byte message: %v, want close 1009", err)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t, "--idle-timeout", "200ms")
		c, _ := dialGorilla(t, srv.url, websocket.Dialer{})
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1001 || ce.Text != "idle timeout" {
			t.Errorf("idle client got %v, want close 1001 \"idle timeout\"", err)
		}
		srv.log.waitFor(t, `#1 \* Nothing received for --idle-timeout 200ms`, serveWait)
	})
	t.Run("no idle timeout by default", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t)
		c, _ := dialGorilla(t, srv.url, websocket.Dialer{})
		time.Sleep(300 * time.Millisecond) // longer than the idle test's timeout
		c.WriteMessage(websocket.TextMessage, []byte("late"))
		if _, m, err := c.ReadMessage(); err != nil || string(m) != "late" {
			t.Errorf("after a pause: %q, %v; want the echo", m, err)
		}
		c.Close() // gone without a close frame
		srv.log.waitFor(t, `#1 \* Connection failed: the connection to 127.0.0.1:\d+ was dropped without a close frame`, serveWait)
	})
}

// TestServePage: a plain GET gets the HTML page, whose script connects
// back and inserts network text with textContent only.
func TestServePage(t *testing.T) {
	srv := startServe(t)
	resp, err := http.Get("http://" + srv.addr + "/some/path?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("got %d %q, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"new WebSocket(url, protocols)", `location.protocol === "https:" ? "wss://" : "ws://"`, "location.host + location.pathname", ".textContent ="} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "http://", "https://"} {
		if bytes.Contains(body, []byte(bad)) {
			t.Errorf("page contains %q: network text must go through textContent, and no external asset may be loaded", bad)
		}
	}
	srv.log.waitFor(t, `#1 \* Not an upgrade request: served the test page \(\d+ bytes\)`, serveWait)
}

// TestServeTLS serves wss:// with a certificate made for the test.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := writeServeCert(t)
	srv := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile, "--deflate")
	if !strings.HasPrefix(srv.url, "wss://") {
		t.Fatalf("TLS server announces %q, want wss://", srv.url)
	}
	c, _ := dialGorilla(t, srv.url, websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, EnableCompression: true})
	c.WriteMessage(websocket.TextMessage, []byte("over TLS"))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "over TLS" {
		t.Errorf("echo over TLS: %q, %v", m, err)
	}
	srv.log.waitFor(t, `#1 \* TLS 1\.3, TLS_[A-Z0-9_]+, no ALPN, no SNI`, serveWait)

	// Plain HTTP to the TLS port gets a plain answer.
	resp, body := parseHTTP(t, rawExchange(t, srv.addr, []byte(upgradeRequest)))
	if resp.StatusCode != 400 || !strings.Contains(body, "This server speaks TLS: use wss://") {
		t.Errorf("plain HTTP to TLS: %d %q, want 400 pointing to wss://", resp.StatusCode, body)
	}
	srv.log.waitFor(t, `#2 ✗ TLS handshake failed: .*\n#2 > HTTP/1\.1 400 Bad Request\n`, serveWait)

	var out, errb bytes.Buffer
	code := serveMain([]string{"wsdbg", "inspect", "-k", srv.url}, &cmd.IO{Out: &out, Err: &errb})
	if code != 0 || !strings.Contains(out.String(), "< HTTP/1.1 101 Switching Protocols") {
		t.Errorf("inspect -k: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// writeServeCert writes a self-signed certificate for loopback and its key,
// and returns them with a pool that trusts the certificate.
func writeServeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	cert := wstest.SelfSigned(t)
	certFile, keyFile = cert.MustWriteFiles(t, "cert")
	return certFile, keyFile, cert.Pool()
}

// TestServeUsage: flag errors exit 2 before listening; a busy address
// exits 1.
func TestServeUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--tls-cert", "x.pem"}, cmd.ExitUsage, "--tls-cert and --tls-key go together"},
		{[]string{"--color", "sometimes"}, cmd.ExitUsage, `--color "sometimes"`},
		{[]string{"--max-message-size", "lots"}, cmd.ExitUsage, `--max-message-size lots: not a size in bytes`},
		{[]string{"--listen", "18081"}, cmd.ExitUsage, "wsdbg: --listen 18081 is a port without a host; write --listen 127.0.0.1:18081 (or --listen :18081 for every interface)\n"},
		{[]string{"--listen", "8080x"}, cmd.ExitUsage, "wsdbg: --listen 8080x is not HOST:PORT; write e.g. --listen 127.0.0.1:8080 (port 0 picks a free one)\n"},
		{[]string{"--listen", "127.0.0.1:8080x"}, cmd.ExitUsage, `--listen 127.0.0.1:8080x: port "8080x" is not a number from 0 to 65535; write e.g. --listen 127.0.0.1:8080`},
		{[]string{"--head-timeout", "0s"}, cmd.ExitUsage, "wsdbg: --head-timeout 0s: the duration must be more than 0; write e.g. --head-timeout 10s\n"},
		{[]string{"-p", "a b"}, cmd.ExitUsage, `--protocol "a b" is not a subprotocol name`},
		{[]string{"extra"}, cmd.ExitUsage, `serve takes no arguments, got "extra"`},
		{[]string{"--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, cmd.ExitUsage, `load --tls-cert "/nonexistent/c.pem"`},
		{[]string{"--listen", busy.Addr().String()}, cmd.ExitFailure, "listen on \"" + busy.Addr().String() + "\": bind: address already in use"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := serveMain(append([]string{"wsdbg", "serve"}, tt.args...), &cmd.IO{Out: &out, Err: &errb})
		if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("serve %q: exit %d, stderr %q; want %d with %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
	}
}

// TestServeLogOptions: -q logs nothing per client; secrets are redacted
// unless --show-secrets.
func TestServeLogOptions(t *testing.T) {
	req := strings.Replace(upgradeRequest, "Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\nCookie: session=s3cr3t\r\nAuthorization: Basic dXNlcjpwYXNz\r\n", 1)
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"redacted", nil,
			[]string{"#1 < Cookie: <redacted 14 bytes>\n", "#1 < Authorization: <redacted 18 bytes>\n"},
			[]string{"s3cr3t", "dXNlcjpwYXNz"}},
		{"shown", []string{"--show-secrets"},
			[]string{"#1 < Cookie: session=s3cr3t\n", "#1 < Authorization: Basic dXNlcjpwYXNz\n"}, nil},
		{"quiet", []string{"-q"}, []string{"* Listening on ws://"}, []string{"#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServe(t, tt.args...)
			upgradeAndClose(t, srv.addr, []byte(req))
			if code := srv.stop(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			log := srv.log.String()
			for _, w := range tt.want {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(log, w) {
					t.Errorf("log has %q:\n%s", w, log)
				}
			}
		})
	}
}

// TestServeEarlyData: frames sent together with the request head are
// kept and echoed.
func TestServeEarlyData(t *testing.T) {
	srv := startServe(t)
	req := append([]byte(upgradeRequest), clientFrame(0x81, []byte("early"))...)
	c, br, head := rawUpgrade(t, srv.addr, req)
	defer c.Close()
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("no upgrade: %q", head)
	}
	if op, p := readServerFrame(t, br); op != 0x81 || string(p) != "early" {
		t.Errorf("got frame %#x %q, want the echo of \"early\"", op, p)
	}
	srv.log.waitFor(t, `#1 < early\n#1 > early\n`, serveWait)
}

// TestServeWriteTimeout: a client that sends but never reads is dropped
// after --write-timeout, and others are still served.
func TestServeWriteTimeout(t *testing.T) {
	srv := startServe(t, "--write-timeout", "200ms")
	c, err := net.DialTimeout("tcp", srv.addr, serveWait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A small receive buffer: the echoes pile up after a few megabytes.
	c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := c.Write([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	msg := clientFrame(0x81, bytes.Repeat([]byte("x"), 60000))
	go func() {
		for range 2000 { // far more than the loopback buffers hold
			if _, err := c.Write(msg); err != nil {
				return
			}
		}
	}()
	srv.log.waitFor(t, `#1 \* Client read nothing for --write-timeout 200ms while \d+ bytes waited to be sent; dropping it`, serveWait)
	srv.log.waitFor(t, `#1 \* Closed after`, serveWait)

	g, _ := dialGorilla(t, srv.url, websocket.Dialer{})
	g.WriteMessage(websocket.TextMessage, []byte("next"))
	if _, m, err := g.ReadMessage(); err != nil || string(m) != "next" {
		t.Errorf("echo to the next client: %q, %v", m, err)
	}
}

// listenCatcher discards a server log after picking the address out of
// its "Listening" line.
type listenCatcher struct {
	once sync.Once
	url  chan string
}

func (l *listenCatcher) Write(p []byte) (int, error) {
	if m := regexp.MustCompile(`Listening on (ws://\S+/)`).FindSubmatch(p); m != nil {
		l.once.Do(func() { l.url <- string(m[1]) })
	}
	return len(p), nil
}

// BenchmarkServeEcho measures round trips of 1 KiB text messages through
// serve, from gorilla/websocket: with -q, with the full log (written to a
// discarding writer), and with permessage-deflate.
func BenchmarkServeEcho(b *testing.B) {
	cases := []struct {
		name     string
		args     []string
		compress bool
	}{
		{"quiet", []string{"-q"}, false},
		{"logged", nil, false},
		{"quiet-deflate", []string{"-q", "--deflate"}, true},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			lc := &listenCatcher{url: make(chan string, 1)}
			done := make(chan int, 1)
			go func() {
				done <- cmd.MainContext(ctx, append([]string{"wsdbg", "serve", "--listen", "127.0.0.1:0"}, bc.args...), &cmd.IO{Out: lc, Err: io.Discard})
			}()
			defer func() { cancel(); <-done }()
			var url string
			select {
			case url = <-lc.url:
			case <-time.After(serveWait):
				b.Fatal("serve did not listen")
			}
			c, _, err := (&websocket.Dialer{EnableCompression: bc.compress}).Dial(url, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := []byte(strings.Repeat("0123456789abcdef", 64))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
