package repl_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// TestSessionOwnCloseEchoed: a close that we started with a code of our
// own (the REPL's /close 4000 bye) and that the peer answered with the
// same code, as RFC 6455 §5.5.1 asks, is a normal end (SPEC §7); a peer
// that answers with another code still ends the session on an error.
func TestSessionOwnCloseEchoed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		sent, answer wire.CloseCode
		wantErr      bool
	}{
		{4000, 4000, false},
		{1011, 1011, false},
		{4000, 4001, true},
		{4000, 1000, false},
		{1000, 4000, true},
	} {
		t.Run(fmt.Sprintf("%d-%d", tt.sent, tt.answer), func(t *testing.T) {
			t.Parallel()
			c, sc := tcpPair(t)
			p := newPeer(t, sc)
			s, _, log := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
			s.Start(context.Background())
			if err := s.Close(tt.sent, "bye"); err != nil {
				t.Fatal(err)
			}
			if m := p.read(); m.Op != wire.OpClose || m.CloseCode != tt.sent || string(m.CloseReason) != "bye" {
				t.Fatalf("peer got %+v, want close %v \"bye\"", m, tt.sent)
			}
			if err := p.conn.WriteClose(tt.answer, ""); err != nil {
				t.Fatal(err)
			}
			err := waitFor(t, s)
			var ce *wire.CloseError
			switch {
			case tt.wantErr && (!errors.As(err, &ce) || ce.Code != tt.answer):
				t.Errorf("Wait = %v, want a *wire.CloseError with %v: the peer chose that code", err, tt.answer)
			case !tt.wantErr && err != nil:
				t.Errorf("Wait = %v, want nil", err)
			}
			if got, want := log.String(), fmt.Sprintf("> close %v \"bye\"\n< close %v\n", closeName(tt.sent), closeName(tt.answer)); got != want {
				t.Errorf("log = %q, want %q", got, want)
			}
		})
	}
}

func closeName(c wire.CloseCode) string {
	names := map[wire.CloseCode]string{1000: "normal closure", 1011: "internal error", 4000: "private use", 4001: "private use"}
	return fmt.Sprintf("%d (%s)", c, names[c])
}

// TestRunLinesWaitsWhileRepliesArrive: at the end of the input line mode
// keeps reading until nothing has arrived for the idle time, however long
// the replies keep coming, then closes (SPEC §1.4).
func TestRunLinesWaitsWhileRepliesArrive(t *testing.T) {
	t.Parallel()
	// Generous margins: the replies must come well within the idle time
	// of each other even on a loaded machine.
	const gap, idle = 50 * time.Millisecond, 1500 * time.Millisecond
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, out, _ := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	res := make(chan error, 1)
	go func() { res <- repl.RunLines(context.Background(), s, strings.NewReader("go\n"), idle) }()
	if m := p.read(); string(m.Data) != "go" {
		t.Fatalf("peer got %q, want \"go\"", m.Data)
	}
	start := time.Now()
	for i := range 5 {
		time.Sleep(gap)
		if err := p.conn.WriteMessage(wire.OpText, fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	last := time.Now()
	m := p.read()
	if m.Op != wire.OpClose || m.CloseCode != 1000 {
		t.Fatalf("peer got %+v, want close 1000", m)
	}
	if waited := time.Since(last); waited < idle {
		t.Errorf("closed %v after the last reply, want at least the idle time %v", waited, idle)
	}
	if time.Since(start) < 5*gap {
		t.Errorf("closed before the replies ended")
	}
	_ = p.conn.WriteClose(1000, "")
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	_ = s.Printer().Sync()
	if got, want := out.String(), "r0\nr1\nr2\nr3\nr4\n"; got != want {
		t.Errorf("out = %q, want %q", got, want)
	}
}

// TestRunLinesWaitForever: with WaitForever line mode keeps listening
// after the input until the peer closes, and ends without a close of its
// own.
func TestRunLinesWaitForever(t *testing.T) {
	t.Parallel()
	c, sc := tcpPair(t)
	p := newPeer(t, sc)
	s, out, log := session(t, c, repl.SessionConfig{}, repl.PrinterConfig{})
	res := make(chan error, 1)
	go func() { res <- repl.RunLines(context.Background(), s, strings.NewReader(""), repl.WaitForever) }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-res:
		t.Fatalf("RunLines returned %v before the peer closed", err)
	default:
	}
	_ = p.conn.WriteMessage(wire.OpText, []byte("late"))
	_ = p.conn.WriteClose(1000, "done")
	if m := p.read(); m.Op != wire.OpClose {
		t.Fatalf("peer got %+v, want the echo of its close", m)
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunLines did not end after the peer's close")
	}
	_ = s.Printer().Sync()
	if out.String() != "late\n" || log.String() != "< close 1000 (normal closure) \"done\"\n> close 1000 (normal closure)\n" {
		t.Errorf("out %q, log %q", out.String(), log.String())
	}
}
