package wire_test

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/wire"
)

// conformanceCase is one case in the spirit of the Autobahn testsuite: the
// frames a peer sends to an echo endpoint and the frames that must come
// back.
type conformanceCase struct {
	name   string
	send   []pf
	raw    []byte // sent after send, as is
	expect []string
	echo   bool // the final close echoes the peer's code: no failure
}

func t1(payload string) string { return describe(wire.OpText, []byte(payload)) }
func b1(payload string) string { return describe(wire.OpBinary, []byte(payload)) }

var (
	hello     = "Hello, world!"
	close1000 = fin(wire.OpClose, "\x03\xe8")
)

func conformanceCases() []conformanceCase {
	var cs []conformanceCase
	add := func(name string, expect []string, send ...pf) {
		cs = append(cs, conformanceCase{name: name, send: send, expect: expect})
	}
	// 1.x framing: text and binary at the length encoding boundaries.
	for _, n := range []int{0, 125, 126, 127, 65535, 65536} {
		p := strings.Repeat("*", n)
		add("1.1 text "+itoa(n), []string{t1(p), "close:1000"}, fin(wire.OpText, p), close1000)
		q := strings.Repeat("\xfe", n)
		add("1.2 binary "+itoa(n), []string{b1(q), "close:1000"}, fin(wire.OpBinary, q), close1000)
	}
	// 2.x ping and pong.
	add("2.1 empty ping", []string{"pong:", "close:1000"}, fin(wire.OpPing, ""), close1000)
	add("2.2 ping with text", []string{"pong:Hello", "close:1000"}, fin(wire.OpPing, "Hello"), close1000)
	add("2.3 ping with binary", []string{"pong:\x00\xff\xfe\xfd\xfc", "close:1000"}, fin(wire.OpPing, "\x00\xff\xfe\xfd\xfc"), close1000)
	p125 := strings.Repeat("\xfe", 125)
	add("2.4 ping 125 bytes", []string{describe(wire.OpPong, []byte(p125)), "close:1000"}, fin(wire.OpPing, p125), close1000)
	add("2.5 ping 126 bytes", []string{"close:1002"}, fin(wire.OpPing, p125+"x"), close1000)
	add("2.6 unsolicited pong", []string{"close:1000"}, fin(wire.OpPong, ""), close1000)
	add("2.7 unsolicited pong with payload", []string{"close:1000"}, fin(wire.OpPong, "unsolicited"), close1000)
	add("2.8 unsolicited pong then ping", []string{"pong:ping", "close:1000"}, fin(wire.OpPong, "pong"), fin(wire.OpPing, "ping"), close1000)
	{
		var send []pf
		var want []string
		for i := range 10 {
			send = append(send, fin(wire.OpPing, "ping "+itoa(i)))
			want = append(want, "pong:ping "+itoa(i))
		}
		add("2.9 ten pings", append(want, "close:1000"), append(send, close1000)...)
	}
	// 3.x reserved bits.
	rsv := func(r1, r2, r3 bool, op wire.Opcode, payload string) pf {
		return pf{wire.Header{Fin: true, Rsv1: r1, Rsv2: r2, Rsv3: r3, Op: op}, payload}
	}
	add("3.1 RSV1 text", []string{"close:1002"}, rsv(true, false, false, wire.OpText, hello))
	add("3.2 text, RSV2 text, ping", []string{t1(hello), "close:1002"},
		fin(wire.OpText, hello), rsv(false, true, false, wire.OpText, hello), fin(wire.OpPing, ""))
	add("3.3 RSV1+RSV2 text", []string{"close:1002"}, rsv(true, true, false, wire.OpText, hello))
	add("3.4 RSV3 binary", []string{"close:1002"}, rsv(false, false, true, wire.OpBinary, "\x00\xff"))
	add("3.5 RSV1+RSV3 ping", []string{"close:1002"}, rsv(true, false, true, wire.OpPing, hello))
	add("3.6 all RSV close", []string{"close:1002"}, rsv(true, true, true, wire.OpClose, "\x03\xe8"))
	// 4.x reserved opcodes.
	for _, op := range []wire.Opcode{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		add("4.1 reserved opcode "+op.String(), []string{"close:1002"}, fin(op, ""))
		add("4.2 text, reserved opcode "+op.String()+" with payload, ping", []string{t1(hello), "close:1002"},
			fin(wire.OpText, hello), fin(op, "reserved"), fin(wire.OpPing, ""))
	}
	// 5.x fragmentation.
	add("5.1 fragmented ping", []string{"close:1002"}, frag(wire.OpPing, "frag1"), fin(wire.OpContinuation, "frag2"))
	add("5.2 fragmented pong", []string{"close:1002"}, frag(wire.OpPong, "frag1"), fin(wire.OpContinuation, "frag2"))
	add("5.3 text in two fragments", []string{t1("fragment1fragment2"), "close:1000"},
		frag(wire.OpText, "fragment1"), fin(wire.OpContinuation, "fragment2"), close1000)
	add("5.4 binary in three fragments", []string{b1("abc"), "close:1000"},
		frag(wire.OpBinary, "a"), frag(wire.OpContinuation, "b"), fin(wire.OpContinuation, "c"), close1000)
	add("5.5 text fragments with a ping between", []string{"pong:ping", t1("fragment1fragment2"), "close:1000"},
		frag(wire.OpText, "fragment1"), fin(wire.OpPing, "ping"), fin(wire.OpContinuation, "fragment2"), close1000)
	add("5.6 text fragments with pings and a pong between", []string{"pong:p1", "pong:p2", t1("f1f2f3f4f5"), "close:1000"},
		frag(wire.OpText, "f1"), frag(wire.OpContinuation, "f2"), fin(wire.OpPing, "p1"),
		frag(wire.OpContinuation, "f3"), fin(wire.OpPong, "unsolicited"), frag(wire.OpContinuation, "f4"),
		fin(wire.OpPing, "p2"), fin(wire.OpContinuation, "f5"), close1000)
	add("5.7 text in fragments of empty payloads", []string{t1(""), "close:1000"},
		frag(wire.OpText, ""), frag(wire.OpContinuation, ""), fin(wire.OpContinuation, ""), close1000)
	add("5.8 continuation FIN=1 without start", []string{"close:1002"},
		fin(wire.OpContinuation, "non-continuation payload"), fin(wire.OpText, hello))
	add("5.9 continuation FIN=0 without start", []string{"close:1002"},
		frag(wire.OpContinuation, "non-continuation payload"), fin(wire.OpText, hello))
	add("5.10 message, then continuation without start", []string{t1("f1f2"), "close:1002"},
		frag(wire.OpText, "f1"), fin(wire.OpContinuation, "f2"), frag(wire.OpContinuation, "f3"), fin(wire.OpText, hello))
	add("5.11 text frame inside a fragmented text message", []string{"close:1002"},
		frag(wire.OpText, "f1"), fin(wire.OpText, "f2"))
	add("5.12 binary frame inside a fragmented text message", []string{"close:1002"},
		frag(wire.OpText, "f1"), frag(wire.OpBinary, "f2"), fin(wire.OpContinuation, "f3"))
	add("5.13 close between fragments", []string{"close:1000"},
		frag(wire.OpText, "f1"), close1000, fin(wire.OpContinuation, "f2"))
	// 6.x UTF-8: every sequence as one frame, and split into one frame per byte.
	for _, s := range utf8Cases {
		want := []string{"close:1007"}
		if utf8.ValidString(s) {
			want = []string{t1(s), "close:1000"}
		}
		add("6.1 "+qname(s), want, fin(wire.OpText, s), close1000)
		var frames []pf
		for i := range len(s) {
			op := wire.OpContinuation
			if i == 0 {
				op = wire.OpText
			}
			frames = append(frames, pf{wire.Header{Fin: i == len(s)-1, Op: op}, s[i : i+1]})
		}
		if len(s) > 1 {
			add("6.2 per-byte fragments "+qname(s), want, append(frames, close1000)...)
		}
	}
	// 7.x close.
	add("7.1 close without payload", []string{"close:"}, fin(wire.OpClose, ""))
	add("7.2 close 1-byte payload", []string{"close:1002"}, fin(wire.OpClose, "\x03"))
	add("7.3 close with 123-byte reason", []string{"close:1000"}, fin(wire.OpClose, "\x03\xe8"+strings.Repeat("*", 123)))
	add("7.4 close with 124-byte reason", []string{"close:1002"}, fin(wire.OpClose, "\x03\xe8"+strings.Repeat("*", 124)))
	add("7.5 close with invalid UTF-8 reason", []string{"close:1007"}, fin(wire.OpClose, "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))
	add("7.6 text after close is not read", []string{"close:1000"}, close1000, fin(wire.OpText, hello))
	add("7.7 ping after close is not answered", []string{"close:1000"}, close1000, fin(wire.OpPing, hello))
	for _, code := range []wire.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		add("7.8 valid close code "+itoa(int(code)), []string{"close:" + itoa(int(code))},
			fin(wire.OpClose, string(wire.AppendClose(nil, code, "reason"))))
		cs[len(cs)-1].echo = true
	}
	for _, code := range []wire.CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		add("7.9 invalid close code "+itoa(int(code)), []string{"close:1002"},
			fin(wire.OpClose, string([]byte{byte(code >> 8), byte(code)})))
	}
	// 9.x limits: lengths that cannot be valid.
	cs = append(cs, conformanceCase{name: "9.1 64-bit length with the top bit set",
		raw: frameBytes("1 000 0010 | 0 1111111 | x:8000000000000000"), expect: []string{"close:1002"}})
	return cs
}

// utf8Cases are sequences of Autobahn 6.x and of Markus Kuhn's UTF-8
// decoder stress test: boundaries, overlongs, surrogates, truncations.
var utf8Cases = []string{
	"", "Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf",
	"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
	"κόσμε\xed\xa0\x80edited", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
	"\x80", "\xbf", "\x80\xbf\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xc1\xbf",
	"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	"\xfe", "\xff", "\xfe\xfe\xff\xff", "\xc0", "\xe0\x80", "\xdf", "\xef\xbf", "\xf4\x8f\xbf",
	"\xc2\x41", "\xe1\x80\x41", "a\xf0\x9f\x98", "\xf0\x9f\x98\x80\xf0\x9f",
}

func qname(s string) string {
	q := []byte{}
	for i := 0; i < len(s) && i < 24; i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '/' {
			q = append(q, c)
		} else {
			q = append(q, "\\x"+string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])...)
		}
	}
	return string(q)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestConformance runs each case against an echo endpoint in both roles
// over a loopback TCP connection; short cases also with the peer's bytes
// chopped into 7-byte writes, so frames arrive in pieces (Autobahn runs
// its cases that way too).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, role := range roles {
		for _, tc := range conformanceCases() {
			in := append(encode(role, tc.send...), tc.raw...)
			for _, chop := range []int{0, 7} {
				name := role.String() + "/" + tc.name
				if chop > 0 {
					if len(in) > 2048 {
						continue
					}
					name = role.String() + "/chopped/" + tc.name
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					runConformance(t, role, tc, in, chop)
				})
			}
		}
	}
}

func runConformance(t *testing.T, role wire.Role, tc conformanceCase, in []byte, chop int) {
	ours, peer := tcpPair(t)
	c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{Role: role})
	done := make(chan error, 1)
	go func() {
		err := echoAgent(c)
		lingeringClose(ours)
		done <- err
	}()
	go func() {
		if chop == 0 {
			peer.Write(in)
			return
		}
		for rest := in; len(rest) > 0; {
			n := min(chop, len(rest))
			if _, err := peer.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()
	got := readFrames(t, peer, role)
	agentErr := <-done
	if !slices.Equal(got, tc.expect) {
		t.Fatalf("peer received %q, want %q (agent ended with %v)", got, tc.expect, agentErr)
	}
	// A close code other than 1000 or an empty close means the
	// agent failed the connection with a *ProtocolError.
	last := tc.expect[len(tc.expect)-1]
	var pe *wire.ProtocolError
	switch {
	case !tc.echo && (last == "close:1002" || last == "close:1007" || last == "close:1009"):
		if !errors.As(agentErr, &pe) || "close:"+itoa(int(pe.Code)) != last {
			t.Fatalf("agent ended with %v, want a *ProtocolError for %s", agentErr, last)
		}
	default:
		if agentErr != nil && !errors.Is(agentErr, io.EOF) {
			t.Fatalf("agent ended with %v, want a clean close", agentErr)
		}
	}
}
