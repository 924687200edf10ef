package handshake_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// rawServer is a loopback server that answers each connection with bytes
// chosen by a test, written as they are, to play a correct or a broken
// WebSocket server.
type rawServer struct {
	ln   net.Listener
	addr string

	mu   sync.Mutex
	reqs [][]byte // request heads received, in order
}

// reply decides what a rawServer writes for a received request. raw is the
// request head as received (nil when it could not be read).
type reply func(req *handshake.Request, raw []byte, c net.Conn)

// startRaw starts a rawServer on 127.0.0.1 that serves every connection
// with r, until the test ends.
func startRaw(t *testing.T, r reply) *rawServer {
	t.Helper()
	return startRawOn(t, "127.0.0.1:0", r)
}

// startRawOn is startRaw on a given loopback address.
func startRawOn(t *testing.T, addr string, r reply) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &rawServer{ln: ln, addr: ln.Addr().String()}
	wstest.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := handshake.ReadRequest(br)
		var raw []byte
		if err == nil {
			raw = req.Raw
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, raw)
		s.mu.Unlock()
		if err != nil {
			return
		}
		r(req, raw, c)
	})
	return s
}

// got returns the request heads received so far.
func (s *rawServer) got() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.reqs...)
}

// url returns ws://127.0.0.1:PORT + path.
func (s *rawServer) url(path string) string { return "ws://" + s.addr + path }

// write returns a reply that writes text (with {accept} replaced by the
// right Sec-WebSocket-Accept for the request's key), then waits for the
// client to close.
func write(text string) reply {
	return func(req *handshake.Request, raw []byte, c net.Conn) {
		key, _ := req.Get("Sec-WebSocket-Key")
		c.Write([]byte(strings.ReplaceAll(text, "{accept}", handshake.AcceptKey(key))))
		drain(c)
	}
}

// drain reads until the peer closes or the deadline passes.
func drain(c net.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// ok101 is a correct 101 response template for write.
const ok101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"

// stepClock returns a clock that starts at a fixed instant and advances by
// step on every call, so that timings in transcripts are deterministic.
func stepClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

// zeroRand is a random source of zero bytes: keys and masks are fixed.
type zeroRand struct{}

func (zeroRand) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// run runs Do against o with a test deadline and closes any open
// connection at the end of the test.
func run(t *testing.T, o *handshake.Options) *handshake.Result {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := handshake.Do(ctx, o)
	if err != nil {
		t.Fatalf("Do(%q): %v", o.URL, err)
	}
	t.Cleanup(func() {
		if res.Conn != nil {
			res.Conn.Close()
		}
	})
	return res
}

// idsOf lists the ids of ds, in order.
func idsOf(ds []handshake.Diagnostic) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d.ID)
	}
	return out
}

// diagOf returns the first diagnostic with id, failing the test when there
// is none.
func diagOf(t *testing.T, ds []handshake.Diagnostic, id string) handshake.Diagnostic {
	t.Helper()
	for _, d := range ds {
		if string(d.ID) == id {
			return d
		}
	}
	t.Fatalf("no %s diagnostic in %v", id, idsOf(ds))
	return handshake.Diagnostic{}
}

// hasDiag reports whether ds has a diagnostic with id.
func hasDiag(ds []handshake.Diagnostic, id string) bool {
	for _, d := range ds {
		if string(d.ID) == id {
			return true
		}
	}
	return false
}

// bufioReader wraps c for ReadRequest.
func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
