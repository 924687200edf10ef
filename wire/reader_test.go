package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

func wantProtocolError(t *testing.T, err error, code wire.CloseCode, reason string) {
	t.Helper()
	var pe *wire.ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *ProtocolError with code %d", err, code)
	}
	if pe.Code != code || !strings.Contains(pe.Reason, reason) {
		t.Fatalf("err = %v, want code %d and a reason containing %q", err, code, reason)
	}
}

// TestUTF8FailFast checks that invalid text fails Read as soon as the
// offending bytes arrive (RFC 6455 §8.1): the peer sends only the part of
// the message up to the invalid bytes and then waits, so a Read that
// waited for the rest would time out instead.
func TestUTF8FailFast(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sent func(role wire.Role) []byte
		at   string
	}{
		{"first fragment invalid, final fragment never sent", func(r wire.Role) []byte {
			return encode(r, frag(wire.OpText, "Hello-\xed\xa0\x80-world"))
		}, `"\xed\xa0\x80" at byte 6`},
		{"mid-frame: 10 of 1000 declared bytes sent", func(r wire.Role) []byte {
			b := encode(r, fin(wire.OpText, "abcde\xc0\xaf"+strings.Repeat("x", 993)))
			return b[:len(b)-1000+10]
		}, `"\xc0\xaf" at byte 5`},
		{"sequence cut across fragments, second fragment partial", func(r wire.Role) []byte {
			b := encode(r, frag(wire.OpText, "abc\xed"), fin(wire.OpContinuation, "\xa0\x80"+strings.Repeat("y", 500)))
			return b[:len(b)-500]
		}, `at byte 3`},
		{"impossible prefix at the end of the first fragment", func(r wire.Role) []byte {
			return encode(r, frag(wire.OpText, "abc\xf4\x90"))
		}, `"\xf4\x90" at byte 3`},
		{"lone continuation byte in the second fragment", func(r wire.Role) []byte {
			return encode(r, frag(wire.OpText, "κόσμε"), frag(wire.OpContinuation, "\x80"))
		}, `"\x80" at byte 10`},
	}
	for _, role := range roles {
		for _, tc := range cases {
			t.Run(role.String()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ours, peer := pipePair(t)
				go peer.Write(tc.sent(role))
				c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{Role: role})
				_, err := c.Read()
				wantProtocolError(t, err, wire.CloseInvalidPayload, tc.at)
				if _, again := c.Read(); again != err {
					t.Fatalf("second Read = %v, want the same error %v", again, err)
				}
			})
		}
	}
}

// TestControlBetweenFragments checks that Read returns control frames in
// order while keeping the partial message.
func TestControlBetweenFragments(t *testing.T) {
	t.Parallel()
	for _, role := range roles {
		in := encode(role, frag(wire.OpBinary, "one,"), fin(wire.OpPing, "p1"), frag(wire.OpContinuation, "two,"),
			fin(wire.OpPong, "p2"), fin(wire.OpContinuation, "three"), fin(wire.OpText, "next"))
		c := wire.NewConn(bufio.NewReader(bytes.NewReader(in)), io.Discard, wire.Config{Role: role})
		want := []struct {
			op     wire.Opcode
			data   string
			frames int
		}{{wire.OpPing, "p1", 1}, {wire.OpPong, "p2", 1}, {wire.OpBinary, "one,two,three", 3}, {wire.OpText, "next", 1}}
		for i, w := range want {
			m, err := c.Read()
			if err != nil {
				t.Fatalf("%v: Read %d: %v", role, i, err)
			}
			if m.Op != w.op || string(m.Data) != w.data || m.Frames != w.frames {
				t.Fatalf("%v: Read %d = %v %q (%d frames), want %v %q (%d frames)", role, i, m.Op, m.Data, m.Frames, w.op, w.data, w.frames)
			}
		}
		if _, err := c.Read(); err != io.EOF {
			t.Fatalf("%v: Read at the end = %v, want io.EOF", role, err)
		}
	}
}

func TestReadEndings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"EOF inside a fragmented message", encode(wire.RoleClient, frag(wire.OpText, "abc")), io.ErrUnexpectedEOF},
		{"EOF inside a payload", encode(wire.RoleClient, fin(wire.OpText, "abcdef"))[:5], io.ErrUnexpectedEOF},
		{"EOF inside a control payload", encode(wire.RoleClient, fin(wire.OpPing, "abcdef"))[:5], io.ErrUnexpectedEOF},
		{"EOF inside a header", []byte{0x81}, io.ErrUnexpectedEOF},
		{"read after close", encode(wire.RoleClient, close1000, fin(wire.OpText, "ignored")), io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := wire.NewConn(bufio.NewReader(bytes.NewReader(tc.in)), io.Discard, wire.Config{})
			var err error
			for range 3 {
				var m wire.Message
				if m, err = c.Read(); err != nil {
					break
				}
				if m.Op == wire.OpClose && (m.CloseCode != 1000 || !m.HasCode) {
					t.Fatalf("close message = %+v", m)
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEarlyData checks that frames already buffered with the handshake
// response are read first.
func TestEarlyData(t *testing.T) {
	t.Parallel()
	ours, peer := tcpPair(t)
	early := encode(wire.RoleClient, fin(wire.OpText, "early"))
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(early), ours))
	go peer.Write(encode(wire.RoleClient, fin(wire.OpText, "late")))
	c := wire.NewConn(br, ours, wire.Config{})
	for _, want := range []string{"early", "late"} {
		m, err := c.Read()
		if err != nil || string(m.Data) != want {
			t.Fatalf("Read = %q, %v; want %q", m.Data, err, want)
		}
	}
}

// TestTimeoutResumes checks that a read deadline in the middle of a frame
// does not lose data: the next Read continues the frame.
func TestTimeoutResumes(t *testing.T) {
	t.Parallel()
	ours, peer := pipePair(t)
	msg := encode(wire.RoleClient, frag(wire.OpText, "κόσ"), fin(wire.OpContinuation, "με and more"))
	c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{})
	cuts := []int{1, 3, 6, 9, len(msg)}
	prev := 0
	for _, cut := range cuts {
		go peer.Write(msg[prev:cut])
		prev = cut
		if cut == len(msg) {
			break
		}
		// Let the Read consume the piece, then time out waiting for more.
		ours.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("after %d bytes: Read = %v, want a deadline error", cut, err)
		}
	}
	ours.SetReadDeadline(time.Now().Add(testTimeout))
	m, err := c.Read()
	if err != nil || string(m.Data) != "κόσμε and more" || m.Frames != 2 {
		t.Fatalf("Read = %q (%d frames), %v", m.Data, m.Frames, err)
	}
}

// heapGrowth returns how many bytes f allocates.
func heapGrowth(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestDeclaredLengthDoesNotAllocate checks that a length the peer merely
// declares costs no memory: a frame announcing 2^62 bytes fails at once
// with 1009, and one announcing 60 MiB (under the limit) that delivers 100
// bytes costs at most the 1 MiB a declared length is trusted for. Not
// parallel: it measures the heap.
func TestDeclaredLengthDoesNotAllocate(t *testing.T) {
	huge := frameBytes("1 000 0010 | 0 1111111 | x:4000000000000000 | 'a'*100")
	var err error
	grown := heapGrowth(func() {
		c := wire.NewConn(bufio.NewReader(bytes.NewReader(huge)), io.Discard, wire.Config{})
		_, err = c.Read()
	})
	wantProtocolError(t, err, wire.CloseMessageTooBig, "exceeds the limit of 67108864 bytes")
	if grown > 64<<10 {
		t.Fatalf("a frame declaring 2^62 bytes allocated %d bytes", grown)
	}

	big := frameBytes("1 000 0010 | 0 1111111 | x:0000000003c00000 | 'a'*100")
	grown = heapGrowth(func() {
		c := wire.NewConn(bufio.NewReader(bytes.NewReader(big)), io.Discard, wire.Config{})
		_, err = c.Read()
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	if grown > 1<<20+64<<10 {
		t.Fatalf("a frame declaring 60 MiB and delivering 100 bytes allocated %d bytes", grown)
	}
}

func TestMaxMessageSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		frames []pf
		err    string // "" means the message is read
	}{
		{"exactly at the limit", []pf{fin(wire.OpBinary, strings.Repeat("a", 1000))}, ""},
		{"one over the limit", []pf{fin(wire.OpBinary, strings.Repeat("a", 1001))}, "binary message of at least 1001 bytes (frame 1 declares 1001) exceeds the limit of 1000 bytes"},
		{"fragments at the limit", []pf{frag(wire.OpText, strings.Repeat("a", 500)), fin(wire.OpContinuation, strings.Repeat("a", 500))}, ""},
		{"fragments over the limit", []pf{frag(wire.OpText, strings.Repeat("a", 600)), frag(wire.OpContinuation, strings.Repeat("a", 600)), fin(wire.OpContinuation, "")},
			"text message of at least 1200 bytes (frame 2 declares 600) exceeds the limit of 1000 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := wire.NewConn(bufio.NewReader(bytes.NewReader(encode(wire.RoleClient, tc.frames...))), io.Discard,
				wire.Config{MaxMessageSize: 1000})
			m, err := c.Read()
			if tc.err == "" {
				if err != nil || len(m.Data) != 1000 {
					t.Fatalf("Read = %d bytes, %v; want 1000 bytes", len(m.Data), err)
				}
				return
			}
			wantProtocolError(t, err, wire.CloseMessageTooBig, tc.err)
		})
	}
}
