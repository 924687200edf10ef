package wire

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key (RFC 6455 §5.3), starting at
// byte pos%4 of the key, and returns the key position for the byte after
// b, so a payload can be masked in pieces:
//
//	pos := 0
//	pos = Mask(key, pos, payload[:n])
//	pos = Mask(key, pos, payload[n:])
//
// Masking and unmasking are the same operation. Mask works a 64-bit word
// at a time, eight words per iteration for long inputs.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	n := len(b)
	if n < 8 {
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + n) & 3
	}
	// Rotate the key so that its first byte is key[pos], then spread it over
	// a little-endian 64-bit word: byte i of the word lands on b[i].
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
	k := uint64(k32)<<32 | uint64(k32)
	for len(b) >= 64 {
		v := b[:64]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
		binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
		binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
		binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
		b = b[64:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	// Fewer than 8 bytes remain; the word key still starts at key[pos]
	// because we consumed a multiple of 4 bytes.
	for i := range b {
		b[i] ^= byte(k >> (8 * i))
	}
	return (pos + n) & 3
}

// maskCopy writes src XORed with the masking key, starting at key position
// pos%4, to dst, which must be at least as long as src, and returns the key
// position after the last byte. It is Mask fused with copy, so masking an
// outgoing payload reads and writes it once (RFC 6455 §5.3).
func maskCopy(key [4]byte, pos int, dst, src []byte) int {
	pos &= 3
	n := len(src)
	dst = dst[:n]
	if n < 8 {
		for i := range src {
			dst[i] = src[i] ^ key[(pos+i)&3]
		}
		return (pos + n) & 3
	}
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
	k := uint64(k32)<<32 | uint64(k32)
	for len(src) >= 64 {
		s, d := src[:64], dst[:64]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k)
		binary.LittleEndian.PutUint64(d[32:], binary.LittleEndian.Uint64(s[32:])^k)
		binary.LittleEndian.PutUint64(d[40:], binary.LittleEndian.Uint64(s[40:])^k)
		binary.LittleEndian.PutUint64(d[48:], binary.LittleEndian.Uint64(s[48:])^k)
		binary.LittleEndian.PutUint64(d[56:], binary.LittleEndian.Uint64(s[56:])^k)
		src, dst = src[64:], dst[64:]
	}
	for len(src) >= 8 {
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^k)
		src, dst = src[8:], dst[8:]
	}
	for i := range src {
		dst[i] = src[i] ^ byte(k>>(8*i))
	}
	return (pos + n) & 3
}
