package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

var rfcKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frameTable is shared by the read and write tests: each row is a frame as
// it crosses the wire, the header it decodes to and its unmasked payload.
var frameTable = []struct {
	name    string
	wire    string
	h       wire.Header
	payload string
}{
	{"unmasked text Hello (RFC 6455 §5.7)",
		"1 000 0001 | 0 0000101 | 'Hello'",
		wire.Header{Fin: true, Op: wire.OpText, Length: 5}, "Hello"},
	{"masked text Hello (RFC 6455 §5.7)",
		"1 000 0001 | 1 0000101 | x:37fa213d | x:7f9f4d5158",
		wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: rfcKey, Length: 5}, "Hello"},
	{"first fragment Hel",
		"0 000 0001 | 0 0000011 | 'Hel'",
		wire.Header{Op: wire.OpText, Length: 3}, "Hel"},
	{"last fragment lo",
		"1 000 0000 | 0 0000010 | 'lo'",
		wire.Header{Fin: true, Op: wire.OpContinuation, Length: 2}, "lo"},
	{"unmasked ping Hello",
		"1 000 1001 | 0 0000101 | 'Hello'",
		wire.Header{Fin: true, Op: wire.OpPing, Length: 5}, "Hello"},
	{"masked pong Hello (RFC 6455 §5.7)",
		"1 000 1010 | 1 0000101 | x:37fa213d | x:7f9f4d5158",
		wire.Header{Fin: true, Op: wire.OpPong, Masked: true, Mask: rfcKey, Length: 5}, "Hello"},
	{"empty binary",
		"1 000 0010 | 0 0000000",
		wire.Header{Fin: true, Op: wire.OpBinary}, ""},
	{"close 1000",
		"1 000 1000 | 0 0000010 | x:03e8",
		wire.Header{Fin: true, Op: wire.OpClose, Length: 2}, "\x03\xe8"},
	{"125 bytes, 7-bit length",
		"1 000 0010 | 0 1111101 | 'a'*125",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 125}, strings.Repeat("a", 125)},
	{"126 bytes, 16-bit length",
		"1 000 0010 | 0 1111110 | 00000000 01111110 | 'a'*126",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 126}, strings.Repeat("a", 126)},
	{"256 bytes (RFC 6455 §5.7)",
		"1 000 0010 | 0 1111110 | x:0100 | 'b'*256",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 256}, strings.Repeat("b", 256)},
	{"65535 bytes, 16-bit length",
		"1 000 0010 | 0 1111110 | x:ffff | 'c'*65535",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 65535}, strings.Repeat("c", 65535)},
	{"65536 bytes, 64-bit length (RFC 6455 §5.7)",
		"1 000 0010 | 0 1111111 | x:0000000000010000 | 'd'*65536",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 65536}, strings.Repeat("d", 65536)},
	{"masked 126 bytes",
		"1 000 0010 | 1 1111110 | x:007e | x:00000000 | 'e'*126",
		wire.Header{Fin: true, Op: wire.OpBinary, Masked: true, Length: 126}, strings.Repeat("e", 126)},
	{"all reserved bits, reserved opcode 0x3",
		"1 111 0011 | 0 0000000",
		wire.Header{Fin: true, Rsv1: true, Rsv2: true, Rsv3: true, Op: 0x3}, ""},
	{"RSV1 text (permessage-deflate)",
		"1 100 0001 | 0 0000001 | x:00",
		wire.Header{Fin: true, Rsv1: true, Op: wire.OpText, Length: 1}, "\x00"},
	{"reserved control opcode 0xF",
		"1 000 1111 | 0 0000000",
		wire.Header{Fin: true, Op: 0xf}, ""},
	{"non-minimal 16-bit length 5",
		"1 000 0001 | 0 1111110 | 00000000 00000101 | 'Hello'",
		wire.Header{Fin: true, Op: wire.OpText, Length: 5, NonMinimal: true}, "Hello"},
	{"non-minimal 64-bit length 126",
		"1 000 0010 | 0 1111111 | x:000000000000007e | 'f'*126",
		wire.Header{Fin: true, Op: wire.OpBinary, Length: 126, NonMinimal: true}, strings.Repeat("f", 126)},
}

func TestReadHeaderTable(t *testing.T) {
	t.Parallel()
	for _, tc := range frameTable {
		t.Run(tc.name, func(t *testing.T) {
			raw := frameBytes(tc.wire)
			br := bufio.NewReader(bytes.NewReader(raw))
			h, err := wire.ReadHeader(br)
			if err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			if h != tc.h {
				t.Fatalf("ReadHeader = %+v, want %+v", h, tc.h)
			}
			rest, _ := io.ReadAll(br)
			if int64(len(rest)) != h.Length {
				t.Fatalf("%d payload bytes follow the header, header says %d", len(rest), h.Length)
			}
			if h.Masked {
				wire.Mask(h.Mask, 0, rest)
			}
			if string(rest) != tc.payload {
				t.Fatalf("payload = %q, want %q", trunc(rest), trunc([]byte(tc.payload)))
			}
		})
	}
}

func TestAppendHeaderTable(t *testing.T) {
	t.Parallel()
	for _, tc := range frameTable {
		t.Run(tc.name, func(t *testing.T) {
			raw := frameBytes(tc.wire)
			got := wire.AppendHeader([]byte("prefix"), tc.h)
			if !bytes.HasPrefix(got, []byte("prefix")) {
				t.Fatalf("AppendHeader lost dst: %x", got)
			}
			got = got[len("prefix"):]
			p := []byte(tc.payload)
			if tc.h.Masked {
				wire.Mask(tc.h.Mask, 0, p)
			}
			got = append(got, p...)
			if !bytes.Equal(got, raw) {
				t.Fatalf("AppendHeader+payload =\n%x\nwant\n%x", trunc(got), trunc(raw))
			}
		})
	}
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func TestReadHeaderErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		wire string
		want error // sentinel, or nil for *ProtocolError 1002
	}{
		{"nothing", "", io.EOF},
		{"one byte", "1 000 0001", io.ErrUnexpectedEOF},
		{"16-bit length cut", "1 000 0010 | 0 1111110 | x:01", io.ErrUnexpectedEOF},
		{"64-bit length cut", "1 000 0010 | 0 1111111 | x:00000000000001", io.ErrUnexpectedEOF},
		{"mask key cut", "1 000 0010 | 1 0000001 | x:0102", io.ErrUnexpectedEOF},
		{"64-bit length with MSB set", "1 000 0010 | 0 1111111 | x:8000000000000000", nil},
		{"64-bit length all ones", "1 000 0010 | 0 1111111 | x:ffffffffffffffff", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wire.ReadHeader(bufio.NewReader(bytes.NewReader(frameBytes(tc.wire))))
			if tc.want != nil {
				if err != tc.want {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || pe.Code != wire.CloseProtocolError {
				t.Fatalf("err = %v, want *ProtocolError with code 1002", err)
			}
			if !strings.Contains(pe.Reason, "most significant bit") {
				t.Fatalf("reason %q does not say what was wrong", pe.Reason)
			}
		})
	}
}

// TestReadHeaderConsumesNothingOnShortRead checks that a header cut short
// leaves the reader where it was, so a read that timed out can be retried.
func TestReadHeaderConsumesNothingOnShortRead(t *testing.T) {
	t.Parallel()
	raw := frameBytes("1 000 0010 | 1 1111110 | x:0100 | x:01020304")
	pr, pw := io.Pipe()
	br := bufio.NewReader(pr)
	go func() {
		pw.Write(raw[:3])
		pw.CloseWithError(errTest)
	}()
	if _, err := wire.ReadHeader(br); err != errTest {
		t.Fatalf("err = %v, want %v", err, errTest)
	}
	if got := br.Buffered(); got != 3 {
		t.Fatalf("%d bytes left buffered after a failed ReadHeader, want 3", got)
	}
}

var errTest = errors.New("test stop")

func TestHeaderString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		h    wire.Header
		want string
	}{
		{wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: [4]byte{0x0a, 0x0b, 0x0c, 0x0d}, Length: 5},
			"FIN=1 RSV=000 op=text(0x1) mask=1 key=0a0b0c0d len=5"},
		{wire.Header{Op: wire.OpContinuation, Length: 70000},
			"FIN=0 RSV=000 op=continuation(0x0) mask=0 len=70000"},
		{wire.Header{Fin: true, Rsv1: true, Rsv3: true, Op: 0xb},
			"FIN=1 RSV=101 op=reserved(0xb) mask=0 len=0"},
		{wire.Header{Fin: true, Op: wire.OpPong, Length: 5, NonMinimal: true},
			"FIN=1 RSV=000 op=pong(0xa) mask=0 len=5 (non-minimal length encoding)"},
	}
	for _, tc := range cases {
		if got := tc.h.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestOpcodeNames(t *testing.T) {
	t.Parallel()
	want := map[wire.Opcode]string{0: "continuation", 1: "text", 2: "binary", 3: "reserved(0x3)",
		7: "reserved(0x7)", 8: "close", 9: "ping", 0xa: "pong", 0xb: "reserved(0xb)", 0xf: "reserved(0xf)"}
	for op, name := range want {
		if got := op.String(); got != name {
			t.Errorf("Opcode(%d).String() = %q, want %q", op, got, name)
		}
	}
	for op := wire.Opcode(0); op < 16; op++ {
		if op.IsControl() != (op >= 8) {
			t.Errorf("Opcode(%d).IsControl() = %v", op, op.IsControl())
		}
		if op.IsData() != (op <= 2) {
			t.Errorf("Opcode(%d).IsData() = %v", op, op.IsData())
		}
		if op.IsReserved() != ((op >= 3 && op <= 7) || op >= 0xb) {
			t.Errorf("Opcode(%d).IsReserved() = %v", op, op.IsReserved())
		}
	}
}
