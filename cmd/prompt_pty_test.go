//go:build linux

package cmd_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/wire"
)

// vt is the smallest terminal that renders what wsdbg and readline write:
// text, CR, LF, BS, and the CSI sequences for cursor moves and erasing.
// Colors and other sequences are dropped. It lets a test look at the
// screen the user sees instead of at the bytes.
type vt struct {
	cols     int
	lines    [][]rune
	row, col int
}

func (v *vt) line() []rune {
	for len(v.lines) <= v.row {
		v.lines = append(v.lines, nil)
	}
	return v.lines[v.row]
}

func (v *vt) put(r rune) {
	if v.col >= v.cols {
		v.row, v.col = v.row+1, 0
	}
	l := v.line()
	for len(l) <= v.col {
		l = append(l, ' ')
	}
	l[v.col] = r
	v.lines[v.row] = l
	v.col++
}

// render feeds b to a fresh vt and returns it.
func render(b string, cols int) *vt {
	v := &vt{cols: cols}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\r':
			v.col = 0
			i++
		case c == '\n':
			v.row++
			i++
		case c == '\b':
			v.col = max(0, v.col-1)
			i++
		case c == 0x1b && i+1 < len(b) && b[i+1] == '[':
			j := i + 2
			for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == ';' || b[j] == '?') {
				j++
			}
			if j >= len(b) {
				return v
			}
			n, err := strconv.Atoi(strings.TrimLeft(b[i+2:j], "?"))
			if err != nil {
				n = 0
			}
			v.csi(b[j], n)
			i = j + 1
		case c == 0x1b:
			i += 2
		case c < 0x20:
			i++
		default:
			r, size := utf8.DecodeRuneInString(b[i:])
			v.put(r)
			i += size
		}
	}
	return v
}

func (v *vt) csi(final byte, n int) {
	one := max(n, 1)
	switch final {
	case 'A':
		v.row = max(0, v.row-one)
	case 'B':
		v.row += one
	case 'C':
		v.col += one
	case 'D':
		v.col = max(0, v.col-one)
	case 'G':
		v.col = one - 1
	case 'K':
		l := v.line()
		switch n {
		case 0:
			if v.col < len(l) {
				v.lines[v.row] = l[:v.col]
			}
		case 1:
			for k := 0; k < min(v.col+1, len(l)); k++ {
				l[k] = ' '
			}
		case 2:
			v.lines[v.row] = nil
		}
	case 'J':
		if n == 0 {
			l := v.line()
			if v.col < len(l) {
				v.lines[v.row] = l[:v.col]
			}
			if len(v.lines) > v.row+1 {
				v.lines = v.lines[:v.row+1]
			}
		}
	}
}

// text returns the screen's lines with trailing blanks cut, and the last
// line that is not empty.
func (v *vt) text() (lines []string, last int) {
	last = -1
	for i, l := range v.lines {
		s := strings.TrimRight(string(l), " ")
		lines = append(lines, s)
		if s != "" {
			last = i
		}
	}
	return lines, last
}

// promptLast reports whether the screen ends with prompt, the cursor right
// after it, and every line in want above it, in order.
func promptLast(screen, prompt string, want ...string) bool {
	v := render(screen, 100)
	lines, last := v.text()
	if last < 0 || lines[last] != strings.TrimRight(prompt, " ") || v.row != last || v.col != utf8.RuneCountInString(prompt) {
		return false
	}
	i := 0
	for _, l := range lines[:last] {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	return i == len(want)
}

// ptyRun is one wsdbg connect on a fresh pseudo-terminal.
type ptyRun struct {
	screen *wstest.Buffer
	ptmx   interface{ Write([]byte) (int, error) }
	tty    interface{ Write([]byte) (int, error) }
	code   chan int
	exited bool // code was received
}

// drain returns, once wsdbg has exited, everything it wrote to the
// terminal: a marker written after it comes out of the terminal after
// all of that.
func (r *ptyRun) drain(t *testing.T) string {
	t.Helper()
	const marker = "\x00end of the test\x00"
	if _, err := r.tty.Write([]byte(marker)); err != nil {
		t.Fatal(err)
	}
	r.waitScreen(t, "the end marker", func(s string) bool { return strings.Contains(s, marker) })
	out, _, _ := strings.Cut(r.screen.String(), marker)
	return out
}

func startPtyConnect(t *testing.T, args ...string) *ptyRun {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	r := &ptyRun{screen: &wstest.Buffer{}, ptmx: ptmx, tty: tty, code: make(chan int, 1)}
	t.Cleanup(func() {
		// After a failure wsdbg may still run on the terminal: end it
		// before closing the terminal under it.
		if !r.exited {
			ptmx.Write([]byte{0x04})
			select {
			case <-r.code:
			case <-time.After(20 * time.Second):
			}
		}
		ptmx.Close()
		tty.Close()
	})
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			r.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	home := t.TempDir()
	o := &cmd.IO{
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
	go func() { r.code <- cmd.Main(append([]string{"wsdbg", "connect"}, args...), o) }()
	return r
}

// waitScreen waits until ok holds for the rendered screen.
func (r *ptyRun) waitScreen(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok(r.screen.String()) {
		if time.Now().After(deadline) {
			lines, _ := render(r.screen.String(), 100).text()
			t.Fatalf("%s: not on the screen within 20s; screen:\n%s\nbytes: %q", what, strings.Join(lines, "\n"), r.screen.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *ptyRun) end(t *testing.T) {
	t.Helper()
	r.ptmx.Write([]byte{0x04}) // Ctrl-D
	select {
	case c := <-r.code:
		r.exited = true
		if c != 0 {
			t.Errorf("exit code %d after Ctrl-D, want 0; screen %q", c, r.screen.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("wsdbg did not exit after Ctrl-D; screen %q", r.screen.String())
	}
}

// greetServer greets every client at once, then echoes.
func greetServer(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer c.Close()
		if err := c.WriteMessage(websocket.TextMessage, []byte("welcome")); err != nil {
			return
		}
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
}

// TestREPLPromptLast starts the REPL 50 times while the server greets at
// once, and types a line each time: the "connected" note, the greeting, the
// echo of what was typed and the reply always end up above the prompt, in
// order, and the prompt is the last thing on the screen with the cursor
// after it. (Readline draws its prompt before it treats writes as output
// above it; a write in between used to land after the prompt, leaving the
// cursor on an empty line with no prompt.)
func TestREPLPromptLast(t *testing.T) {
	srv := httptest.NewServer(greetServer(t))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	url := "ws://" + host + "/"
	prompt := "ws " + host + "> "
	note := "* connected to " + host + ": type a message, /help for commands, Ctrl-D to close"
	for i := range 50 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := startPtyConnect(t, url)
			r.waitScreen(t, "note, greeting, then the prompt last", func(s string) bool {
				return promptLast(s, prompt, note, "< welcome")
			})
			r.ptmx.Write([]byte("hello\r"))
			r.waitScreen(t, "the line typed, its echo and the reply above the prompt", func(s string) bool {
				return promptLast(s, prompt, note, "< welcome", prompt+"hello", "> hello", "< hello")
			})
			r.ptmx.Write([]byte("/close 4000 bye\r"))
			select {
			case c := <-r.code:
				r.exited = true
				if c != 0 {
					t.Errorf("exit code %d after the server echoed our close 4000, want 0 (SPEC §7)", c)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("wsdbg did not exit after the close; screen %q", r.screen.String())
			}
			screen := r.drain(t)
			lines, _ := render(screen, 100).text()
			want := []string{note, "< welcome", prompt + "hello", "> hello", "< hello", prompt + "/close 4000 bye", `> close 4000 (private use) "bye"`, "< close 4000 (private use)"}
			// What follows the handshake transcript, blank lines aside.
			var got []string
			for i, l := range lines {
				if strings.HasPrefix(l, "* Handshake 101") {
					got = got[:0]
					for _, l := range lines[i+1:] {
						if l != "" {
							got = append(got, l)
						}
					}
					break
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				b := screen
				t.Errorf("after the session, the screen's REPL lines are:\n%s\nwant:\n%s\nlast bytes: %q", strings.Join(got, "\n"), strings.Join(want, "\n"), b[max(0, len(b)-400):])
			}
		})
		if t.Failed() {
			break
		}
	}
}

// TestREPLQuietWSS: over wss the prompt says wss; -q leaves out the
// transcript and the "connected" note, and -m messages are shown as sent
// before the first prompt.
func TestREPLQuietWSS(t *testing.T) {
	srv := httptest.NewUnstartedServer(greetServer(t))
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	r := startPtyConnect(t, "-q", "-k", "-m", "first", "wss://"+host+"/")
	prompt := "wss " + host + "> "
	r.waitScreen(t, "the greeting, the -m message and its echo above a wss prompt", func(s string) bool {
		return strings.Contains(s, "< first") && promptLast(s, prompt, "> first")
	})
	r.end(t)
	out := r.drain(t)
	for _, hidden := range []string{"connected to", "GET / HTTP/1.1", "Handshake 101"} {
		if strings.Contains(out, hidden) {
			t.Errorf("-q showed %q; screen %q", hidden, out)
		}
	}
}

// TestREPLSecondCtrlCExits: in the REPL the first Ctrl-C is a key (the
// terminal is in raw mode) and starts the close; the second, once the
// terminal is back in cooked mode, is a SIGINT from the terminal: wsdbg
// must end at once with exit code 130, not wait out --close-timeout for a
// server that never answers, and leave the terminal as it found it. It
// runs the binary with the pseudo-terminal as its controlling terminal, so
// that the kernel sends the signal.
func TestREPLSecondCtrlCExits(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	url, _, closed := holdCloseServer(t)
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
	c := exec.Command(bin, "connect", "-q", "--close-timeout", "20s", url)
	c.Env = []string{"HOME=" + t.TempDir(), "NO_COLOR=1", "TERM=dumb"}
	c.Stdin, c.Stdout, c.Stderr = tty, tty, tty
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	exited := false
	defer func() {
		if !exited {
			c.Process.Kill()
			<-done
		}
	}()
	r := &ptyRun{screen: screen, ptmx: ptmx, tty: tty}
	host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/test")
	r.waitScreen(t, "the prompt", func(s string) bool { return promptLast(s, "ws "+host+"> ") })
	ptmx.Write([]byte("hi\r"))
	ptmx.Write([]byte{0x03}) // Ctrl-C on an empty line: close 1000
	select {
	case cl := <-closed:
		if cl.CloseCode != wire.CloseNormal {
			t.Errorf("Ctrl-C sent close %v, want 1000", cl.CloseCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl-C sent no close; screen %q", screen.String())
	}
	// The REPL puts the terminal back before it waits for the server.
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if now.Lflag&unix.ISIG != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal stayed in raw mode after the close began; screen %q", screen.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	ptmx.Write([]byte{0x03}) // now SIGINT from the terminal
	select {
	case err := <-done:
		exited = true
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("after the second Ctrl-C: %v, want exit status 130; screen %q", err, screen.String())
		}
		t.Logf("ended %v after the second Ctrl-C", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatalf("wsdbg still runs 5s after the second Ctrl-C (--close-timeout is 20s); screen %q", screen.String())
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal not restored:\nbefore %+v\nafter  %+v", *before, *after)
	}
}
