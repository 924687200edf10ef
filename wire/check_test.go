package wire_test

import (
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

func TestCheckHeader(t *testing.T) {
	t.Parallel()
	srv := wire.RoleServer
	cli := wire.RoleClient
	key := [4]byte{1, 2, 3, 4}
	cases := []struct {
		name      string
		h         wire.Header
		role      wire.Role
		rsv1OK    bool
		inMessage bool
		want      string // substring of the reason; "" means accepted
	}{
		{"server text to client", wire.Header{Fin: true, Op: wire.OpText, Length: 5}, cli, false, false, ""},
		{"client text to server", wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: key}, srv, false, false, ""},
		{"masked server frame", wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: key}, cli, false, false, "masked text frame from the server (key 01020304)"},
		{"unmasked client frame", wire.Header{Fin: true, Op: wire.OpBinary}, srv, false, false, "unmasked binary frame from the client"},
		{"reserved opcode 0x3", wire.Header{Fin: true, Op: 0x3}, cli, false, false, "reserved opcode 0x3"},
		{"reserved opcode 0x7", wire.Header{Fin: true, Op: 0x7}, cli, false, false, "reserved opcode 0x7"},
		{"reserved opcode 0xb", wire.Header{Fin: true, Op: 0xb}, cli, false, false, "reserved opcode 0xb"},
		{"reserved opcode 0xf", wire.Header{Fin: true, Op: 0xf}, cli, false, false, "reserved opcode 0xf"},
		{"RSV1 without deflate", wire.Header{Fin: true, Rsv1: true, Op: wire.OpText}, cli, false, false, "reserved bit RSV1 set on a text frame but permessage-deflate was not negotiated"},
		{"RSV1 with deflate", wire.Header{Fin: true, Rsv1: true, Op: wire.OpText}, cli, true, false, ""},
		{"RSV2", wire.Header{Fin: true, Rsv2: true, Op: wire.OpText}, cli, true, false, "reserved bit RSV2 set on a text frame"},
		{"RSV3", wire.Header{Fin: true, Rsv3: true, Op: wire.OpPing}, cli, true, false, "reserved bit RSV3 set on a ping frame"},
		{"RSV2 and RSV3", wire.Header{Fin: true, Rsv2: true, Rsv3: true, Op: wire.OpBinary}, cli, true, false, "RSV2 and RSV3"},
		{"RSV1 on continuation", wire.Header{Fin: true, Rsv1: true, Op: wire.OpContinuation}, cli, true, true, "RSV1 set on a continuation frame"},
		{"RSV1 on ping", wire.Header{Fin: true, Rsv1: true, Op: wire.OpPing}, cli, true, false, "RSV1 set on a ping control frame"},
		{"ping 125 bytes", wire.Header{Fin: true, Op: wire.OpPing, Length: 125}, cli, false, false, ""},
		{"ping 126 bytes", wire.Header{Fin: true, Op: wire.OpPing, Length: 126}, cli, false, false, "control frame ping with 126-byte payload (max 125)"},
		{"close 65536 bytes", wire.Header{Fin: true, Op: wire.OpClose, Length: 65536}, cli, false, false, "control frame close with 65536-byte payload (max 125)"},
		{"fragmented ping", wire.Header{Op: wire.OpPing, Length: 1}, cli, false, false, "fragmented control frame ping (FIN=0)"},
		{"ping inside a message", wire.Header{Fin: true, Op: wire.OpPing}, cli, false, true, ""},
		{"continuation without start", wire.Header{Fin: true, Op: wire.OpContinuation}, cli, false, false, "continuation frame with no fragmented message to continue"},
		{"continuation inside message", wire.Header{Fin: true, Op: wire.OpContinuation}, cli, false, true, ""},
		{"text inside message", wire.Header{Fin: true, Op: wire.OpText}, cli, false, true, "new text frame inside a fragmented message"},
		{"binary start inside message", wire.Header{Op: wire.OpBinary}, cli, false, true, "new binary frame inside a fragmented message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pe := wire.CheckHeader(tc.h, tc.role, tc.rsv1OK, tc.inMessage)
			if tc.want == "" {
				if pe != nil {
					t.Fatalf("CheckHeader rejected a valid header: %v", pe)
				}
				return
			}
			if pe == nil {
				t.Fatalf("CheckHeader accepted %v, want an error containing %q", tc.h, tc.want)
			}
			if pe.Code != wire.CloseProtocolError {
				t.Fatalf("code = %v, want 1002", pe.Code)
			}
			if !strings.Contains(pe.Reason, tc.want) {
				t.Fatalf("reason = %q, want it to contain %q", pe.Reason, tc.want)
			}
			if !strings.HasPrefix(pe.Error(), "protocol error (close 1002): ") {
				t.Fatalf("Error() = %q", pe.Error())
			}
		})
	}
}
