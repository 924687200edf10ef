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

// TestFragmentedMessageAllocs checks that a 4 MiB message in 64-byte
// fragments grows its buffer geometrically: a fresh Conn reads it with
// O(log n) allocations (a dozen or so, not one per fragment) and
// allocates at most about twice the message, in both roles.
func TestFragmentedMessageAllocs(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	const size = 4 << 20
	msg := benchPayload(size)
	for _, role := range roles {
		var rec bytes.Buffer
		peer := wire.NewConn(bufio.NewReader(strings.NewReader("")), &rec, wire.Config{Role: wire.Role(1 - role)})
		if err := peer.WriteFragmented(wire.OpText, msg, size/64); err != nil {
			t.Fatal(err)
		}
		src := bytes.NewReader(rec.Bytes())
		br := bufio.NewReader(src)
		var err error
		var got int
		bytesAlloc := heapGrowth(func() {
			allocs := testing.AllocsPerRun(3, func() {
				src.Reset(rec.Bytes())
				br.Reset(src)
				var m wire.Message
				m, err = wire.NewConn(br, io.Discard, wire.Config{Role: role}).Read()
				got = len(m.Data)
			})
			if allocs > 24 {
				t.Errorf("%v: %v allocations to read a %d-byte message in %d fragments, want O(log n), at most 24", role, allocs, size, size/64)
			}
		})
		if err != nil || got != size {
			t.Fatalf("%v: read %d bytes, %v", role, got, err)
		}
		// AllocsPerRun calls the function once more to warm up: 4 reads.
		if per := bytesAlloc / 4; per > 3*size {
			t.Errorf("%v: %d bytes allocated per %d-byte message, want at most %d", role, per, size, 3*size)
		}
	}
}
