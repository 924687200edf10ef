package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

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
