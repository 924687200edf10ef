package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

// FuzzServe plays any client's bytes (a request head and whatever follows)
// into serve's handling of one connection: the request head, the
// request-side diagnosis, the answer chosen, the echo session's first
// frames and every log line. Whatever the client sends, the connection
// ends once its bytes do, the log is escaped, and what serve writes back
// starts with an HTTP/1.1 status line. The seed corpus is in
// testdata/fuzz/FuzzServe.
func FuzzServe(f *testing.F) {
	const get = "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, s := range []string{
		get + "\r\n" + "\x81\x85\x01\x02\x03\x04iggkn\x88\x82\x01\x02\x02\xea",
		get + "Sec-WebSocket-Protocol: x, chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n" + "\xc1\x87\x00\x00\x00\x00\xf2\x48\xcd\xc9\xc9\x07\x00",
		get + "\r\n" + "\x81\x05hello",
		get + "\r\n" + "\x01\x83\x00\x00\x00\x00abc\x89\x80\x00\x00\x00\x00\x80\x81\x00\x00\x00\x00d",
		get + "\r\n" + "\x81\x83\x00\x00\x00\x00\xff\xfe\x1b",
		get + "\r\n" + "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00",
		strings.Replace(get, "13", "8", 1) + "\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /\x1b[2J HTTP/1.1\nHost: \xff\xc2\x9b\n\n",
		"POST /chat HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
		"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(0x13))
	}
	f.Fuzz(func(t *testing.T, script []byte, mode uint8) {
		var log bytes.Buffer
		opts := &serveOptions{
			Color:          "never",
			Protocols:      []string{"chat"},
			Deflate:        mode&1 != 0,
			Verbose:        mode&2 != 0,
			MaxMessageSize: 1 << 16,
			HeadTimeout:    time.Second,
			WriteTimeout:   time.Second,
		}
		s := newServer(&IO{}, opts, &log, true)
		c := wstest.NewScriptConn(script, int(mode>>4)*5)
		sc := s.newConn(c)
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc.serve(context.Background())
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("serve did not end within 10s after the client's %d bytes", len(script))
		}
		s.forget(sc)
		if err := wstest.TerminalSafe(log.Bytes()); err != nil {
			t.Fatalf("log: %v\n%s", err, log.Bytes())
		}
		out, _ := c.Written()
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
			t.Fatalf("serve answered %q, not an HTTP/1.1 status line", out[:min(len(out), 40)])
		}
	})
}
