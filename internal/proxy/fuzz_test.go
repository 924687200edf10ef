package proxy_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

// FuzzRelay feeds arbitrary bytes from either side into the relay and
// its printer: it must not panic, and without --strict every byte must
// reach the other side unchanged, whatever the bytes are (RFC 6455
// violations, lost framing, a stream cut anywhere).
func FuzzRelay(f *testing.F) {
	m := wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	f.Add(frameBytes(m, []byte("hello")), true, false, uint8(0))
	f.Add(frameBytes(wire.Header{Fin: true, Op: wire.OpBinary}, []byte{0, 1, 2}), false, false, uint8(1))
	f.Add(append(frameBytes(wire.Header{Op: wire.OpText}, []byte("fr")), frameBytes(wire.Header{Fin: true, Op: wire.OpPing}, []byte("p"))...), false, false, uint8(2))
	f.Add([]byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false, true, uint8(3)) // compressed "Hello"
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, true, false, uint8(0))                // 64-bit length with the MSB set
	f.Add([]byte{0x88, 0x01, 0x03}, false, false, uint8(4))                                    // 1-byte close payload
	f.Add(frameBytes(wire.Header{Fin: true, Op: wire.OpText}, []byte("\xff")), false, false, uint8(5))
	f.Fuzz(func(t *testing.T, input []byte, fromClient, deflate bool, flags uint8) {
		strict, verbose, json := flags&1 != 0, flags&2 != 0, flags&4 != 0
		var log bytes.Buffer
		out := proxy.RelayBytes(input, fromClient, deflate, strict, verbose, json, io.Writer(&log))
		if !strict && !bytes.Equal(out, input) {
			t.Fatalf("relayed % x, want the input % x", out, input)
		}
		if strict && len(out) > len(input)+wire.MaxHeaderSize+wire.MaxControlPayload {
			t.Fatalf("strict relay wrote %d bytes for %d of input", len(out), len(input))
		}
	})
}
