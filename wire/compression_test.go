package wire_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// deflateRaw compresses msg as one permessage-deflate message from a fresh
// state: a sync flush with the 00 00 ff ff tail removed (RFC 7692 §7.2.1).
func deflateRaw(msg string) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write([]byte(msg))
	w.Flush()
	return strings.TrimSuffix(buf.String(), "\x00\x00\xff\xff")
}

var deflateConfigs = []struct {
	name string
	p    wire.DeflateParams
}{
	{"context takeover", wire.DeflateParams{}},
	{"no context takeover", wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
	{"windows of 2^9 and 2^10", wire.DeflateParams{ServerMaxWindowBits: 9, ClientMaxWindowBits: 10}},
}

// compressedCase is a conformance case for a compressing echo endpoint
// (Autobahn groups 12 and 13): the peer sends frames, some compressed.
type compressedCase struct {
	name   string
	send   []pf
	expect []string
	fails  wire.CloseCode
}

func rsv1(h wire.Header) wire.Header { h.Rsv1 = true; return h }

func compressedCases() []compressedCase {
	comp := func(op wire.Opcode, msg string) pf {
		return pf{wire.Header{Fin: true, Rsv1: true, Op: op}, deflateRaw(msg)}
	}
	long := strings.Repeat("All work and no play makes Jack a dull boy. ", 2000)
	c := deflateRaw(long)
	third := len(c) / 3
	return []compressedCase{
		{"12.1 compressed text", []pf{comp(wire.OpText, hello), close1000}, []string{t1(hello), "close:1000"}, 0},
		{"12.2 compressed binary 64 KiB", []pf{comp(wire.OpBinary, strings.Repeat("\x00\x01", 32768)), close1000},
			[]string{b1(strings.Repeat("\x00\x01", 32768)), "close:1000"}, 0},
		{"12.3 compressed empty text", []pf{comp(wire.OpText, ""), close1000}, []string{t1(""), "close:1000"}, 0},
		{"12.4 uncompressed message on a compressing connection", []pf{fin(wire.OpText, hello), close1000}, []string{t1(hello), "close:1000"}, 0},
		{"12.5 compressed message in three fragments with a ping between",
			[]pf{{wire.Header{Rsv1: true, Op: wire.OpText}, c[:third]}, frag(wire.OpContinuation, c[third:2*third]),
				fin(wire.OpPing, "p"), fin(wire.OpContinuation, c[2*third:]), close1000},
			[]string{"pong:p", t1(long), "close:1000"}, 0},
		{"13.1 RSV1 on a continuation frame", []pf{frag(wire.OpText, "a"), {rsv1(wire.Header{Fin: true}), "b"}}, []string{"close:1002"}, 1002},
		{"13.2 RSV1 on a ping", []pf{{wire.Header{Fin: true, Rsv1: true, Op: wire.OpPing}, ""}}, []string{"close:1002"}, 1002},
		{"13.3 compressed text with invalid UTF-8", []pf{comp(wire.OpText, "κόσμε\xed\xa0\x80edited")}, []string{"close:1007"}, 1007},
		{"13.4 corrupt DEFLATE data", []pf{{wire.Header{Fin: true, Rsv1: true, Op: wire.OpBinary}, "\xff\xff\xff\xff"}}, []string{"close:1002"}, 1002},
		{"13.5 inflates beyond the limit", []pf{comp(wire.OpBinary, strings.Repeat("\x00", 1<<20+1))}, []string{"close:1009"}, 1009},
	}
}

func TestCompressedConformance(t *testing.T) {
	t.Parallel()
	for _, role := range roles {
		for _, tc := range compressedCases() {
			t.Run(role.String()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ours, peer := tcpPair(t)
				// No context takeover on the peer's side, since each of its
				// messages is compressed from a fresh state.
				p := wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
				c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{Role: role, Deflate: &p, MaxMessageSize: 1 << 20})
				done := make(chan error, 1)
				go func() {
					err := echoAgent(c)
					lingeringClose(ours)
					done <- err
				}()
				go peer.Write(encode(role, tc.send...))
				got := readCompressedFrames(t, peer, role)
				agentErr := <-done
				if !slices.Equal(got, tc.expect) {
					t.Fatalf("peer received %q, want %q (agent ended with %v)", got, tc.expect, agentErr)
				}
				if tc.fails != 0 {
					var pe *wire.ProtocolError
					if !errors.As(agentErr, &pe) || pe.Code != tc.fails {
						t.Fatalf("agent ended with %v, want a *ProtocolError with code %d", agentErr, tc.fails)
					}
				}
			})
		}
	}
}

// readCompressedFrames is readFrames for an endpoint that may compress:
// it inflates RSV1 frames, each from a fresh state.
func readCompressedFrames(t *testing.T, conn io.Reader, role wire.Role) []string {
	br := bufio.NewReader(conn)
	var got []string
	for {
		h, err := wire.ReadHeader(br)
		if err != nil {
			return got
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Errorf("read payload of %v: %v", h, err)
			return got
		}
		if h.Masked {
			wire.Mask(h.Mask, 0, p)
		}
		if h.Rsv1 {
			r := flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
			p, err = io.ReadAll(r)
			if err != nil {
				t.Errorf("inflate %v: %v", h, err)
			}
		}
		got = append(got, describe(h.Op, p))
		if h.Op == wire.OpClose {
			return got
		}
	}
}

// TestCompressedRoundTrip sends messages of many sizes, whole and
// fragmented, between two compressing Conns over loopback TCP, with the
// negotiated parameters shared, and checks that they arrive intact and
// compressed when at least the threshold long.
func TestCompressedRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var msgs [][]byte
	for _, n := range []int{0, 1, 63, 64, 125, 126, 1000, 65535, 65536, 300000} {
		text := make([]byte, n)
		for i := range text {
			text[i] = "abcdefgh      éü"[rng.IntN(16)]
		}
		// Keep it valid UTF-8 by replacing any cut sequence.
		msgs = append(msgs, bytes.ToValidUTF8(text, []byte("?")))
	}
	for _, dc := range deflateConfigs {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			a, b := tcpPair(t)
			p := dc.p
			client := wire.NewConn(bufio.NewReader(a), a, wire.Config{Role: wire.RoleClient, Deflate: &p})
			server := wire.NewConn(bufio.NewReader(b), b, wire.Config{Role: wire.RoleServer, Deflate: &p})
			errc := make(chan error, 1)
			go func() {
				// The server echoes; client messages flow back compressed
				// by the server, exercising both directions.
				for {
					m, err := server.Read()
					if err != nil {
						errc <- err
						return
					}
					if m.Op == wire.OpClose {
						errc <- server.WriteClose(wire.CloseNormal, "")
						return
					}
					if err := server.WriteFragmented(m.Op, m.Data, 1+len(m.Data)%3); err != nil {
						errc <- err
						return
					}
				}
			}()
			compressed := 0
			for round := range 2 {
				for i, msg := range msgs {
					var err error
					if (i+round)%2 == 0 {
						err = client.WriteMessage(wire.OpText, msg)
					} else {
						err = client.WriteFragmented(wire.OpText, msg, 4)
					}
					if err != nil {
						t.Fatal(err)
					}
					m, err := client.Read()
					if err != nil {
						t.Fatalf("read echo of %d bytes: %v", len(msg), err)
					}
					if !bytes.Equal(m.Data, msg) || m.Op != wire.OpText {
						t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(m.Data))
					}
					// Short messages go uncompressed; above the threshold
					// the compressor may still decline one that does not
					// fit a small negotiated window (RFC 7692 §6).
					if len(msg) < wire.DefaultCompressionThreshold && m.Compressed {
						t.Fatalf("echo of %d bytes arrived compressed, under the threshold", len(msg))
					}
					if m.Compressed {
						compressed++
					}
				}
			}
			if compressed < 4 {
				t.Fatalf("only %d echoes arrived compressed", compressed)
			}
			ce, err := client.CloseHandshake(wire.CloseNormal, "", nil)
			if err != nil || ce.Code != wire.CloseNormal {
				t.Fatalf("close: %v %v", ce, err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

// TestCompressionThreshold checks which messages go out with RSV1.
func TestCompressionThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		threshold, size int
		rsv1            bool
	}{{0, 127, false}, {0, 1000, true}, {1, 200, true}, {1000, 999, false}, {1000, 5000, true}} {
		var w recordWriter
		c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w,
			wire.Config{Role: wire.RoleServer, Deflate: &wire.DeflateParams{}, CompressionThreshold: tc.threshold})
		c.WriteFragmented(wire.OpBinary, bytes.Repeat([]byte("z"), tc.size), 2)
		hs, _ := parseFrames(t, w.all())
		if len(hs) != 2 || hs[0].Rsv1 != tc.rsv1 || hs[1].Rsv1 {
			t.Errorf("threshold %d, %d bytes: frames %v, want RSV1=%v on the first only", tc.threshold, tc.size, hs, tc.rsv1)
		}
	}
}

// TestOnFrameCompressed checks that OnFrame sees compressed frames as they
// crossed the wire, while Read returns the inflated message, for messages
// larger than the chunks the payload is read in.
func TestOnFrameCompressed(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("compressible text, ", 20000) // 380000 bytes
	c := deflateRaw(long)
	half := len(c) / 2
	for _, role := range roles {
		in := encode(role, pf{wire.Header{Rsv1: true, Op: wire.OpText}, c[:half]}, fin(wire.OpPing, "p"), fin(wire.OpContinuation, c[half:]))
		var seen []string
		var raw []byte
		cfg := wire.Config{Role: role, Deflate: &wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
			OnFrame: func(d wire.Direction, h wire.Header, p []byte) {
				seen = append(seen, fmt.Sprintf("%v %v rsv1=%v len=%d", d, h.Op, h.Rsv1, len(p)))
				if h.Op.IsData() {
					raw = append(raw, p...)
				}
			}}
		conn := wire.NewConn(bufio.NewReader(bytes.NewReader(in)), io.Discard, cfg)
		for _, want := range []string{"ping", "text"} {
			m, err := conn.Read()
			if err != nil || m.Op.String() != want {
				t.Fatalf("%v: Read = %v, %v; want %s", role, m.Op, err, want)
			}
			if m.Op == wire.OpText && (string(m.Data) != long || !m.Compressed || m.Frames != 2) {
				t.Fatalf("%v: message of %d bytes, compressed=%v, %d frames", role, len(m.Data), m.Compressed, m.Frames)
			}
		}
		want := []string{
			fmt.Sprintf("in text rsv1=true len=%d", half),
			"in ping rsv1=false len=1",
			fmt.Sprintf("in continuation rsv1=false len=%d", len(c)-half),
		}
		if !slices.Equal(seen, want) || string(raw) != c {
			t.Fatalf("%v: OnFrame saw %q (payloads equal to the wire: %v), want %q", role, seen, string(raw) == c, want)
		}
	}
}

// TestCompressedHugeLimit checks that a limit near the largest int64 (no
// limit in practice) does not overflow the bound on compressed frames.
func TestCompressedHugeLimit(t *testing.T) {
	t.Parallel()
	in := encode(wire.RoleClient, pf{wire.Header{Fin: true, Rsv1: true, Op: wire.OpText}, deflateRaw(hello)})
	c := wire.NewConn(bufio.NewReader(bytes.NewReader(in)), io.Discard,
		wire.Config{Deflate: &wire.DeflateParams{}, MaxMessageSize: math.MaxInt64})
	if m, err := c.Read(); err != nil || string(m.Data) != hello {
		t.Fatalf("Read = %q, %v", m.Data, err)
	}
}
