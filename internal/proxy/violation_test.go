package proxy_test

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/proxy"
	"github.com/wsdbg/wsdbg/wire"
)

// TestViolations sends frames that break RFC 6455 from either side. The
// log names the side that broke the rule; without --strict the frame
// reaches the other side byte for byte; with --strict the offender gets
// the close code RFC 6455 §7.4.1 prescribes and the other side 1001.
func TestViolations(t *testing.T) {
	masked := wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	plain := wire.Header{Fin: true, Op: wire.OpText}
	cases := []struct {
		name     string
		client   bool // the client sends the bad frame
		frame    []byte
		code     wire.CloseCode
		reason   string
		relayRaw bool
	}{
		{"unmasked client frame", true, frameBytes(plain, []byte("hi")), wire.CloseProtocolError, `unmasked text frame from the client`, true},
		{"masked server frame", false, frameBytes(masked, []byte("hi")), wire.CloseProtocolError, `masked text frame from the server`, true},
		{"bad UTF-8 from the client", true, frameBytes(masked, []byte("ok \xff\xfe")), wire.CloseInvalidPayload, `text message from the client is not valid UTF-8`, true},
		{"bad UTF-8 from the server", false, frameBytes(plain, []byte("ok \xc3")), wire.CloseInvalidPayload, `text message from the server is not valid UTF-8`, true},
		{"reserved opcode from the server", false, frameBytes(wire.Header{Fin: true, Op: 3}, nil), wire.CloseProtocolError, `reserved opcode 0x3`, true},
		// Frames larger than the relay's buffer whose fault shows only at
		// their end: with --strict none of them may reach the other side
		// before its 1001 (SPEC §9).
		{"bad UTF-8 at the end of 1 MiB from the client", true, frameBytes(masked, append(bytes.Repeat([]byte("a"), 1<<20), 0xff)), wire.CloseInvalidPayload, `text message from the client is not valid UTF-8`, true},
		{"bad UTF-8 at the end of 1 MiB from the server", false, frameBytes(plain, append(bytes.Repeat([]byte("a"), 1<<20), 0xc3)), wire.CloseInvalidPayload, `text message from the server is not valid UTF-8`, true},
	}
	for _, tc := range cases {
		for _, strict := range []bool{false, true} {
			name := tc.name
			if strict {
				name += " strict"
			}
			t.Run(name, func(t *testing.T) {
				side, other := "server", "client"
				if tc.client {
					side, other = "client", "server"
				}
				serverGot := make(chan []byte, 1)
				up := rawServer(t, func(c net.Conn, br *bufio.Reader) {
					if upgrade(t, c, br, "") == nil {
						return
					}
					if !tc.client {
						c.Write(tc.frame)
					}
					c.SetReadDeadline(time.Now().Add(wait))
					serverGot <- readFrameBytes(br)
				})
				p := startProxy(t, up, func(o *proxy.Options) { o.Strict = strict })
				c, br, _ := dialRaw(t, p.addr, "")
				if tc.client {
					c.Write(tc.frame)
				}
				c.SetReadDeadline(time.Now().Add(wait))
				var clientGot []byte
				if !tc.client || strict {
					clientGot = readFrameBytes(br)
				}
				var offenderGot, otherGot []byte
				switch {
				case tc.client:
					offenderGot, otherGot = clientGot, <-serverGot
				case strict:
					offenderGot, otherGot = <-serverGot, clientGot
				default:
					otherGot = clientGot
					c.Close() // the server's read ends
				}
				p.log.waitFor(t, `✗ `+side+` broke RFC 6455 \(close code `+regexp.QuoteMeta(tc.code.String())+`\): [^\n]*`+regexp.QuoteMeta(tc.reason))
				if !strict {
					if !bytes.Equal(otherGot, tc.frame) {
						t.Errorf("the %s got % x, want the frame as sent: % x", other, otherGot, tc.frame)
					}
					return
				}
				// --strict: the offender gets the close with the code, the
				// other side 1001.
				if code := closeCode(t, offenderGot); code != tc.code {
					t.Errorf("the %s got % x (close %v), want a close frame with %v", side, offenderGot, code, tc.code)
				}
				if code := closeCode(t, otherGot); code != wire.CloseGoingAway {
					t.Errorf("the %s got % x (close %v), want a close frame with 1001 and not the bad frame", other, otherGot, code)
				}
				p.log.waitFor(t, `--strict: failing the `+side+`'s connection`)
			})
		}
	}
}

// readFrameBytes reads one frame's bytes, or what arrived before the
// deadline.
func readFrameBytes(br *bufio.Reader) []byte {
	h, err := br.Peek(2)
	if err != nil {
		return h
	}
	n := 2
	switch h[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h[1]&0x80 != 0 {
		n += 4
	}
	hb, err := br.Peek(n)
	if err != nil {
		return hb
	}
	fh, _ := wire.ReadHeader(bufio.NewReader(bytes.NewReader(hb)))
	b := make([]byte, n+int(fh.Length))
	m, _ := ioReadFull(br, b)
	return b[:m]
}

// closeCode decodes a close frame's code; 0 when b is not one.
func closeCode(t *testing.T, b []byte) wire.CloseCode {
	fh, err := wire.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil || fh.Op != wire.OpClose || fh.Length < 2 {
		return 0
	}
	hl := len(b) - int(fh.Length)
	pl := append([]byte(nil), b[hl:]...)
	if fh.Masked {
		wire.Mask(fh.Mask, 0, pl)
	}
	code, _, _, _ := wire.ParseClose(pl)
	return code
}
