package repl_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// TestStalledPeerDuringLargeWrite: the peer reads the header of an 8 MiB
// message we are sending, then stops reading and sends pings. The
// reading goroutine must not be stalled by the blocked write: it keeps
// reading and printing the pings. Then either the peer resumes reading
// and gets the message followed by the pongs, answered as soon as the
// write completed, or it never does and the session fails within the
// write timeout with an error that says the peer stopped reading. No
// goroutine is left behind.
func TestStalledPeerDuringLargeWrite(t *testing.T) {
	const size = 8 << 20
	before := runtime.NumGoroutine()
	for _, resume := range []bool{true, false} {
		name := "peer never reads again"
		if resume {
			name = "peer resumes reading"
		}
		// Short when the peer never reads again, so the test ends soon;
		// long when it does, so that a loaded machine reading 8 MiB
		// through small socket buffers never hits it.
		writeTimeout := 700 * time.Millisecond
		if resume {
			writeTimeout = 5 * time.Second
		}
		t.Run(name, func(t *testing.T) {
			ours, theirs := tcpPair(t)
			ours.(*net.TCPConn).SetWriteBuffer(16 << 10)
			theirs.(*net.TCPConn).SetReadBuffer(16 << 10)
			log := new(wstest.Buffer)
			p := repl.NewPrinter(repl.PrinterConfig{Out: io.Discard, Log: log})
			defer p.Close()
			s := repl.NewSession(ours, nil, repl.SessionConfig{Role: wire.RoleClient, Printer: p, WriteTimeout: writeTimeout, CloseTimeout: writeTimeout})
			s.Start(t.Context())
			sent := make(chan error, 1)
			go func() { sent <- s.Send(wire.OpBinary, make([]byte, size)) }()

			br := bufio.NewReader(theirs)
			h, err := wire.ReadHeader(br)
			if err != nil || h.Length != size {
				t.Fatalf("peer read header %v, %v; want a %d-byte frame", h, err, size)
			}
			peer := wire.NewConn(br, theirs, wire.Config{Role: wire.RoleServer})
			for _, ping := range []string{"one", "two"} {
				if err := peer.WriteControl(wire.OpPing, []byte(ping)); err != nil {
					t.Fatal(err)
				}
			}
			// The reader is not held by the blocked write: the pings are
			// read and printed while the message is still being sent.
			deadline := time.Now().Add(600 * time.Millisecond)
			for !strings.Contains(log.String(), `< ping "two"`) {
				if time.Now().After(deadline) {
					t.Fatalf("pings not read within 600ms while a write was blocked; log:\n%s", log.String())
				}
				p.Flush()
				time.Sleep(5 * time.Millisecond)
			}
			start := time.Now()
			if resume {
				// Read the rest of the message, then the pongs.
				if _, err := io.CopyN(io.Discard, br, size); err != nil {
					t.Fatalf("peer read the message: %v; Send: %v; log:\n%s", err, <-sent, log.String())
				}
				for _, want := range []string{"one", "two"} {
					h, err := wire.ReadHeader(br)
					if err != nil || h.Op != wire.OpPong {
						t.Fatalf("after the message: %v, %v; want the pong %q", h, err, want)
					}
					payload := make([]byte, h.Length)
					io.ReadFull(br, payload)
					wire.Mask(h.Mask, 0, payload)
					if string(payload) != want {
						t.Fatalf("pong %q, want %q", payload, want)
					}
				}
				if err := <-sent; err != nil {
					t.Fatalf("Send = %v", err)
				}
				s.Close(wire.CloseNormal, "")
				peer.WriteClose(wire.CloseNormal, "")
				if err := s.Wait(); err != nil {
					t.Fatalf("Wait = %v", err)
				}
				return
			}
			serr := <-sent
			werr := s.Wait()
			took := time.Since(start)
			for _, err := range []error{serr, werr} {
				if err == nil || !strings.Contains(err.Error(), "read nothing of what wsdbg sent for 700ms") {
					t.Errorf("error %v, want one saying the peer stopped reading", err)
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error %v does not unwrap to the write timeout", err)
				}
			}
			if took > 2*writeTimeout+time.Second {
				t.Errorf("the session ended %v after the pings, want within the write timeout %v", took, writeTimeout)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
