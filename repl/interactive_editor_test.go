package repl

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

type editorResult struct {
	line string
	err  error
}

// readLineAsync runs e.ReadLine in a goroutine.
func readLineAsync(e Editor) <-chan editorResult {
	ch := make(chan editorResult, 1)
	go func() {
		l, err := e.ReadLine()
		ch <- editorResult{l, err}
	}()
	return ch
}

// readLineReady starts e.ReadLine and waits until it has drawn its prompt
// on out, so the keys typed next are not type-ahead. chzyer/readline
// handles type-ahead on its own goroutine without locking the line buffer
// that a starting ReadLine redraws, a data race inside the library that
// the race detector reports; a person types after seeing the prompt.
func readLineReady(t *testing.T, e Editor, out *wstest.Buffer, prompt string) <-chan editorResult {
	t.Helper()
	n := strings.Count(out.String(), prompt)
	ch := readLineAsync(e)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), prompt) <= n {
		if time.Now().After(deadline) {
			t.Fatal("ReadLine drew no prompt within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	return ch
}

func waitLine(t *testing.T, ch <-chan editorResult) editorResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLine did not return within 5s")
		return editorResult{}
	}
}

// TestReadlineEditor drives the readline editor over a pipe: lines,
// Ctrl-C on a partial line, Ctrl-D, the history file and output above the
// prompt.
func TestReadlineEditor(t *testing.T) {
	checkNoLeaks(t)
	hist := filepath.Join(t.TempDir(), "history")
	if err := os.WriteFile(hist, []byte("old line\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &wstest.Buffer{}
	e, err := newReadlineEditor(inR, out, out, "ws test> ", hist)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	type step struct {
		typed    string
		wantLine string
		wantErr  error
	}
	steps := []step{
		{"\x1b[A\r", "old line", nil}, // Up recalls the history file
		{"hello\r", "hello", nil},
		{"/ping x\r", "/ping x", nil},
		{"partial\x03", "partial", ErrInterrupt},
		{"/he\t\r", "/help", nil},         // Tab completes a command
		{"\x1a/text z\r", "/text z", nil}, // Ctrl-Z is ignored
		{"/text z\r", "/text z", nil},     // a repeat is not stored twice
		{"\x04", "", io.EOF},
	}
	for _, s := range steps {
		ch := readLineReady(t, e, out, "ws test> ")
		if _, err := io.WriteString(inW, s.typed); err != nil {
			t.Fatal(err)
		}
		r := waitLine(t, ch)
		if r.line != s.wantLine || !errors.Is(r.err, s.wantErr) && r.err != s.wantErr {
			t.Errorf("after typing %q: ReadLine() = %q, %v; want %q, %v", s.typed, r.line, r.err, s.wantLine, s.wantErr)
		}
	}

	// Output written while a line is being edited lands above it, and
	// the partial line is drawn again after it.
	ch := readLineReady(t, e, out, "ws test> ")
	io.WriteString(inW, "typing")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "typing") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(e.Stdout(), "< incoming\n")
	io.WriteString(inW, "!\r")
	if r := waitLine(t, ch); r.line != "typing!" || r.err != nil {
		t.Errorf("ReadLine() = %q, %v; want %q", r.line, r.err, "typing!")
	}
	screen := out.String()
	i := strings.LastIndex(screen, "< incoming\n")
	if i < 0 || !strings.Contains(screen[i:], "ws test> typing") {
		t.Errorf("output above the prompt did not redraw the partial line:\n%q", screen)
	}

	// Close ends a pending ReadLine.
	ch = readLineReady(t, e, out, "ws test> ")
	io.WriteString(inW, "unfinished")
	time.Sleep(20 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	waitLine(t, ch)
	if _, err := e.ReadLine(); err == nil {
		t.Errorf("ReadLine after Close returned no error")
	}

	data, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if want := "old line\n\nhello\n/ping x\n/help\n/text z\ntyping!\n"; string(data) != want {
		t.Errorf("history file = %q, want %q", data, want)
	}
	if fi, err := os.Stat(hist); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode = %v, want 0600", fi.Mode().Perm())
	}
}

// TestReadlineEditorNewHistoryFile checks that a missing history file is
// created private.
func TestReadlineEditorNewHistoryFile(t *testing.T) {
	checkNoLeaks(t)
	hist := filepath.Join(t.TempDir(), "new-history")
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &wstest.Buffer{}
	e, err := newReadlineEditor(inR, out, out, "> ", hist)
	if err != nil {
		t.Fatal(err)
	}
	ch := readLineReady(t, e, out, "> ")
	io.WriteString(inW, "secret token\r")
	if r := waitLine(t, ch); r.line != "secret token" {
		t.Errorf("ReadLine() = %q, %v", r.line, r.err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(hist)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode = %v, want 0600", fi.Mode().Perm())
	}
}
