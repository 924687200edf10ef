package wire_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// maskNaive is the definition of RFC 6455 §5.3, one byte at a time.
func maskNaive(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return (pos + len(b)) % 4
}

func TestMaskAgainstNaive(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 31, 63, 64, 65, 127, 128, 129, 1000, 4096, 65537}
	for range 300 {
		sizes = append(sizes, rng.IntN(3000))
	}
	for _, n := range sizes {
		for pos := range 4 {
			var key [4]byte
			for i := range key {
				key[i] = byte(rng.Uint32())
			}
			// Start at a random offset inside a larger buffer so unaligned
			// slices are covered.
			off := rng.IntN(16)
			buf := make([]byte, off+n+16)
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			want := bytes.Clone(buf)
			wantPos := maskNaive(key, pos, want[off:off+n])
			gotPos := wire.Mask(key, pos, buf[off:off+n])
			if gotPos != wantPos {
				t.Fatalf("n=%d pos=%d: Mask returned %d, want %d", n, pos, gotPos, wantPos)
			}
			if !bytes.Equal(buf, want) {
				t.Fatalf("n=%d pos=%d off=%d: Mask differs from the naive loop (or wrote outside b)", n, pos, off)
			}
		}
	}
}

// TestMaskInPieces checks that masking a payload in arbitrary pieces,
// threading the returned position, equals masking it whole.
func TestMaskInPieces(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	key := [4]byte{1, 2, 3, 4}
	for range 200 {
		n := rng.IntN(5000)
		whole := make([]byte, n)
		for i := range whole {
			whole[i] = byte(i)
		}
		pieces := bytes.Clone(whole)
		wire.Mask(key, 0, whole)
		pos := 0
		for rest := pieces; len(rest) > 0; {
			k := min(len(rest), rng.IntN(100)+1)
			pos = wire.Mask(key, pos, rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(whole, pieces) {
			t.Fatalf("n=%d: masking in pieces differs from masking whole", n)
		}
	}
}

func TestMaskRFCExample(t *testing.T) {
	t.Parallel()
	b := []byte("Hello")
	wire.Mask([4]byte{0x37, 0xfa, 0x21, 0x3d}, 0, b)
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Fatalf("masked Hello = %x, want %x (RFC 6455 §5.7)", b, want)
	}
}
