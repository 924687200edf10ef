package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/cmd"
)

// logBuffer is a bytes.Buffer safe for the server's goroutines, with a
// way to wait for text to appear.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return n, err
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the text matches re, or fails the test after d.
func (s *logBuffer) waitFor(t *testing.T, re string, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var m string
	s.waitUntil(t, "match for "+re, d, func(text string) bool {
		m = rx.FindString(text)
		return m != ""
	})
	return m
}

// waitUntil waits until ok holds for the text, or fails the test after d.
func (s *logBuffer) waitUntil(t *testing.T, what string, d time.Duration, ok func(string) bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		text, ch := s.b.String(), s.changed
		s.mu.Unlock()
		if ok(text) {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no %s within %s; log so far:\n%s", what, d, text)
		}
	}
}

// serveMainMu serialises the flag parsing of cmd.Main runs: urfave/cli v2
// applies its package-level help flag to every app, which races when two
// apps parse at once. Tests in this file are not parallel at the top level,
// so they never overlap with other files' tests; their subtests take
// serveMainMu.
var serveMainMu sync.Mutex

// runMain runs cmd.Main under serveMainMu.
func serveMain(args []string, o *cmd.IO) int {
	serveMainMu.Lock()
	defer serveMainMu.Unlock()
	return cmd.Main(args, o)
}

// testServer is a `wsdbg serve` running in the test process.
type testServer struct {
	url  string // ws://127.0.0.1:PORT/
	addr string // 127.0.0.1:PORT
	log  *logBuffer
	errs *logBuffer
	stop func() int // cancels the run and returns its exit code
}

// startServe runs `wsdbg serve --listen 127.0.0.1:0 args...` through
// cmd.MainContext, waits for its "Listening" line and stops it when the
// test ends.
func startServe(t testing.TB, args ...string) *testServer {
	t.Helper()
	ts := &testServer{log: newLogBuffer(), errs: newLogBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	argv := append([]string{"wsdbg", "serve", "--listen", "127.0.0.1:0"}, args...)
	serveMainMu.Lock() // until the flags are parsed: serve has announced or failed
	defer serveMainMu.Unlock()
	go func() {
		code <- cmd.MainContext(ctx, argv, &cmd.IO{Out: ts.log, Err: ts.errs})
	}()
	var once sync.Once
	exit := -1
	ts.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(15 * time.Second):
				t.Errorf("serve did not stop within 15s after cancel; log:\n%s", ts.log)
			}
		})
		return exit
	}
	t.Cleanup(func() { ts.stop() })

	deadline := time.After(10 * time.Second)
	rx := regexp.MustCompile(`Listening on (wss?://([0-9.]+:[0-9]+)/)`)
	for {
		if m := rx.FindStringSubmatch(ts.log.String()); m != nil {
			ts.url, ts.addr = m[1], m[2]
			return ts
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited with %d before listening; stderr:\n%s", c, ts.errs)
		case <-deadline:
			t.Fatalf("serve did not listen within 10s; log:\n%s", ts.log)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// rawExchange writes req on a new connection and returns everything the
// server sent until it closed the connection.
func rawExchange(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go c.Write(req) // may block while the server stops reading a huge head
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read the answer to %.60q: %v (got %q)", req, err, got)
	}
	return got
}

// parseHTTP reads a response with net/http, as an independent check of
// its syntax.
func parseHTTP(t *testing.T, raw []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("net/http cannot read the response %q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %q: %v", raw, err)
	}
	return resp, string(body)
}

// logLines returns the log lines that start with prefix.
func logLines(log, prefix string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}
