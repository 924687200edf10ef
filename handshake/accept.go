package handshake

import (
	"crypto/sha1"
	"encoding/base64"
	"io"
)

// GUID is the fixed string appended to the key before hashing (RFC 6455 §1.3).
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for key: the base64 of
// SHA-1(key + GUID) (RFC 6455 §4.2.2).
func AcceptKey(key string) string {
	var buf [64 + len(GUID)]byte
	sum := sha1.Sum(append(append(buf[:0], key...), GUID...))
	var out [28]byte
	base64.StdEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// NewKey returns a Sec-WebSocket-Key: 16 bytes from rand, base64-encoded
// (RFC 6455 §4.1). It panics if rand fails, as crypto/rand would.
func NewKey(rand io.Reader) string {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		panic("handshake: read random key: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b[:])
}
