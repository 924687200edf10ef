//go:build linux

package cmd_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// ptyServer is a WebSocket server that pushes a text message every 50 ms,
// one of them carrying terminal escape sequences, and records what the
// client sends.
type ptyServer struct {
	mu        sync.Mutex
	pushed    []string // messages written successfully
	received  []string // text messages from the client
	closeCode int      // code of the client's close frame, -1 before it
}

const escPush = "\x1b[31mRED\x1b[0m\x1b]0;owned\x07 push 3"

func (ps *ptyServer) handler(t *testing.T) http.HandlerFunc {
	up := websocket.Upgrader{}
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer c.Close()
		stop := make(chan struct{})
		pushDone := make(chan struct{})
		go func() {
			defer close(pushDone)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				msg := fmt.Sprintf("push %d", i)
				if i == 3 {
					msg = escPush
				}
				if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					return
				}
				ps.mu.Lock()
				ps.pushed = append(ps.pushed, msg)
				ps.mu.Unlock()
			}
		}()
		for {
			op, data, err := c.ReadMessage()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					ps.mu.Lock()
					ps.closeCode = ce.Code
					ps.mu.Unlock()
				}
				break
			}
			if op == websocket.TextMessage {
				ps.mu.Lock()
				ps.received = append(ps.received, string(data))
				ps.mu.Unlock()
			}
		}
		close(stop)
		<-pushDone
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool, screen *wstest.Buffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; screen:\n%q", what, screen.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectREPLInPseudoTerminal runs `wsdbg connect` through cmd.Main on
// a real pseudo-terminal while the server pushes messages, types a long
// line slowly, and checks the line, the screen, the close and the history.
func TestConnectREPLInPseudoTerminal(t *testing.T) {
	ps := &ptyServer{closeCode: -1}
	srv := httptest.NewServer(ps.handler(t))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	screen := &wstest.Buffer{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()

	hist := filepath.Join(t.TempDir(), "history")
	home := t.TempDir()
	io := &cmd.IO{
		In: tty, Out: tty, Err: tty,
		InTTY: true, OutTTY: true, ErrTTY: true,
		LookupEnv: func(k string) (string, bool) {
			if k == "HOME" {
				return home, true
			}
			return "", false
		},
	}
	code := make(chan int, 1)
	go func() {
		code <- cmd.Main([]string{"wsdbg", "connect", "--history", hist, url}, io)
	}()

	waitFor(t, "the prompt", func() bool {
		return strings.Contains(screen.String(), "> ") && strings.Contains(screen.String(), "connected to")
	}, screen)

	// Type a long line a few bytes at a time while messages arrive.
	var long strings.Builder
	for i := 0; long.Len() < 180; i++ {
		fmt.Fprintf(&long, "word%d ", i)
	}
	line := long.String() + "end"
	for i := 0; i < len(line); i += 3 {
		if _, err := ptmx.Write([]byte(line[i:min(i+3, len(line))])); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ptmx.Write([]byte("\r"))
	waitFor(t, "the typed line at the server", func() bool {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		return len(ps.received) >= 1
	}, screen)
	ptmx.Write([]byte("second line\r"))
	waitFor(t, "the second line at the server", func() bool {
		ps.mu.Lock()
		defer ps.mu.Unlock()
		return len(ps.received) >= 2
	}, screen)

	ptmx.Write([]byte{0x04}) // Ctrl-D
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d, want 0; screen:\n%q", c, screen.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("wsdbg did not exit after Ctrl-D; screen:\n%q", screen.String())
	}
	waitFor(t, "the server's close", func() bool { return strings.Contains(screen.String(), "< close 1000") }, screen)
	tty.Close() // the reader sees the end of the terminal
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}

	ps.mu.Lock()
	received, pushed, closeCode := ps.received, ps.pushed, ps.closeCode
	ps.mu.Unlock()
	if len(received) != 2 || received[0] != line || received[1] != "second line" {
		t.Errorf("server received %q, want %q and %q", received, line, "second line")
	}
	if closeCode != 1000 {
		t.Errorf("server saw close code %d, want 1000", closeCode)
	}
	out := screen.String()
	if len(pushed) < 20 {
		t.Errorf("only %d messages were pushed while typing", len(pushed))
	}
	for _, m := range pushed {
		want := m + "\r\n"
		if m == escPush {
			want = `\x1b[31mRED\x1b[0m\x1b]0;owned\x07 push 3` + "\r\n"
		}
		if !strings.Contains(out, want) {
			t.Errorf("pushed message %q is not on the screen as %q", m, want)
		}
	}
	for _, raw := range []string{"\x1b[31mRED", "\x1b]0;owned", "\x07 push"} {
		if strings.Contains(out, raw) {
			t.Errorf("the network's escape sequence %q reached the terminal", raw)
		}
	}
	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	if want := line + "\nsecond line\n"; string(data) != want {
		t.Errorf("history file = %q, want %q", data, want)
	}
	if t.Failed() || os.Getenv("WSDBG_SHOW_SCREEN") != "" {
		t.Logf("screen:\n%q", out)
	}
}

// TestConnectREPLPeerCloseRestoresTerminal checks the end the user did not
// ask for: while a line is half typed the server closes with 1011. wsdbg
// shows the close, exits 8, sends nothing of the half line, and leaves the
// terminal as it found it. Without --history the history goes to
// $HOME/.wsdbg_history.
func TestConnectREPLPeerCloseRestoresTerminal(t *testing.T) {
	closeNow := make(chan struct{})
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer c.Close()
		go func() {
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					close(got)
					return
				}
				got <- string(data)
			}
		}()
		<-closeNow
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1011, "server bug"), time.Now().Add(time.Second))
		for range got {
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	screen := &wstest.Buffer{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	home := t.TempDir()
	io := &cmd.IO{
		In: tty, Out: tty, Err: tty,
		InTTY: true, OutTTY: true, ErrTTY: true,
		LookupEnv: func(k string) (string, bool) {
			switch k {
			case "HOME":
				return home, true
			case "NO_COLOR":
				return "1", true
			}
			return "", false
		},
	}
	code := make(chan int, 1)
	go func() { code <- cmd.Main([]string{"wsdbg", "connect", url}, io) }()
	waitFor(t, "the prompt", func() bool { return strings.Contains(screen.String(), "Ctrl-D to close") }, screen)
	ptmx.Write([]byte("kept\r"))
	select {
	case m := <-got:
		if m != "kept" {
			t.Errorf("server received %q, want %q", m, "kept")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the line did not reach the server")
	}
	ptmx.Write([]byte("half typ"))
	waitFor(t, "the half line", func() bool { return strings.Contains(screen.String(), "half typ") }, screen)
	close(closeNow)

	select {
	case c := <-code:
		if c != 8 {
			t.Errorf("exit code %d, want 8 (the server closed with 1011); screen:\n%q", c, screen.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("wsdbg did not exit after the server's close; screen:\n%q", screen.String())
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal not restored:\nbefore %+v\nafter  %+v", *before, *after)
	}
	for m := range got {
		t.Errorf("server received %q after the first line; a half-typed line must not be sent", m)
	}
	for _, want := range []string{`< close 1011 (internal error) "server bug"`, "closed the connection with code 1011"} {
		waitFor(t, want, func() bool { return strings.Contains(screen.String(), want) }, screen)
	}
	// The prompt and the half line were erased before the error, which
	// starts at the left margin rather than after "ws ...> half typ".
	out := screen.String()
	lines, _ := render(out, 100).text()
	erased := false
	for _, l := range lines {
		erased = erased || strings.HasPrefix(l, "wsdbg: the server closed")
	}
	if !erased {
		t.Errorf("the error does not start on an erased line:\n%s\n%q", strings.Join(lines, "\n"), out)
	}
	if os.Getenv("WSDBG_SHOW_SCREEN") != "" {
		t.Logf("screen:\n%q", screen.String())
	}
	data, err := os.ReadFile(filepath.Join(home, ".wsdbg_history"))
	if err != nil || string(data) != "kept\n" {
		t.Errorf("$HOME/.wsdbg_history = %q (%v), want %q", data, err, "kept\n")
	}
}
