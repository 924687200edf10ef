package cmd_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsdbg/wsdbg/internal/h2test"
	"github.com/wsdbg/wsdbg/wire"
)

// BenchmarkH2Receive compares receiving over HTTP/2 (an extended CONNECT
// stream, RFC 8441) with receiving over HTTP/1.1, in one run:
//
//	go test -run='^$' -bench=H2Receive -benchmem ./cmd/
//
// The HTTP/2 server packs the WebSocket frames into DATA frames of 16,384
// bytes (the default SETTINGS_MAX_FRAME_SIZE) within the windows wsdbg
// grants, so the figures include wsdbg's flow control and WINDOW_UPDATEs.
func BenchmarkH2Receive(b *testing.B) {
	for _, c := range []struct {
		name    string
		n, size int
	}{{"200kx1KiB", 200_000, 1 << 10}, {"2000x1MiB", 2000, 1 << 20}} {
		b.Run("http1.1/"+c.name, func(b *testing.B) { benchReceive(b, c.n, c.size) })
		b.Run("h2/"+c.name, func(b *testing.B) { benchReceiveH2(b, c.n, c.size) })
	}
}

func benchReceiveH2(b *testing.B, n, size int) {
	one := frame(wire.OpText, bytes.Repeat([]byte("x"), size))
	per := max(1, (256<<10)/len(one))
	block := bytes.Repeat(one, per)
	addr := h2test.Start(b, func(c *h2test.Conn) {
		c.NC.SetDeadline(time.Time{}) // a run may take longer than h2test's 10 s
		req, err := c.Accept(h2test.ECP)
		if err != nil {
			return
		}
		c.Respond("200", false)
		s := &h2Sender{c: c, conn: req.ConnWindow, stream: req.StreamWindow, closed: make(chan struct{})}
		s.cond = sync.NewCond(&s.mu)
		go s.readFrames()
		for sent := 0; sent < n; {
			k := min(per, n-sent)
			if !s.send(block[:k*len(one)]) {
				return
			}
			sent += k
		}
		s.send(frame(wire.OpClose, []byte{0x03, 0xe8}))
		<-s.closed // the client's close
		c.Data(nil, true)
	})
	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	for b.Loop() {
		in, done := blockingStdin()
		runBench(b, in, "connect", "--http2", "-q", "ws://"+addr+"/bench")
		done()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}

// h2Sender writes DATA on stream 1 within the client's windows; its
// reading goroutine takes WINDOW_UPDATEs and notices the client's close.
type h2Sender struct {
	c            *h2test.Conn
	mu           sync.Mutex
	cond         *sync.Cond
	conn, stream int64
	dead         bool
	closed       chan struct{}
}

func (s *h2Sender) readFrames() {
	defer func() {
		s.mu.Lock()
		s.dead = true
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	once := sync.Once{}
	for {
		f, err := s.c.Fr.ReadFrame()
		if err != nil {
			once.Do(func() { close(s.closed) })
			return
		}
		switch f := f.(type) {
		case *http2.WindowUpdateFrame:
			s.mu.Lock()
			if f.StreamID == 0 {
				s.conn += int64(f.Increment)
			} else {
				s.stream += int64(f.Increment)
			}
			s.cond.Broadcast()
			s.mu.Unlock()
		case *http2.PingFrame:
			if !f.IsAck() {
				s.c.Write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
			}
		case *http2.DataFrame:
			if len(f.Data()) > 0 {
				once.Do(func() { close(s.closed) })
			}
		}
	}
}

// send writes p in DATA frames of at most 16,384 bytes, flushing when
// the window runs out and at the end.
func (s *h2Sender) send(p []byte) bool {
	for len(p) > 0 {
		s.mu.Lock()
		for (s.conn <= 0 || s.stream <= 0) && !s.dead {
			s.cond.Wait()
		}
		if s.dead {
			s.mu.Unlock()
			return false
		}
		avail := min(s.conn, s.stream)
		s.mu.Unlock()
		err := s.c.Write(func(fr *http2.Framer) error {
			for len(p) > 0 && avail > 0 {
				k := int(min(int64(len(p)), avail, 16384))
				if err := fr.WriteData(1, false, p[:k]); err != nil {
					return err
				}
				s.mu.Lock()
				s.conn -= int64(k)
				s.stream -= int64(k)
				s.mu.Unlock()
				avail -= int64(k)
				p = p[k:]
			}
			return nil
		})
		if err != nil {
			return false
		}
	}
	return true
}
