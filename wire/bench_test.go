package wire_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// Run with: go test -run=^$ -bench=. -benchmem ./wire/

var benchSizes = []int{125, 1 << 10, 64 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// loopReader returns its bytes over and over, as a fast in-memory stream.
type loopReader struct {
	b []byte
	i int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.i:])
		n += c
		r.i = (r.i + c) % len(r.b)
	}
	return n, nil
}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range []int{16, 64, 128, 1 << 10, 4 << 10, 64 << 10, 1 << 20} {
		buf := make([]byte, n)
		src := make([]byte, n)
		b.Run("fast/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				wire.Mask(key, 1, buf)
			}
		})
		b.Run("naive/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				maskNaive(key, 1, buf)
			}
		})
		b.Run("copy/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, src)
			}
		})
	}
}

func BenchmarkReadHeader(b *testing.B) {
	for _, h := range []wire.Header{
		{Fin: true, Op: wire.OpText, Length: 125},
		{Fin: true, Op: wire.OpBinary, Masked: true, Mask: rfcKey, Length: 1 << 20},
	} {
		name := "unmasked-7bit"
		if h.Masked {
			name = "masked-64bit"
		}
		b.Run(name, func(b *testing.B) {
			br := bufio.NewReader(&loopReader{b: wire.AppendHeader(nil, h)})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wire.ReadHeader(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	h := wire.Header{Fin: true, Op: wire.OpBinary, Masked: true, Mask: rfcKey, Length: 1 << 20}
	buf := make([]byte, 0, wire.MaxHeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		buf = wire.AppendHeader(buf[:0], h)
	}
}

// benchPayload is compressible text of n bytes.
func benchPayload(n int) []byte {
	s := strings.Repeat("WebSocket frames carry text like this, line after line. ", n/56+1)
	return []byte(s[:n])
}

// benchRole names the role under test and what crosses the wire.
var benchRoles = []struct {
	name string
	role wire.Role
}{
	{"client", wire.RoleClient}, // reads unmasked, writes masked
	{"server", wire.RoleServer}, // reads masked, writes unmasked
}

func BenchmarkRead(b *testing.B) {
	for _, compressed := range []bool{false, true} {
		for _, br := range benchRoles {
			for _, n := range benchSizes {
				name := br.name
				if br.role == wire.RoleClient {
					name += "-unmasked"
				} else {
					name += "-masked"
				}
				if compressed {
					name += "-deflate"
				}
				b.Run(name+"/"+sizeName(n), func(b *testing.B) {
					benchRead(b, br.role, n, compressed)
				})
			}
		}
	}
}

func benchRead(b *testing.B, role wire.Role, n int, compressed bool) {
	var p *wire.DeflateParams
	if compressed {
		// No context takeover, so one recorded message can be replayed.
		p = &wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
	}
	// Record the bytes a peer in the other role sends.
	var wireBytes bytes.Buffer
	peerRole := wire.RoleServer
	if role == wire.RoleServer {
		peerRole = wire.RoleClient
	}
	// Threshold 1: compress even the 125-byte message.
	peer := wire.NewConn(bufio.NewReader(strings.NewReader("")), &wireBytes, wire.Config{Role: peerRole, Deflate: p, CompressionThreshold: 1})
	msg := benchPayload(n)
	if err := peer.WriteMessage(wire.OpBinary, msg); err != nil {
		b.Fatal(err)
	}
	c := wire.NewConn(bufio.NewReader(&loopReader{b: wireBytes.Bytes()}), io.Discard, wire.Config{Role: role, Deflate: p})
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Read()
		if err != nil || len(m.Data) != n || m.Compressed != compressed {
			b.Fatalf("Read = %d bytes, compressed %v, %v", len(m.Data), m.Compressed, err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, compressed := range []bool{false, true} {
		for _, br := range benchRoles {
			for _, n := range benchSizes {
				name := br.name
				if br.role == wire.RoleClient {
					name += "-masked"
				} else {
					name += "-unmasked"
				}
				if compressed {
					name += "-deflate"
				}
				b.Run(name+"/"+sizeName(n), func(b *testing.B) {
					var p *wire.DeflateParams
					if compressed {
						p = &wire.DeflateParams{}
					}
					c := wire.NewConn(bufio.NewReader(strings.NewReader("")), io.Discard, wire.Config{Role: br.role, Deflate: p, CompressionThreshold: 1})
					msg := benchPayload(n)
					b.SetBytes(int64(n))
					b.ReportAllocs()
					for b.Loop() {
						if err := c.WriteMessage(wire.OpBinary, msg); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
