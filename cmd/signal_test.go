//go:build unix

package cmd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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
