package wire_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

var codecs = []wire.DeflateCodec{wire.StdFlate, wire.KlauspostFlate}

// textMessage returns n bytes of text that compresses like chat or JSON
// traffic: words from a small vocabulary, numbers, punctuation.
func textMessage(rng *rand.Rand, n int) []byte {
	words := []string{"the", "message", "server", "client", "frame", "deflate", "window", "context",
		`{"id":`, `"type":"update"`, `"value":`, "true", "false", "null", "websocket", "ping", "pong",
		"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "\n"}
	b := make([]byte, 0, n+16)
	for len(b) < n {
		if rng.IntN(4) == 0 {
			b = fmt.Appendf(b, "%d ", rng.IntN(100000))
		} else {
			b = append(b, words[rng.IntN(len(words))]...)
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// split cuts b into n pieces of random lengths (some may be empty).
func split(rng *rand.Rand, b []byte, n int) [][]byte {
	var parts [][]byte
	for i := n - 1; i > 0; i-- {
		k := 0
		if len(b) > 0 {
			k = rng.IntN(len(b) + 1)
		}
		parts = append(parts, b[:k])
		b = b[k:]
	}
	return append(parts, b)
}

// inflate feeds one message's compressed payload to d in frames and
// returns the output appended to prefix.
func inflate(d *wire.Decompressor, prefix []byte, frames [][]byte, limit int64) ([]byte, error) {
	d.Begin()
	out := prefix
	for i, f := range frames {
		var err error
		out, err = d.Append(out, f, i == len(frames)-1, limit)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func peerOf(r wire.Role) wire.Role {
	if r == wire.RoleClient {
		return wire.RoleServer
	}
	return wire.RoleClient
}

func TestDeflateRoundTrip(t *testing.T) {
	t.Parallel()
	params := []wire.DeflateParams{
		{},
		{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
		{ServerNoContextTakeover: true},
		{ClientNoContextTakeover: true},
		{ClientMaxWindowBits: 9, ServerMaxWindowBits: 10},
		{ClientMaxWindowBits: 8, ServerMaxWindowBits: 8, ServerNoContextTakeover: true},
		{ClientMaxWindowBits: -1}, // an offer's "no value" means 15
	}
	sizes := []int{0, 1, 10, 125, 126, 300, 1000, 0, 4096, 40000, 70000, 3, 125, 1000, 1000, 65536, 17}
	for _, codec := range codecs {
		for _, p := range params {
			for _, sender := range []wire.Role{wire.RoleClient, wire.RoleServer} {
				name := fmt.Sprintf("%s/%s/%v", codec.Name(), p, sender)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					rng := rand.New(rand.NewPCG(1, uint64(sender)))
					c := wire.NewCompressorCodec(p, sender, codec)
					d := wire.NewDecompressorCodec(p, peerOf(sender), codec)
					var cbuf, dbuf []byte
					for i, n := range sizes {
						msg := textMessage(rng, n)
						if i%5 == 4 && i > 0 {
							msg = textMessage(rand.New(rand.NewPCG(7, 7)), n) // repeats
						}
						orig := bytes.Clone(msg)
						out, ok, err := c.Compress(append(cbuf[:0], "hdr"...), msg)
						if err != nil {
							t.Fatalf("message %d (%d bytes): %v", i, n, err)
						}
						if !bytes.Equal(msg, orig) {
							t.Fatalf("message %d: Compress modified its input", i)
						}
						if string(out[:3]) != "hdr" {
							t.Fatalf("message %d: Compress did not append to dst", i)
						}
						cbuf = out
						if !ok {
							if len(out) != 3 {
								t.Fatalf("message %d: ok=false but %d bytes appended", i, len(out)-3)
							}
							continue
						}
						frames := split(rng, out[3:], 1+i%4)
						got, err := inflate(d, append(dbuf[:0], "pre"...), frames, 1<<20)
						if err != nil {
							t.Fatalf("message %d (%d bytes, %d frames): inflate: %v", i, n, len(frames), err)
						}
						if string(got[:3]) != "pre" || !bytes.Equal(got[3:], msg) {
							t.Fatalf("message %d (%d bytes): round trip gave %d bytes, want %d", i, n, len(got)-3, n)
						}
						dbuf = got
					}
				})
			}
		}
	}
}

// TestDeflateContextTakeover checks that context takeover is used exactly
// when negotiated (RFC 7692 §7.1.1): the second copy of a message compresses
// to a few bytes, and only a decompressor that saw the first can inflate it.
func TestDeflateContextTakeover(t *testing.T) {
	t.Parallel()
	msg := textMessage(rand.New(rand.NewPCG(3, 3)), 2000)
	for _, codec := range codecs {
		for _, sender := range []wire.Role{wire.RoleClient, wire.RoleServer} {
			for _, noCtx := range []bool{false, true} {
				var p wire.DeflateParams
				if noCtx {
					if sender == wire.RoleClient {
						p.ClientNoContextTakeover = true
					} else {
						p.ServerNoContextTakeover = true
					}
				}
				name := fmt.Sprintf("%s/%v/%s", codec.Name(), sender, p)
				c := wire.NewCompressorCodec(p, sender, codec)
				first, _, err := c.Compress(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				second, _, err := c.Compress(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				d := wire.NewDecompressorCodec(p, peerOf(sender), codec)
				if got, err := inflate(d, nil, [][]byte{first}, -1); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s: first message: %v", name, err)
				}
				if got, err := inflate(d, nil, [][]byte{second}, -1); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("%s: second message: %v", name, err)
				}
				fresh := wire.NewDecompressorCodec(p, peerOf(sender), codec)
				_, freshErr := inflate(fresh, nil, [][]byte{second}, -1)
				if noCtx {
					if !bytes.Equal(first, second) {
						t.Errorf("%s: without context takeover the same message compressed to %d then %d bytes", name, len(first), len(second))
					}
					if freshErr != nil {
						t.Errorf("%s: a fresh decompressor cannot inflate a no_context_takeover message: %v", name, freshErr)
					}
				} else {
					if len(second)*10 > len(first) {
						t.Errorf("%s: with context takeover the repeat compressed to %d bytes, first %d", name, len(second), len(first))
					}
					if !errors.Is(freshErr, wire.ErrCorruptDeflate) {
						t.Errorf("%s: a fresh decompressor inflating a message that refers to the previous one: err = %v, want ErrCorruptDeflate", name, freshErr)
					}
				}
			}
		}
	}
}

// TestDeflateWindowBits checks every back-reference of the compressed
// output against the negotiated window (RFC 7692 §7.1.2) with puff, which
// reports the largest distance, and that messages are sent uncompressed
// only where the implementation cannot keep to the window.
func TestDeflateWindowBits(t *testing.T) {
	t.Parallel()
	for _, codec := range codecs {
		for bits := 8; bits <= 15; bits++ {
			for _, noCtx := range []bool{false, true} {
				p := wire.DeflateParams{ClientMaxWindowBits: bits, ClientNoContextTakeover: noCtx}
				name := fmt.Sprintf("%s/%s", codec.Name(), p)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					window := 1 << bits
					rng := rand.New(rand.NewPCG(uint64(bits), 5))
					c := wire.NewCompressorCodec(p, wire.RoleClient, codec)
					var hist []byte // what the peer's decompressor has seen
					compressed, farthest := 0, 0
					for i, n := range []int{100, window / 2, window, window + 1, 3000, 200, 50000, window - 1, 150, 130, 100} {
						msg := textMessage(rng, n)
						out, ok, err := c.Compress(nil, msg)
						if err != nil {
							t.Fatal(err)
						}
						wantOK := codec == wire.KlauspostFlate || bits == 15 || n <= window
						if ok != wantOK {
							t.Fatalf("message %d of %d bytes: ok = %v, want %v", i, n, ok, wantOK)
						}
						if !ok {
							continue
						}
						compressed++
						if noCtx {
							hist = nil
						}
						got, dist, err := puff(hist, append(out, wire.InflateTail...))
						if err != nil {
							t.Fatalf("message %d of %d bytes: puff: %v", i, n, err)
						}
						if !bytes.Equal(got, msg) {
							t.Fatalf("message %d of %d bytes: puff output differs", i, n)
						}
						if dist > window {
							t.Fatalf("message %d of %d bytes: back-reference of %d bytes, window is %d", i, n, dist, window)
						}
						farthest = max(farthest, dist)
						hist = append(hist, msg...)
					}
					if compressed < 5 {
						t.Fatalf("only %d messages compressed", compressed)
					}
					// The window is used, so the check above could fail.
					if farthest <= window/4 {
						t.Fatalf("farthest back-reference %d bytes; the messages do not exercise a %d-byte window", farthest, window)
					}
				})
			}
		}
	}
}

// TestDeflateDefault checks the exported constructors use the tested
// implementations and compress every message under a small window.
func TestDeflateDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []wire.DeflateCodec{wire.CompressFlate, wire.WindowFlate, wire.InflateFlate} {
		if c != wire.KlauspostFlate && c != wire.StdFlate {
			t.Fatalf("implementation %q is not tested", c.Name())
		}
	}
	msg := textMessage(rand.New(rand.NewPCG(9, 9)), 5000)
	for bits := 8; bits <= 15; bits++ {
		p := wire.DeflateParams{ServerMaxWindowBits: bits}
		c := wire.NewCompressor(p, wire.RoleServer)
		d := wire.NewDecompressor(p, wire.RoleClient)
		for i := range 3 {
			out, ok, err := c.Compress(nil, msg)
			if err != nil || !ok {
				t.Fatalf("server_max_window_bits=%d: message %d of 5000 bytes: ok=%v err=%v", bits, i, ok, err)
			}
			if len(out) >= len(msg)/2 {
				t.Errorf("server_max_window_bits=%d: message %d compressed to %d bytes", bits, i, len(out))
			}
			got, err := inflate(d, nil, [][]byte{out}, -1)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("server_max_window_bits=%d: message %d: inflate: %v", bits, i, err)
			}
		}
	}
}

// TestDeflateInterop inflates streams made by compress/flate with a sync
// flush, the way other implementations produce messages (RFC 7692 §7.2.1),
// including a message ended with BFINAL set (RFC 7692 §7.2.3.4) and one
// made of a stored block.
func TestDeflateInterop(t *testing.T) {
	t.Parallel()
	msg := textMessage(rand.New(rand.NewPCG(4, 4)), 3000)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	var msgs [][]byte
	for range 3 {
		buf.Reset()
		fw.Write(msg)
		fw.Flush()
		b := bytes.Clone(buf.Bytes())
		if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
			t.Fatalf("sync flush does not end with 00 00 ff ff: % x", b[len(b)-4:])
		}
		msgs = append(msgs, b[:len(b)-4])
	}
	buf.Reset()
	fw2, _ := flate.NewWriter(&buf, flate.NoCompression)
	fw2.Write(msg)
	fw2.Close() // final block: no tail to remove
	final := bytes.Clone(buf.Bytes())

	for _, codec := range codecs {
		d := wire.NewDecompressorCodec(wire.DeflateParams{}, wire.RoleClient, codec)
		for i, m := range msgs {
			got, err := inflate(d, nil, [][]byte{m}, -1)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: message %d with context takeover: %v", codec.Name(), i, err)
			}
		}
		got, err := inflate(d, nil, [][]byte{final}, -1)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s: message with BFINAL set: %v", codec.Name(), err)
		}
	}
}

func TestDecompressorCorrupt(t *testing.T) {
	t.Parallel()
	msg := textMessage(rand.New(rand.NewPCG(5, 5)), 3000)
	good, _, err := wire.NewCompressor(wire.DeflateParams{}, wire.RoleClient).Compress(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"reserved block type", []byte{0x06, 0x00}},
		{"bad stored length", []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'a'}},
		{"garbage", bytes.Repeat([]byte{0xff}, 64)},
		{"truncated", good[:len(good)/2]},
		{"stored block cut short", []byte{0x00, 0x10, 0x00, 0xef, 0xff, 'a', 'b'}},
	}
	for _, codec := range codecs {
		for _, tt := range tests {
			d := wire.NewDecompressorCodec(wire.DeflateParams{}, wire.RoleServer, codec)
			out, err := inflate(d, nil, [][]byte{tt.data}, 1<<20)
			if !errors.Is(err, wire.ErrCorruptDeflate) {
				t.Errorf("%s: %s: err = %v (%d bytes out), want ErrCorruptDeflate", codec.Name(), tt.name, err, len(out))
				continue
			}
			if !strings.HasPrefix(err.Error(), "inflate message: ") {
				t.Errorf("%s: %s: error %q does not name the operation", codec.Name(), tt.name, err)
			}
			// The same decompressor inflates the next good message.
			got, err := inflate(d, nil, [][]byte{good}, 1<<20)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("%s: %s: next message: %v", codec.Name(), tt.name, err)
			}
		}
	}
}

func TestDecompressorLimit(t *testing.T) {
	t.Parallel()
	msg := textMessage(rand.New(rand.NewPCG(6, 6)), 10000)
	for _, codec := range codecs {
		c := wire.NewCompressorCodec(wire.DeflateParams{ClientNoContextTakeover: true}, wire.RoleClient, codec)
		comp, _, err := c.Compress(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		empty := []byte{0x00} // an empty message compressed (RFC 7692 §7.2.3.6)
		for _, tt := range []struct {
			limit   int64
			data    []byte
			want    int // bytes of output
			tooBig  bool
			nframes int
		}{
			{limit: 10000, data: comp, want: 10000},
			{limit: -1, data: comp, want: 10000},
			{limit: 9999, data: comp, want: 9999, tooBig: true},
			{limit: 5000, data: comp, want: 5000, tooBig: true, nframes: 3},
			{limit: 0, data: comp, want: 0, tooBig: true},
			{limit: 0, data: empty, want: 0},
			// A compressed payload larger than any message within the
			// limit is refused before it is inflated.
			{limit: 10, data: comp, want: 0, tooBig: true, nframes: 2},
		} {
			d := wire.NewDecompressorCodec(wire.DeflateParams{ClientNoContextTakeover: true}, wire.RoleServer, codec)
			frames := split(rand.New(rand.NewPCG(1, 1)), tt.data, max(tt.nframes, 1))
			out, err := inflate(d, nil, frames, tt.limit)
			if tt.tooBig != errors.Is(err, wire.ErrMessageTooBig) || !tt.tooBig && err != nil {
				t.Errorf("%s: limit %d: err = %v, want too big: %v", codec.Name(), tt.limit, err, tt.tooBig)
			}
			if len(out) != tt.want || !bytes.Equal(out, msg[:len(out)]) {
				t.Errorf("%s: limit %d: %d bytes out, want the first %d", codec.Name(), tt.limit, len(out), tt.want)
			}
			if tt.limit >= 0 && int64(cap(out)) > tt.limit {
				t.Errorf("%s: limit %d: output buffer grew to %d", codec.Name(), tt.limit, cap(out))
			}
		}
	}
}

// TestDecompressionBomb inflates 100 MiB of zeros, compressed to about
// 100 KB, under a 1 MiB limit: Append must stop at the limit and allocate
// about that much, not 100 MiB.
func TestDecompressionBomb(t *testing.T) {
	// Not parallel: the allocation figure must be this test's alone.
	const size = 100 << 20
	const limit = 1 << 20
	// 1 MiB of zeros compressed from a fresh state and sync-flushed is a
	// self-contained, byte-aligned piece: 100 copies inflate to 100 MiB.
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	bomb := bytes.Repeat(buf.Bytes(), size>>20)
	bomb = bomb[:len(bomb)-4]
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes, want about 100 KB", len(bomb))
	}
	n, err := io.Copy(io.Discard, flate.NewReader(bytes.NewReader(append(bomb, wire.InflateTail...))))
	if err != nil || n != size {
		t.Fatalf("the bomb inflates to %d bytes (%v), want %d", n, err, size)
	}
	for _, codec := range codecs {
		for _, nframes := range []int{1, 25} {
			d := wire.NewDecompressorCodec(wire.DeflateParams{}, wire.RoleClient, codec)
			frames := split(rand.New(rand.NewPCG(2, 2)), bomb, nframes)
			// Warm up the pools, so the figure is the message's own cost.
			inflate(d, nil, [][]byte{{0x00}}, 10)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			out, err := inflate(d, nil, frames, limit)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, wire.ErrMessageTooBig) {
				t.Fatalf("%s: %d frames: err = %v, want ErrMessageTooBig", codec.Name(), nframes, err)
			}
			if len(out) != limit || bytes.ContainsFunc(out, func(r rune) bool { return r != 0 }) {
				t.Fatalf("%s: %d frames: %d bytes out, want %d zeros", codec.Name(), nframes, len(out), limit)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d frames: %d bytes allocated for a %d-byte bomb under a %d-byte limit", codec.Name(), nframes, alloc, len(bomb), limit)
			if alloc > 4*limit {
				t.Errorf("%s: %d frames: allocated %d bytes, want at most %d", codec.Name(), nframes, alloc, 4*limit)
			}
		}
	}
}

func TestDecompressorAllocs(t *testing.T) {
	msg := textMessage(rand.New(rand.NewPCG(8, 8)), 200)
	for _, codec := range codecs {
		for _, p := range []wire.DeflateParams{{}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true}} {
			c := wire.NewCompressorCodec(p, wire.RoleClient, codec)
			d := wire.NewDecompressorCodec(p, wire.RoleServer, codec)
			cbuf := make([]byte, 0, 4096)
			dbuf := make([]byte, 0, 4096)
			var err error
			allocs := testing.AllocsPerRun(200, func() {
				var comp []byte
				comp, _, err = c.Compress(cbuf[:0], msg)
				if err == nil {
					_, err = inflate(d, dbuf[:0], [][]byte{comp}, 1<<20)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %.1f allocations per 200-byte message compressed and inflated", codec.Name(), p, allocs)
			// The pools keep the writer and reader between messages.
			if allocs > 0.1 && !raceEnabled {
				t.Errorf("%s %s: %.1f allocations per message, want none", codec.Name(), p, allocs)
			}
		}
	}
}

// TestDeflateShortMessages: both implementations restart their context
// after a message under ShortMessage bytes; the stream must stay in step with
// the peer's decompressor through any mix of short and long messages
// (RFC 7692 §7.1.1), and an uncompressed short message (the caller's
// threshold) must leave the context alone (RFC 7692 §6.1).
func TestDeflateShortMessages(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(10, 10))
	long := textMessage(rng, 2000)
	for _, codec := range codecs {
		c := wire.NewCompressorCodec(wire.DeflateParams{}, wire.RoleClient, codec)
		d := wire.NewDecompressorCodec(wire.DeflateParams{}, wire.RoleServer, codec)
		send := func(m []byte) int {
			out, ok, err := c.Compress(nil, m)
			if err != nil || !ok {
				t.Fatalf("%s: %d-byte message: ok=%v err=%v", codec.Name(), len(m), ok, err)
			}
			if got, err := inflate(d, nil, [][]byte{out}, -1); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("%s: %d-byte message: inflate: %v", codec.Name(), len(m), err)
			}
			return len(out)
		}
		for n := range 2 * wire.ShortMessage {
			send(textMessage(rng, n))
			if n%16 == 0 {
				send(long)
			}
		}
		// Short messages not given to the compressor leave the context
		// alone: the repeat of a long message is tiny.
		fresh := textMessage(rng, 2000)
		first := send(fresh)
		second := send(fresh)
		if second*5 > first {
			t.Errorf("%s: the repeat compressed to %d bytes, the first to %d: context lost", codec.Name(), second, first)
		}
	}
}
