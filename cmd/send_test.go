package cmd_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/wire"
)

// TestSendEcho runs send against both server implementations.
func TestSendEcho(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"wire":    func(t *testing.T) string { return handServer{serve: echoServe}.start(t) },
		"gorilla": func(t *testing.T) string { return startGorilla(t, false, gorillaEcho) },
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			url := start(t)
			r := run(t, nil, "send", url, "hello", "wörld", "--expect", "hello", "--expect", "wörld")
			if r.code != 0 || r.out != "hello\nwörld\n" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.err)
			}
			for _, want := range []string{"> GET /", "< HTTP/1.1 101", "accept-ok", "> close 1000 (normal closure)", "< close 1000 (normal closure)"} {
				if !strings.Contains(r.err, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.err)
				}
			}
		})
	}
}

func TestSendInputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "msg.bin")
	if err := os.WriteFile(file, []byte("from\x00file"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  []string // messages the server received
		ops   wire.Opcode
	}{
		{"arguments", "ignored\n", []string{"a", "b"}, []string{"a", "b"}, wire.OpText},
		{"stdin lines", "one\r\ntwo\n\nthree", nil, []string{"one", "two", "", "three"}, wire.OpText},
		{"stdin whole", "one\ntwo\n", []string{"--stdin-mode", "whole"}, []string{"one\ntwo\n"}, wire.OpText},
		{"binary arguments", "", []string{"--binary", "\x00\x01", "xyz"}, []string{"\x00\x01", "xyz"}, wire.OpBinary},
		{"binary stdin lines", "l1\nl2\n", []string{"--binary"}, []string{"l1", "l2"}, wire.OpBinary},
		{"file", "ignored", []string{"--binary", "--file", file}, []string{"from\x00file"}, wire.OpBinary},
		{"argument then file", "", []string{"first", "--binary", "--file", file}, []string{"first", "from\x00file"}, wire.OpBinary},
		{"flags after messages", "", []string{"x", "-q", "--", "-q", "--binary"}, []string{"x", "-q", "--binary"}, wire.OpText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan []wire.Message, 1)
			url := handServer{serve: func(c *handConn) {
				msgs, cl, err := c.readUntilClose()
				if err == nil {
					_ = c.conn.WriteClose(cl.CloseCode, "")
				}
				got <- msgs
			}}.start(t)
			args := append([]string{"send", "-q", "--wait", "10ms", url}, tt.args...)
			r := run(t, strings.NewReader(tt.stdin), args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.err)
			}
			var msgs []wire.Message
			select {
			case msgs = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("server got nothing")
			}
			if len(msgs) != len(tt.want) {
				t.Fatalf("server got %d messages, want %d: %+v", len(msgs), len(tt.want), msgs)
			}
			for i, m := range msgs {
				if string(m.Data) != tt.want[i] || m.Op != tt.ops {
					t.Errorf("message %d = %v %q, want %v %q", i, m.Op, m.Data, tt.ops, tt.want[i])
				}
			}
			if strings.Contains(tt.name, "flags after") && r.err != "" {
				t.Errorf("-q after the messages was not applied: stderr %q", r.err)
			}
		})
	}
}

// TestSendExitCodes covers every exit code send can give (SPEC §7).
func TestSendExitCodes(t *testing.T) {
	closeWith := func(code wire.CloseCode, reason string) func(c *handConn) {
		return func(c *handConn) {
			_, _ = c.read()
			_ = c.conn.WriteClose(code, reason)
			_, _ = c.read()
		}
	}
	tests := []struct {
		name    string
		server  handServer
		noURL   bool // the URL points at a closed port
		args    []string
		code    int
		stderr  string // a piece of the one error sentence
		srvSaw  *wire.CloseCode
		jsonErr bool
	}{
		{name: "ok", server: handServer{serve: echoServe}, args: []string{"x", "--expect", "x"}, code: 0},
		{name: "no response", noURL: true, args: []string{"x"}, code: 3},
		{name: "refused", server: handServer{status: "404 Not Found"}, args: []string{"x"}, code: 4},
		{name: "bad accept", server: handServer{accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", serve: echoServe}, args: []string{"x"}, code: 5},
		{name: "lenient accepts a bad 101", server: handServer{accept: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", serve: echoServe}, args: []string{"--lenient", "x", "--expect", "x"}, code: 0},
		{name: "protocol violation", server: handServer{serve: func(c *handConn) {
			_, _ = c.read()
			_, _ = c.nc.Write([]byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2}) // masked server frame
			_, _ = c.read()
		}}, args: []string{"x"}, code: 6, stderr: "broke the protocol: masked text frame"},
		{name: "invalid UTF-8", server: handServer{serve: func(c *handConn) {
			_, _ = c.read()
			_, _ = c.nc.Write([]byte{0x81, 0x02, 0xc3, 0x28})
			_, _ = c.read()
		}}, args: []string{"x"}, code: 6, stderr: "UTF-8"},
		{name: "message too big", server: handServer{serve: func(c *handConn) {
			_, _ = c.read()
			_ = c.conn.WriteMessage(wire.OpBinary, make([]byte, 2048))
			_, _ = c.read()
		}}, args: []string{"--max-message-size", "1k", "x"}, code: 6, stderr: "--max-message-size"},
		{name: "huge declared frame", server: handServer{serve: func(c *handConn) {
			_, _ = c.read()
			_, _ = c.nc.Write([]byte{0x82, 127, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			_, _ = c.read()
		}}, args: []string{"x"}, code: 6, stderr: "size limit"},
		{name: "expect mismatch", server: handServer{serve: echoServe}, args: []string{"x", "--expect", "y"}, code: 7, stderr: `reply 1 is "x", expected "y"`},
		{name: "count not reached", server: handServer{serve: echoServe}, args: []string{"--count", "2", "--wait", "100ms", "x"}, code: 7, stderr: "expected 2 replies (--count), got 1 within --wait 100ms"},
		{name: "peer close 1011", server: handServer{serve: closeWith(1011, "boom")}, args: []string{"x"}, code: 8, stderr: `code 1011 (internal error) and reason "boom"`},
		{name: "peer close 1001", server: handServer{serve: closeWith(1001, "")}, args: []string{"x"}, code: 0},
		{name: "dropped", server: handServer{serve: func(c *handConn) {
			_, _ = c.read()
			_, _ = c.nc.Write([]byte{0x81, 0x05, 'a'})
		}}, args: []string{"x"}, code: 1, stderr: "dropped without a close frame"},
		{name: "usage", server: handServer{serve: echoServe}, args: []string{"--count", "1", "--expect", "a", "--expect", "b", "x"}, code: 2, stderr: "--count 1 is less than the 2 --expect values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			if tt.noURL {
				url = "ws://" + closedPort(t) + "/"
			} else {
				url = tt.server.start(t)
			}
			for _, mode := range []string{"text", "json"} {
				args := append([]string{"send", "--timeout", "5s", "--close-timeout", "1s"}, tt.args...)
				if mode == "json" {
					args = append([]string{"send", "--json"}, args[1:]...)
				}
				// The URL goes after the flags that precede the messages.
				args = insertURL(args, url)
				r := run(t, nil, args...)
				if r.code != tt.code {
					t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", mode, r.code, tt.code, r.out, r.err)
				}
				if tt.stderr != "" && !strings.Contains(r.err, tt.stderr) {
					t.Errorf("%s: stderr lacks %q:\n%s", mode, tt.stderr, r.err)
				}
				if mode == "text" && tt.code >= 6 && strings.Count(r.err, "wsdbg: ") != 1 {
					t.Errorf("want exactly one error sentence, stderr:\n%s", r.err)
				}
				if mode != "json" || tt.code == 2 {
					continue
				}
				evs := parseEvents(t, r.out)
				if evs[0].Event != "handshake" {
					t.Errorf("first event %q, want handshake", evs[0].Event)
				}
				var doc struct {
					ExitCode int `json:"exit_code"`
				}
				if err := json.Unmarshal(evs[0].Handshake, &doc); err != nil {
					t.Error(err)
				}
				last := evs[len(evs)-1]
				if tt.code == 0 {
					if last.Event == "error" {
						t.Errorf("error event on success: %+v", last)
					}
					continue
				}
				if last.Event != "error" || last.ExitCode == nil || *last.ExitCode != tt.code || last.Message == "" {
					t.Errorf("last event %+v, want an error event with exit_code %d", last, tt.code)
				}
				if tt.code >= 3 && tt.code <= 5 && doc.ExitCode != tt.code {
					t.Errorf("handshake document exit_code %d, want %d", doc.ExitCode, tt.code)
				}
				if lines := strings.Count(strings.TrimSpace(r.err), "\n") + 1; tt.code >= 6 && lines != 1 {
					t.Errorf("--json stderr must carry only the error, got:\n%s", r.err)
				}
			}
		})
	}
}

// insertURL puts url after the options, before the first message.
func insertURL(args []string, url string) []string {
	valued := map[string]bool{"--timeout": true, "--close-timeout": true, "--max-message-size": true, "--count": true, "--wait": true, "--expect": true}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if valued[args[i]] {
			i++
		}
		i++
	}
	out := append([]string{}, args[:i]...)
	out = append(out, url)
	return append(out, args[i:]...)
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSendServerCloseCodeEchoed checks that the close code the client
// sends on a violation reaches the server.
func TestSendViolationCloseCodes(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		args []string
		code wire.CloseCode
	}{
		{"reserved bit", []byte{0xc1, 0x01, 'x'}, nil, 1002},
		{"invalid UTF-8", []byte{0x81, 0x02, 0xc3, 0x28}, nil, 1007},
		{"too big", []byte{0x82, 0x7e, 0x08, 0x00}, []string{"--max-message-size", "1k"}, 1009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan wire.Message, 1)
			url := handServer{serve: func(c *handConn) {
				_, _ = c.read()
				_, _ = c.nc.Write(tt.raw)
				_, cl, _ := c.readUntilClose()
				got <- cl
			}}.start(t)
			args := append([]string{"send", "-q"}, tt.args...)
			r := run(t, nil, append(args, url, "x")...)
			if r.code != 6 {
				t.Fatalf("exit %d, want 6; stderr %s", r.code, r.err)
			}
			select {
			case cl := <-got:
				if cl.Op != wire.OpClose || cl.CloseCode != tt.code {
					t.Errorf("server got %+v, want close %d", cl, tt.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("server saw no close")
			}
		})
	}
}

// TestSendJSON checks every field of every event of a send --json run.
func TestSendJSON(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		m, _ := c.read()
		_ = c.conn.WriteControl(wire.OpPing, []byte("pp"))
		_ = c.conn.WriteMessage(wire.OpText, m.Data)
		// The pong goes before the second message: that message
		// completes --count 2 and starts wsdbg's close, so anything sent
		// after it may race with that close.
		_ = c.conn.WriteControl(wire.OpPong, []byte("unsolicited"))
		_ = c.conn.WriteFragmented(wire.OpBinary, []byte{0, 1, 2, 3, 4, 5}, 3)
		_, cl, _ := c.readUntilClose()
		_ = c.conn.WriteClose(cl.CloseCode, "bye")
	}}.start(t)
	r := run(t, nil, "send", "--json", "--count", "2", url, "héllo \"json\"\n")
	if r.code != 0 || r.err != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	evs := parseEvents(t, r.out)
	want := []struct{ event, dir, typ string }{
		{"handshake", "", ""},
		{"message", "out", "text"},
		{"ping", "in", ""},
		{"pong", "out", ""},
		{"message", "in", "text"},
		{"pong", "in", ""},
		{"message", "in", "binary"},
		{"close", "out", ""},
		{"close", "in", ""},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d:\n%s", len(evs), len(want), r.out)
	}
	for i, w := range want {
		e := evs[i]
		if e.Event != w.event || e.Dir != w.dir || e.Type != w.typ {
			t.Fatalf("event %d = %s/%s/%s, want %s/%s/%s:\n%s", i, e.Event, e.Dir, e.Type, w.event, w.dir, w.typ, r.out)
		}
		if e.Event != "handshake" {
			checkTime(t, e.Event, e.Time)
		}
	}
	var doc struct {
		URL      string `json:"url"`
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(evs[0].Handshake, &doc); err != nil || !doc.OK || doc.ExitCode != 0 || doc.Response.Status != 101 || doc.URL == "" {
		t.Errorf("handshake = %s (%v)", evs[0].Handshake, err)
	}
	text := "héllo \"json\"\n"
	for _, e := range []ndjsonEvent{evs[1], evs[4]} {
		if *e.Data != text || *e.Size != len(text) || *e.Compressed || *e.Frames != 1 {
			t.Errorf("text message = %+v (data %q)", e, *e.Data)
		}
	}
	bin := evs[6]
	if raw, err := base64.StdEncoding.DecodeString(*bin.Data); err != nil || !bytes.Equal(raw, []byte{0, 1, 2, 3, 4, 5}) || *bin.Size != 6 || *bin.Frames != 3 || *bin.Compressed {
		t.Errorf("binary message = %+v", bin)
	}
	for _, i := range []int{2, 3} {
		if *evs[i].Data != base64.StdEncoding.EncodeToString([]byte("pp")) {
			t.Errorf("%s data = %q", evs[i].Event, *evs[i].Data)
		}
	}
	if *evs[5].Data != base64.StdEncoding.EncodeToString([]byte("unsolicited")) {
		t.Errorf("pong data = %q", *evs[5].Data)
	}
	if string(evs[7].Code) != "1000" || *evs[7].Reason != "" || string(evs[8].Code) != "1000" || *evs[8].Reason != "bye" {
		t.Errorf("close events = %+v, %+v", evs[7], evs[8])
	}
}

// TestSendJSONCloseWithoutCode checks "code": null.
func TestSendJSONCloseWithoutCode(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		_, _ = c.read()
		_ = c.conn.WriteClose(0, "")
		_, _ = c.read()
	}}.start(t)
	r := run(t, nil, "send", "--json", url, "x")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	evs := parseEvents(t, r.out)
	var closes []ndjsonEvent
	for _, e := range evs {
		if e.Event == "close" {
			closes = append(closes, e)
		}
	}
	if len(closes) != 2 || string(closes[0].Code) != "null" || closes[0].Dir != "in" || string(closes[1].Code) != "null" || closes[1].Dir != "out" {
		t.Errorf("close events = %+v", closes)
	}
}

func TestSendBinaryOut(t *testing.T) {
	payload := []byte("bin\x00\x1b[2J\xff")
	url := handServer{serve: func(c *handConn) {
		_, _ = c.read()
		_ = c.conn.WriteMessage(wire.OpBinary, payload)
		echoServe(c)
	}}.start(t)
	tests := []struct {
		tty  bool
		args []string
		want string
	}{
		{false, nil, string(payload)},
		{false, []string{"--binary-out", "raw"}, string(payload)},
		{false, []string{"--binary-out", "base64"}, base64.StdEncoding.EncodeToString(payload) + "\n"},
		{false, []string{"--binary-out", "hex"}, "binary, 9 bytes\n00000000  62 69 6e 00 1b 5b 32 4a  ff                       |bin..[2J.|\n"},
		{true, nil, "binary, 9 bytes\n00000000  62 69 6e 00 1b 5b 32 4a  ff                       |bin..[2J.|\n"},
		{true, []string{"--binary-out", "base64"}, base64.StdEncoding.EncodeToString(payload) + "\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.tty, tt.args), func(t *testing.T) {
			o, out, errb := sessionIO(nil, tt.tty)
			args := append([]string{"send", "-q", "--count", "1"}, tt.args...)
			code := runWsdbg(t, o, append(args, url, "go")...)
			if code != 0 || out.String() != tt.want {
				t.Errorf("exit %d, stdout %q, want %q; stderr %s", code, out.String(), tt.want, errb.String())
			}
		})
	}
}

// TestSendTerminalEscapes: text from the server is escaped on a terminal
// and passed through into a pipe.
func TestSendTerminalEscapes(t *testing.T) {
	evil := "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r\u202e"
	url := handServer{serve: func(c *handConn) {
		_, _ = c.read()
		_ = c.conn.WriteMessage(wire.OpText, []byte(evil))
		_ = c.conn.WriteControl(wire.OpPing, []byte("\x1b[2J"))
		echoServe(c)
	}}.start(t)
	for _, tty := range []bool{false, true} {
		o, out, errb := sessionIO(nil, tty)
		code := runWsdbg(t, o, "send", "--count", "1", url, "go")
		want := evil + "\n"
		if tty {
			want = `\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x0d\u202e` + "\n"
		}
		if code != 0 || out.String() != want {
			t.Errorf("tty=%v: exit %d, stdout %q, want %q", tty, code, out.String(), want)
		}
		if strings.Contains(errb.String(), "\x1b[2J") || !strings.Contains(errb.String(), `< ping "\x1b[2J"`) {
			t.Errorf("tty=%v: ping payload not escaped on stderr:\n%q", tty, errb.String())
		}
	}
}

// TestSendVerbose shows frame lines, the transcript and control frames on
// stderr, and nothing but messages with -q.
func TestSendVerbose(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		_, _ = c.read()
		_ = c.conn.WriteControl(wire.OpPing, nil)
		_ = c.conn.WriteMessage(wire.OpText, []byte("reply"))
		echoServe(c)
	}}.start(t)
	r := run(t, nil, "send", "-v", "--count", "1", url, "hello")
	for _, want := range []string{
		"> frame FIN=1 RSV=000 op=text(0x1) mask=1 key=",
		"len=5",
		"< frame FIN=1 RSV=000 op=ping(0x9) mask=0 len=0",
		"< ping\n", "> pong\n",
		"< frame FIN=1 RSV=000 op=text(0x1) mask=0 len=5",
		"> close 1000 (normal closure)",
	} {
		if !strings.Contains(r.err, want) {
			t.Errorf("-v stderr lacks %q:\n%s", want, r.err)
		}
	}
	if r.out != "reply\n" {
		t.Errorf("stdout %q", r.out)
	}
	q := run(t, nil, "send", "-q", "--count", "1", url, "hello")
	if q.code != 0 || q.err != "" || q.out != "reply\n" {
		t.Errorf("-q: exit %d, stdout %q, stderr %q", q.code, q.out, q.err)
	}
	qv := run(t, nil, "send", "-q", "-v", "--count", "1", url, "hello")
	if qv.code != 0 || strings.Contains(qv.err, "GET /") || !strings.Contains(qv.err, "> frame FIN=1") {
		t.Errorf("-q -v: exit %d, want frame lines without the transcript; stderr:\n%s", qv.code, qv.err)
	}
}

// TestSendHandshakeFlags checks that the handshake flags reach the
// server through send.
func TestSendHandshakeFlags(t *testing.T) {
	reqs := make(chan string, 1)
	url := handServer{serve: func(c *handConn) {
		reqs <- string(c.req.Raw)
		echoServe(c)
	}}.start(t)
	r := run(t, nil, "send", "-q", "-H", "X-Trace: a, b", "-p", "chat", "-p", "superchat", "--origin", "http://example.test",
		"--key", "dGhlIHNhbXBsZSBub25jZQ==", "--omit", "Sec-WebSocket-Version", "--deflate", url, "x", "--expect", "x")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	req := <-reqs
	for _, want := range []string{"X-Trace: a, b\r\n", "Sec-WebSocket-Protocol: chat, superchat\r\n", "Origin: http://example.test\r\n",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	if strings.Contains(req, "Sec-WebSocket-Version") {
		t.Errorf("--omit Sec-WebSocket-Version ignored:\n%s", req)
	}
}

// TestSendEarlyData: the server sends a frame in the same write as its
// 101; it is printed first.
func TestSendEarlyData(t *testing.T) {
	early := append([]byte{0x81, 0x05}, "early"...)
	url := handServer{early: early, serve: echoServe}.start(t)
	r := run(t, nil, "send", "--count", "2", url, "late")
	if r.code != 0 || r.out != "early\nlate\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, "early-data") {
		t.Errorf("no early-data diagnostic:\n%s", r.err)
	}
}

// TestSendFragmentsWithPings: fragmented messages with pings between the
// fragments are assembled, and each ping answered in order.
func TestSendFragmentsWithPings(t *testing.T) {
	pongs := make(chan []string, 1)
	url := handServer{serve: func(c *handConn) {
		_, _ = c.read()
		var b []byte
		b = append(b, 0x01, 3, 'a', 'b', 'c')
		b = append(b, 0x89, 2, 'p', '1')
		b = append(b, 0x00, 3, 'd', 'e', 'f')
		b = append(b, 0x89, 2, 'p', '2')
		b = append(b, 0x80, 1, 'g')
		_, _ = c.nc.Write(b)
		var got []string
		for {
			m, err := c.read()
			if err != nil {
				break
			}
			if m.Op == wire.OpPong {
				got = append(got, string(m.Data))
			}
			if m.Op == wire.OpClose {
				_ = c.conn.WriteClose(1000, "")
				break
			}
		}
		pongs <- got
	}}.start(t)
	r := run(t, nil, "send", "--json", "--count", "1", url, "go")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var msg *ndjsonEvent
	for _, e := range parseEvents(t, r.out) {
		if e.Event == "message" && e.Dir == "in" {
			msg = &e
		}
	}
	if msg == nil || *msg.Data != "abcdefg" || *msg.Frames != 3 {
		t.Errorf("message = %+v", msg)
	}
	if got := <-pongs; strings.Join(got, ",") != "p1,p2" {
		t.Errorf("pongs = %q, want p1,p2", got)
	}
}

// TestSendDeflate exchanges compressed messages both ways with gorilla
// and with wire's own server role.
func TestSendDeflate(t *testing.T) {
	big := strings.Repeat("compress me please ", 200)
	servers := map[string]string{
		"gorilla": startGorilla(t, true, gorillaEcho),
		"wire":    handServer{deflate: true, serve: echoServe}.start(t),
	}
	for name, url := range servers {
		t.Run(name, func(t *testing.T) {
			r := run(t, nil, "send", "--json", "--deflate", "-v", "--expect", big, "--expect", "tiny", url, big, "tiny")
			if r.code != 0 {
				t.Fatalf("exit %d: %s\n%s", r.code, r.err, r.out)
			}
			var compressedIn, compressedOut, rsv1Frame bool
			for _, e := range parseEventsLoose(t, r.out) {
				if e.Event == "message" && e.Data != nil && *e.Data == big {
					if e.Dir == "in" && *e.Compressed {
						compressedIn = true
					}
					if e.Dir == "out" && *e.Compressed {
						compressedOut = true
					}
				}
				if e.Event == "frame" && e.Rsv1 != nil && *e.Rsv1 {
					rsv1Frame = true
				}
			}
			if !compressedIn || !compressedOut || !rsv1Frame {
				t.Errorf("compressed in=%v out=%v rsv1 frame=%v:\n%s", compressedIn, compressedOut, rsv1Frame, r.out)
			}
		})
	}
}

// looseEvent also has the fields of -v frame events.
type looseEvent struct {
	ndjsonEvent
	Rsv1 *bool `json:"rsv1"`
}

func parseEventsLoose(t testing.TB, s string) []looseEvent {
	t.Helper()
	var evs []looseEvent
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var e looseEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestSendGorillaPing: gorilla's ping is answered, its close honoured.
func TestSendGorillaPing(t *testing.T) {
	pong := make(chan string, 1)
	url := startGorilla(t, false, func(c *websocket.Conn) {
		c.SetPongHandler(func(s string) error { pong <- s; return nil })
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		_ = c.WriteControl(websocket.PingMessage, []byte("gp"), time.Now().Add(time.Second))
		_ = c.WriteMessage(websocket.TextMessage, data)
		_, _, _ = c.ReadMessage() // handles the pong, then the close
	})
	r := run(t, nil, "send", "--count", "1", url, "hi")
	if r.code != 0 || r.out != "hi\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.out, r.err)
	}
	select {
	case p := <-pong:
		if p != "gp" {
			t.Errorf("pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Error("gorilla got no pong")
	}
}

func TestSendUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"send"}, "missing URL"},
		{[]string{"send", "--binary-out", "octal", "ws://127.0.0.1:1/"}, `"octal"`},
		{[]string{"send", "--stdin-mode", "chunks", "ws://127.0.0.1:1/"}, `--stdin-mode "chunks"`},
		{[]string{"send", "--max-message-size", "12XB", "ws://127.0.0.1:1/"}, `unknown unit "XB"`},
		{[]string{"send", "--max-message-size", "0", "ws://127.0.0.1:1/"}, "at least 1 byte"},
		{[]string{"send", "--close-timeout", "0s", "ws://127.0.0.1:1/"}, "--close-timeout"},
		{[]string{"send", "--count", "-1", "ws://127.0.0.1:1/"}, "--count -1"},
		{[]string{"send", "ws://127.0.0.1:1/", "x", "--wat"}, "-wat"},
		{[]string{"send", "ws://127.0.0.1:1/", "x", "--wait"}, "-wait"},
		{[]string{"send", "ws://127.0.0.1:1/", "\xff"}, "not valid UTF-8"},
		{[]string{"connect", "ws://127.0.0.1:1/", "extra"}, "connect takes one URL"},
		{[]string{"connect", "--ping-interval", "-1s", "ws://127.0.0.1:1/"}, "--ping-interval"},
	}
	for _, tt := range tests {
		r := run(t, nil, tt.args...)
		if r.code != 2 || !strings.Contains(r.err, tt.msg) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.err, tt.msg)
		}
	}
}

// TestSendColor: --color always colors the session lines on stderr, never
// the messages on stdout; --color never and NO_COLOR leave them plain.
func TestSendColor(t *testing.T) {
	url := handServer{serve: echoServe}.start(t)
	for _, mode := range []string{"always", "never"} {
		r := run(t, nil, "send", "--color", mode, "--count", "1", url, "x")
		colored := strings.Contains(r.err, "\x1b[33m> close 1000")
		if r.code != 0 || colored != (mode == "always") || strings.Contains(r.out, "\x1b") {
			t.Errorf("--color %s: exit %d, stdout %q, stderr:\n%q", mode, r.code, r.out, r.err)
		}
	}
}
