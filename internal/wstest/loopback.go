package wstest

import (
	"net"
	"sync"
	"testing"
)

// Listen returns a TCP listener on 127.0.0.1 at a free port, closed when
// the test ends.
func Listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen on loopback: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// Serve accepts connections on ln until the test ends and runs handle for
// each in its own goroutine. At the end of the test it closes ln and every
// connection still open, then waits for every handler, so nothing outlives
// the test. Handlers close their connections themselves when they are done.
func Serve(tb testing.TB, ln net.Listener, handle func(net.Conn)) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		ended bool
	)
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		ended = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = true
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(conns, c); mu.Unlock() }()
				handle(c)
			}()
		}
	}()
}
