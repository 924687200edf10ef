package wire_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// Run with: go test -run='^$' -bench=Deflate -benchmem ./wire/
//
// Both DEFLATE implementations, compressing and inflating text-like
// messages of 125 B, 1 KiB, 64 KiB and 1 MiB, with context takeover and
// with no_context_takeover. Each benchmark cycles through different
// messages, so context takeover does not get to compress a repeat. SetBytes
// is the uncompressed size; "ratio" is compressed/uncompressed.
//
// Figures that chose the implementations (deflate_codec.go), MB/s on a
// shared 2-core AMD EPYC under load, so only the large differences count;
// takeover / no_context_takeover:
//
//	                  compress/flate            klauspost/compress
//	compress 125 B    10 / 19  (ratio 0.81)     31 / 32  (ratio 1.05: stored)
//	compress 1 KiB    65 / 62  (0.39 / 0.43)    52 / 62  (0.35 / 0.44)
//	compress 64 KiB   100 / 129                 107 / 144
//	compress 1 MiB    122 / 54                  188 / 134
//	inflate 125 B     21 / 53                   123 / 647
//	inflate 1 KiB     149 / 116                 80 / 102
//	inflate 64 KiB    243 / 243 (6 allocs)      228 / 206 (0 allocs)
//	inflate 1 MiB     125 / 118 (78 allocs)     134 / 180 (1 alloc)
//	one connection    1.28 MB, 26 allocs        0.89 MB, 20 allocs  (BenchmarkDeflateSetup)
//
// Steady state is 0 allocs/op for both below 1 MiB; the 1 MiB inflate
// allocates the compressed-input buffer, which is not kept past 64 KiB.

var deflateBenchSizes = []struct {
	name string
	n    int
}{{"125B", 125}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

var deflateBenchModes = []struct {
	name string
	p    wire.DeflateParams
}{
	{"takeover", wire.DeflateParams{}},
	{"no_context_takeover", wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
}

// deflateBenchMessages returns distinct messages of n bytes, enough that a
// cycle through them spans more than the 32 KiB window: context takeover
// then never finds a whole earlier message to copy.
func deflateBenchMessages(n int) [][]byte {
	count := max(4, 64<<10/n+1)
	rng := rand.New(rand.NewPCG(uint64(n), 99))
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = textMessage(rng, n)
	}
	return msgs
}

func BenchmarkDeflate(b *testing.B) {
	for _, codec := range codecs {
		for _, size := range deflateBenchSizes {
			msgs := deflateBenchMessages(size.n)
			for _, mode := range deflateBenchModes {
				b.Run(fmt.Sprintf("compress/%s/%s/%s", codecShort(codec), size.name, mode.name), func(b *testing.B) {
					c := wire.NewCompressorCodec(mode.p, wire.RoleClient, codec)
					dst := make([]byte, 0, size.n+1024)
					var in, out int
					b.ReportAllocs()
					b.SetBytes(int64(size.n))
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						m := msgs[i%len(msgs)]
						res, ok, err := c.Compress(dst[:0], m)
						if err != nil || !ok {
							b.Fatalf("compress: ok=%v err=%v", ok, err)
						}
						in += len(m)
						out += len(res)
					}
					b.ReportMetric(float64(out)/float64(in), "ratio")
				})
				b.Run(fmt.Sprintf("inflate/%s/%s/%s", codecShort(codec), size.name, mode.name), func(b *testing.B) {
					c := wire.NewCompressorCodec(mode.p, wire.RoleClient, codec)
					comp := make([][]byte, len(msgs))
					for i, m := range msgs {
						res, _, err := c.Compress(nil, m)
						if err != nil {
							b.Fatal(err)
						}
						comp[i] = res
					}
					d := wire.NewDecompressorCodec(mode.p, wire.RoleServer, codec)
					dst := make([]byte, 0, size.n)
					b.ReportAllocs()
					b.SetBytes(int64(size.n))
					b.ResetTimer()
					for i := 0; b.Loop(); i++ {
						d.Begin()
						out, err := d.Append(dst[:0], comp[i%len(comp)], true, 64<<20)
						if err != nil || len(out) != size.n {
							b.Fatalf("inflate: %d bytes, %v", len(out), err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkDeflateSetup measures what one connection costs with context
// takeover, where the compressor keeps its writer: a new Compressor and
// Decompressor per iteration, each used for one 125-byte message. B/op is
// the memory a connection holds once compression has started.
func BenchmarkDeflateSetup(b *testing.B) {
	msg := deflateBenchMessages(125)[0]
	for _, codec := range codecs {
		b.Run(codecShort(codec), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := wire.NewCompressorCodec(wire.DeflateParams{}, wire.RoleClient, codec)
				out, _, err := c.Compress(nil, msg)
				if err != nil {
					b.Fatal(err)
				}
				d := wire.NewDecompressorCodec(wire.DeflateParams{}, wire.RoleServer, codec)
				d.Begin()
				if _, err := d.Append(nil, out, true, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func codecShort(c wire.DeflateCodec) string {
	if c == wire.StdFlate {
		return "std"
	}
	return "klauspost"
}
