package cmd_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/wsdbg/wsdbg/cmd"
)

// TestDemoNotATerminal: with stdin not a terminal, demo sends hello,
// prints the echo on stdout, closes with 1000 and exits 0.
func TestDemoNotATerminal(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr []string
		absent []string
	}{
		{
			name:   "default",
			stderr: []string{"* Demo: wsdbg serve is listening on ws://127.0.0.1:", `* stdin is not a terminal: sending "hello"`, "✓ accept-ok", "> close 1000 (normal closure)", "< close 1000 (normal closure)"},
			absent: []string{"server #", "server *", "extension-ok"},
		},
		{
			name:   "deflate",
			args:   []string{"--deflate"},
			stderr: []string{"> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "✓ extension-ok"},
			absent: []string{"server #", "server *"},
		},
		{
			name: "server log",
			args: []string{"--server-log"},
			stderr: []string{"server * Listening on ws://127.0.0.1:", "server #1 < GET / HTTP/1.1", "server #1 > HTTP/1.1 101 Switching Protocols",
				"server #1 < hello\n", "server #1 > hello\n", "server #1 < close 1000", "server #1 * Closed after"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := serveMain(append([]string{"wsdbg", "demo"}, tt.args...), &cmd.IO{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, errb.String())
			}
			if out.String() != "hello\n" {
				t.Errorf("stdout %q, want the echo \"hello\\n\"", out.String())
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(errb.String(), s) {
					t.Errorf("stderr has %q:\n%s", s, errb.String())
				}
			}
		})
	}
}

// TestDemoREPL runs demo on a pseudo-terminal: the REPL sends a typed line
// and shows the echo; Ctrl-D closes with 1000 and demo exits 0.
func TestDemoREPL(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if errors.Is(err, pty.ErrUnsupported) {
		t.Skipf("no pseudo-terminals on this system: %v", err)
	}
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})
	screen := newLogBuffer()
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
	o := &cmd.IO{
		In: tty, Out: tty, Err: tty, InTTY: true, OutTTY: true, ErrTTY: true,
		LookupEnv: func(k string) (string, bool) {
			if k == "HOME" {
				return home, true
			}
			if k == "NO_COLOR" {
				return "1", true
			}
			return "", false
		},
	}
	code := make(chan int, 1)
	func() {
		serveMainMu.Lock() // until demo has parsed its flags
		defer serveMainMu.Unlock()
		go func() { code <- cmd.Main([]string{"wsdbg", "demo"}, o) }()
		screen.waitFor(t, `\* Demo: wsdbg serve is listening on ws://127\.0\.0\.1:\d+/`, serveWait)
	}()
	screen.waitFor(t, `✓ accept-ok`, serveWait)
	time.Sleep(100 * time.Millisecond) // let the prompt settle
	ptmx.Write([]byte("echo me\r"))
	screen.waitFor(t, `< echo me\r\n`, serveWait)
	time.Sleep(200 * time.Millisecond) // let the line editor settle
	ptmx.Write([]byte{0x04})           // Ctrl-D
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d after Ctrl-D, want 0; screen:\n%q", c, screen)
		}
	case <-time.After(serveWait):
		t.Fatalf("demo did not exit after Ctrl-D; screen:\n%q", screen)
	}
	screen.waitFor(t, `< close 1000 \(normal closure\)`, serveWait)
}

func TestDemoUsage(t *testing.T) {
	var out, errb bytes.Buffer
	code := serveMain([]string{"wsdbg", "demo", "ws://example.com/"}, &cmd.IO{Out: &out, Err: &errb})
	if code != cmd.ExitUsage || !strings.Contains(errb.String(), `demo takes no arguments, got "ws://example.com/"; to connect to a server of your own, use wsdbg connect URL`) {
		t.Errorf("exit %d, stderr %q; want a usage error", code, errb.String())
	}
}
