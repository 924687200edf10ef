package wire_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

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
