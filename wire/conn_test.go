package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
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
// bytes allocates for what arrived. Not parallel: it measures the heap.
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
	if grown > 64<<10 {
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

// recordWriter collects writes.
type recordWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *recordWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *recordWriter) all() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Join(w.writes, nil)
}

// parseFrames decodes the frames in b.
func parseFrames(t *testing.T, b []byte) ([]wire.Header, []string) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	var hs []wire.Header
	var ps []string
	for {
		h, err := wire.ReadHeader(br)
		if err == io.EOF {
			return hs, ps
		}
		if err != nil {
			t.Fatalf("parse written frames: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("parse written frames: payload: %v", err)
		}
		if h.Masked {
			wire.Mask(h.Mask, 0, p)
		}
		hs = append(hs, h)
		ps = append(ps, string(p))
	}
}

func TestWriteMessageMasksWithFreshKeys(t *testing.T) {
	t.Parallel()
	var w recordWriter
	c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{})
	data := []byte("the caller's bytes")
	orig := bytes.Clone(data)
	for range 100 {
		if err := c.WriteMessage(wire.OpText, data); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(data, orig) {
		t.Fatalf("WriteMessage modified the caller's bytes: %q", data)
	}
	hs, ps := parseFrames(t, w.all())
	keys := map[[4]byte]bool{}
	for i, h := range hs {
		if !h.Masked || !h.Fin || h.Op != wire.OpText || ps[i] != string(orig) {
			t.Fatalf("frame %d = %v %q", i, h, ps[i])
		}
		keys[h.Mask] = true
	}
	if len(keys) < 99 {
		t.Fatalf("100 frames used only %d distinct masking keys", len(keys))
	}
}

func TestWriteMaskKeysFromRand(t *testing.T) {
	t.Parallel()
	var w recordWriter
	rnd := bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{Rand: rnd})
	c.WriteMessage(wire.OpBinary, []byte("a"))
	c.WriteControl(wire.OpPing, []byte("b"))
	err := c.WriteMessage(wire.OpBinary, []byte("c"))
	if err == nil || !strings.Contains(err.Error(), "read masking key") {
		t.Fatalf("third write with an exhausted key source: err = %v", err)
	}
	hs, _ := parseFrames(t, w.all())
	if len(hs) != 2 || hs[0].Mask != [4]byte{1, 2, 3, 4} || hs[1].Mask != [4]byte{5, 6, 7, 8} {
		t.Fatalf("frames = %v, want keys 01020304 and 05060708", hs)
	}
}

func TestWriteFragmented(t *testing.T) {
	t.Parallel()
	cases := []struct {
		data  string
		n     int
		sizes []int
	}{
		{"abcdefgh", 3, []int{2, 3, 3}},
		{"abcdefgh", 1, []int{8}},
		{"abcdefgh", 0, []int{8}},
		{"ab", 4, []int{0, 1, 0, 1}},
		{"", 2, []int{0, 0}},
	}
	for _, role := range roles {
		for _, tc := range cases {
			var w recordWriter
			c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{Role: role})
			if err := c.WriteFragmented(wire.OpText, []byte(tc.data), tc.n); err != nil {
				t.Fatal(err)
			}
			if len(w.writes) != 1 {
				t.Errorf("%v: %d writes, want the frames in one write", role, len(w.writes))
			}
			hs, ps := parseFrames(t, w.all())
			if len(hs) != len(tc.sizes) {
				t.Fatalf("%v %q in %d: %d frames, want %d", role, tc.data, tc.n, len(hs), len(tc.sizes))
			}
			for i, h := range hs {
				wantOp := wire.OpContinuation
				if i == 0 {
					wantOp = wire.OpText
				}
				if h.Op != wantOp || h.Fin != (i == len(hs)-1) || int(h.Length) != tc.sizes[i] || h.Masked != (role == wire.RoleClient) {
					t.Fatalf("%v %q in %d: frame %d = %v", role, tc.data, tc.n, i, h)
				}
			}
			if got := strings.Join(ps, ""); got != tc.data {
				t.Fatalf("payloads join to %q, want %q", got, tc.data)
			}
		}
	}
}

func TestWriteControlAndClose(t *testing.T) {
	t.Parallel()
	var w recordWriter
	c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{Role: wire.RoleServer})
	long := strings.Repeat("p", 126)
	if err := c.WriteControl(wire.OpPing, []byte(long)); err != nil {
		t.Fatal(err)
	}
	reason := strings.Repeat("é", 70) // 140 bytes
	if err := c.WriteClose(wire.CloseGoingAway, reason); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(wire.OpText, []byte("late")); err != wire.ErrCloseSent {
		t.Fatalf("WriteMessage after close = %v, want ErrCloseSent", err)
	}
	if err := c.WriteMessage(wire.OpPing, []byte("x")); err == nil {
		t.Fatal("WriteMessage accepted a control opcode")
	}
	hs, ps := parseFrames(t, w.all())
	if len(hs) != 2 || hs[0].Op != wire.OpPing || ps[0] != long {
		t.Fatalf("frames %v: want a 126-byte ping first, sent as asked", hs)
	}
	code, _, got, err := wire.ParseClose([]byte(ps[1]))
	if err != nil || code != 1001 || got != strings.Repeat("é", 61) || len(ps[1]) != 124 {
		t.Fatalf("close payload %d bytes: code %d reason %q err %v; want the reason cut to 122 bytes", len(ps[1]), code, got, err)
	}
}

func TestWriteFrame(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		role wire.Role
		h    wire.Header
		p    string
		wire string // "" when the key is random
	}{
		{"reserved everything", wire.RoleServer, wire.Header{Fin: false, Rsv1: true, Rsv2: true, Rsv3: true, Op: 0x5}, "x",
			"0 111 0101 | 0 0000001 | 'x'"},
		{"unmasked client frame on purpose", wire.RoleClient, wire.Header{Fin: true, Op: wire.OpText}, "Hello",
			"1 000 0001 | 0 0000101 | 'Hello'"},
		{"masked with the given key", wire.RoleClient, wire.Header{Fin: true, Op: wire.OpText, Masked: true, Mask: rfcKey}, "Hello",
			"1 000 0001 | 1 0000101 | x:37fa213d | x:7f9f4d5158"},
		{"masked server frame, zero key kept", wire.RoleServer, wire.Header{Fin: true, Op: wire.OpText, Masked: true}, "ab",
			"1 000 0001 | 1 0000010 | x:00000000 | 'ab'"},
		{"non-minimal length", wire.RoleServer, wire.Header{Fin: true, Op: wire.OpBinary, NonMinimal: true}, "abc",
			"1 000 0010 | 0 1111110 | x:0003 | 'abc'"},
		{"declared length replaced by the payload's", wire.RoleServer, wire.Header{Fin: true, Op: wire.OpPong, Length: 99}, "",
			"1 000 1010 | 0 0000000"},
		{"client masked with zero key gets a fresh key", wire.RoleClient, wire.Header{Fin: true, Op: wire.OpBinary, Masked: true}, "abcd", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w recordWriter
			c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{Role: tc.role, Rand: bytes.NewReader([]byte{9, 8, 7, 6})})
			payload := []byte(tc.p)
			if err := c.WriteFrame(tc.h, payload); err != nil {
				t.Fatal(err)
			}
			if string(payload) != tc.p {
				t.Fatalf("WriteFrame modified the payload: %q", payload)
			}
			if tc.wire != "" {
				if got, want := w.all(), frameBytes(tc.wire); !bytes.Equal(got, want) {
					t.Fatalf("wrote %x, want %x", got, want)
				}
				return
			}
			hs, ps := parseFrames(t, w.all())
			if len(hs) != 1 || hs[0].Mask != [4]byte{9, 8, 7, 6} || ps[0] != tc.p {
				t.Fatalf("frames %v %q, want key 09080706", hs, ps)
			}
		})
	}
}

func TestQueueFlushAndRaw(t *testing.T) {
	t.Parallel()
	var w recordWriter
	c := wire.NewConn(bufio.NewReader(strings.NewReader("")), &w, wire.Config{Role: wire.RoleServer})
	c.QueueMessage(wire.OpText, []byte("one"))
	data := []byte("two")
	c.QueueMessage(wire.OpBinary, data)
	copy(data, "XXX") // the queued frame must not change
	if len(w.writes) != 0 {
		t.Fatalf("QueueMessage wrote before Flush: %q", w.writes)
	}
	if err := c.WriteRaw([]byte("raw")); err != nil {
		t.Fatal(err)
	}
	want := append(encode(wire.RoleClient, fin(wire.OpText, "one"), fin(wire.OpBinary, "two")), "raw"...)
	if got := w.all(); !bytes.Equal(got, want) {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	// A large queue flushes by itself.
	w.writes = nil
	c.QueueMessage(wire.OpBinary, make([]byte, 70000))
	if len(w.writes) != 1 {
		t.Fatalf("queueing 70000 bytes made %d writes, want 1", len(w.writes))
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestWriteErrorIsSticky(t *testing.T) {
	t.Parallel()
	w := &failWriter{}
	c := wire.NewConn(bufio.NewReader(strings.NewReader("")), w, wire.Config{})
	err1 := c.WriteMessage(wire.OpText, []byte("a"))
	err2 := c.WriteControl(wire.OpPing, nil)
	if err1 == nil || err2 != err1 || w.n != 1 || !strings.Contains(err1.Error(), "write frames: broken pipe") {
		t.Fatalf("errors %v, %v after %d writes; want the first error repeated without writing again", err1, err2, w.n)
	}
}

func TestOnFrame(t *testing.T) {
	t.Parallel()
	ours, peer := tcpPair(t)
	var got []string
	cfg := wire.Config{Role: wire.RoleClient, OnFrame: func(d wire.Direction, h wire.Header, p []byte) {
		got = append(got, fmt.Sprintf("%v %v fin=%v masked=%v %q", d, h.Op, h.Fin, h.Masked, p))
	}}
	c := wire.NewConn(bufio.NewReader(ours), ours, cfg)
	go peer.Write(encode(wire.RoleClient, frag(wire.OpText, "Hel"), fin(wire.OpPing, "?"), fin(wire.OpContinuation, "lo"), fin(0x3, "bad")))
	c.Read()
	c.Read()
	c.WriteFragmented(wire.OpBinary, []byte("abcd"), 2)
	_, err := c.Read()
	wantProtocolError(t, err, wire.CloseProtocolError, "reserved opcode 0x3")
	want := []string{
		`in text fin=false masked=false "Hel"`,
		`in ping fin=true masked=false "?"`,
		`in continuation fin=true masked=false "lo"`,
		`out binary fin=false masked=true "ab"`,
		`out continuation fin=true masked=true "cd"`,
		`in reserved(0x3) fin=true masked=false ""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("OnFrame saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestConcurrentWriters checks that writes from several goroutines never
// interleave inside a frame while another goroutine reads.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ours, peer := tcpPair(t)
	c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{Role: wire.RoleClient})
	const writers, each = 4, 100
	go peer.Write(encode(wire.RoleClient, fin(wire.OpPing, "1"), fin(wire.OpPing, "2"), close1000))
	readDone := make(chan error, 1)
	go func() {
		for {
			m, err := c.Read()
			if err != nil {
				readDone <- err
				return
			}
			if m.Op == wire.OpClose {
				readDone <- nil
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := bytes.Repeat([]byte{byte('a' + w)}, 100+i*37)
				var err error
				if i%2 == 0 {
					err = c.WriteMessage(wire.OpBinary, msg)
				} else {
					err = c.WriteFragmented(wire.OpBinary, msg, 3)
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.WriteClose(wire.CloseNormal, "")
	if err := <-readDone; err != nil {
		t.Fatalf("reader: %v", err)
	}
	pc := wire.NewConn(bufio.NewReader(peer), peer, wire.Config{Role: wire.RoleServer})
	counts := map[byte]int{}
	for {
		m, err := pc.Read()
		if err != nil {
			t.Fatalf("peer read after %v messages: %v", counts, err)
		}
		if m.Op == wire.OpClose {
			break
		}
		if len(m.Data) == 0 || !bytes.Equal(m.Data, bytes.Repeat(m.Data[:1], len(m.Data))) {
			t.Fatalf("message mixes writers: %q", m.Data[:min(len(m.Data), 40)])
		}
		counts[m.Data[0]]++
	}
	for w := range writers {
		if counts[byte('a'+w)] != each {
			t.Fatalf("messages per writer %v, want %d each", counts, each)
		}
	}
}

func TestCloseHandshake(t *testing.T) {
	t.Parallel()
	t.Run("we close first", func(t *testing.T) {
		t.Parallel()
		ours, peer := tcpPair(t)
		c := wire.NewConn(bufio.NewReader(ours), ours, wire.Config{Role: wire.RoleClient})
		peerDone := make(chan []string, 1)
		go func() {
			pc := wire.NewConn(bufio.NewReader(peer), peer, wire.Config{Role: wire.RoleServer})
			pc.WriteMessage(wire.OpText, []byte("in flight"))
			pc.WriteControl(wire.OpPing, nil)
			m, err := pc.Read()
			var seen []string
			if err == nil {
				seen = append(seen, describe(m.Op, []byte(wire.AppendClose(nil, m.CloseCode, m.CloseReason))))
			}
			pc.WriteClose(4000, "see you")
			peerDone <- seen
		}()
		var msgs []string
		ce, err := c.CloseHandshake(wire.CloseGoingAway, "bye", func(m wire.Message) { msgs = append(msgs, string(m.Data)) })
		if err != nil || ce == nil || ce.Code != 4000 || ce.Reason != "see you" || !ce.HasCode {
			t.Fatalf("CloseHandshake = %+v, %v", ce, err)
		}
		if len(msgs) != 1 || msgs[0] != "in flight" {
			t.Fatalf("onMessage saw %q", msgs)
		}
		if seen := <-peerDone; len(seen) != 1 || seen[0] != "close:1001:bye" {
			t.Fatalf("peer saw %q", seen)
		}
	})
	t.Run("peer closed first", func(t *testing.T) {
		t.Parallel()
		var w recordWriter
		c := wire.NewConn(bufio.NewReader(bytes.NewReader(encode(wire.RoleClient, fin(wire.OpClose, "\x03\xe9")))), &w, wire.Config{})
		if m, err := c.Read(); err != nil || m.Op != wire.OpClose {
			t.Fatalf("Read = %+v, %v", m, err)
		}
		ce, err := c.CloseHandshake(wire.CloseNormal, "", nil)
		if err != nil || ce.Code != 1001 {
			t.Fatalf("CloseHandshake = %+v, %v", ce, err)
		}
		hs, ps := parseFrames(t, w.all())
		if len(hs) != 1 || hs[0].Op != wire.OpClose || ps[0] != "\x03\xe8" {
			t.Fatalf("sent %v %q, want one close 1000", hs, ps)
		}
	})
	t.Run("connection drops", func(t *testing.T) {
		t.Parallel()
		c := wire.NewConn(bufio.NewReader(strings.NewReader("")), io.Discard, wire.Config{})
		if ce, err := c.CloseHandshake(wire.CloseNormal, "", nil); err != io.EOF || ce != nil {
			t.Fatalf("CloseHandshake = %v, %v; want io.EOF", ce, err)
		}
	})
}

