package wire_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/wire"
)

// The interop tests talk permessage-deflate over loopback with
// gorilla/websocket and coder/websocket, in both roles: each message we
// compress is inflated by the other implementation and echoed back
// compressed by it, and we inflate the echo. Frames are read and written
// with the package's header functions, so only deflate.go is under test.

// rawPeer is one end of a WebSocket connection, framing by hand.
type rawPeer struct {
	conn   net.Conn
	br     *bufio.Reader
	role   wire.Role
	comp   *wire.Compressor
	decomp *wire.Decompressor
	rng    *rand.Rand
}

func newRawPeer(conn net.Conn, br *bufio.Reader, role wire.Role, p wire.DeflateParams) *rawPeer {
	return &rawPeer{conn: conn, br: br, role: role, rng: rand.New(rand.NewPCG(uint64(role), 11)),
		comp: wire.NewCompressor(p, role), decomp: wire.NewDecompressor(p, role)}
}

// writeMessage sends msg in nframes frames, compressed unless the
// compressor declines.
func (p *rawPeer) writeMessage(op wire.Opcode, msg []byte, nframes int) (compressed bool, err error) {
	payload := msg
	out, ok, err := p.comp.Compress(nil, msg)
	if err != nil {
		return false, err
	}
	if ok {
		payload, compressed = out, true
	}
	var buf []byte
	parts := split(p.rng, payload, nframes)
	for i, part := range parts {
		h := wire.Header{Fin: i == len(parts)-1, Rsv1: compressed && i == 0, Op: wire.OpContinuation, Length: int64(len(part))}
		if i == 0 {
			h.Op = op
		}
		data := bytes.Clone(part)
		if p.role == wire.RoleClient {
			h.Masked, h.Mask = true, [4]byte{byte(i), 0x5a, 0xa5, 0x3c}
			wire.Mask(h.Mask, 0, data)
		}
		buf = wire.AppendHeader(buf, h)
		buf = append(buf, data...)
	}
	_, err = p.conn.Write(buf)
	return compressed, err
}

// readMessage returns the next data message, inflated; frames counts its
// frames. A close frame ends with io.EOF.
func (p *rawPeer) readMessage() (op wire.Opcode, msg []byte, compressed bool, frames int, err error) {
	for {
		h, err := wire.ReadHeader(p.br)
		if err != nil {
			return 0, nil, false, 0, err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(p.br, payload); err != nil {
			return 0, nil, false, 0, err
		}
		if h.Masked {
			wire.Mask(h.Mask, 0, payload)
		}
		if h.Op == wire.OpClose {
			return 0, nil, false, 0, io.EOF
		}
		if h.Op.IsControl() {
			continue
		}
		if frames == 0 {
			op, compressed = h.Op, h.Rsv1
			if compressed {
				p.decomp.Begin()
			}
		} else if h.Rsv1 {
			return 0, nil, false, 0, errors.New("RSV1 set on a continuation frame (RFC 7692 §6.1)")
		}
		frames++
		if compressed {
			if msg, err = p.decomp.Append(msg, payload, h.Fin, 16<<20); err != nil {
				return 0, nil, false, 0, err
			}
		} else {
			msg = append(msg, payload...)
		}
		if h.Fin {
			return op, msg, compressed, frames, nil
		}
	}
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// dialRaw opens a WebSocket connection to addr offering ext and returns the
// client end with the negotiated parameters checked by CheckDeflateResponse.
func dialRaw(t *testing.T, addr, ext string) (*rawPeer, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n", addr, key, ext)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		t.Fatalf("handshake: %s, accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	got := resp.Header.Get("Sec-WebSocket-Extensions")
	params, problems := wire.CheckDeflateResponse([]string{ext}, got)
	if problems != nil {
		t.Fatalf("CheckDeflateResponse(%q, %q): %q", ext, got, problems)
	}
	return newRawPeer(conn, br, wire.RoleClient, params), got
}

var interopSizes = []int{0, 1, 100, 2000, 2000, 125, 70000, 5, 300000, 2000, 20, 128, 128}

func interopMessages() [][]byte {
	rng := rand.New(rand.NewPCG(12, 12))
	var msgs [][]byte
	for i, n := range interopSizes {
		m := textMessage(rng, n)
		if i > 0 && n == interopSizes[i-1] {
			m = msgs[i-1] // a repeat: context takeover makes it tiny
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// echoAsClient sends every message and checks the echo.
func echoAsClient(t *testing.T, p *rawPeer) (sentCompressed, gotCompressed, gotFragmented int) {
	t.Helper()
	for i, m := range interopMessages() {
		c, err := p.writeMessage(wire.OpText, m, 1+i%3)
		if err != nil {
			t.Fatalf("message %d: write: %v", i, err)
		}
		if c {
			sentCompressed++
		}
		op, got, compressed, frames, err := p.readMessage()
		if err != nil {
			t.Fatalf("message %d (%d bytes): read echo: %v", i, len(m), err)
		}
		if op != wire.OpText || !bytes.Equal(got, m) {
			t.Fatalf("message %d: echo is %v of %d bytes, want text of %d", i, op, len(got), len(m))
		}
		if compressed {
			gotCompressed++
			if frames > 1 {
				gotFragmented++
			}
		}
	}
	return
}

func TestDeflateInteropCoderServer(t *testing.T) {
	t.Parallel()
	for _, mode := range []coder.CompressionMode{coder.CompressionContextTakeover, coder.CompressionNoContextTakeover} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: mode, CompressionThreshold: 1})
			if err != nil {
				return
			}
			defer c.CloseNow()
			c.SetReadLimit(16 << 20)
			ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
			defer cancel()
			for {
				typ, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				// Write in pieces: coder then sends a fragmented
				// compressed message.
				wr, err := c.Writer(ctx, typ)
				if err != nil {
					return
				}
				for len(data) > 0 {
					n := min(len(data), 30000)
					wr.Write(data[:n])
					data = data[n:]
				}
				if wr.Close() != nil {
					return
				}
			}
		}))
		t.Cleanup(srv.Close)
		for _, offer := range []string{wire.DeflateOffer(), "permessage-deflate; client_no_context_takeover"} {
			p, resp := dialRaw(t, strings.TrimPrefix(srv.URL, "http://"), offer)
			sent, got, frag := echoAsClient(t, p)
			t.Logf("coder/websocket server (%q): %d sent compressed, %d echoed compressed (%d fragmented)", resp, sent, got, frag)
			if sent != len(interopSizes) || got < len(interopSizes)-1 || frag == 0 {
				t.Errorf("offer %q, response %q: %d of %d messages sent compressed, %d echoed compressed, %d fragmented",
					offer, resp, sent, len(interopSizes), got, frag)
			}
		}
	}
}

func TestDeflateInteropGorillaServer(t *testing.T) {
	t.Parallel()
	up := gorilla.Upgrader{EnableCompression: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(16 << 20)
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(typ, data) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	p, resp := dialRaw(t, strings.TrimPrefix(srv.URL, "http://"), wire.DeflateOffer())
	sent, got, frag := echoAsClient(t, p)
	t.Logf("gorilla/websocket server (%q): %d sent compressed, %d echoed compressed (%d fragmented)", resp, sent, got, frag)
	if sent != len(interopSizes) || got != len(interopSizes) || frag == 0 {
		t.Errorf("response %q: %d of %d messages sent compressed, %d echoed compressed, %d fragmented", resp, sent, len(interopSizes), got, frag)
	}
}

// serveRaw accepts one connection on a loopback listener, answers the
// client's offers with AcceptDeflate and echoes messages until the client
// closes. It returns the address and a function that waits for the server
// and returns what it saw.
func serveRaw(t *testing.T) (addr string, wait func() (offers []string, resp string, compressed int, err error)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var wg sync.WaitGroup
	var offers []string
	var resp string
	var compressed int
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			serr = err
			return
		}
		for _, v := range req.Header.Values("Sec-WebSocket-Extensions") {
			for _, e := range strings.Split(v, ",") {
				offers = append(offers, strings.TrimSpace(e))
			}
		}
		params, ok := wire.AcceptDeflate(offers)
		ext := ""
		if ok {
			resp = params.String()
			ext = "Sec-WebSocket-Extensions: " + resp + "\r\n"
		}
		fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
			acceptKey(req.Header.Get("Sec-WebSocket-Key")), ext)
		p := newRawPeer(conn, br, wire.RoleServer, params)
		for i := 0; ; i++ {
			op, msg, c, _, err := p.readMessage()
			if err != nil {
				if err != io.EOF {
					serr = err
				}
				return
			}
			if c {
				compressed++
			}
			if _, err := p.writeMessage(op, msg, 1+i%2); err != nil {
				serr = err
				return
			}
		}
	}()
	return ln.Addr().String(), func() ([]string, string, int, error) {
		wg.Wait()
		return offers, resp, compressed, serr
	}
}

func TestDeflateInteropCoderClient(t *testing.T) {
	t.Parallel()
	for _, mode := range []coder.CompressionMode{coder.CompressionContextTakeover, coder.CompressionNoContextTakeover} {
		addr, wait := serveRaw(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		c, _, err := coder.Dial(ctx, "ws://"+addr, &coder.DialOptions{CompressionMode: mode, CompressionThreshold: 1})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		c.SetReadLimit(16 << 20)
		msgs := interopMessages()
		for i, m := range msgs {
			if err := c.Write(ctx, coder.MessageText, m); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			_, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("message %d (%d bytes): read echo: %v", i, len(m), err)
			}
			if !bytes.Equal(got, m) {
				t.Fatalf("message %d: echo of %d bytes differs from the %d sent", i, len(got), len(m))
			}
		}
		c.Close(coder.StatusNormalClosure, "")
		cancel()
		offers, resp, compressed, err := wait()
		if err != nil {
			t.Fatalf("server: %v", err)
		}
		t.Logf("coder/websocket client %q → %q: %d messages arrived compressed", offers, resp, compressed)
		// coder/websocket sends messages below its threshold (the empty
		// one) uncompressed.
		if resp == "" || compressed != len(msgs)-1 {
			t.Errorf("offers %q, response %q: %d of %d messages arrived compressed", offers, resp, compressed, len(msgs))
		}
	}
}

func TestDeflateInteropGorillaClient(t *testing.T) {
	t.Parallel()
	addr, wait := serveRaw(t)
	d := gorilla.Dialer{EnableCompression: true, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	msgs := interopMessages()
	for i, m := range msgs {
		if err := c.WriteMessage(gorilla.TextMessage, m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d (%d bytes): read echo: %v", i, len(m), err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: echo of %d bytes differs from the %d sent", i, len(got), len(m))
		}
	}
	c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, ""))
	c.Close()
	offers, resp, compressed, err := wait()
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	t.Logf("gorilla/websocket client %q → %q: %d messages arrived compressed", offers, resp, compressed)
	if resp != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" || compressed != len(msgs) {
		t.Errorf("offers %q, response %q: %d of %d messages arrived compressed", offers, resp, compressed, len(msgs))
	}
}
