package wire_test

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// BenchmarkReadFragmented reads one 4 MiB message sent in 64-byte
// fragments (Autobahn cases 9.3.1 and 9.4.1) and in one frame, in both
// roles. Each iteration reads with a fresh Conn, so the figures include
// growing the message buffer from nothing: the fragmented message must
// cost about what the single frame costs, with O(log n) allocations, not
// one per fragment.
func BenchmarkReadFragmented(b *testing.B) {
	const size = 4 << 20
	msg := benchPayload(size)
	for _, br := range benchRoles {
		for _, frag := range []int{64, size} {
			name := br.name + "/one-frame"
			if frag < size {
				name = br.name + "/64B-fragments"
			}
			b.Run(name, func(b *testing.B) {
				var rec bytes.Buffer
				peer := wire.NewConn(bufio.NewReader(strings.NewReader("")), &rec, wire.Config{Role: wire.Role(1 - br.role)})
				if err := peer.WriteFragmented(wire.OpBinary, msg, size/frag); err != nil {
					b.Fatal(err)
				}
				wireBytes := rec.Bytes()
				src := bytes.NewReader(wireBytes)
				bufr := bufio.NewReaderSize(src, 64<<10)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(wireBytes)
					bufr.Reset(src)
					c := wire.NewConn(bufr, io.Discard, wire.Config{Role: br.role})
					m, err := c.Read()
					if err != nil || len(m.Data) != size || m.Frames != size/frag {
						b.Fatalf("Read = %d bytes in %d frames, %v", len(m.Data), m.Frames, err)
					}
				}
			})
		}
	}
}
