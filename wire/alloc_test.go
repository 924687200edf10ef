package wire_test

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// TestSteadyStateAllocs checks that once buffers have grown, reading and
// writing uncompressed messages up to 64 KiB allocates nothing, in both
// roles (masked and unmasked).
func TestSteadyStateAllocs(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, role := range roles {
		for _, n := range []int{0, 125, 126, 1 << 10, 64 << 10} {
			for _, op := range []wire.Opcode{wire.OpBinary, wire.OpText} {
				msg := benchPayload(n)
				var rec bytes.Buffer
				peerRole := wire.Role(1 - role)
				peer := wire.NewConn(bufio.NewReader(strings.NewReader("")), &rec, wire.Config{Role: peerRole})
				peer.WriteFragmented(op, msg, 2)
				peer.WriteControl(wire.OpPing, []byte("ping"))
				c := wire.NewConn(bufio.NewReader(&loopReader{b: rec.Bytes()}), io.Discard, wire.Config{Role: role})
				read := testing.AllocsPerRun(50, func() {
					for range 2 {
						if _, err := c.Read(); err != nil {
							t.Fatal(err)
						}
					}
				})
				pong := []byte("pong")
				write := testing.AllocsPerRun(50, func() {
					c.WriteMessage(op, msg)
					c.WriteFragmented(op, msg, 3)
					c.QueueMessage(op, msg)
					c.Flush()
					c.WriteControl(wire.OpPong, pong)
				})
				if read != 0 || write != 0 {
					t.Errorf("%v %v %d bytes: %v allocations per read, %v per write; want 0", role, op, n, read, write)
				}
			}
		}
	}
}
