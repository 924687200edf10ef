//go:build unix

package cmd_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

// TestSecondInterruptWritesHAR runs the real binary: a second SIGINT ends
// wsdbg at once with 130 (SPEC §7), and the --har file is still written,
// complete, with the message sent before (SPEC §11).
func TestSecondInterruptWritesHAR(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	url, first, closed := holdCloseServer(t)
	path := filepath.Join(t.TempDir(), "session.har")
	c := exec.Command(bin, "send", "-q", "--wait", "20s", "--close-timeout", "20s", "--har", path, url, "hello")
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
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the first SIGINT sent no close frame; stderr %q", stderr.String())
	}
	if err := c.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("after the second SIGINT: %v, want exit status 130; stderr %q", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("wsdbg still runs 5s after the second SIGINT; stderr %q", stderr.String())
	}
	h := readHAR(t, path)
	if len(h.Log.Entries) != 1 {
		t.Fatalf("%d entries, want 1", len(h.Log.Entries))
	}
	msgs := h.Log.Entries[0].Messages
	if len(msgs) != 1 || msgs[0].Type != "send" || msgs[0].Data != "hello" || msgs[0].Opcode != 1 {
		t.Errorf("messages %+v, want the one text message sent", msgs)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".session.har.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
