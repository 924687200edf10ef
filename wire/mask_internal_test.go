package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestMaskCopyAgainstMask checks the fused copy-and-mask against copy
// followed by Mask, at random sizes, key positions and offsets, and that
// it writes nothing beyond len(src) and leaves src alone.
func TestMaskCopyAgainstMask(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		n := rng.IntN(700)
		if rng.IntN(10) == 0 {
			n = rng.IntN(70000)
		}
		key := [4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
		pos := rng.IntN(8)
		so, do := rng.IntN(9), rng.IntN(9)
		src := make([]byte, so+n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		orig := bytes.Clone(src)
		dst := bytes.Repeat([]byte{0xee}, do+n+9)
		want := bytes.Clone(dst)
		copy(want[do:], src[so:])
		wantPos := Mask(key, pos, want[do:do+n])
		gotPos := maskCopy(key, pos, dst[do:], src[so:])
		if gotPos != wantPos || !bytes.Equal(dst, want) || !bytes.Equal(src, orig) {
			t.Fatalf("n=%d pos=%d offsets %d/%d: maskCopy differs from copy+Mask", n, pos, so, do)
		}
	}
}
