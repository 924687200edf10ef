package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

// TestRefusalRelayed checks that a 426 reaches the client byte for byte,
// body included, and is diagnosed against what the client offered.
func TestRefusalRelayed(t *testing.T) {
	refusal := "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 14\r\nX-Odd:  spaced \r\n\r\nversion 13 pls"
	up := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := handshake.ReadRequest(br); err != nil {
			return
		}
		c.Write([]byte(refusal))
	})
	p := startProxy(t, up, nil)
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 8\r\n\r\n"))
	got, _ := io.ReadAll(c)
	if string(got) != refusal {
		t.Errorf("client got %q, want the upstream's answer as sent: %q", got, refusal)
	}
	p.log.waitFor(t, `#1 ! request-version +client: Sec-WebSocket-Version is "8"`)
	p.log.waitFor(t, `#1 ✗ version-unsupported +server: server supports Sec-WebSocket-Version 13; the request offered "8"`)
	p.log.waitFor(t, `#1 ✗ status-not-101 +server: `)
	p.log.waitFor(t, `#1 \* Relayed the refusal \(426 Upgrade Required\)`)
	// The body as inspect shows it: its lines after the head, and the
	// catalogue's body diagnostic.
	p.log.waitFor(t, `#1 <\n#1 < version 13 pls\n`)
	p.log.waitFor(t, `#1 i body +server: the 426 response has a body \(14 bytes\); it starts "version 13 pls"`)
}

// TestHostileSides checks that each hostile peer costs bounded time and
// memory, is named in the log, and leaves another pair of the same proxy
// working.
func TestHostileSides(t *testing.T) {
	up := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := handshake.ReadRequest(br)
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(req.Target, "/silent"):
			time.Sleep(3 * time.Second) // never answers within the proxy's --timeout
			return
		case strings.HasPrefix(req.Target, "/flood"):
			answer101(c, req)
			f := frameBytes(wire.Header{Fin: true, Op: wire.OpBinary}, make([]byte, 64<<10))
			for {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(f); err != nil {
					return
				}
			}
		}
		answer101(c, req)
		for {
			h, err := wire.ReadHeader(br)
			if err != nil {
				return
			}
			if h.Length > 1<<20 {
				// What a server does with a frame above its limit (1009).
				c.Write(frameBytes(wire.Header{Fin: true, Op: wire.OpClose}, wire.AppendClose(nil, wire.CloseMessageTooBig, "")))
				// Read on, so that the close is not lost to a reset.
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				io.Copy(io.Discard, br)
				return
			}
			pl := make([]byte, h.Length)
			io.ReadFull(br, pl)
			wire.Mask(h.Mask, 0, pl)
			c.Write(frameBytes(wire.Header{Fin: true, Op: h.Op}, pl))
		}
	})
	echo, silentUp, flood := up, up, up

	cases := []struct {
		name  string
		up    string
		edit  func(*proxy.Options)
		run   func(t *testing.T, addr string)
		log   string
		heapM int // bound on heap growth, MiB
	}{
		{"head over 64 KiB", echo, nil, func(t *testing.T, addr string) {
			c := dial(t, addr)
			go c.Write([]byte("GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 80<<10) + "\r\n\r\n"))
			got, _ := io.ReadAll(c)
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 431 ")) {
				t.Errorf("client got %.80q, want 431", got)
			}
		}, `✗ client: request head larger than 65536 bytes`, 4},
		{"never-ending head", echo, func(o *proxy.Options) { o.HeadTimeout = 300 * time.Millisecond }, func(t *testing.T, addr string) {
			c := dial(t, addr)
			c.Write([]byte("GET / HTTP/1.1\r\nX-Slow: "))
			got, _ := io.ReadAll(c)
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")) {
				t.Errorf("client got %.80q, want 408", got)
			}
		}, `✗ client: request head not complete after --head-timeout 300ms`, 4},
		{"server never answers", silentUp, func(o *proxy.Options) { o.Dial.Timeout = 300 * time.Millisecond }, func(t *testing.T, addr string) {
			_, _, resp := dialRawPath(t, addr, "/silent", "")
			if resp.Status != 504 {
				t.Errorf("client got %d, want 504 from the proxy", resp.Status)
			}
		}, `✗ timeout +server: the upstream sent no complete response head within --timeout 300ms`, 4},
		{"client stops reading while the server floods", flood, func(o *proxy.Options) {
			o.WriteTimeout = 300 * time.Millisecond
			o.MaxMessageSize = 1 << 10 // messages shown by size: the log stays small
		}, func(t *testing.T, addr string) {
			c, _, _ := dialRawPath(t, addr, "/flood", "")
			time.Sleep(1500 * time.Millisecond) // reads nothing
			c.Close()
		}, `The client read nothing for --write-timeout 300ms`, 16},
		{"declared 2^62-byte frame", echo, nil, func(t *testing.T, addr string) {
			c, br, _ := dialRaw(t, addr, "")
			h := wire.AppendHeader(nil, wire.Header{Fin: true, Op: wire.OpBinary, Masked: true, Length: 1 << 62})
			c.Write(h)
			c.Write(make([]byte, 1<<20))
			c.SetReadDeadline(time.Now().Add(wait))
			got := readFrameBytes(br)
			if closeCode(t, got) != wire.CloseMessageTooBig {
				t.Errorf("client got % x, want the server's close 1009 relayed", got)
			}
		}, `! client: binary frame declares 4611686018427387904 bytes, more than --max-message-size`, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, tc.up, tc.edit)
			// Another pair, open through it all.
			other, obr, _ := dialRaw(t, p.addr, "")
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			tc.run(t, p.addr)
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %s", d)
			}
			p.log.waitFor(t, tc.log)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > int64(tc.heapM)<<20 {
				t.Errorf("heap grew by %d MiB, want at most %d", grow>>20, tc.heapM)
			}
			// The other pair still works.
			msg := frameBytes(wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, []byte("still here"))
			other.Write(msg)
			if got := readFrameBytes(obr); !bytes.Equal(got, frameBytes(wire.Header{Fin: true, Op: wire.OpText}, []byte("still here"))) {
				t.Errorf("the other pair got % x after the hostile one, want the echo", got)
			}
		})
	}
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	return c
}

func answer101(c net.Conn, req *handshake.Request) {
	key, _ := req.Get("Sec-WebSocket-Key")
	c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.AcceptKey(key) + "\r\n\r\n"))
}
