package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Opcode is the 4-bit frame opcode of RFC 6455 §5.2. Any value 0x0-0xF can
// be represented, including the reserved ones, so that frames a peer should
// not have sent can still be shown.
type Opcode byte

// Opcodes defined by RFC 6455 §5.2 and §11.8.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode: the most significant bit
// of the opcode is set (RFC 6455 §5.5). Reserved control opcodes 0xB-0xF
// count as control opcodes.
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsData reports whether o is text, binary or continuation (RFC 6455 §5.6).
func (o Opcode) IsData() bool { return o <= OpBinary }

// IsReserved reports whether o is one of the opcodes RFC 6455 §5.2 reserves
// for future use (0x3-0x7 and 0xB-0xF).
func (o Opcode) IsReserved() bool {
	return (o > OpBinary && o < OpClose) || o > OpPong
}

// Role is the side of the connection we play: it decides which frames must
// be masked (RFC 6455 §5.1, §5.3).
type Role uint8

// Roles.
const (
	RoleClient Role = iota
	RoleServer
)

// MaxHeaderSize is the largest frame header: 2 bytes, an 8-byte extended
// payload length and a 4-byte masking key (RFC 6455 §5.2).
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload a control frame may carry
// (RFC 6455 §5.5).
const MaxControlPayload = 125

// Header is a decoded frame header (RFC 6455 §5.2). It can hold every bit
// combination the wire can carry, valid or not; CheckHeader judges it.
type Header struct {
	Fin              bool
	Rsv1, Rsv2, Rsv3 bool
	Op               Opcode // any 4-bit value
	Masked           bool
	Mask             [4]byte
	Length           int64

	// NonMinimal is set by ReadHeader when the payload length used a
	// longer encoding than needed (RFC 6455 §5.2 requires the minimal one).
	// AppendHeader honours it by choosing the next longer encoding, so that
	// such frames can be produced on purpose.
	NonMinimal bool
}

// errLengthMSB is wrapped into the ProtocolError ReadHeader returns for a
// 64-bit length with the most significant bit set.
var errLengthMSB = errors.New("64-bit payload length with the most significant bit set")

// ReadHeader reads one frame header from r. It decodes anything that can be
// decoded, including reserved opcodes and bits, unmasked or masked frames
// in either direction, oversized control frames and non-minimal lengths:
// CheckHeader decides what is acceptable. The one header it rejects is a
// 64-bit length with the most significant bit set (RFC 6455 §5.2), with a
// *ProtocolError carrying close code 1002.
//
// ReadHeader consumes nothing from r unless it returns a complete header,
// so a read that times out can be retried. At a clean frame boundary with
// no more data it returns io.EOF; inside a header, io.ErrUnexpectedEOF.
func ReadHeader(r *bufio.Reader) (Header, error) {
	// Peek what is buffered, up to a whole header, so that usually one
	// Peek suffices; Peek never blocks for bytes already buffered.
	want := 2
	if b := r.Buffered(); b > want {
		want = min(b, MaxHeaderSize)
	}
	p, err := r.Peek(want)
	if len(p) < 2 {
		return Header{}, headerErr(len(p), err)
	}
	h, n, perr := ParseHeader(p)
	if perr == ErrShortHeader {
		p, err = r.Peek(n)
		if len(p) < n {
			return h, headerErr(len(p), err)
		}
		h, n, perr = ParseHeader(p)
	}
	r.Discard(n)
	return h, perr
}

// ErrShortHeader is returned by ParseHeader when the bytes end before the
// header does.
var ErrShortHeader = errors.New("incomplete frame header")

// ParseHeader decodes the frame header at the start of p, as ReadHeader
// does, for callers that hold the bytes themselves. n is the header's size
// in bytes (2 when p is shorter than 2); when p holds fewer than n bytes
// the error is ErrShortHeader. A 64-bit length with the most significant
// bit set is a *ProtocolError (RFC 6455 §5.2), with n still the header's
// size.
func ParseHeader(p []byte) (h Header, n int, err error) {
	if len(p) < 2 {
		return h, 2, ErrShortHeader
	}
	b0, b1 := p[0], p[1]
	n = 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	if len(p) < n {
		return h, n, ErrShortHeader
	}
	h.Fin = b0&0x80 != 0
	h.Rsv1 = b0&0x40 != 0
	h.Rsv2 = b0&0x20 != 0
	h.Rsv3 = b0&0x10 != 0
	h.Op = Opcode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	i := 2
	switch l := b1 & 0x7f; l {
	case 126:
		v := binary.BigEndian.Uint16(p[2:4])
		h.Length = int64(v)
		h.NonMinimal = v < 126
		i = 4
	case 127:
		v := binary.BigEndian.Uint64(p[2:10])
		if v>>63 != 0 {
			return h, n, &ProtocolError{Code: CloseProtocolError,
				Reason: fmt.Sprintf("%v 0x%016x", errLengthMSB, v)}
		}
		h.Length = int64(v)
		h.NonMinimal = v <= 0xffff
		i = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], p[i:i+4])
	}
	return h, n, nil
}

func headerErr(got int, err error) error {
	if err == io.EOF {
		if got == 0 {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends the wire encoding of h to dst. The payload length
// uses the minimal encoding (RFC 6455 §5.2) unless h.NonMinimal asks for
// the next longer one. A negative length is encoded as 0.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Op & 0x0f)
	if h.Fin {
		b0 |= 0x80
	}
	if h.Rsv1 {
		b0 |= 0x40
	}
	if h.Rsv2 {
		b0 |= 0x20
	}
	if h.Rsv3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	l := h.Length
	if l < 0 {
		l = 0
	}
	switch lengthEncoding(l, h.NonMinimal) {
	case 0:
		dst = append(dst, b0, b1|byte(l))
	case 2:
		dst = append(dst, b0, b1|126, byte(l>>8), byte(l))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(l))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// lengthEncoding returns the size of the extended payload length field for
// l: 0, 2 or 8 bytes; nonMinimal picks the next longer one.
func lengthEncoding(l int64, nonMinimal bool) int {
	switch {
	case l < 126:
		if nonMinimal {
			return 2
		}
		return 0
	case l <= 0xffff:
		if nonMinimal {
			return 8
		}
		return 2
	default:
		return 8
	}
}

// headerSize returns the number of bytes AppendHeader produces for h.
func headerSize(h Header) int {
	n := 2 + lengthEncoding(max(h.Length, 0), h.NonMinimal)
	if h.Masked {
		n += 4
	}
	return n
}

// String formats h on one line for verbose output, e.g.
// "FIN=1 RSV=000 op=text(0x1) mask=1 key=0a0b0c0d len=5".
func (h Header) String() string {
	b := make([]byte, 0, 72)
	b = append(b, "FIN="...)
	b = appendBit(b, h.Fin)
	b = append(b, " RSV="...)
	b = appendBit(b, h.Rsv1)
	b = appendBit(b, h.Rsv2)
	b = appendBit(b, h.Rsv3)
	b = append(b, " op="...)
	b = append(b, h.Op.String()...)
	if !h.Op.IsReserved() {
		b = append(b, "(0x"...)
		b = strconv.AppendUint(b, uint64(h.Op), 16)
		b = append(b, ')')
	}
	b = append(b, " mask="...)
	b = appendBit(b, h.Masked)
	if h.Masked {
		b = append(b, " key="...)
		b = fmt.Appendf(b, "%02x%02x%02x%02x", h.Mask[0], h.Mask[1], h.Mask[2], h.Mask[3])
	}
	b = append(b, " len="...)
	b = strconv.AppendInt(b, h.Length, 10)
	if h.NonMinimal {
		b = append(b, " (non-minimal length encoding)"...)
	}
	return string(b)
}

func appendBit(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}
