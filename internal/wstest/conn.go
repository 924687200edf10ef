// Package wstest holds test support shared by wsdbg's packages: in-memory
// connections that play a script of peer bytes, loopback servers,
// certificates made for a test, a buffer safe for concurrent use, golden
// files with the -update flag, a bounded wait for a condition, and checks
// of what wsdbg prints. It is imported by tests only, and imports no
// package of wsdbg, so tests inside any of them can use it.
package wstest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// ScriptConn is a net.Conn whose peer is a fixed script: reads return the
// script's bytes, at most Chunk at a time (all of them when Chunk is 0),
// then io.EOF, as if the peer had sent them and closed its side. Writes are
// kept up to MaxWritten bytes and counted beyond. Deadlines are accepted and
// ignored, since reads never block. It lets a fuzz target drive a whole
// client or server path without sockets, timers or goroutines on the peer
// side, so every run is deterministic and fast.
type ScriptConn struct {
	Chunk      int
	MaxWritten int // 0 keeps 1 MiB

	mu      sync.Mutex
	script  []byte
	written bytes.Buffer
	nw      int64
	closed  bool
}

// NewScriptConn returns a ScriptConn that plays script.
func NewScriptConn(script []byte, chunk int) *ScriptConn {
	return &ScriptConn{script: script, Chunk: chunk}
}

func (c *ScriptConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.script) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if c.Chunk > 0 {
		n = min(n, c.Chunk)
	}
	n = copy(p[:n], c.script)
	c.script = c.script[n:]
	return n, nil
}

func (c *ScriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	limit := c.MaxWritten
	if limit == 0 {
		limit = 1 << 20
	}
	if room := limit - c.written.Len(); room > 0 {
		c.written.Write(p[:min(len(p), room)])
	}
	c.nw += int64(len(p))
	return len(p), nil
}

// Written returns the bytes written so far (at most MaxWritten) and the
// total count.
func (c *ScriptConn) Written() ([]byte, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.written.Bytes()), c.nw
}

func (c *ScriptConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *ScriptConn) LocalAddr() net.Addr  { return scriptAddr("127.0.0.1:40000") }
func (c *ScriptConn) RemoteAddr() net.Addr { return scriptAddr("127.0.0.1:40001") }

func (c *ScriptConn) SetDeadline(time.Time) error      { return nil }
func (c *ScriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *ScriptConn) SetWriteDeadline(time.Time) error { return nil }

type scriptAddr string

func (a scriptAddr) Network() string { return "tcp" }
func (a scriptAddr) String() string  { return string(a) }
