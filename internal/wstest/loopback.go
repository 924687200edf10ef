package wstest

import (
	"net"
	"sync"
	"testing"
	"time"
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
// the test; a handler still running 10 s later fails the test. Handlers
// close their connections themselves when they are done.
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
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Errorf("loopback server on %s: connection handlers still running 10s after the test", ln.Addr())
		}
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

// ServeTCP is Serve on a new loopback listener; it returns the address.
func ServeTCP(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln := Listen(tb)
	Serve(tb, ln, handle)
	return ln.Addr().String()
}
