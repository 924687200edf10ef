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
// at a time, eight words per iteration for long inputs; indexing rather
// than reslicing keeps the loop free of bounds checks and as fast as an
// unsafe version (see BenchmarkMask).
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	n := len(b)
	if n < 8 {
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + n) & 3
	}
	k := wordKey(key, pos)
	i := 0
	for ; i <= n-64; i += 64 {
		v := b[i : i+64 : i+64]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
		binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
		binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
		binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
	}
	for ; i <= n-8; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k)
	}
	// Fewer than 8 bytes remain; the word key still starts at key[pos]
	// because a multiple of 4 bytes was consumed.
	for j := 0; i < n; i, j = i+1, j+1 {
		b[i] ^= byte(k >> (8 * j))
	}
	return (pos + n) & 3
}

// wordKey rotates the key so that its first byte is key[pos] and spreads
// it over a little-endian 64-bit word: byte i of the word lands on byte i
// of the data.
func wordKey(key [4]byte, pos int) uint64 {
	k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
	return uint64(k32)<<32 | uint64(k32)
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
	k := wordKey(key, pos)
	i := 0
	for ; i <= n-64; i += 64 {
		s, d := src[i:i+64:i+64], dst[i:i+64:i+64]
		binary.LittleEndian.PutUint64(d[0:], binary.LittleEndian.Uint64(s[0:])^k)
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(s[8:])^k)
		binary.LittleEndian.PutUint64(d[16:], binary.LittleEndian.Uint64(s[16:])^k)
		binary.LittleEndian.PutUint64(d[24:], binary.LittleEndian.Uint64(s[24:])^k)
		binary.LittleEndian.PutUint64(d[32:], binary.LittleEndian.Uint64(s[32:])^k)
		binary.LittleEndian.PutUint64(d[40:], binary.LittleEndian.Uint64(s[40:])^k)
		binary.LittleEndian.PutUint64(d[48:], binary.LittleEndian.Uint64(s[48:])^k)
		binary.LittleEndian.PutUint64(d[56:], binary.LittleEndian.Uint64(s[56:])^k)
	}
	for ; i <= n-8; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k)
	}
	for j := 0; i < n; i, j = i+1, j+1 {
		dst[i] = src[i] ^ byte(k>>(8*j))
	}
	return (pos + n) & 3
}
