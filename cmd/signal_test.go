//go:build unix

package cmd_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/wire"
)

// TestInterruptClosesCleanly runs the real binary, since signals reach a
// whole process: the first SIGINT must close the session with 1000 and
// exit 0 after the server's close (README, Scripting), not kill wsdbg
// with the connection half open.
func TestInterruptClosesCleanly(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "wsdbg")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/wsdbg/wsdbg")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	ready := make(chan struct{})
	got := make(chan wire.Message, 1)
	url := handServer{serve: func(c *handConn) {
		if m, err := c.read(); err != nil || string(m.Data) != "before" {
			t.Errorf("first message %q, %v; want \"before\"", m.Data, err)
			return
		}
		close(ready) // the session is running: now the signal may come
		_, cl, err := c.readUntilClose()
		if err == nil {
			_ = c.conn.WriteClose(cl.CloseCode, "")
		}
		got <- cl
	}}.start(t)

	cmd := exec.Command(bin, "connect", "-q", url)
	stdin, err := cmd.StdinPipe() // held open: only the signal ends the session
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}

	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the server got no message within 10s; stderr %q", stderr.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v, want 0; stderr %q", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("wsdbg did not exit after SIGINT; stderr %q", stderr.String())
	}
	select {
	case cl := <-got:
		if cl.Op != wire.OpClose || cl.CloseCode != wire.CloseNormal {
			t.Errorf("server got %+v, want close 1000", cl)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no close")
	}
	if strings.Contains(stderr.String(), "signal") {
		t.Errorf("stderr %q reads like a crash", stderr.String())
	}
}

// holdCloseServer reads until the client's close and never answers it, so
// only a second Ctrl-C can end the client before its --close-timeout. It
// reports the first message and the close on its channels.
func holdCloseServer(t *testing.T) (url string, first chan string, closed chan wire.Message) {
	first, closed = make(chan string, 1), make(chan wire.Message, 1)
	url = handServer{serve: func(c *handConn) {
		m, err := c.read()
		if err != nil {
			return
		}
		first <- string(m.Data)
		if _, cl, err := c.readUntilClose(); err == nil {
			closed <- cl
		}
		_, _ = io.Copy(io.Discard, c.nc) // until the client is gone
	}}.start(t)
	return url, first, closed
}

// TestSecondInterruptEndsAtOnce: the first SIGINT starts the close, the
// second ends wsdbg at once with exit code 130, also when wsdbg was started
// with SIGINT ignored, as a shell starts a script's background jobs (Go
// then keeps it ignored unless asked, and restoring the default action
// after the first would ignore the second).
func TestSecondInterruptEndsAtOnce(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	// The shell passes on an ignored SIGINT through exec (POSIX): check
	// it, or the "ignored" case would prove nothing.
	probe, err := exec.Command("/bin/sh", "-c", `trap "" INT; exec grep SigIgn /proc/self/status`).Output()
	if err != nil {
		t.Fatalf("check that sh passes on an ignored SIGINT: %v", err)
	}
	var ign uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(probe)), "SigIgn:\t%x", &ign); err != nil || ign&(1<<(2-1)) == 0 {
		t.Fatalf("sh did not start its child with SIGINT ignored: %q", probe)
	}
	for _, ignored := range []bool{false, true} {
		name := "default"
		if ignored {
			name = "ignored"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url, first, closed := holdCloseServer(t)
			args := []string{"send", "-q", "--wait", "20s", "--close-timeout", "20s", url, "hello"}
			c := exec.Command(bin, args...)
			if ignored {
				c = exec.Command("/bin/sh", append([]string{"-c", `trap "" INT; exec "$0" "$@"`, bin}, args...)...)
			}
			var stderr wstest.Buffer
			c.Stderr = &stderr
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
			select {
			case <-first:
			case <-time.After(10 * time.Second):
				t.Fatalf("the server got no message; stderr %q", stderr.String())
			}
			if err := c.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			select {
			case cl := <-closed:
				if cl.CloseCode != wire.CloseNormal {
					t.Errorf("first SIGINT: close %v, want 1000", cl.CloseCode)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the first SIGINT sent no close frame; stderr %q", stderr.String())
			}
			start := time.Now()
			if err := c.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				exited = true
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 130 {
					t.Errorf("after the second SIGINT: %v, want exit status 130; stderr %q", err, stderr.String())
				}
				t.Logf("ended %v after the second SIGINT", time.Since(start))
			case <-time.After(5 * time.Second):
				t.Fatalf("wsdbg still runs 5s after the second SIGINT (its --close-timeout is 20s); stderr %q", stderr.String())
			}
		})
	}
}
