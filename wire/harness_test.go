package wire_test

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 30 * time.Second

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial loopback: %v", err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatalf("accept: %v", r.err)
	}
	b = r.c
	deadline := time.Now().Add(testTimeout)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pipePair returns the two ends of a net.Pipe, with deadlines.
func pipePair(t testing.TB) (a, b net.Conn) {
	a, b = net.Pipe()
	deadline := time.Now().Add(testTimeout)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// peerKey is the masking key the test peer uses when it plays the client.
var peerKey = [4]byte{0xa1, 0xb2, 0xc3, 0xd4}

// pf is a frame the test peer sends; Length is taken from payload and
// masking from the role of the endpoint under test.
type pf struct {
	h       wire.Header
	payload string
}

func fin(op wire.Opcode, payload string) pf {
	return pf{wire.Header{Fin: true, Op: op}, payload}
}

func frag(op wire.Opcode, payload string) pf {
	return pf{wire.Header{Op: op}, payload}
}

// encode builds the bytes a peer of an endpoint playing role sends: a
// client peer (role server) masks, a server peer does not.
func encode(role wire.Role, frames ...pf) []byte {
	var out []byte
	for _, f := range frames {
		h := f.h
		h.Length = int64(len(f.payload))
		if role == wire.RoleServer {
			h.Masked, h.Mask = true, peerKey
		}
		out = wire.AppendHeader(out, h)
		start := len(out)
		out = append(out, f.payload...)
		if h.Masked {
			wire.Mask(h.Mask, 0, out[start:])
		}
	}
	return out
}

// describe names a frame or message for comparisons: "text:Hello", long
// payloads by length and checksum.
func describe(op wire.Opcode, payload []byte) string {
	if op == wire.OpClose {
		code, has, reason, err := wire.ParseClose(payload)
		switch {
		case err != nil:
			return fmt.Sprintf("close:invalid(%x)", payload)
		case !has:
			return "close:"
		case reason != "":
			return fmt.Sprintf("close:%d:%s", code, reason)
		}
		return fmt.Sprintf("close:%d", code)
	}
	if len(payload) > 64 {
		return fmt.Sprintf("%v:len=%d,crc=%08x", op, len(payload), crc32.ChecksumIEEE(payload))
	}
	return fmt.Sprintf("%v:%s", op, payload)
}

// echoAgent plays an Autobahn test client or server: it echoes data
// messages, answers pings, echoes the close code, and fails the connection
// with the close code a *ProtocolError carries. It returns the error that
// ended it (nil after a close).
func echoAgent(c *wire.Conn) error {
	for {
		m, err := c.Read()
		if err != nil {
			var pe *wire.ProtocolError
			if errors.As(err, &pe) {
				c.WriteClose(pe.Code, "")
			}
			return err
		}
		switch m.Op {
		case wire.OpText, wire.OpBinary:
			if err := c.WriteMessage(m.Op, m.Data); err != nil {
				return err
			}
		case wire.OpPing:
			if err := c.WriteControl(wire.OpPong, m.Data); err != nil {
				return err
			}
		case wire.OpClose:
			code := m.CloseCode
			if !m.HasCode {
				code = 0
			}
			c.WriteClose(code, "")
			return nil
		}
	}
}

// readFrames reads frames from the endpoint under test until its close
// frame or EOF and describes them. It checks the masking rule the
// endpoint must follow.
func readFrames(t testing.TB, conn io.Reader, role wire.Role) []string {
	t.Helper()
	br := bufio.NewReader(conn)
	var got []string
	for {
		h, err := wire.ReadHeader(br)
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("timed out waiting for frames; got %q so far", got)
				}
			}
			return got
		}
		if h.Masked != (role == wire.RoleClient) {
			t.Errorf("%v role sent frame %v: wrong masking (RFC 6455 §5.1)", role, h)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Errorf("read payload of %v: %v", h, err)
			return got
		}
		if h.Masked {
			wire.Mask(h.Mask, 0, p)
		}
		if !h.Fin || h.Op == wire.OpContinuation {
			t.Errorf("echo agent sent a fragmented frame %v", h)
		}
		got = append(got, describe(h.Op, p))
		if h.Op == wire.OpClose {
			return got
		}
	}
}

var roles = []wire.Role{wire.RoleClient, wire.RoleServer}

// lingeringClose ends our side of a test connection the way a careful
// endpoint does: it sends FIN and keeps reading until the peer closes, so
// the peer's unread bytes never turn into a reset that could destroy the
// close frame before the peer reads it.
func lingeringClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		go io.Copy(io.Discard, tc)
		return
	}
	c.Close()
}
