package handshake_test

import (
	"bufio"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// BenchmarkReadDiagnose101 reads the RFC 6455 §1.3 101 head and diagnoses
// it against the matching request: the per-connection cost of the client
// side of a handshake, network aside.
func BenchmarkReadDiagnose101(b *testing.B) {
	req := mustParse(rfcRequest)
	src := strings.NewReader(rfcResponse)
	br := bufio.NewReaderSize(src, 4096)
	o := &handshake.Options{}
	b.SetBytes(int64(len(rfcResponse)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(rfcResponse)
		br.Reset(src)
		resp, err := handshake.ReadResponse(br)
		if err != nil {
			b.Fatal(err)
		}
		f := handshake.DiagnoseResponse(req, resp, o)
		if len(f.Diagnostics) != 2 || !f.Accept.OK {
			b.Fatalf("diagnostics %v", idsOf(f.Diagnostics))
		}
	}
}

// BenchmarkReadResponse reads the same head without diagnosing it.
func BenchmarkReadResponse(b *testing.B) {
	src := strings.NewReader(rfcResponse)
	br := bufio.NewReaderSize(src, 4096)
	b.SetBytes(int64(len(rfcResponse)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(rfcResponse)
		br.Reset(src)
		if _, err := handshake.ReadResponse(br); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendEscaped escapes a header line with control bytes.
func BenchmarkAppendEscaped(b *testing.B) {
	line := []byte("X-Evil: \x1b[31mred\x1b[0m caf\u00e9 \xff tail of a longer header value")
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		buf = handshake.AppendEscaped(buf[:0], line)
	}
}
