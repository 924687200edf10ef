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
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/wire"
)

// Interop tests: our Conn against gorilla/websocket and coder/websocket, in
// both roles, with and without permessage-deflate, over loopback TCP.

var coderModes = []struct {
	name string
	mode coder.CompressionMode
}{
	{"no compression", coder.CompressionDisabled},
	{"context takeover", coder.CompressionContextTakeover},
	{"no context takeover", coder.CompressionNoContextTakeover},
}

var wsInteropSizes = []int{0, 125, 126, 65535, 65536, 1 << 20}

type wsInteropMsg struct {
	op         wire.Opcode
	data       []byte
	fragmented bool
}

// wsInteropMessages returns text and binary messages of every size, whole
// and fragmented; 1 MiB only as binary, and not at all when compressing
// under the race detector, whose instrumented DEFLATE is too slow for the
// suite's time budget (the plain run covers it).
func wsInteropMessages(compressed bool) []wsInteropMsg {
	rng := rand.New(rand.NewPCG(7, 8))
	var ms []wsInteropMsg
	for _, n := range wsInteropSizes {
		if n >= 1<<20 && compressed && raceOn {
			continue
		}
		for _, fragmented := range []bool{false, true} {
			bin := make([]byte, n)
			for i := range bin {
				// Compressible but not trivial.
				bin[i] = byte(rng.IntN(16)) * byte(i%7)
			}
			ms = append(ms, wsInteropMsg{wire.OpBinary, bin, fragmented})
			if n < 1<<20 {
				ms = append(ms, wsInteropMsg{wire.OpText, utf8Text(rng, n), fragmented})
			}
		}
	}
	return ms
}

// utf8Text returns n bytes of valid UTF-8 mixing ASCII and multi-byte runes.
func utf8Text(rng *rand.Rand, n int) []byte {
	words := []string{"hello ", "wörld ", "κόσμε ", "日本語 ", "🙂 ", "frame ", "\t", "\n"}
	var b []byte
	for len(b) < n {
		w := words[rng.IntN(len(words))]
		if len(b)+len(w) > n {
			w = strings.Repeat("x", n-len(b))
		}
		b = append(b, w...)
	}
	return b
}

func wsAcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// dialOurs performs a minimal client handshake to addr and returns our
// client-role Conn, with permessage-deflate as the server accepted it.
func dialOurs(t *testing.T, addr, offer string) (*wire.Conn, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(testTimeout))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAcceptKey(key) {
		t.Fatalf("handshake response %s, accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	cfg := wire.Config{Role: wire.RoleClient, MaxMessageSize: 4 << 20}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		p, err := wire.ParseDeflate(ext)
		if err != nil {
			t.Fatalf("server accepted extension %q: %v", ext, err)
		}
		cfg.Deflate = &p
	}
	if offer != "" && cfg.Deflate == nil {
		t.Fatalf("server did not accept %q", offer)
	}
	return wire.NewConn(br, conn, cfg), conn
}

// serveOurs starts an HTTP server on loopback whose handler upgrades with a
// minimal handshake (net/http Hijack) and runs serve on our server-role
// Conn.
func serveOurs(t *testing.T, deflate bool, serve func(*wire.Conn) error) (addr string, result <-chan error) {
	t.Helper()
	res := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
			http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
			return
		}
		var offers []string
		for _, v := range r.Header.Values("Sec-WebSocket-Extensions") {
			for _, e := range strings.Split(v, ",") {
				offers = append(offers, strings.TrimSpace(e))
			}
		}
		cfg := wire.Config{Role: wire.RoleServer, MaxMessageSize: 4 << 20}
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsAcceptKey(key) + "\r\n"
		if deflate {
			p, ok := wire.AcceptDeflate(offers)
			if !ok {
				res <- fmt.Errorf("no acceptable permessage-deflate offer in %q", offers)
				return
			}
			head += "Sec-WebSocket-Extensions: " + p.String() + "\r\n"
			cfg.Deflate = &p
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			res <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(testTimeout))
		if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
			res <- err
			return
		}
		res <- serve(wire.NewConn(brw.Reader, conn, cfg))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), res
}

// serveEcho echoes data messages, fragmenting every other one, and pings
// the client before each echo; it answers pings and, at the close, checks
// that a pong came back for each of its pings.
func serveEcho(want int, deflate bool) func(*wire.Conn) error {
	return func(c *wire.Conn) error {
		msgs, pongs, compressed := 0, 0, 0
		for {
			m, err := c.Read()
			if err != nil {
				return fmt.Errorf("after %d messages: %w", msgs, err)
			}
			switch m.Op {
			case wire.OpText, wire.OpBinary:
				msgs++
				if m.Compressed {
					compressed++
				}
				if err := c.WriteControl(wire.OpPing, []byte(fmt.Sprint("server ping ", msgs))); err != nil {
					return err
				}
				if msgs%2 == 0 {
					err = c.WriteFragmented(m.Op, m.Data, 3)
				} else {
					err = c.WriteMessage(m.Op, m.Data)
				}
				if err != nil {
					return err
				}
			case wire.OpPing:
				if err := c.WriteControl(wire.OpPong, m.Data); err != nil {
					return err
				}
			case wire.OpPong:
				pongs++
				if want := fmt.Sprint("server ping ", pongs); string(m.Data) != want {
					return fmt.Errorf("pong %q, want %q", m.Data, want)
				}
			case wire.OpClose:
				if err := c.WriteClose(m.CloseCode, ""); err != nil {
					return err
				}
				if msgs != want || pongs != want {
					return fmt.Errorf("%d messages and %d pongs, want %d of each", msgs, pongs, want)
				}
				if deflate != (compressed > 0) {
					return fmt.Errorf("%d messages arrived compressed; deflate negotiated: %v", compressed, deflate)
				}
				return nil
			}
		}
	}
}

// runOurClient sends every message through c, fragmented ones as three
// frames with a ping between the first two, and checks each echo and pong.
func runOurClient(t *testing.T, c *wire.Conn, compressed bool) {
	t.Helper()
	compressedEchoes := 0
	for i, m := range wsInteropMessages(compressed) {
		ping := []byte(fmt.Sprint("client ping ", i))
		var err error
		switch {
		case !m.fragmented:
			err = c.WriteMessage(m.op, m.data)
			if err == nil {
				err = c.WriteControl(wire.OpPing, ping)
			}
		case compressed:
			err = c.WriteFragmented(m.op, m.data, 3)
			if err == nil {
				err = c.WriteControl(wire.OpPing, ping)
			}
		default:
			n := len(m.data)
			parts := [][]byte{m.data[:n/3], m.data[n/3 : 2*n/3], m.data[2*n/3:]}
			err = errors.Join(
				c.WriteFrame(wire.Header{Op: m.op, Masked: true}, parts[0]),
				c.WriteControl(wire.OpPing, ping),
				c.WriteFrame(wire.Header{Op: wire.OpContinuation, Masked: true}, parts[1]),
				c.WriteFrame(wire.Header{Fin: true, Op: wire.OpContinuation, Masked: true}, parts[2]))
		}
		if err != nil {
			t.Fatalf("message %d: write: %v", i, err)
		}
		gotEcho, gotPong := false, false
		for !gotEcho || !gotPong {
			r, err := c.Read()
			if err != nil {
				t.Fatalf("message %d (%v, %d bytes, fragmented=%v): read: %v", i, m.op, len(m.data), m.fragmented, err)
			}
			switch r.Op {
			case wire.OpPong:
				if !bytes.Equal(r.Data, ping) {
					t.Fatalf("message %d: pong %q, want %q", i, r.Data, ping)
				}
				gotPong = true
			case wire.OpPing:
				c.WriteControl(wire.OpPong, r.Data)
			case wire.OpClose:
				t.Fatalf("message %d: peer closed: %d %q", i, r.CloseCode, r.CloseReason)
			default:
				if gotEcho || r.Op != m.op || !bytes.Equal(r.Data, m.data) {
					t.Fatalf("message %d: echo %v of %d bytes, want %v of %d bytes", i, r.Op, len(r.Data), m.op, len(m.data))
				}
				if r.Compressed {
					compressedEchoes++
				}
				gotEcho = true
			}
		}
	}
	if compressed != (compressedEchoes > 0) {
		t.Fatalf("%d echoes arrived compressed; deflate negotiated: %v", compressedEchoes, compressed)
	}
	ce, err := c.CloseHandshake(wire.CloseNormal, "done", nil)
	if err != nil || ce.Code != wire.CloseNormal {
		t.Fatalf("close handshake: %+v, %v", ce, err)
	}
}

func TestInteropGorillaServer(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("deflate=", compress), func(t *testing.T) {
			t.Parallel()
			up := gorilla.Upgrader{EnableCompression: compress}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(testTimeout))
				for {
					mt, p, err := c.ReadMessage()
					if err != nil {
						return
					}
					if err := c.WriteMessage(mt, p); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			offer := ""
			if compress {
				offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
			}
			c, _ := dialOurs(t, strings.TrimPrefix(srv.URL, "http://"), offer)
			runOurClient(t, c, compress)
		})
	}
}

func TestInteropCoderServer(t *testing.T) {
	t.Parallel()
	for _, cm := range coderModes {
		mode := cm.mode
		t.Run(cm.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: mode})
				if err != nil {
					return
				}
				defer c.CloseNow()
				c.SetReadLimit(4 << 20)
				ctx, cancel := context.WithTimeout(r.Context(), testTimeout)
				defer cancel()
				for {
					typ, p, err := c.Read(ctx)
					if err != nil {
						return
					}
					if err := c.Write(ctx, typ, p); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			offer := ""
			if mode != coder.CompressionDisabled {
				offer = wire.DeflateOffer()
				if mode == coder.CompressionNoContextTakeover {
					offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
				}
			}
			c, _ := dialOurs(t, strings.TrimPrefix(srv.URL, "http://"), offer)
			runOurClient(t, c, mode != coder.CompressionDisabled)
		})
	}
}

func TestInteropGorillaClient(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("deflate=", compress), func(t *testing.T) {
			t.Parallel()
			msgs := wsInteropMessages(compress)
			addr, result := serveOurs(t, compress, serveEcho(len(msgs), compress))
			d := gorilla.Dialer{EnableCompression: compress, WriteBufferSize: 1024}
			c, _, err := d.Dial("ws://"+addr, nil)
			if err != nil {
				t.Fatalf("gorilla dial: %v", err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(testTimeout))
			pongs := 0
			c.SetPongHandler(func(s string) error {
				if want := fmt.Sprint("gorilla ping ", pongs); s != want {
					t.Errorf("pong %q, want %q", s, want)
				}
				pongs++
				return nil
			})
			for i, m := range msgs {
				typ := gorilla.BinaryMessage
				if m.op == wire.OpText {
					typ = gorilla.TextMessage
				}
				if m.fragmented {
					// gorilla sends a frame each time its 1 KiB buffer fills.
					w, err := c.NextWriter(typ)
					if err != nil {
						t.Fatal(err)
					}
					w.Write(m.data[:len(m.data)/2])
					w.Write(m.data[len(m.data)/2:])
					err = w.Close()
				} else {
					err = c.WriteMessage(typ, m.data)
				}
				if err != nil {
					t.Fatalf("message %d: write: %v", i, err)
				}
				if err := c.WriteControl(gorilla.PingMessage, []byte(fmt.Sprint("gorilla ping ", i)), time.Now().Add(testTimeout)); err != nil {
					t.Fatal(err)
				}
				mt, p, err := c.ReadMessage()
				if err != nil || mt != typ || !bytes.Equal(p, m.data) {
					t.Fatalf("message %d (%v, %d bytes): echo type %d, %d bytes, %v", i, m.op, len(m.data), mt, len(p), err)
				}
			}
			c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "bye"))
			_, _, err = c.ReadMessage()
			if !gorilla.IsCloseError(err, gorilla.CloseNormalClosure) {
				t.Fatalf("after close: %v, want close 1000", err)
			}
			if pongs != len(msgs) {
				t.Fatalf("%d pongs, want %d", pongs, len(msgs))
			}
			if err := <-result; err != nil {
				t.Fatalf("our server: %v", err)
			}
		})
	}
}

func TestInteropCoderClient(t *testing.T) {
	t.Parallel()
	for _, cm := range coderModes {
		mode := cm.mode
		t.Run(cm.name, func(t *testing.T) {
			t.Parallel()
			msgs := wsInteropMessages(mode != coder.CompressionDisabled)
			addr, result := serveOurs(t, mode != coder.CompressionDisabled, serveEcho(len(msgs), mode != coder.CompressionDisabled))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, _, err := coder.Dial(ctx, "ws://"+addr, &coder.DialOptions{CompressionMode: mode})
			if err != nil {
				t.Fatalf("coder dial: %v", err)
			}
			defer c.CloseNow()
			c.SetReadLimit(4 << 20)
			pings := make(chan error, len(msgs))
			for i, m := range msgs {
				typ := coder.MessageBinary
				if m.op == wire.OpText {
					typ = coder.MessageText
				}
				if m.fragmented {
					// coder sends a frame per Write.
					w, err := c.Writer(ctx, typ)
					if err != nil {
						t.Fatal(err)
					}
					n := len(m.data)
					w.Write(m.data[:n/3])
					w.Write(m.data[n/3 : 2*n/3])
					w.Write(m.data[2*n/3:])
					err = w.Close()
				} else {
					err = c.Write(ctx, typ, m.data)
				}
				if err != nil {
					t.Fatalf("message %d: write: %v", i, err)
				}
				// Ping waits for its pong, which the Read below or a later
				// one delivers.
				go func() { pings <- c.Ping(ctx) }()
				mt, p, err := c.Read(ctx)
				if err != nil || mt != typ || !bytes.Equal(p, m.data) {
					t.Fatalf("message %d (%v, %d bytes): echo type %v, %d bytes, %v", i, m.op, len(m.data), mt, len(p), err)
				}
			}
			if err := c.Close(coder.StatusNormalClosure, "bye"); err != nil {
				t.Fatalf("coder close: %v", err)
			}
			for range msgs {
				if err := <-pings; err != nil {
					t.Fatalf("ping: %v", err)
				}
			}
			if err := <-result; err != nil {
				t.Fatalf("our server: %v", err)
			}
		})
	}
}
