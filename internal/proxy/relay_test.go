package proxy_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

// script is one side's frames: the bytes as written and the messages they
// carry, for the comparison with the log.
type script struct {
	wire     []byte
	messages []wire.Message
}

// buildScript writes text, empty binary, a fragmented text message with a
// ping between its fragments, messages at the length-encoding boundaries,
// a 16 MiB binary message (2 MiB under the race detector) and a close. Client frames are masked with
// varying keys; with deflate, data messages go compressed (RSV1).
func buildScript(t testing.TB, client bool, deflate *wire.DeflateParams, seed uint64) script {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var s script
	role := wire.RoleServer
	if client {
		role = wire.RoleClient
	}
	var comp *wire.Compressor
	if deflate != nil {
		comp = wire.NewCompressor(*deflate, role)
	}
	hdr := func(op wire.Opcode, fin bool) wire.Header {
		h := wire.Header{Fin: fin, Op: op, Masked: client}
		if client {
			for i := range h.Mask {
				h.Mask[i] = byte(rng.Uint32())
			}
		}
		return h
	}
	data := func(op wire.Opcode, payload []byte) {
		h := hdr(op, true)
		out := payload
		if comp != nil {
			c, ok, err := comp.Compress(nil, payload)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				h.Rsv1, out = true, c
			}
		}
		s.wire = append(s.wire, frameBytes(h, out)...)
		s.messages = append(s.messages, wire.Message{Op: op, Data: payload, Frames: 1})
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	data(wire.OpText, []byte(fmt.Sprintf("hello from the %v, ünïcödé", role)))
	data(wire.OpBinary, []byte{})
	// A fragmented text message with a ping between its fragments (RFC
	// 6455 §5.4), never compressed here so the fragments stay readable.
	s.wire = append(s.wire, frameBytes(hdr(wire.OpText, false), []byte("frag"))...)
	s.wire = append(s.wire, frameBytes(hdr(wire.OpPing, true), []byte("between"))...)
	s.wire = append(s.wire, frameBytes(hdr(wire.OpContinuation, false), []byte("men"))...)
	s.wire = append(s.wire, frameBytes(hdr(wire.OpContinuation, true), []byte("ted"))...)
	s.messages = append(s.messages, wire.Message{Op: wire.OpText, Data: []byte("fragmented"), Frames: 3})
	for _, n := range []int{125, 126, 65535, 65536} {
		data(wire.OpBinary, random(n))
	}
	big := 16 << 20
	if raceEnabled {
		big = 2 << 20
	}
	data(wire.OpBinary, random(big))
	s.wire = append(s.wire, frameBytes(hdr(wire.OpClose, true), wire.AppendClose(nil, wire.CloseNormal, "bye"))...)
	return s
}

// TestRelayBytesIdentical sends scripted frames both ways at once and
// checks that each side receives exactly the bytes the other sent, and
// that the log shows every message once per direction, as sent.
func TestRelayBytesIdentical(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflate), func(t *testing.T) {
			var params *wire.DeflateParams
			offer, accept := "", ""
			if deflate {
				params = &wire.DeflateParams{}
				offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
				accept = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
			}
			cs := buildScript(t, true, params, 1)
			ss := buildScript(t, false, params, 2)
			gotByServer := make(chan []byte, 1)
			up := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if upgrade(t, c, br, accept) == nil {
					gotByServer <- nil
					return
				}
				go c.Write(ss.wire)
				b := make([]byte, len(cs.wire))
				n, _ := ioReadFull(br, b)
				gotByServer <- b[:n]
			})
			p := startProxy(t, up, func(o *proxy.Options) { o.JSON = true })
			c, br, resp := dialRaw(t, p.addr, offer)
			if resp.Status != 101 {
				t.Fatalf("status %d through the proxy", resp.Status)
			}
			go c.Write(cs.wire)
			b := make([]byte, len(ss.wire))
			n, err := ioReadFull(br, b)
			if err != nil {
				t.Fatalf("client read %d of %d bytes: %v", n, len(ss.wire), err)
			}
			if !bytes.Equal(b, ss.wire) {
				t.Errorf("the client received %d bytes that differ from the %d the server sent (first difference at %d)", n, len(ss.wire), firstDiff(b, ss.wire))
			}
			got := <-gotByServer
			if !bytes.Equal(got, cs.wire) {
				t.Errorf("the server received %d bytes that differ from the %d the client sent (first difference at %d)", len(got), len(cs.wire), firstDiff(got, cs.wire))
			}
			c.Close()
			p.log.waitFor(t, `"event":"summary"`)
			evs := events(t, p.log.String())
			for _, side := range []struct {
				dir string
				s   script
			}{{"client", cs}, {"server", ss}} {
				var shown []map[string]any
				for _, e := range evs {
					if e["event"] == "message" && e["dir"] == side.dir {
						shown = append(shown, e)
					}
				}
				if len(shown) != len(side.s.messages) {
					t.Errorf("%s: %d message events, want %d", side.dir, len(shown), len(side.s.messages))
					continue
				}
				for i, m := range side.s.messages {
					e := shown[i]
					var data []byte
					if m.Op == wire.OpText {
						data = []byte(e["data"].(string))
					} else {
						data, _ = base64.StdEncoding.DecodeString(e["data"].(string))
					}
					if !bytes.Equal(data, m.Data) || int(e["frames"].(float64)) != m.Frames {
						t.Errorf("%s message %d: shown %d bytes in %v frames, want %d bytes in %d frames", side.dir, i, len(data), e["frames"], len(m.Data), m.Frames)
					}
					if want := deflate && m.Frames == 1; e["compressed"] != want {
						t.Errorf("%s message %d: compressed %v, want %v", side.dir, i, e["compressed"], want)
					}
				}
			}
			if strings.Contains(p.log.String(), `"event":"violation"`) {
				t.Errorf("violations reported for valid traffic:\n%.2000s", p.log)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func ioReadFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := br.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
