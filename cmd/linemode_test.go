package cmd_test

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

// slowEchoServer answers each text message with itself, the first reply
// first after it, then one every gap, and drops the replies it has not
// sent once the client's close arrives, as python websockets and
// websocketd do. It records what it received.
type slowEchoServer struct {
	first    time.Duration
	gap      time.Duration
	mu       sync.Mutex
	received []string
	conns    atomic.Int32
}

func (ss *slowEchoServer) start(t *testing.T) string {
	return handServer{serve: func(c *handConn) {
		ss.conns.Add(1)
		msgs := make(chan wire.Message)
		go func() {
			defer close(msgs)
			for {
				m, err := c.read()
				if err != nil {
					return
				}
				msgs <- m
				if m.Op == wire.OpClose {
					return
				}
			}
		}()
		var queue [][]byte
		var due <-chan time.Time
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					return
				}
				switch m.Op {
				case wire.OpClose:
					_ = c.conn.WriteClose(m.CloseCode, "")
					for range msgs {
					}
					return
				case wire.OpText:
					ss.mu.Lock()
					ss.received = append(ss.received, string(m.Data))
					ss.mu.Unlock()
					queue = append(queue, m.Data)
					if due == nil {
						due = time.After(max(ss.first, ss.gap))
					}
				}
			case <-due:
				_ = c.conn.WriteMessage(wire.OpText, queue[0])
				queue, due = queue[1:], nil
				if len(queue) > 0 {
					due = time.After(ss.gap)
				}
			}
		}
	}}.start(t)
}

func (ss *slowEchoServer) got() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.received...)
}

// TestConnectWaitAtEOF: at the end of stdin line mode keeps reading until
// nothing has arrived for --wait (default 1s), so replies that keep coming
// are all printed, even when together they take longer than --wait; --wait
// 0 closes at once and the server, which drops what it has not sent,
// answers nothing (SPEC §1.4). The delays leave room for a loaded machine.
func TestConnectWaitAtEOF(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	for _, tt := range []struct {
		name       string
		first, gap time.Duration
		args       []string
		out        string
	}{
		{"default", 200 * time.Millisecond, 200 * time.Millisecond, nil, "1\n2\n3\n"},
		{"3s", 1200 * time.Millisecond, 1200 * time.Millisecond, []string{"--wait", "3s"}, "1\n2\n3\n"},
		{"0", 2 * time.Second, time.Millisecond, []string{"--wait", "0"}, ""},
		{"500ms", 2 * time.Second, time.Millisecond, []string{"--wait", "500ms"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ss := &slowEchoServer{first: tt.first, gap: tt.gap}
			url := ss.start(t)
			args := append(append([]string{"connect", "-q"}, tt.args...), url)
			r := runProc(t, 30*time.Second, "1\n2\n3\n", bin, args...)
			if r.code != 0 || r.out != tt.out || r.err != "" {
				t.Errorf("seq 1 3 | wsdbg %s: exit %d, stdout %q, stderr %q; want 0, %q, nothing",
					strings.Join(args, " "), r.code, r.out, r.err, tt.out)
			}
			if got := strings.Join(ss.got(), ","); got != "1,2,3" {
				t.Errorf("server received %q, want 1,2,3", got)
			}
		})
	}
}

// TestConnectWaitInf: --wait inf listens after stdin until the server
// closes, however long that takes; the default second would have closed
// before the server's late message.
func TestConnectWaitInf(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		if _, err := c.read(); err != nil {
			return
		}
		timer := time.NewTimer(1500 * time.Millisecond)
		defer timer.Stop()
		closed := make(chan wire.Message, 1)
		go func() {
			_, cl, _ := c.readUntilClose()
			closed <- cl
		}()
		select {
		case <-timer.C:
			_ = c.conn.WriteMessage(wire.OpText, []byte("late"))
			_ = c.conn.WriteClose(wire.CloseNormal, "done")
			<-closed
		case cl := <-closed:
			_ = c.conn.WriteClose(cl.CloseCode, "")
		}
	}}.start(t)
	r := run(t, strings.NewReader("hi\n"), "connect", "-q", "--wait", "inf", url)
	if r.code != 0 || r.out != "late\n" || r.err != "" {
		t.Errorf("--wait inf: exit %d, stdout %q, stderr %q; want 0, \"late\\n\", nothing", r.code, r.out, r.err)
	}
	r = run(t, strings.NewReader("hi\n"), "connect", "-q", url)
	if r.code != 0 || r.out != "" || r.err != "" {
		t.Errorf("default --wait: exit %d, stdout %q, stderr %q; want 0 and nothing: the client closes after 1s", r.code, r.out, r.err)
	}
}

// TestConnectBadWait: a --wait that is not a duration, 0 or inf is a usage
// error that names the value and shows good ones; nothing is sent.
func TestConnectBadWait(t *testing.T) {
	ss := &slowEchoServer{gap: time.Millisecond}
	url := ss.start(t)
	for _, tt := range []struct{ value, want string }{
		{"5", "wsdbg: --wait 5: a duration needs a unit (ms, s, m, h); write --wait 5s, or --wait 0 to close at once, or --wait inf to listen until the server closes\n"},
		{"forever", `wsdbg: --wait forever: "forever" is not a duration; write it with a unit, e.g. --wait 2s or --wait 500ms, or --wait 0 to close at once, or --wait inf to listen until the server closes` + "\n"},
		{"-1s", "wsdbg: --wait -1s: the wait cannot be negative; write e.g. --wait 2s, or --wait 0 to close at once, or --wait inf to listen until the server closes\n"},
	} {
		r := run(t, strings.NewReader("x\n"), "connect", "-q", "--wait", tt.value, url)
		if r.code != 2 || r.out != "" || r.err != tt.want {
			t.Errorf("--wait %s: exit %d, stdout %q, stderr %q; want 2 and %q", tt.value, r.code, r.out, r.err, tt.want)
		}
	}
	if n := ss.conns.Load(); n != 0 {
		t.Errorf("%d connections were upgraded for usage errors, want 0", n)
	}
}

// TestConnectMessageFlag: -m messages go out right after the handshake, in
// order, before stdin's lines; with --json each is an "out" message event.
func TestConnectMessageFlag(t *testing.T) {
	ss := &slowEchoServer{gap: 10 * time.Millisecond}
	url := ss.start(t)
	r := run(t, strings.NewReader("c\n"), "connect", "-q", "-m", "a", "--message", "b", url)
	if r.code != 0 || r.out != "a\nb\nc\n" || r.err != "" {
		t.Errorf("-m a --message b, stdin c: exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.out, r.err, "a\nb\nc\n")
	}
	if got := strings.Join(ss.got(), ","); got != "a,b,c" {
		t.Errorf("server received %q, want a,b,c in that order", got)
	}
	r = run(t, nil, "connect", "--json", "-m", "j", url)
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var ev struct{ Event, Dir, Data string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if ev.Event == "message" {
			dirs = append(dirs, ev.Dir+":"+ev.Data)
		}
	}
	if r.code != 0 || strings.Join(dirs, ",") != "out:j,in:j" {
		t.Errorf("--json -m j: exit %d, message directions %v, want an out then an in event with \"j\"; stdout:\n%s", r.code, dirs, r.out)
	}
}

// TestConnectMessageFlagUsage: -m with --echo, or -m with invalid UTF-8,
// is a usage error and nothing is sent.
func TestConnectMessageFlagUsage(t *testing.T) {
	ss := &slowEchoServer{gap: time.Millisecond}
	url := ss.start(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--echo", "-m", "x"}, "wsdbg: -m/--message cannot be combined with --echo, which only sends back what arrives; drop one of them\n"},
		{[]string{"-m", "ok", "-m", "bad\xff"}, "wsdbg: -m/--message 2 \"bad\\xff\" is not valid UTF-8, which a text message must be (RFC 6455 §5.6); use 'wsdbg send --binary' for binary data\n"},
	} {
		args := append(append([]string{"connect", "-q"}, tt.args...), url)
		r := run(t, nil, args...)
		if r.code != 2 || r.err != tt.want {
			t.Errorf("wsdbg %q: exit %d, stderr %q; want 2 and %q", args, r.code, r.err, tt.want)
		}
	}
	if n := ss.conns.Load(); n != 0 {
		t.Errorf("%d connections were upgraded for usage errors, want 0", n)
	}
}

// TestSendCountBounded: send --count 2 without --wait against a server
// that answers once and never closes waits 10s, not for ever (SPEC §1.3),
// then closes and exits 7 saying what was missing.
func TestSendCountBounded(t *testing.T) {
	t.Parallel()
	bin := wsdbgBinary(t)
	url := handServer{serve: func(c *handConn) {
		m, err := c.read()
		if err != nil {
			return
		}
		_ = c.conn.WriteMessage(wire.OpText, m.Data)
		if _, cl, err := c.readUntilClose(); err == nil {
			_ = c.conn.WriteClose(cl.CloseCode, "")
		}
	}}.start(t)
	start := time.Now()
	r := runProc(t, 30*time.Second, "", bin, "send", "-q", "--count", "2", url, "one")
	waited := time.Since(start)
	want := "wsdbg: expected 2 replies (--count), got 1 within 10s (the limit without --wait); raise --wait or check what the server sends\n"
	if r.code != 7 || r.out != "one\n" || r.err != want {
		t.Errorf("send --count 2: exit %d, stdout %q, stderr %q; want 7, \"one\\n\", %q", r.code, r.out, r.err, want)
	}
	if waited < 10*time.Second {
		t.Errorf("gave up after %v, before the 10s bound", waited)
	}
}
