package repl

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// maxScreenPending bounds the output waiting for the terminal; writers
// wait beyond it, which slows the session's reading and, through TCP, the
// peer, instead of dropping output or growing without bound.
const maxScreenPending = 1 << 20

var errScreenClosed = errors.New("write to terminal: the interactive session has ended")

// screen owns the terminal while the REPL runs. Everything printed goes
// through it: its goroutine takes all complete lines pending and writes
// them in one Write to the editor's writer, which draws them above the
// prompt and then redraws the prompt and the line being typed. So a flood
// of messages costs one redraw per batch, not one per message, no line is
// ever split by a redraw, and the line being typed survives any number of
// incoming messages.
type screen struct {
	dst io.Writer

	mu      sync.Mutex
	cond    *sync.Cond // signals progress of the writing goroutine
	buf     []byte     // pending output
	spare   []byte
	writing bool
	closed  bool
	err     error

	kick chan struct{}
	done chan struct{}
}

func newScreen(dst io.Writer) *screen {
	s := &screen{dst: dst, kick: make(chan struct{}, 1), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s
}

// Write queues p for the terminal. It waits while much output is pending.
func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	for len(s.buf) > 0 && len(s.buf)+len(p) > maxScreenPending && !s.closed {
		s.signal()
		s.cond.Wait()
	}
	if s.closed {
		s.mu.Unlock()
		return 0, errScreenClosed
	}
	s.buf = append(s.buf, p...)
	s.mu.Unlock()
	s.signal()
	return len(p), nil
}

func (s *screen) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run is the goroutine that writes to the terminal.
func (s *screen) run() {
	defer close(s.done)
	for range s.kick {
		for {
			s.mu.Lock()
			n := bytes.LastIndexByte(s.buf, '\n') + 1
			if s.closed {
				n = len(s.buf) // the end: a partial line too
			}
			if n == 0 {
				closed := s.closed
				s.cond.Broadcast()
				s.mu.Unlock()
				if closed {
					return
				}
				break
			}
			out := s.buf[:n]
			rest := s.buf[n:]
			s.buf = append(s.spare[:0], rest...)
			s.writing = true
			s.mu.Unlock()

			_, err := s.dst.Write(out)

			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			if cap(out) <= 4*maxScreenPending {
				s.spare = out[:0]
			} else {
				s.spare = nil
			}
			s.writing = false
			s.cond.Broadcast()
			closed := s.closed && len(s.buf) == 0
			s.mu.Unlock()
			if closed {
				return
			}
		}
	}
}

// Sync waits until every complete line written so far is on the terminal.
func (s *screen) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for (s.writing || bytes.IndexByte(s.buf, '\n') >= 0) && !s.closed {
		s.signal()
		s.cond.Wait()
	}
	return s.err
}

// Close writes what is pending, a partial line included, and stops the
// goroutine. Later writes fail.
func (s *screen) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cond.Broadcast()
	}
	s.mu.Unlock()
	s.signal()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
