package cmd_test

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/wire"
)

// TestConnectLines100k pipes 100 000 lines through line mode to an echo
// server: every line arrives, in order, and every echo is printed.
func TestConnectLines100k(t *testing.T) {
	const n = 100_000
	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "line %06d\n", i)
	}
	want := in.String()
	servers := map[string]string{
		"wire":    handServer{serve: echoServe}.start(t),
		"gorilla": startGorilla(t, false, gorillaEcho),
	}
	for name, url := range servers {
		t.Run(name, func(t *testing.T) {
			// The echoes of 100 000 lines may still be coming when stdin
			// ends and the close goes out: on a loaded machine, under the
			// race detector, that takes longer than the default close
			// timeout, which is not what this test is about.
			r := run(t, strings.NewReader(want), "connect", "-q", "--close-timeout", "1m", url)
			if r.code != 0 || r.err != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.err)
			}
			if r.out != want {
				got := strings.Count(r.out, "\n")
				t.Fatalf("stdout has %d lines, want %d in order", got, n)
			}
		})
	}
}

// TestConnectLinesReachServerInOrder checks the server side: the lines
// arrive as text messages, complete and in order, before the close 1000.
func TestConnectLinesReachServerInOrder(t *testing.T) {
	const n = 100_000
	got := make(chan error, 1)
	url := handServer{serve: func(c *handConn) {
		msgs, cl, err := c.readUntilClose()
		if err != nil {
			got <- err
			return
		}
		_ = c.conn.WriteClose(1000, "")
		if cl.CloseCode != 1000 {
			got <- fmt.Errorf("close code %v, want 1000", cl.CloseCode)
			return
		}
		if len(msgs) != n {
			got <- fmt.Errorf("got %d messages, want %d", len(msgs), n)
			return
		}
		for i, m := range msgs {
			if m.Op != wire.OpText || string(m.Data) != strconv.Itoa(i) {
				got <- fmt.Errorf("message %d = %v %q", i, m.Op, m.Data)
				return
			}
		}
		got <- nil
	}}.start(t)
	pr, pw := io.Pipe()
	go func() {
		// Written in uneven chunks, as a producer would.
		var b []byte
		for i := range n {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, '\n')
			if len(b) > 3000+i%1000 {
				_, _ = pw.Write(b)
				b = b[:0]
			}
		}
		_, _ = pw.Write(b)
		pw.Close()
	}()
	r := run(t, pr, "connect", "-q", url)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestConnectServerClosesWhileInputFlows: stdin never ends; the server
// closes after 100 messages; connect exits 0 at once, and prints every
// message that came before the server's close.
func TestConnectServerClosesWhileInputFlows(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		for i := range 100 {
			m, err := c.read()
			if err != nil {
				return
			}
			_ = c.conn.QueueMessage(wire.OpText, []byte(fmt.Sprintf("%d:%s", i, m.Data)))
		}
		_ = c.conn.WriteClose(1000, "enough")
		for {
			if _, err := c.read(); err != nil {
				return
			}
		}
	}}.start(t)
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := fmt.Fprintf(pw, "in%d\n", i); err != nil {
				return
			}
		}
	}()
	r := run(t, pr, "connect", url)
	close(stop)
	pw.Close()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) != 100 {
		t.Fatalf("printed %d messages, want 100", len(lines))
	}
	for i, l := range lines {
		if l != fmt.Sprintf("%d:in%d", i, i) {
			t.Fatalf("line %d = %q", i, l)
		}
	}
	if !strings.Contains(r.err, `< close 1000 (normal closure) "enough"`) {
		t.Errorf("stderr lacks the server's close:\n%s", r.err)
	}
}

// TestConnectLateMessages: stdin ends first; messages the server sends
// after the client's close but before its own are still printed.
func TestConnectLateMessages(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		_, cl, err := c.readUntilClose()
		if err != nil {
			return
		}
		for i := range 50 {
			_ = c.conn.WriteMessage(wire.OpText, []byte(fmt.Sprintf("late %d", i)))
		}
		_ = c.conn.WriteClose(cl.CloseCode, "")
	}}.start(t)
	r := run(t, strings.NewReader("a\nb\n"), "connect", "-q", url)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var want strings.Builder
	for i := range 50 {
		fmt.Fprintf(&want, "late %d\n", i)
	}
	if r.out != want.String() {
		t.Errorf("stdout = %q", r.out)
	}
}

// TestConnectEcho: --echo mirrors text and binary, fragmented or not,
// answers pings, replies to the close with its code, and reads no stdin.
func TestConnectEcho(t *testing.T) {
	type result struct {
		msgs  []wire.Message
		pongs []string
		close wire.Message
	}
	res := make(chan result, 1)
	url := handServer{serve: func(c *handConn) {
		var r result
		_ = c.conn.WriteMessage(wire.OpText, []byte("one"))
		_ = c.conn.WriteMessage(wire.OpBinary, []byte{0, 0xff})
		_ = c.conn.WriteControl(wire.OpPing, []byte("pp"))
		_ = c.conn.WriteFragmented(wire.OpText, []byte("fragmented ✓"), 4)
		_ = c.conn.WriteMessage(wire.OpText, nil)
		for len(r.msgs) < 4 {
			m, err := c.read()
			if err != nil {
				break
			}
			if m.Op == wire.OpPong {
				r.pongs = append(r.pongs, string(m.Data))
			} else {
				r.msgs = append(r.msgs, m)
			}
		}
		_ = c.conn.WriteClose(4321, "custom")
		r.close, _ = c.read()
		res <- r
	}}.start(t)
	stdin := &countingStdin{}
	o, out, errb := sessionIO(stdin, false)
	code := runWsdbg(t, o, "connect", "--echo", url)
	if code != 8 {
		t.Errorf("exit %d, want 8 for close 4321; stderr %s", code, errb.String())
	}
	r := <-res
	want := []struct {
		op   wire.Opcode
		data string
	}{{wire.OpText, "one"}, {wire.OpBinary, "\x00\xff"}, {wire.OpText, "fragmented ✓"}, {wire.OpText, ""}}
	if len(r.msgs) != len(want) {
		t.Fatalf("echoes = %+v", r.msgs)
	}
	for i, w := range want {
		if r.msgs[i].Op != w.op || string(r.msgs[i].Data) != w.data {
			t.Errorf("echo %d = %v %q, want %v %q", i, r.msgs[i].Op, r.msgs[i].Data, w.op, w.data)
		}
	}
	if strings.Join(r.pongs, ",") != "pp" {
		t.Errorf("pongs = %q", r.pongs)
	}
	if r.close.Op != wire.OpClose || r.close.CloseCode != 4321 {
		t.Errorf("close reply = %+v", r.close)
	}
	if stdin.reads > 0 {
		t.Errorf("--echo read stdin %d times", stdin.reads)
	}
	if out.String() != "" {
		t.Errorf("--echo printed messages without -v: %q", out.String())
	}
}

type countingStdin struct{ reads int }

func (c *countingStdin) Read(p []byte) (int, error) { c.reads++; return 0, io.EOF }

// TestConnectEchoGorilla drives --echo from gorilla, lock-step, many
// messages, compressed.
func TestConnectEchoGorilla(t *testing.T) {
	errs := make(chan error, 1)
	url := startGorilla(t, true, func(c *websocket.Conn) {
		errs <- func() error {
			for i := range 300 {
				op := websocket.TextMessage
				msg := []byte(strings.Repeat(strconv.Itoa(i), i))
				if i%3 == 0 {
					op = websocket.BinaryMessage
				}
				if err := c.WriteMessage(op, msg); err != nil {
					return err
				}
				gotOp, got, err := c.ReadMessage()
				if err != nil {
					return err
				}
				if gotOp != op || !bytes.Equal(got, msg) {
					return fmt.Errorf("echo %d = %d %q", i, gotOp, got)
				}
			}
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
			_, _, err := c.ReadMessage()
			if !websocket.IsCloseError(err, 1000) {
				return fmt.Errorf("after close: %v", err)
			}
			return nil
		}()
	})
	r := run(t, nil, "connect", "--echo", "--deflate", "-q", url)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// TestConnectJSONLines: line mode with --json prints message events both
// ways and the closes.
func TestConnectJSONLines(t *testing.T) {
	url := handServer{serve: echoServe}.start(t)
	r := run(t, strings.NewReader("a\nb\n"), "connect", "--json", url)
	if r.code != 0 || r.err != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	var seq []string
	for _, e := range parseEvents(t, r.out) {
		s := e.Event
		if e.Dir != "" {
			s += " " + e.Dir
		}
		if e.Data != nil && e.Event == "message" {
			s += " " + *e.Data
		}
		seq = append(seq, s)
	}
	got := strings.Join(seq, "|")
	// The echoes may arrive before or after b is sent, and before or
	// after our close: they are printed in any case.
	pos := func(s string) int { return strings.Index(got, s) }
	if !strings.HasPrefix(got, "handshake|message out a|") || !strings.HasSuffix(got, "|close in") ||
		pos("message out b") > pos("close out") || pos("message in a") > pos("message in b") ||
		pos("message in a") < 0 || strings.Count(got, "message") != 4 {
		t.Errorf("events: %s", got)
	}
}

// TestConnectPingOptions covers --ping-interval, --no-auto-pong and
// --timestamps.
func TestConnectPingOptions(t *testing.T) {
	type seen struct {
		pings, pongs int
	}
	start := func(t *testing.T) (string, chan seen) {
		res := make(chan seen, 1)
		url := handServer{serve: func(c *handConn) {
			var s seen
			_ = c.conn.WriteControl(wire.OpPing, []byte("srv"))
			for {
				m, err := c.read()
				if err != nil {
					break
				}
				switch m.Op {
				case wire.OpPing:
					s.pings++
					if s.pings == 3 {
						_ = c.conn.WriteClose(1000, "")
					}
				case wire.OpPong:
					s.pongs++
				case wire.OpClose:
					_ = c.conn.WriteClose(1000, "")
				}
			}
			res <- s
		}}.start(t)
		return url, res
	}
	t.Run("ping-interval", func(t *testing.T) {
		url, res := start(t)
		pr, pw := io.Pipe()
		defer pw.Close()
		r := run(t, pr, "connect", "--ping-interval", "20ms", "--timestamps", url)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		s := <-res
		if s.pings != 3 || s.pongs != 1 {
			t.Errorf("server saw %d pings, %d pongs; want 3 and 1", s.pings, s.pongs)
		}
		stamped := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} > ping$`)
		if n := len(stamped.FindAllString(r.err, -1)); n != 3 {
			t.Errorf("%d timestamped ping lines, want 3:\n%s", n, r.err)
		}
	})
	t.Run("no-auto-pong", func(t *testing.T) {
		url, res := start(t)
		pr, pw := io.Pipe()
		go func() {
			time.Sleep(100 * time.Millisecond)
			pw.Close()
		}()
		r := run(t, pr, "connect", "--no-auto-pong", url)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		if s := <-res; s.pongs != 0 {
			t.Errorf("server got %d pongs with --no-auto-pong", s.pongs)
		}
		if strings.Contains(r.err, "> pong") {
			t.Errorf("a pong was printed:\n%s", r.err)
		}
	})
}

// TestConnectCloseTimeout: the server never answers the close; connect
// gives up after --close-timeout and says so.
func TestConnectCloseTimeout(t *testing.T) {
	url := handServer{serve: func(c *handConn) {
		_, _, _ = c.readUntilClose()
		time.Sleep(time.Second)
	}}.start(t)
	r := run(t, strings.NewReader("x\n"), "connect", "--close-timeout", "100ms", url)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(r.err, "no close frame from the server within 100ms (--close-timeout)") {
		t.Errorf("stderr:\n%s", r.err)
	}
}

// TestConnectMaxMessageSize: a decompression bomb is refused with 1009
// without inflating it in memory, and exit 6.
func TestConnectDecompressionBomb(t *testing.T) {
	got := make(chan wire.Message, 1)
	url := handServer{deflate: true, serve: func(c *handConn) {
		// 256 MiB of zeros deflate to about 256 KiB.
		if err := c.conn.WriteMessage(wire.OpBinary, make([]byte, 256<<20)); err != nil {
			return
		}
		_, cl, _ := c.readUntilClose()
		got <- cl
	}}.start(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pr, pw := io.Pipe()
	defer pw.Close()
	r := run(t, pr, "connect", "--deflate", "--max-message-size", "1MiB", url)
	runtime.ReadMemStats(&after)
	if r.code != 6 {
		t.Fatalf("exit %d, want 6: %s", r.code, r.err)
	}
	if !strings.Contains(r.err, "size limit") {
		t.Errorf("stderr:\n%s", r.err)
	}
	select {
	case cl := <-got:
		if cl.CloseCode != wire.CloseMessageTooBig {
			t.Errorf("server got close %v, want 1009", cl.CloseCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no close")
	}
	// The server's 256 MiB message itself is allocated in this process;
	// the client must add little beyond it.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20+64<<20 {
		t.Errorf("allocated %d MiB while refusing a bomb with a 1 MiB limit", grew>>20)
	}
}

// TestConnectNoGoroutineLeak runs several sessions and checks that every
// goroutine they started has ended.
func TestConnectNoGoroutineLeak(t *testing.T) {
	url := handServer{serve: echoServe}.start(t)
	gorilla := startGorilla(t, false, gorillaEcho)
	// Warm up: the first runs start runtime and library goroutines.
	run(t, strings.NewReader("warm\n"), "connect", "-q", url)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 3 {
		run(t, strings.NewReader("a\nb\n"), "connect", "-q", "--ping-interval", "1ms", url)
		run(t, nil, "send", "-q", "--count", "1", gorilla, "x")
		run(t, nil, "send", "-q", "--count", "5", "--wait", "20ms", url, "x")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// +2: the servers' per-connection goroutines may still be unwinding
	// their last connection.
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestConnectJSONOnTerminal: --json keeps line mode when stdin is a
// terminal, so the REPL never mixes with NDJSON.
func TestConnectJSONOnTerminal(t *testing.T) {
	url := handServer{serve: echoServe}.start(t)
	o, out, errb := sessionIO(strings.NewReader("typed\n"), false)
	o.InTTY = true
	if code := runWsdbg(t, o, "connect", "--json", url); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	n := 0
	for _, e := range parseEvents(t, out.String()) {
		if e.Event == "message" && *e.Data == "typed" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("want the line sent and echoed as events, got:\n%s", out.String())
	}
}

// TestConnectStuckServerViolation: the server stops reading while stdin
// floods it, so the sender blocks on a full socket holding the write
// lock; then the server breaks the protocol. The close frame cannot be
// written, but the write deadline set when closing frees the session:
// exit 6, no hang (the server holds the connection open until wsdbg has
// exited, so only the deadline can end the run).
func TestConnectStuckServerViolation(t *testing.T) {
	release := make(chan struct{})
	url := handServer{serve: func(c *handConn) {
		time.Sleep(300 * time.Millisecond) // let the client fill the socket
		_, _ = c.nc.Write([]byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2})
		<-release
	}}.start(t)
	pr, pw := io.Pipe()
	go func() {
		line := []byte(strings.Repeat("z", 1023) + "\n")
		for {
			if _, err := pw.Write(line); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	r := run(t, pr, "connect", "-q", "--close-timeout", "200ms", url)
	close(release)
	if r.code != 6 || !strings.Contains(r.err, "masked") {
		t.Fatalf("exit %d, stderr %q; want 6 for the masked frame", r.code, r.err)
	}
}
