//go:build unix

package repl

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/chzyer/readline"
)

// terminal switches the input terminal to raw mode and back, and measures
// the output terminal, for the streams the REPL was given (not necessarily
// the process's own).
type terminal struct {
	inFd, outFd   int
	hasIn, hasOut bool

	mu   sync.Mutex
	orig *readline.State // the state before the first switch to raw mode
}

type fder interface{ Fd() uintptr }

func newTerminal(in io.Reader, out io.Writer) *terminal {
	t := &terminal{}
	if f, ok := in.(fder); ok {
		t.inFd, t.hasIn = int(f.Fd()), true
	}
	if f, ok := out.(fder); ok {
		t.outFd, t.hasOut = int(f.Fd()), true
	}
	return t
}

// makeRaw puts the input terminal in raw mode, as readline needs while a
// line is edited.
func (t *terminal) makeRaw() error {
	if !t.hasIn {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := readline.MakeRaw(t.inFd)
	if err != nil {
		return err
	}
	if t.orig == nil {
		t.orig = st
	}
	rawTerminals.add(t)
	return nil
}

// restore puts the input terminal back the way it was found.
func (t *terminal) restore() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.orig == nil {
		return nil
	}
	rawTerminals.remove(t)
	return readline.Restore(t.inFd, t.orig)
}

// rawTerminals are the terminals a REPL has put in raw mode and not yet
// restored, for RestoreTerminals.
var rawTerminals terminalSet

type terminalSet struct {
	mu sync.Mutex
	m  map[*terminal]struct{}
}

func (s *terminalSet) add(t *terminal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[*terminal]struct{})
	}
	s.m[t] = struct{}{}
}

func (s *terminalSet) remove(t *terminal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, t)
}

// RestoreTerminals puts every terminal a running REPL switched to raw mode
// back the way it was found. It is meant for a process about to exit
// without the REPL's own cleanup (a second Ctrl-C); it does not wait for
// the REPL's locks, which a stuck writer may hold.
func RestoreTerminals() {
	rawTerminals.mu.Lock()
	defer rawTerminals.mu.Unlock()
	for t := range rawTerminals.m {
		if t.orig != nil {
			_ = readline.Restore(t.inFd, t.orig)
		}
	}
}

// width is the output terminal's width in columns, 80 when unknown.
func (t *terminal) width() int {
	for _, fd := range []struct {
		fd int
		ok bool
	}{{t.outFd, t.hasOut}, {t.inFd, t.hasIn}} {
		if !fd.ok {
			continue
		}
		if cols, _, err := readline.GetSize(fd.fd); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

// onResize calls f whenever the terminal window changes size (SIGWINCH),
// until the returned stop function is called.
func (t *terminal) onResize(f func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, syscall.SIGWINCH)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ch:
				f()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			wg.Wait()
		})
	}
}
