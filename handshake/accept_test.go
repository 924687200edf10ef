package handshake_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	// RFC 6455 §1.3. (The transcript example in SPEC §2 shows a different
	// value for this key; the RFC's is the right one.)
	if got := handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
	// Longer than the stack buffer.
	long := strings.Repeat("k", 200)
	if a, b := handshake.AcceptKey(long), handshake.AcceptKey(long+"x"); a == b || len(a) != 28 {
		t.Errorf("AcceptKey of long keys: %q, %q", a, b)
	}
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	k := handshake.NewKey(strings.NewReader("0123456789abcdef"))
	if k != base64.StdEncoding.EncodeToString([]byte("0123456789abcdef")) {
		t.Errorf("NewKey = %q", k)
	}
	b, err := base64.StdEncoding.DecodeString(handshake.NewKey(zeroRand{}))
	if err != nil || len(b) != 16 {
		t.Errorf("NewKey decodes to %d bytes, %v", len(b), err)
	}
}
