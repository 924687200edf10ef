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
	return nil
}

// restore puts the input terminal back the way it was found.
func (t *terminal) restore() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.orig == nil {
		return nil
	}
	return readline.Restore(t.inFd, t.orig)
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
