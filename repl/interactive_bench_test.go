package repl_test

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// countEditor is an Editor for benchmarks: it counts the lines written
// above the prompt and types /quit once want lines have been shown.
type countEditor struct {
	mu     sync.Mutex
	lines  int
	writes int
	want   int
	shown  chan struct{}
	quit   bool
	closed chan struct{}
	once   sync.Once
}

func (e *countEditor) ReadLine() (string, error) {
	if !e.quit {
		e.quit = true
		select {
		case <-e.shown:
			return "/quit", nil
		case <-e.closed:
			return "", io.EOF
		}
	}
	<-e.closed
	return "", io.EOF
}

func (e *countEditor) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.writes++
	before := e.lines
	e.lines += bytes.Count(p, []byte{'\n'})
	if before < e.want && e.lines >= e.want {
		close(e.shown)
	}
	return len(p), nil
}

func (e *countEditor) Stdout() io.Writer { return e }
func (e *countEditor) SetPrompt(string)  {}
func (e *countEditor) Close() error {
	e.once.Do(func() { close(e.closed) })
	return nil
}

// BenchmarkInteractiveFlood measures the REPL's output path under a flood
// of small text messages from the server: read, format, batch, and write
// above the prompt. One op is one message.
func BenchmarkInteractiveFlood(b *testing.B) {
	var burst []byte
	payload := 0
	for i := range b.N {
		msg := fmt.Sprintf("message %d", i)
		payload += len(msg)
		burst = wire.AppendHeader(burst, wire.Header{Fin: true, Op: wire.OpText, Length: int64(len(msg))})
		burst = append(burst, msg...)
	}
	b.SetBytes(int64(payload / b.N))
	b.ReportAllocs()
	fs, client := newFrameServer(b)
	// +1: the "connected" note.
	ed := &countEditor{want: b.N + 1, shown: make(chan struct{}), closed: make(chan struct{})}
	p := repl.NewPrinter(repl.PrinterConfig{Out: io.Discard})
	defer p.Close()
	s := repl.NewSession(client, nil, repl.SessionConfig{Role: wire.RoleClient, Printer: p, CloseTimeout: wait})
	b.ResetTimer()
	go fs.conn.Write(burst)
	if err := repl.Interactive(b.Context(), s, repl.InteractiveConfig{Editor: ed, Host: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	ed.mu.Lock()
	b.ReportMetric(float64(ed.writes), "screen-writes")
	ed.mu.Unlock()
}
