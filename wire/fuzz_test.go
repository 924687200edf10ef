package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/wire"
)

// FuzzReadHeader checks that ReadHeader never panics, returns only the
// errors it documents, and round-trips with AppendHeader: a header that
// used the minimal length encoding is re-encoded to the same bytes, and
// any decoded header survives encode-then-decode.
func FuzzReadHeader(f *testing.F) {
	for _, tc := range frameTable {
		f.Add(frameBytes(tc.wire))
	}
	f.Add([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		br := bufio.NewReader(src)
		h, err := wire.ReadHeader(br)
		if err != nil {
			var pe *wire.ProtocolError
			switch {
			case err == io.EOF && len(data) == 0:
			case err == io.ErrUnexpectedEOF && len(data) > 0 && len(data) < wire.MaxHeaderSize:
			case errors.As(err, &pe) && pe.Code == wire.CloseProtocolError && len(data) >= 10 && data[1]&0x7f == 127 && data[2]&0x80 != 0:
			default:
				t.Fatalf("ReadHeader(%x) = %v", trunc(data), err)
			}
			return
		}
		n := len(data) - br.Buffered() - src.Len()
		if n < 2 || n > wire.MaxHeaderSize || h.Length < 0 {
			t.Fatalf("ReadHeader(%x) consumed %d bytes, length %d", trunc(data), n, h.Length)
		}
		enc := wire.AppendHeader(nil, h)
		if !h.NonMinimal && !bytes.Equal(enc, data[:n]) {
			t.Fatalf("AppendHeader(ReadHeader(%x)) = %x", data[:n], enc)
		}
		h2, err := wire.ReadHeader(bufio.NewReader(bytes.NewReader(enc)))
		if err != nil || h2 != h {
			t.Fatalf("ReadHeader(AppendHeader(%+v)) = %+v, %v", h, h2, err)
		}
	})
}

// FuzzConnRead feeds arbitrary bytes to a Conn in either role, with and
// without permessage-deflate, and a small size limit: it must never panic,
// every error must be a *ProtocolError with a close code we send or an
// end of input, and no message may exceed the limit or carry invalid text;
// read whole or a byte at a time, the input must give the same result.
func FuzzConnRead(f *testing.F) {
	for _, role := range roles {
		for _, tc := range conformanceCases() {
			in := append(encode(role, tc.send...), tc.raw...)
			if len(in) < 4096 {
				f.Add(in, byte(role))
			}
		}
		for _, tc := range compressedCases() {
			if in := encode(role, tc.send...); len(in) < 4096 {
				f.Add(in, byte(role)|2)
				f.Add(in, byte(role)|2|16)
			}
		}
	}
	const limit = 1000
	f.Fuzz(func(t *testing.T, data []byte, flags byte) {
		cfg := wire.Config{Role: wire.Role(flags & 1), MaxMessageSize: limit}
		if flags&2 != 0 {
			cfg.Deflate = &wire.DeflateParams{ServerNoContextTakeover: flags&4 != 0, ClientNoContextTakeover: flags&8 != 0}
		}
		if flags&16 != 0 {
			// Exercise the path that keeps compressed payloads for OnFrame.
			cfg.OnFrame = func(d wire.Direction, h wire.Header, p []byte) {
				if d != wire.DirIn || int64(len(p)) > h.Length {
					t.Fatalf("OnFrame(%v, %v) with %d payload bytes", d, h, len(p))
				}
			}
		}
		if cfg.Deflate == nil {
			// Frames taken whole from the read buffer and frames read
			// piece by piece must give the same messages and errors.
			whole := readLog(bytes.NewReader(data), cfg.Role, limit)
			if bytewise := readLog(iotest.OneByteReader(bytes.NewReader(data)), cfg.Role, limit); whole != bytewise {
				t.Fatalf("read whole:\n%s\nread a byte at a time:\n%s", whole, bytewise)
			}
		}
		c := wire.NewConn(bufio.NewReader(bytes.NewReader(data)), io.Discard, cfg)
		for range 1000 {
			m, err := c.Read()
			if err != nil {
				var pe *wire.ProtocolError
				switch {
				case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF):
				case errors.As(err, &pe):
					if pe.Code != wire.CloseProtocolError && pe.Code != wire.CloseInvalidPayload && pe.Code != wire.CloseMessageTooBig {
						t.Fatalf("protocol error with close code %v: %v", pe.Code, pe)
					}
					if pe.Reason == "" {
						t.Fatalf("protocol error without a reason")
					}
				default:
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			switch m.Op {
			case wire.OpText, wire.OpBinary:
				if len(m.Data) > limit {
					t.Fatalf("%v message of %d bytes passed the limit of %d", m.Op, len(m.Data), limit)
				}
				if m.Op == wire.OpText && !utf8.Valid(m.Data) {
					t.Fatalf("text message with invalid UTF-8: %q", m.Data)
				}
			case wire.OpPing, wire.OpPong, wire.OpClose:
				if len(m.Data) > wire.MaxControlPayload || m.Frames != 1 {
					t.Fatalf("control frame %v with %d bytes in %d frames", m.Op, len(m.Data), m.Frames)
				}
				if m.Op == wire.OpClose && m.HasCode && (!m.CloseCode.ValidOnWire() || !utf8.ValidString(m.CloseReason)) {
					t.Fatalf("close frame accepted with code %v reason %q", m.CloseCode, m.CloseReason)
				}
			default:
				t.Fatalf("Read returned opcode %v", m.Op)
			}
		}
	})
}

// FuzzParseClose checks ParseClose against its definition (RFC 6455
// §5.5.1, §7.4) and that a payload it accepts round-trips through
// AppendClose.
func FuzzParseClose(f *testing.F) {
	for _, s := range []string{"", "\x03", "\x03\xe8", "\x03\xe8bye", "\x03\xed", "\x0f\xa0ü", "\x03\xe8\xed\xa0\x80", "\xff\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		code, has, reason, err := wire.ParseClose(p)
		var pe *wire.ProtocolError
		switch {
		case len(p) == 0:
			if err != nil || has {
				t.Fatalf("empty payload: %v %v", has, err)
			}
		case len(p) == 1:
			if !errors.As(err, &pe) || pe.Code != wire.CloseProtocolError {
				t.Fatalf("1-byte payload: %v", err)
			}
		case !wire.CloseCode(uint16(p[0])<<8 | uint16(p[1])).ValidOnWire():
			if !errors.As(err, &pe) || pe.Code != wire.CloseProtocolError {
				t.Fatalf("code %d: %v", code, err)
			}
		case !utf8.Valid(p[2:]):
			if !errors.As(err, &pe) || pe.Code != wire.CloseInvalidPayload {
				t.Fatalf("invalid reason %q: %v", p[2:], err)
			}
		default:
			if err != nil || !has {
				t.Fatalf("valid payload %x: %v", p, err)
			}
			if got := wire.AppendClose(nil, code, reason); !bytes.Equal(got, p) {
				t.Fatalf("AppendClose(ParseClose(%x)) = %x", p, got)
			}
		}
	})
}

// FuzzMask checks the word-at-a-time Mask against the byte loop at any
// key, key position, length and buffer offset.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello, world! This is longer than sixty-four bytes so the unrolled loop runs."), uint32(0x37fa213d), uint8(0), uint8(0))
	f.Add([]byte("short"), uint32(1), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, key uint32, pos, off uint8) {
		k := [4]byte{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}
		o := 0
		if len(data) > 0 {
			o = int(off) % len(data)
		}
		fast := bytes.Clone(data)
		slow := bytes.Clone(data)
		p1 := wire.Mask(k, int(pos), fast[o:])
		p2 := maskNaive(k, int(pos)%4, slow[o:])
		if p1 != p2 || !bytes.Equal(fast, slow) {
			t.Fatalf("Mask differs from the byte loop: len %d pos %d off %d", len(data), pos, o)
		}
	})
}
