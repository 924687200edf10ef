package repl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// wait bounds every wait in these tests.
const wait = 10 * time.Second

// recvFrame is one frame as the test server received it.
type recvFrame struct {
	h       wire.Header
	payload []byte // unmasked
	raw     []byte // the frame's bytes exactly as they crossed the wire
}

// frameServer is a WebSocket server peer on loopback that records every
// frame byte for byte. There is no opening handshake: the client side
// starts right at the framing layer, as after a 101.
type frameServer struct {
	t    testing.TB
	ln   net.Listener
	conn net.Conn

	// replyClose makes the server answer a client close frame with a
	// close frame carrying the same payload, then close the connection.
	replyClose bool

	mu     sync.Mutex
	cond   *sync.Cond
	frames []recvFrame
	stream []byte // every byte received
	ended  bool   // the read loop ended
	wmu    sync.Mutex
	done   chan struct{}
}

func newFrameServer(t testing.TB) (*frameServer, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &frameServer{t: t, ln: ln, replyClose: true, done: make(chan struct{})}
	fs.cond = sync.NewCond(&fs.mu)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case fs.conn = <-accepted:
	case <-time.After(wait):
		t.Fatal("accept timed out")
	}
	if fs.conn == nil {
		t.Fatal("accept failed")
	}
	ln.Close()
	go fs.readLoop()
	t.Cleanup(func() {
		fs.conn.Close()
		client.Close()
		<-fs.done
	})
	return fs, client
}

// teeReader records what it reads.
type teeReader struct{ fs *frameServer }

func (r teeReader) Read(p []byte) (int, error) {
	n, err := r.fs.conn.Read(p)
	r.fs.mu.Lock()
	r.fs.stream = append(r.fs.stream, p[:n]...)
	r.fs.mu.Unlock()
	return n, err
}

func (fs *frameServer) readLoop() {
	defer close(fs.done)
	defer func() {
		fs.mu.Lock()
		fs.ended = true
		fs.cond.Broadcast()
		fs.mu.Unlock()
	}()
	br := bufio.NewReader(teeReader{fs})
	off := 0
	for {
		h, err := wire.ReadHeader(br)
		if err != nil {
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		n := len(wire.AppendHeader(nil, h)) + len(payload)
		if h.Masked {
			wire.Mask(h.Mask, 0, payload)
		}
		fs.mu.Lock()
		raw := append([]byte(nil), fs.stream[off:off+n]...)
		off += n
		fs.frames = append(fs.frames, recvFrame{h, payload, raw})
		fs.cond.Broadcast()
		fs.mu.Unlock()
		if h.Op == wire.OpClose && fs.replyClose {
			fs.send(wire.Header{Fin: true, Op: wire.OpClose}, payload)
			fs.conn.Close()
			return
		}
	}
}

// send writes one unmasked server frame.
func (fs *frameServer) send(h wire.Header, payload []byte) {
	fs.wmu.Lock()
	defer fs.wmu.Unlock()
	h.Length = int64(len(payload))
	b := wire.AppendHeader(nil, h)
	b = append(b, payload...)
	fs.conn.Write(b)
}

func (fs *frameServer) sendText(s string) {
	fs.send(wire.Header{Fin: true, Op: wire.OpText}, []byte(s))
}

// waitFrames waits until n frames have arrived (or the connection ended)
// and returns the frames so far.
func (fs *frameServer) waitFrames(n int) []recvFrame {
	fs.t.Helper()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	timer := time.AfterFunc(wait, func() {
		fs.mu.Lock()
		fs.ended = true
		fs.cond.Broadcast()
		fs.mu.Unlock()
	})
	defer timer.Stop()
	for len(fs.frames) < n && !fs.ended {
		fs.cond.Wait()
	}
	if len(fs.frames) < n {
		fs.t.Errorf("server received %d frames, want at least %d", len(fs.frames), n)
	}
	return append([]recvFrame(nil), fs.frames...)
}

// allFrames waits for the connection to end and returns every frame.
func (fs *frameServer) allFrames() []recvFrame {
	fs.t.Helper()
	select {
	case <-fs.done:
	case <-time.After(wait):
		fs.t.Errorf("the server's connection did not end within %v", wait)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]recvFrame(nil), fs.frames...)
}

// step is one thing the scripted user does.
type step struct {
	line     string
	err      error  // io.EOF for Ctrl-D, repl.ErrInterrupt for Ctrl-C
	waitOut  string // before typing, wait until the screen shows this
	do       func() // then run this
	thenWait string // then wait until the screen shows this
}

// fakeEditor is a scripted user at a terminal. Writes through Stdout are
// recorded; after the script, ReadLine blocks until Close, like a user who
// stopped typing.
type fakeEditor struct {
	t     *testing.T
	steps []step

	mu      sync.Mutex
	screen  bytes.Buffer
	writes  int
	partial int // writes that did not end with a newline
	prompts []string

	closeOnce sync.Once
	closed    chan struct{}
}

func newFakeEditor(t *testing.T, steps ...step) *fakeEditor {
	return &fakeEditor{t: t, steps: steps, closed: make(chan struct{})}
}

func (f *fakeEditor) ReadLine() (string, error) {
	if len(f.steps) == 0 {
		<-f.closed
		return "", io.EOF
	}
	s := f.steps[0]
	f.steps = f.steps[1:]
	if !f.waitScreen(s.waitOut) {
		return "", io.EOF
	}
	if s.do != nil {
		s.do()
	}
	if !f.waitScreen(s.thenWait) {
		return "", io.EOF
	}
	return s.line, s.err
}

// waitScreen waits until the screen shows want; it reports false when the
// editor was closed meanwhile.
func (f *fakeEditor) waitScreen(want string) bool {
	if want == "" {
		return true
	}
	deadline := time.Now().Add(wait)
	for !strings.Contains(f.output(), want) {
		select {
		case <-f.closed:
			return false
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.t.Errorf("screen never showed %q:\n%s", want, f.output())
			return true
		}
	}
	return true
}

func (f *fakeEditor) Stdout() io.Writer { return fakeScreen{f} }

type fakeScreen struct{ f *fakeEditor }

func (w fakeScreen) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.writes++
	if len(p) == 0 || p[len(p)-1] != '\n' {
		w.f.partial++
	}
	return w.f.screen.Write(p)
}

func (f *fakeEditor) SetPrompt(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, p)
}

func (f *fakeEditor) Close() error {
	f.closeOnce.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeEditor) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.screen.String()
}

// runREPL runs Interactive over a new session to fs with the scripted
// editor and returns its error.
func runREPL(t *testing.T, client net.Conn, ed *fakeEditor, scfg repl.SessionConfig, pcfg repl.PrinterConfig) error {
	t.Helper()
	if pcfg.Out == nil {
		pcfg.Out = io.Discard
	}
	p := repl.NewPrinter(pcfg)
	defer p.Close()
	scfg.Role = wire.RoleClient
	scfg.Printer = p
	if scfg.CloseTimeout == 0 {
		scfg.CloseTimeout = wait
	}
	s := repl.NewSession(client, nil, scfg)
	res := make(chan error, 1)
	go func() {
		res <- repl.Interactive(context.Background(), s, repl.InteractiveConfig{Editor: ed, Host: "test"})
	}()
	select {
	case err := <-res:
		return err
	case <-time.After(3 * wait):
		t.Fatalf("Interactive did not return; screen:\n%s", ed.output())
		return nil
	}
}

// inOrder checks that each want appears in out after the previous one.
func inOrder(t *testing.T, out string, wants ...string) {
	t.Helper()
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			if strings.Contains(out, w) {
				t.Errorf("screen shows %q, but not after %q:\n%s", w, wants, out)
			} else {
				t.Errorf("screen does not show %q:\n%s", w, out)
			}
			return
		}
		rest = rest[i+len(w):]
	}
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// TestInteractiveCommands types every command and checks the frames the
// server received, byte for byte where it matters, and what the screen
// showed, in order.
func TestInteractiveCommands(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	file := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(file, []byte{0, 1, 2, 0xff}, 0o600); err != nil {
		t.Fatal(err)
	}
	raw := []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'} // an unmasked client frame: malformed on purpose
	ed := newFakeEditor(t,
		step{line: "hello"},
		step{line: ""},
		step{line: "/text /not a command"},
		step{line: "/binary de ad be ef"},
		step{line: "/binary @" + file},
		step{line: "/ping are you there"},
		step{line: "/pong"},
		step{line: "/frag 3 hello world"},
		step{line: "/raw 81 05 48 65 6c 6c 6f"},
		step{line: "/verbose on"},
		step{line: "after verbose"},
		step{line: "/verbose off"},
		step{line: "/help"},
		step{line: "/close 4001 bye now"},
	)
	err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{})

	// The server echoed close 4001, the code the REPL sent: a normal end
	// (SPEC §7), not the server's complaint.
	if err != nil {
		t.Errorf("Interactive() = %v, want nil: the server only echoed our close 4001", err)
	}

	frames := fs.allFrames()
	type want struct {
		fin     bool
		op      wire.Opcode
		payload string
	}
	wants := []want{
		{true, wire.OpText, "hello"},
		{true, wire.OpText, "/not a command"},
		{true, wire.OpBinary, "\xde\xad\xbe\xef"},
		{true, wire.OpBinary, "\x00\x01\x02\xff"},
		{true, wire.OpPing, "are you there"},
		{true, wire.OpPong, ""},
		{false, wire.OpText, ""}, // payload checked below, split three ways
		{false, wire.OpContinuation, ""},
		{true, wire.OpContinuation, ""},
		{true, wire.OpText, "Hello"}, // the /raw bytes, unmasked
		{true, wire.OpText, "after verbose"},
		{true, wire.OpClose, string(closePayload(4001, "bye now"))},
	}
	if len(frames) != len(wants) {
		for i, f := range frames {
			t.Logf("frame %d: %v %q", i, f.h, f.payload)
		}
		t.Fatalf("server received %d frames, want %d", len(frames), len(wants))
	}
	var frag []byte
	for i, w := range wants {
		f := frames[i]
		if f.h.Fin != w.fin || f.h.Op != w.op || f.h.Rsv1 || f.h.Rsv2 || f.h.Rsv3 {
			t.Errorf("frame %d: header %v, want FIN=%v op=%v RSV=000", i, f.h, w.fin, w.op)
		}
		if i >= 6 && i <= 8 {
			frag = append(frag, f.payload...)
			continue
		}
		if string(f.payload) != w.payload {
			t.Errorf("frame %d (%v): payload %q, want %q", i, w.op, f.payload, w.payload)
		}
		if i == 9 {
			if !bytes.Equal(f.raw, raw) {
				t.Errorf("/raw: server received % x, want % x", f.raw, raw)
			}
			continue
		}
		if !f.h.Masked {
			t.Errorf("frame %d: not masked; client frames must be (RFC 6455 §5.3)", i)
		}
	}
	if string(frag) != "hello world" {
		t.Errorf("/frag 3: fragments join to %q, want %q", frag, "hello world")
	}

	out := ed.output()
	inOrder(t, out,
		"connected to test",
		"> hello\n",
		"> /not a command\n",
		"> binary, 4 bytes\n00000000  de ad be ef",
		"> binary, 4 bytes\n00000000  00 01 02 ff",
		`> ping "are you there"`,
		"> pong\n",
		"> hello world\n",
		"> raw, 7 bytes written as they are\n00000000  81 05 48 65 6c 6c 6f",
		"* frame detail on",
		"> after verbose\n",
		"> frame FIN=1 RSV=000 op=text(0x1) mask=1",
		"* frame detail off",
		"/close [CODE [REASON]]",
		`> close 4001`,
		`< close 4001`,
	)
	if strings.Count(out, "> frame ") != 1 {
		t.Errorf("want exactly one frame line, while /verbose was on:\n%s", out)
	}
	// The prompt names the peer, and says so once a close was sent.
	ed.mu.Lock()
	prompts := strings.Join(ed.prompts, "|")
	ed.mu.Unlock()
	if prompts != "ws test> |ws test (closing)> " {
		t.Errorf("prompts = %q", prompts)
	}
}

// TestInteractiveIncoming checks how received events are shown: escaped
// text, binary dumps, pings answered, a huge message shortened and saved
// whole, and the server's close.
func TestInteractiveIncoming(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	big := bytes.Repeat([]byte("x"), 10<<20)
	saved := filepath.Join(t.TempDir(), "last.txt")
	ed := newFakeEditor(t,
		step{line: "/save " + saved}, // nothing received yet: an error, not the end
		step{
			do: func() {
				fs.sendText("plain é")
				fs.sendText("\x1b[31mred\x1b[0m \x07 bell")
				fs.send(wire.Header{Fin: true, Op: wire.OpBinary}, []byte("\x00\x01ab"))
				fs.send(wire.Header{Fin: true, Op: wire.OpPing}, []byte("p1"))
				fs.sendText(string(big))
			},
			thenWait: "10485760 bytes",
			line:     "/save " + saved,
		},
		step{waitOut: "saved the last message", do: func() {
			fs.send(wire.Header{Fin: true, Op: wire.OpClose}, closePayload(1000, "done"))
		}, thenWait: "< close 1000", line: "typed after the close"},
	)
	err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{})
	if err != nil {
		t.Errorf("Interactive() = %v, want nil after the server's close 1000", err)
	}
	out := ed.output()
	inOrder(t, out,
		"wsdbg: /save: no message has arrived yet",
		"< plain é\n",
		`< \x1b[31mred\x1b[0m \x07 bell`+"\n",
		"< binary, 4 bytes\n00000000  00 01 61 62",
		`< ping "p1"`,
		`> pong "p1"`,
		"< "+strings.Repeat("x", 4096)+"… (10485760 bytes; /save FILE writes the last message whole)\n",
		"saved the last message (text, 10485760 bytes)",
		`< close 1000 (normal closure) "done"`,
		`> close 1000`,
	)
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\x07") {
		t.Errorf("raw control bytes from the network reached the screen:\n%q", out)
	}
	if len(out) > 64<<10 {
		t.Errorf("screen got %d bytes for a 10 MiB message; it should be shortened", len(out))
	}
	data, err := os.ReadFile(saved)
	if err != nil || !bytes.Equal(data, big) {
		t.Errorf("/save wrote %d bytes (%v), want the whole %d-byte message", len(data), err, len(big))
	}
	frames := fs.allFrames()
	var pong, closeFrame *recvFrame
	for i := range frames {
		switch frames[i].h.Op {
		case wire.OpPong:
			pong = &frames[i]
		case wire.OpClose:
			closeFrame = &frames[i]
		case wire.OpText:
			t.Errorf("a line typed after the server's close was sent: %q", frames[i].payload)
		}
	}
	if pong == nil || string(pong.payload) != "p1" {
		t.Errorf("the ping was not answered with pong \"p1\"; frames: %v", frames)
	}
	if closeFrame == nil || !bytes.Equal(closeFrame.payload, closePayload(1000, "")) {
		t.Errorf("the server's close was not answered with close 1000")
	}
	if ed.partial != 0 {
		t.Errorf("%d writes to the editor did not end with a newline: a redraw would split a line", ed.partial)
	}
}

// TestInteractiveClose checks the ways the user ends a session: Ctrl-D,
// Ctrl-C on an empty line, /quit, and that Ctrl-C on a partial line only
// clears it.
func TestInteractiveClose(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"ctrl-d", []step{{err: io.EOF}}},
		{"ctrl-c on an empty line", []step{{err: repl.ErrInterrupt}}},
		{"ctrl-c on a partial line, then ctrl-d", []step{{line: "half typ", err: repl.ErrInterrupt}, {err: io.EOF}}},
		{"/quit", []step{{line: "/quit"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repl.CheckNoLeaks(t)
			fs, client := newFrameServer(t)
			ed := newFakeEditor(t, tt.steps...)
			if err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{}); err != nil {
				t.Errorf("Interactive() = %v, want nil", err)
			}
			frames := fs.allFrames()
			if len(frames) != 1 || frames[0].h.Op != wire.OpClose || !bytes.Equal(frames[0].payload, closePayload(1000, "")) {
				t.Errorf("server received %v, want one close frame with 1000", frames)
			}
			inOrder(t, ed.output(), "> close 1000 (normal closure)", "< close 1000 (normal closure)")
		})
	}
}

// TestInteractiveErrorsKeepSession checks that mistakes are one line each
// and the session goes on.
func TestInteractiveErrorsKeepSession(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	ed := newFakeEditor(t,
		step{line: "/nope"},
		step{line: "/binary zz"},
		step{line: "/binary @" + filepath.Join(t.TempDir(), "missing")},
		step{line: "/frag 0 x"},
		step{line: "/close abc"},
		step{line: "/verbose maybe"},
		step{line: "still here"},
		step{err: io.EOF},
	)
	if err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{}); err != nil {
		t.Errorf("Interactive() = %v, want nil", err)
	}
	frames := fs.allFrames()
	if len(frames) != 2 || string(frames[0].payload) != "still here" || frames[1].h.Op != wire.OpClose {
		t.Errorf("server received %v, want the text and the close", frames)
	}
	out := ed.output()
	inOrder(t, out,
		`wsdbg: unknown command "/nope"`,
		`wsdbg: /binary: 'z' is not a hex digit`,
		`wsdbg: /binary: read "`,
		`wsdbg: /frag: frame count 0 out of range`,
		`wsdbg: /close: code "abc" is not a number`,
		`wsdbg: /verbose: want on or off`,
		"> still here",
	)
	if n := strings.Count(out, "wsdbg: "); n != 6 {
		t.Errorf("%d error lines, want 6:\n%s", n, out)
	}
}

// TestInteractiveWarnings checks that what RFC 6455 forbids is sent
// anyway, with a warning: this is a debugger.
func TestInteractiveWarnings(t *testing.T) {
	long := strings.Repeat("a", 130)
	tests := []struct {
		line    string
		op      wire.Opcode
		payload []byte
		warning string
	}{
		{"/close 1005", wire.OpClose, closePayload(1005, ""), "close code 1005 must not be sent"},
		{"/close 999 low", wire.OpClose, closePayload(999, "low"), "close code 999"},
		{"/close 5000", wire.OpClose, closePayload(5000, ""), "close code 5000"},
		{"/close 0", wire.OpClose, []byte{0, 0}, "close code 0"},
		{"/close 1000 " + long, wire.OpClose, closePayload(1000, long), "/close payload is 132 bytes, over the 125"},
		{"/ping " + long, wire.OpPing, []byte(long), "/ping payload is 130 bytes, over the 125"},
	}
	for _, tt := range tests {
		t.Run(tt.line[:min(len(tt.line), 20)], func(t *testing.T) {
			repl.CheckNoLeaks(t)
			fs, client := newFrameServer(t)
			steps := []step{{line: tt.line}}
			if tt.op != wire.OpClose {
				steps = append(steps, step{err: io.EOF})
			}
			ed := newFakeEditor(t, steps...)
			_ = runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{})
			frames := fs.waitFrames(1)
			if len(frames) == 0 {
				return
			}
			if frames[0].h.Op != tt.op || !bytes.Equal(frames[0].payload, tt.payload) {
				t.Errorf("server received %v % x, want %v % x", frames[0].h.Op, frames[0].payload, tt.op, tt.payload)
			}
			inOrder(t, ed.output(), "! "+tt.warning)
		})
	}
}

// TestInteractivePeerFailures checks how a session that the server ends
// badly is reported: the error type cmd maps to an exit code (SPEC §7).
func TestInteractivePeerFailures(t *testing.T) {
	tests := []struct {
		name      string
		act       func(fs *frameServer)
		check     func(err error) bool
		wantClose []byte // the close payload the server must receive, nil for none
		screen    string
	}{
		{
			name: "protocol violation",
			act: func(fs *frameServer) {
				fs.send(wire.Header{Fin: true, Op: wire.Opcode(0x3)}, []byte("?"))
			},
			check: func(err error) bool {
				var pe *wire.ProtocolError
				return errors.As(err, &pe) && pe.Code == wire.CloseProtocolError
			},
			wantClose: []byte{0x03, 0xea},
			screen:    "> close 1002",
		},
		{
			name: "invalid UTF-8",
			act: func(fs *frameServer) {
				fs.sendText("bad \xff")
			},
			check: func(err error) bool {
				var pe *wire.ProtocolError
				return errors.As(err, &pe) && pe.Code == wire.CloseInvalidPayload
			},
			wantClose: []byte{0x03, 0xef},
			screen:    "> close 1007",
		},
		{
			name: "close with an error code",
			act: func(fs *frameServer) {
				fs.send(wire.Header{Fin: true, Op: wire.OpClose}, closePayload(1011, "boom"))
			},
			check: func(err error) bool {
				var ce *wire.CloseError
				return errors.As(err, &ce) && ce.Code == 1011 && ce.Reason == "boom"
			},
			wantClose: closePayload(1011, ""),
			screen:    `< close 1011`,
		},
		{
			name: "dropped",
			act: func(fs *frameServer) {
				fs.sendText("last words")
				time.Sleep(10 * time.Millisecond)
				fs.conn.Close()
			},
			check: func(err error) bool {
				var pe *wire.ProtocolError
				var ce *wire.CloseError
				return err != nil && !errors.As(err, &pe) && !errors.As(err, &ce) && strings.Contains(err.Error(), "without a close frame")
			},
			screen: "< last words",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repl.CheckNoLeaks(t)
			fs, client := newFrameServer(t)
			fs.replyClose = false
			ed := newFakeEditor(t, step{line: "hi"}, step{waitOut: "> hi", do: func() { tt.act(fs) }, line: "never sent"})
			err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{})
			if !tt.check(err) {
				t.Errorf("Interactive() = %v (%T)", err, err)
			}
			inOrder(t, ed.output(), "> hi", tt.screen)
			if tt.wantClose == nil {
				return
			}
			var got []byte
			for _, f := range fs.allFrames() {
				if f.h.Op == wire.OpClose {
					got = f.payload
				}
			}
			if !bytes.HasPrefix(got, tt.wantClose) {
				t.Errorf("server received close payload %q, want it to start with %q", got, tt.wantClose)
			}
		})
	}
}

// TestInteractiveFlood checks that a burst of messages loses none and keeps
// them in order, and that the screen only ever gets whole lines.
func TestInteractiveFlood(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	const n = 10000
	var burst []byte
	for i := range n {
		msg := fmt.Sprintf("msg %d", i)
		burst = wire.AppendHeader(burst, wire.Header{Fin: true, Op: wire.OpText, Length: int64(len(msg))})
		burst = append(burst, msg...)
	}
	ed := newFakeEditor(t,
		step{do: func() { fs.conn.Write(burst) }, thenWait: fmt.Sprintf("< msg %d\n", n-1), line: "/quit"},
	)
	if err := runREPL(t, client, ed, repl.SessionConfig{}, repl.PrinterConfig{}); err != nil {
		t.Errorf("Interactive() = %v", err)
	}
	out := ed.output()
	rest := out
	for i := range n {
		w := fmt.Sprintf("< msg %d\n", i)
		j := strings.Index(rest, w)
		if j < 0 {
			t.Fatalf("message %d missing or out of order", i)
		}
		rest = rest[j+len(w):]
	}
	ed.mu.Lock()
	writes, partial := ed.writes, ed.partial
	ed.mu.Unlock()
	if partial != 0 {
		t.Errorf("%d of %d writes did not end with a newline", partial, writes)
	}
	t.Logf("%d messages in %d writes to the editor", n, writes)
}

// TestInteractiveSessionOptions checks that the session's options reach
// the REPL: timestamps on every line, pings every interval, and no
// automatic pong when it is turned off.
func TestInteractiveSessionOptions(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	clock := func() time.Time { return time.Date(2026, 1, 2, 12, 34, 56, 789000000, time.UTC) }
	ed := newFakeEditor(t,
		step{do: func() { fs.send(wire.Header{Fin: true, Op: wire.OpPing}, []byte("no answer")) }, thenWait: `< ping "no answer"`, line: "stamped"},
		step{thenWait: "> ping\n", err: io.EOF},
	)
	err := runREPL(t, client, ed,
		repl.SessionConfig{PingInterval: 20 * time.Millisecond, NoAutoPong: true},
		repl.PrinterConfig{Timestamps: true, Now: clock})
	if err != nil {
		t.Errorf("Interactive() = %v", err)
	}
	inOrder(t, ed.output(),
		`12:34:56.789000 < ping "no answer"`,
		"12:34:56.789000 > stamped\n",
		"12:34:56.789000 > ping\n",
		"12:34:56.789000 > close 1000",
	)
	var pings int
	for _, f := range fs.allFrames() {
		switch f.h.Op {
		case wire.OpPong:
			t.Errorf("a pong was sent with auto-pong off: %q", f.payload)
		case wire.OpPing:
			pings++
			if len(f.payload) != 0 {
				t.Errorf("interval ping payload %q, want empty", f.payload)
			}
		}
	}
	if pings == 0 {
		t.Errorf("no ping was sent with a 20ms ping interval")
	}
}

// TestInteractiveStartedSession checks that a running session is refused:
// the REPL must hook into it before it starts.
func TestInteractiveStartedSession(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	p := repl.NewPrinter(repl.PrinterConfig{Out: io.Discard})
	defer p.Close()
	s := repl.NewSession(client, nil, repl.SessionConfig{Role: wire.RoleClient, Printer: p, CloseTimeout: wait})
	s.Start(context.Background())
	ed := newFakeEditor(t)
	err := repl.Interactive(context.Background(), s, repl.InteractiveConfig{Editor: ed})
	if err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("Interactive() on a started session = %v, want an error", err)
	}
	if err := s.Close(wire.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Errorf("Wait() = %v", err)
	}
	fs.allFrames()
}

// TestInteractiveCloseTimeout checks that the wait for the server's close
// after Ctrl-D is bounded by the session's close timeout.
func TestInteractiveCloseTimeout(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	fs.replyClose = false
	ed := newFakeEditor(t, step{err: io.EOF})
	err := runREPL(t, client, ed, repl.SessionConfig{CloseTimeout: 50 * time.Millisecond}, repl.PrinterConfig{})
	if err != nil {
		t.Errorf("Interactive() = %v, want nil: our close was sent, the server just did not answer", err)
	}
	inOrder(t, ed.output(), "> close 1000", "no close frame from the server within 50ms")
	frames := fs.allFrames()
	if len(frames) != 1 || frames[0].h.Op != wire.OpClose {
		t.Errorf("server received %v, want one close frame", frames)
	}
}

// TestInteractivePromptEscapesHost checks that a Host header with control
// bytes (the user's own -H) cannot drive the terminal from the prompt.
func TestInteractivePromptEscapesHost(t *testing.T) {
	repl.CheckNoLeaks(t)
	fs, client := newFrameServer(t)
	p := repl.NewPrinter(repl.PrinterConfig{Out: io.Discard})
	defer p.Close()
	s := repl.NewSession(client, nil, repl.SessionConfig{Role: wire.RoleClient, Printer: p, CloseTimeout: wait})
	ed := newFakeEditor(t, step{err: io.EOF})
	if err := repl.Interactive(context.Background(), s, repl.InteractiveConfig{Editor: ed, Host: "evil\x1b[2J"}); err != nil {
		t.Errorf("Interactive() = %v", err)
	}
	fs.allFrames()
	ed.mu.Lock()
	prompts := strings.Join(ed.prompts, "|")
	ed.mu.Unlock()
	if prompts != `ws evil\x1b[2J> |ws evil\x1b[2J (closing)> ` {
		t.Errorf("prompts = %q", prompts)
	}
	if strings.Contains(ed.output(), "\x1b") {
		t.Errorf("raw ESC on the screen: %q", ed.output())
	}
}
