package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/wire"
)

// sessionRun is the result of one wsdbg run.
type sessionRun struct {
	code     int
	out, err string
}

// sessionIO returns an IO over buffers reading stdin from in, with stdout
// a terminal or not, and a fixed clock when clock is set.
func sessionIO(in io.Reader, outTTY bool) (*cmd.IO, *wstest.Buffer, *wstest.Buffer) {
	var out, errb wstest.Buffer
	if in == nil {
		in = strings.NewReader("")
	}
	nd := &net.Dialer{}
	return &cmd.IO{
		In:        in,
		Out:       &out,
		Err:       &errb,
		OutTTY:    outTTY,
		LookupEnv: func(string) (string, bool) { return "", false },
		Now:       time.Now,
		Dial:      nd.DialContext,
	}, &out, &errb
}

// runWsdbg runs wsdbg with o and args, bounded in time.
func runWsdbg(t testing.TB, o *cmd.IO, args ...string) int {
	t.Helper()
	cmd.MainMu.Lock() // see cmd.MainMu
	defer cmd.MainMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- cmd.MainContext(ctx, append([]string{"wsdbg"}, args...), o) }()
	select {
	case code := <-done:
		return code
	case <-time.After(40 * time.Second):
		t.Fatalf("wsdbg %q did not finish", args)
		return -1
	}
}

// run runs wsdbg with stdin in (nil: empty) and stdout not a terminal.
func run(t testing.TB, in io.Reader, args ...string) sessionRun {
	t.Helper()
	o, out, errb := sessionIO(in, false)
	code := runWsdbg(t, o, args...)
	return sessionRun{code, out.String(), errb.String()}
}

// handConn is one server-side connection of a handServer.
type handConn struct {
	t    testing.TB
	nc   net.Conn
	conn *wire.Conn
	req  *handshake.Request
}

// read returns the next message or control frame; m.Data is a copy.
func (c *handConn) read() (wire.Message, error) {
	m, err := c.conn.Read()
	m.Data = bytes.Clone(m.Data)
	return m, err
}

// readUntilClose reads until the client's close frame and returns the
// data messages before it and the close.
func (c *handConn) readUntilClose() ([]wire.Message, wire.Message, error) {
	var msgs []wire.Message
	for {
		m, err := c.read()
		if err != nil {
			return msgs, m, err
		}
		switch m.Op {
		case wire.OpClose:
			return msgs, m, nil
		case wire.OpText, wire.OpBinary:
			msgs = append(msgs, m)
		}
	}
}

// handServer is a WebSocket server written byte by byte over wire's
// server role: it can misbehave in every way a test needs.
type handServer struct {
	status  string // non-empty: answer with this status line (e.g. "404 Not Found") and close
	accept  string // Sec-WebSocket-Accept to send instead of the right one
	deflate bool   // accept permessage-deflate when offered
	early   []byte // frame bytes written in the same write as the 101
	serve   func(c *handConn)
}

// start runs the server on 127.0.0.1 and returns its ws:// URL.
func (hs handServer) start(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wstest.Serve(t, ln, func(nc net.Conn) {
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		hs.handle(t, nc)
	})
	return "ws://" + ln.Addr().String() + "/test"
}

func (hs handServer) handle(t testing.TB, nc net.Conn) {
	br := bufio.NewReader(nc)
	req, err := handshake.ReadRequest(br)
	if err != nil {
		return
	}
	if hs.status != "" {
		fmt.Fprintf(nc, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", hs.status)
		return
	}
	key, _ := req.Get("Sec-WebSocket-Key")
	accept := handshake.AcceptKey(key)
	if hs.accept != "" {
		accept = hs.accept
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept)
	var cfg wire.Config
	cfg.Role = wire.RoleServer
	if hs.deflate {
		for _, x := range req.Tokens("Sec-WebSocket-Extensions") {
			if strings.HasPrefix(x, "permessage-deflate") {
				head.WriteString("Sec-WebSocket-Extensions: permessage-deflate\r\n")
				cfg.Deflate = &wire.DeflateParams{}
				break
			}
		}
	}
	head.WriteString("\r\n")
	head.Write(hs.early)
	if _, err := nc.Write(head.Bytes()); err != nil {
		return
	}
	if hs.serve != nil {
		hs.serve(&handConn{t: t, nc: nc, conn: wire.NewConn(br, nc, cfg), req: req})
	}
}

// echoServe mirrors every data message until the client's close, which it
// answers.
func echoServe(c *handConn) {
	for {
		m, err := c.conn.Read()
		if err != nil {
			return
		}
		switch m.Op {
		case wire.OpText, wire.OpBinary:
			if err := c.conn.WriteMessage(m.Op, m.Data); err != nil {
				return
			}
		case wire.OpClose:
			_ = c.conn.WriteClose(m.CloseCode, "")
			return
		}
	}
}

// startGorilla runs handler on an independent WebSocket implementation,
// gorilla/websocket, and returns the server's ws:// URL.
func startGorilla(t testing.TB, compress bool, handler func(c *websocket.Conn)) string {
	t.Helper()
	up := websocket.Upgrader{EnableCompression: compress}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if compress {
			c.EnableWriteCompression(true)
			_ = c.SetCompressionLevel(1)
		}
		handler(c)
	}))
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String() + "/gorilla"
}

// gorillaEcho mirrors messages until the client closes.
func gorillaEcho(c *websocket.Conn) {
	for {
		op, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(op, data); err != nil {
			return
		}
	}
}

// ndjsonEvent is the union of the NDJSON event fields of SPEC §3.2.
type ndjsonEvent struct {
	Event      string          `json:"event"`
	Dir        string          `json:"dir"`
	Type       string          `json:"type"`
	Data       *string         `json:"data"`
	Size       *int            `json:"size"`
	Compressed *bool           `json:"compressed"`
	Frames     *int            `json:"frames"`
	Time       string          `json:"time"`
	Code       json.RawMessage `json:"code"`
	Reason     *string         `json:"reason"`
	Message    string          `json:"message"`
	ExitCode   *int            `json:"exit_code"`
	Handshake  json.RawMessage `json:"handshake"`
}

// parseEvents decodes NDJSON output strictly: one object per line, no
// field outside SPEC §3.2.
func parseEvents(t testing.TB, s string) []ndjsonEvent {
	t.Helper()
	var evs []ndjsonEvent
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			t.Fatalf("empty line %d in NDJSON output", i+1)
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var e ndjsonEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one value: %q", i+1, line)
		}
		evs = append(evs, e)
	}
	return evs
}

// checkTime fails unless s is an RFC 3339 time with nanoseconds near now.
func checkTime(t testing.TB, what, s string) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%s time %q: %v", what, s, err)
		return
	}
	if d := time.Since(tm); d < 0 || d > time.Minute {
		t.Errorf("%s time %v is not now", what, tm)
	}
}
