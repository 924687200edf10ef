package repl_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	_ = server.SetDeadline(time.Now().Add(20 * time.Second))
	return client, server
}

// peer is the server end, speaking wire in the server role.
type peer struct {
	t    testing.TB
	nc   net.Conn
	conn *wire.Conn
}

func newPeer(t testing.TB, nc net.Conn) *peer {
	return &peer{t: t, nc: nc, conn: wire.NewConn(bufio.NewReader(nc), nc, wire.Config{Role: wire.RoleServer})}
}

func (p *peer) read() wire.Message {
	p.t.Helper()
	m, err := p.conn.Read()
	if err != nil {
		p.t.Fatalf("peer read: %v", err)
	}
	m.Data = bytes.Clone(m.Data)
	return m
}

func (p *peer) raw(b []byte) {
	p.t.Helper()
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("peer write: %v", err)
	}
}

// session starts a client session over c with its output in out and log.
func session(t testing.TB, c net.Conn, cfg repl.SessionConfig, pcfg repl.PrinterConfig) (*repl.Session, *wstest.Buffer, *wstest.Buffer) {
	t.Helper()
	var out, log wstest.Buffer
	pcfg.Out, pcfg.Log = &out, &log
	cfg.Printer = repl.NewPrinter(pcfg)
	t.Cleanup(func() { cfg.Printer.Close() })
	return repl.NewSession(c, nil, cfg), &out, &log
}

func waitFor(t testing.TB, s *repl.Session) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- s.Wait() }()
	select {
	case err := <-res:
		_ = s.Printer().Sync()
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
		return nil
	}
}

func TestSessionPeerClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code    wire.CloseCode
		reason  string
		wantErr bool
		log     string
	}{
		{0, "", false, "< close (no status code)\n> close (no status code)\n"},
		{1000, "done", false, "< close 1000 (normal closure) \"done\"\n> close 1000 (normal closure)\n"},
		{1001, "", false, "< close 1001 (going away)\n> close 1001 (going away)\n"},
		{1011, "oops", true, "< close 1011 (internal error) \"oops\"\n> close 1011 (internal error)\n"},
		{4000, "", true, "< close 4000 (private use)\n> close 4000 (private use)\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			t.Parallel()
			c, sc := tcpPair(t)
			p := newPeer(t, sc)
			s, out, log := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
			s.Start(context.Background())
			if err := p.conn.WriteMessage(wire.OpText, []byte("before close")); err != nil {
				t.Fatal(err)
			}
			if err := p.conn.WriteClose(tt.code, tt.reason); err != nil {
				t.Fatal(err)
			}
			echo := p.read()
			if echo.Op != wire.OpClose || echo.CloseCode != tt.code || echo.HasCode != (tt.code != 0) {
				t.Errorf("client answered %+v, want close %v", echo, tt.code)
			}
			err := waitFor(t, s)
			var ce *wire.CloseError
			if tt.wantErr {
				if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason != tt.reason {
					t.Errorf("Wait = %v, want a *wire.CloseError with %v", err, tt.code)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(int(tt.code))) {
					t.Errorf("error %q does not name the code", err)
				}
			} else if err != nil {
				t.Errorf("Wait = %v, want nil", err)
			}
			if got := out.String(); got != "before close\n" {
				t.Errorf("out = %q", got)
			}
			if got := log.String(); got != tt.log {
				t.Errorf("log = %q, want %q", got, tt.log)
			}
		})
	}
}

func TestSessionProtocolErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  []byte
		max  int64
		code wire.CloseCode
	}{
		{"masked server frame", []byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2}, 0, wire.CloseProtocolError},
		{"reserved opcode", []byte{0x83, 0x00}, 0, wire.CloseProtocolError},
		{"rsv1 without deflate", []byte{0xc1, 0x01, 'x'}, 0, wire.CloseProtocolError},
		{"continuation without start", []byte{0x80, 0x01, 'x'}, 0, wire.CloseProtocolError},
		{"fragmented ping", []byte{0x09, 0x00}, 0, wire.CloseProtocolError},
		{"long ping", append([]byte{0x89, 126, 0, 126}, make([]byte, 126)...), 0, wire.CloseProtocolError},
		{"one-byte close", []byte{0x88, 0x01, 0x03}, 0, wire.CloseProtocolError},
		{"close code 1005", []byte{0x88, 0x02, 0x03, 0xed}, 0, wire.CloseProtocolError},
		{"invalid UTF-8", []byte{0x81, 0x02, 0xc3, 0x28}, 0, wire.CloseInvalidPayload},
		{"too big", []byte{0x82, 0x05, 1, 2, 3, 4, 5}, 4, wire.CloseMessageTooBig},
		{"huge declared frame", []byte{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0}, 0, wire.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, sc := tcpPair(t)
			p := newPeer(t, sc)
			s, _, log := session(t, c, repl.SessionConfig{MaxMessageSize: tt.max}, repl.PrinterConfig{})
			s.Start(context.Background())
			p.raw(tt.raw)
			m := p.read()
			if m.Op != wire.OpClose || m.CloseCode != tt.code {
				t.Errorf("client sent %+v, want close %v", m, tt.code)
			}
			err := waitFor(t, s)
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("Wait = %v, want a *wire.ProtocolError with %v", err, tt.code)
			}
			if !strings.Contains(log.String(), "> close "+fmt.Sprint(int(tt.code))) {
				t.Errorf("log %q does not show the close sent", log.String())
			}
		})
	}
}

func TestSessionPong(t *testing.T) {
	t.Parallel()
	for _, noPong := range []bool{false, true} {
		t.Run(fmt.Sprintf("no-auto-pong=%v", noPong), func(t *testing.T) {
			t.Parallel()
			c, sc := tcpPair(t)
			p := newPeer(t, sc)
			s, _, log := session(t, c, repl.SessionConfig{NoAutoPong: noPong}, repl.PrinterConfig{})
			s.Start(context.Background())
			if err := p.conn.WriteControl(wire.OpPing, []byte("are you there")); err != nil {
				t.Fatal(err)
			}
			if err := p.conn.WriteClose(1000, ""); err != nil {
				t.Fatal(err)
			}
			m := p.read()
			if noPong {
				if m.Op != wire.OpClose {
					t.Errorf("got %v, want the close (no pong)", m.Op)
				}
			} else if m.Op != wire.OpPong || string(m.Data) != "are you there" {
				t.Errorf("got %v %q, want pong with the ping's payload", m.Op, m.Data)
			}
			if err := waitFor(t, s); err != nil {
				t.Fatal(err)
			}
			want := "< ping \"are you there\"\n"
			if !noPong {
				want += "> pong \"are you there\"\n"
			}
			if !strings.HasPrefix(log.String(), want) {
				t.Errorf("log = %q, want prefix %q", log.String(), want)
			}
		})
	}
}

func TestSessionPingInterval(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, _, _ := session(t, c, repl.SessionConfig{PingInterval: 10 * time.Millisecond}, repl.PrinterConfig{})
	s.Start(context.Background())
	for range 3 {
		if m := p.read(); m.Op != wire.OpPing {
			t.Fatalf("got %v, want ping", m.Op)
		}
	}
	_ = p.conn.WriteClose(1000, "")
	if err := waitFor(t, s); err != nil {
		t.Fatal(err)
	}
}

func TestSessionDropped(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	s, _, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	s.Start(context.Background())
	// Half a frame, then the TCP connection ends.
	_, _ = sc.Write([]byte{0x81, 0x05, 'a'})
	sc.Close()
	err := waitFor(t, s)
	var pe *wire.ProtocolError
	var ce *wire.CloseError
	if err == nil || errors.As(err, &pe) || errors.As(err, &ce) {
		t.Fatalf("Wait = %v, want a dropped-connection error", err)
	}
	if !strings.Contains(err.Error(), "without a close frame") {
		t.Errorf("error %q does not say what happened", err)
	}
}

func TestSessionCloseTimeout(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, _, log := session(t, c, repl.SessionConfig{CloseTimeout: 50 * time.Millisecond}, repl.PrinterConfig{})
	s.Start(context.Background())
	if err := s.Close(1000, "bye"); err != nil {
		t.Fatal(err)
	}
	if m := p.read(); m.Op != wire.OpClose || m.CloseCode != 1000 || m.CloseReason != "bye" {
		t.Errorf("peer got %+v", m)
	}
	if err := waitFor(t, s); err != nil {
		t.Fatalf("Wait = %v, want nil after the close timeout", err)
	}
	if !strings.Contains(log.String(), "no close frame from the server within 50ms") {
		t.Errorf("log = %q", log.String())
	}
}

func TestSessionContextCancel(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, _, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	cancel()
	if m := p.read(); m.Op != wire.OpClose || m.CloseCode != 1000 {
		t.Fatalf("peer got %+v, want close 1000", m)
	}
	_ = p.conn.WriteClose(1000, "")
	if err := waitFor(t, s); err != nil {
		t.Fatal(err)
	}
}

// TestSessionEarlyData hands the session a reader that already holds the
// first frames, as the handshake reader does when they came with the 101.
func TestSessionEarlyData(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	var frames []byte
	frames = append(frames, 0x81, 5)
	frames = append(frames, "early"...)
	frames = append(frames, 0x81, 4)
	frames = append(frames, "late"...)
	frames = append(frames, 0x88, 2, 0x03, 0xe8)
	if _, err := sc.Write(frames[:7]); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if _, err := br.Peek(7); err != nil {
		t.Fatal(err)
	}
	var out wstest.Buffer
	pr := repl.NewPrinter(repl.PrinterConfig{Out: &out})
	defer pr.Close()
	s := repl.NewSession(c, br, repl.SessionConfig{Printer: pr})
	s.Start(context.Background())
	if _, err := sc.Write(frames[7:]); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, s); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "early\nlate\n" {
		t.Errorf("out = %q", got)
	}
}

// TestEchoFragmentsAndPings sends fragmented messages with pings between
// the fragments: each ping is answered at once, each message mirrored
// whole with its opcode.
func TestEchoFragmentsAndPings(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, out, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{HideData: true})
	res := make(chan error, 1)
	go func() { res <- repl.RunEcho(context.Background(), s) }()
	frame := func(fin bool, op byte, payload string) []byte {
		b := byte(op)
		if fin {
			b |= 0x80
		}
		return append([]byte{b, byte(len(payload))}, payload...)
	}
	var b []byte
	b = append(b, frame(false, 0x1, "Hel")...)
	b = append(b, frame(true, 0x9, "p1")...)
	b = append(b, frame(false, 0x0, "lo, ")...)
	b = append(b, frame(true, 0x9, "p2")...)
	b = append(b, frame(true, 0x0, "wörld")...)
	b = append(b, frame(true, 0x2, "\x00\x01\x02")...)
	p.raw(b)
	want := []struct {
		op   wire.Opcode
		data string
	}{{wire.OpPong, "p1"}, {wire.OpPong, "p2"}, {wire.OpText, "Hello, wörld"}, {wire.OpBinary, "\x00\x01\x02"}}
	for _, w := range want {
		m := p.read()
		if m.Op != w.op || string(m.Data) != w.data {
			t.Errorf("got %v %q, want %v %q", m.Op, m.Data, w.op, w.data)
		}
	}
	// Many small messages in one burst come back in order.
	b = b[:0]
	for i := range 500 {
		b = append(b, frame(true, 0x1, fmt.Sprint(i))...)
	}
	p.raw(b)
	for i := range 500 {
		if m := p.read(); string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("echo %d = %q", i, m.Data)
		}
	}
	_ = p.conn.WriteClose(1000, "")
	if m := p.read(); m.Op != wire.OpClose || m.CloseCode != 1000 {
		t.Errorf("close answer = %+v", m)
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("echo did not end")
	}
	if out.String() != "" {
		t.Errorf("echo printed data without -v: %q", out.String())
	}
}

func TestRunLines(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, out, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	input := "one\r\ntwo\n\nthree"
	res := make(chan error, 1)
	go func() { res <- repl.RunLines(context.Background(), s, strings.NewReader(input), 0) }()
	for _, want := range []string{"one", "two", "", "three"} {
		m := p.read()
		if m.Op != wire.OpText || string(m.Data) != want {
			t.Fatalf("got %v %q, want text %q", m.Op, m.Data, want)
		}
		// Reply to each, uppercased.
		_ = p.conn.WriteMessage(wire.OpText, bytes.ToUpper(m.Data))
	}
	if m := p.read(); m.Op != wire.OpClose || m.CloseCode != 1000 {
		t.Fatalf("got %+v, want close 1000 at the end of input", m)
	}
	// Still printed: a message sent after the client's close.
	_ = p.conn.WriteMessage(wire.OpText, []byte("late"))
	_ = p.conn.WriteClose(1000, "")
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	_ = s.Printer().Sync()
	if got, want := out.String(), "ONE\nTWO\n\nTHREE\nlate\n"; got != want {
		t.Errorf("out = %q, want %q", got, want)
	}
}

func TestRunLinesInvalidUTF8(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, _, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	res := make(chan error, 1)
	go func() { res <- repl.RunLines(context.Background(), s, strings.NewReader("ok\nbad\xff\n"), 0) }()
	if m := p.read(); string(m.Data) != "ok" {
		t.Fatalf("got %q", m.Data)
	}
	if m := p.read(); m.Op != wire.OpClose {
		t.Fatalf("got %v, want close", m.Op)
	}
	_ = p.conn.WriteClose(1000, "")
	err := <-res
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("RunLines = %v, want an error naming line 2", err)
	}
}

// TestSessionNoLeak checks that every goroutine a session starts ends with
// it. It does not run in parallel, so the count is its own.
func TestSessionNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		c, sc := tcpPair(t)
		p := newPeer(t, sc)
		var out wstest.Buffer
		pr := repl.NewPrinter(repl.PrinterConfig{Out: &out})
		s := repl.NewSession(c, nil, repl.SessionConfig{Printer: pr, PingInterval: time.Millisecond})
		pr2 := make(chan error, 1)
		go func() { pr2 <- repl.RunLines(context.Background(), s, strings.NewReader("a\nb\n"), 0) }()
		for {
			m := p.read()
			if m.Op == wire.OpClose {
				break
			}
		}
		_ = p.conn.WriteClose(1000, "")
		if err := <-pr2; err != nil {
			t.Fatal(err)
		}
		if err := pr.Close(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		sc.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
