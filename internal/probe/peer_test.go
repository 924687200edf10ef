package probe_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// peer is an in-process WebSocket echo server that follows RFC 6455 and
// RFC 7692, unless one of its faults is set: each fault is one way to fail
// one probe check. It uses handshake.Respond and wire in the server role,
// as `wsdbg serve` does, and breaks the rules byte by byte where a fault
// says so.
type peer struct {
	protocols []string

	// Handshake faults.
	upgradeWithoutKey bool // 101 to a request without Sec-WebSocket-Key
	version8NoList    bool // 400 without Sec-WebSocket-Version to version 8
	acceptUnoffered   bool // answers the x-wsdbg-probe offer with permessage-deflate
	badDeflateParams  bool // answers the plain deflate offer with server_max_window_bits=16
	neverAnswer       bool // reads the request and says nothing
	garbage           bool // answers with bytes that are not HTTP

	// Frame faults.
	echoUnmasked   bool // echoes an unmasked text frame instead of failing
	ignoreLongPing bool // reads a 126-byte ping and does nothing
	utf8Close1000  bool // closes 1000 on invalid UTF-8
	keepOpen       bool // never closes the TCP connection itself
	floodPings     bool // sends pings as fast as it can after the upgrade
	hugeFrame      bool // sends a header declaring a 1 GiB text frame after the upgrade
}

// start serves p on a loopback port until the test ends and returns its
// ws:// URL.
func (p *peer) start(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
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
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(conns, c); mu.Unlock() }()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second)) // nothing outlives a stuck test
				p.serve(c)
			}()
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func (p *peer) acceptExtensions(offers []string) (string, bool) {
	if p.acceptUnoffered && slices.Contains(offers, "x-wsdbg-probe") {
		return "permessage-deflate", true
	}
	if p.badDeflateParams && slices.Contains(offers, handshake.DeflateOffer) {
		return "permessage-deflate; server_max_window_bits=16", true
	}
	var pmd []string
	for _, o := range offers {
		if strings.HasPrefix(o, "permessage-deflate") {
			pmd = append(pmd, o)
		}
	}
	resp, ok := wire.AcceptDeflate(pmd)
	return resp.String(), ok
}

func (p *peer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := handshake.ReadRequest(br)
	if err != nil {
		return
	}
	switch {
	case p.neverAnswer:
		io.Copy(io.Discard, br)
		return
	case p.garbage:
		c.Write([]byte("\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n"))
		return
	case p.version8NoList && req.Count("Sec-WebSocket-Version") == 1 && must(req.Get("Sec-WebSocket-Version")) == "8":
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		return
	case p.upgradeWithoutKey && req.Count("Sec-WebSocket-Key") == 0:
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey("") + "\r\n\r\n"))
		p.session(c, br, nil)
		return
	}
	reply := handshake.Respond(req, handshake.ServerOptions{Protocols: p.protocols, AcceptExtensions: p.acceptExtensions})
	if _, err := c.Write(reply.Bytes()); err != nil || !reply.Upgrade {
		return
	}
	var params *wire.DeflateParams
	if len(reply.Extensions) > 0 {
		if d, err := wire.ParseDeflate(reply.Extensions[0]); err == nil {
			params = &d
		}
	}
	p.session(c, br, params)
}

func must(s string, _ bool) string { return s }

// session echoes data messages, answers pings and close frames, and fails
// the connection on a protocol error, as RFC 6455 requires; the faults
// change that.
func (p *peer) session(c net.Conn, br *bufio.Reader, params *wire.DeflateParams) {
	ws := wire.NewConn(br, c, wire.Config{Role: wire.RoleServer, Deflate: params})
	end := func() {
		if p.keepOpen {
			io.Copy(io.Discard, br) // until the client gives up
		}
	}
	if p.hugeFrame {
		hdr := []byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(hdr[2:], 1<<30)
		c.Write(hdr)
		io.Copy(io.Discard, br)
		return
	}
	if p.floodPings {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if ws.WriteControl(wire.OpPing, []byte("flood")) != nil {
					return
				}
			}
		}()
	}
	for {
		if b, err := br.Peek(2); err == nil {
			switch {
			case p.echoUnmasked && b[1]&0x80 == 0:
				h, err := wire.ReadHeader(br)
				if err != nil {
					return
				}
				payload := make([]byte, h.Length)
				if _, err := io.ReadFull(br, payload); err != nil {
					return
				}
				ws.WriteMessage(wire.OpText, payload)
				continue
			case p.ignoreLongPing && wire.Opcode(b[0]&0x0f) == wire.OpPing && b[1]&0x7f == 126:
				h, err := wire.ReadHeader(br)
				if err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, br, h.Length); err != nil {
					return
				}
				continue
			}
		}
		m, err := ws.Read()
		var pe *wire.ProtocolError
		switch {
		case errors.As(err, &pe):
			code := pe.Code
			if p.utf8Close1000 && code == wire.CloseInvalidPayload {
				code = wire.CloseNormal
			}
			ws.WriteClose(code, pe.Reason)
			end()
			return
		case err != nil:
			return
		}
		switch m.Op {
		case wire.OpText, wire.OpBinary:
			ws.WriteMessage(m.Op, m.Data)
		case wire.OpPing:
			ws.WriteControl(wire.OpPong, m.Data)
		case wire.OpClose:
			ws.WriteClose(m.CloseCode, "")
			end()
			return
		}
	}
}
