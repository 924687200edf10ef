package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

const wait = 30 * time.Second

// logBuffer collects the proxy's log safely and can wait for text.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) waitFor(t testing.TB, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		text, ch := l.b.String(), l.changed
		l.mu.Unlock()
		if m := rx.FindString(text); m != "" {
			return m
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no match for %s within %s; log:\n%s", re, wait, text)
		}
	}
}

// prefixed labels each line of one connection, as cmd does.
type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	part   []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.part = append(p.part, b...)
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.part...)
		out = append(out, b[:i+1]...)
		p.part = p.part[:0]
		b = b[i+1:]
	}
	if len(out) > 0 {
		p.w.Write(out)
	}
	return n, nil
}

func (p *prefixed) Close() error { return nil }

// testProxy is a proxy.Server on loopback.
type testProxy struct {
	addr string
	log  *logBuffer
	srv  *proxy.Server
	stop func()
}

// startProxy runs a proxy to upstream; edit changes the options.
func startProxy(t testing.TB, upstream string, edit func(*proxy.Options)) *testProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	tp := &testProxy{log: newLogBuffer()}
	opts := proxy.Options{
		Upstream:     u,
		Dial:         handshake.Options{Timeout: 5 * time.Second},
		HeadTimeout:  5 * time.Second,
		WriteTimeout: 5 * time.Second,
	}
	json := false
	opts.Log = func(id int64) io.WriteCloser {
		if json {
			return &prefixed{w: tp.log}
		}
		return &prefixed{w: tp.log, prefix: "#" + itoa(id) + " "}
	}
	if edit != nil {
		edit(&opts)
	}
	json = opts.JSON
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp.addr = ln.Addr().String()
	tp.srv = proxy.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tp.srv.Serve(ctx, ln) }()
	var once sync.Once
	tp.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("the proxy did not stop within 15s; log:\n%s", tp.log)
			}
		})
	}
	t.Cleanup(tp.stop)
	return tp
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rawServer accepts one connection at a time and hands it to serve.
func rawServer(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(120 * time.Second))
				serve(c, bufio.NewReaderSize(c, 4096))
			}()
		}
	}()
	return "ws://" + ln.Addr().String()
}

// upgrade reads a request head and answers 101 with extra fields.
func upgrade(t testing.TB, c net.Conn, br *bufio.Reader, extra string) *handshake.Request {
	req, err := handshake.ReadRequest(br)
	if err != nil {
		t.Errorf("upstream: read request: %v", err)
		return nil
	}
	key, _ := req.Get("Sec-WebSocket-Key")
	c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.AcceptKey(key) + "\r\n" + extra + "\r\n"))
	return req
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialRaw opens a connection to the proxy and runs the client side of the
// handshake by hand; it returns the response head.
func dialRaw(t testing.TB, addr, extra string) (net.Conn, *bufio.Reader, *handshake.Response) {
	t.Helper()
	return dialRawPath(t, addr, "/chat?x=1", extra)
}

func dialRawPath(t testing.TB, addr, path, extra string) (net.Conn, *bufio.Reader, *handshake.Response) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(120 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey +
		"\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 4096)
	resp, err := handshake.ReadResponse(br)
	if err != nil {
		t.Fatalf("read response through the proxy: %v", err)
	}
	return c, br, resp
}

// frameBytes encodes one frame; masked frames use key.
func frameBytes(h wire.Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	b := wire.AppendHeader(nil, h)
	p := append([]byte(nil), payload...)
	if h.Masked {
		wire.Mask(h.Mask, 0, p)
	}
	return append(b, p...)
}

// readN reads exactly n bytes.
func readN(t testing.TB, br *bufio.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// events decodes NDJSON lines.
func events(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("NDJSON line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}
