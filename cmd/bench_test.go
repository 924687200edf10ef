package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/wire"
)

// The session benchmarks run wsdbg's real code path — cmd.Main, the
// handshake, the session, the printer — against a loopback server that
// does as little as it can, so the figures are the client's. Run them with
//
//	go test -run='^$' -bench=Session -benchmem ./cmd/
//
// Each iteration is one whole run of wsdbg; the per-message figures are
// reported as extra metrics.

// benchServer accepts connections on 127.0.0.1, answers the handshake and
// runs serve on the raw connection (br holds what followed the request).
func benchServer(b *testing.B, serve func(nc net.Conn, br *bufio.Reader)) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	wstest.Serve(b, ln, func(nc net.Conn) {
		defer nc.Close()
		br := bufio.NewReaderSize(nc, 64<<10)
		req, err := handshake.ReadRequest(br)
		if err != nil {
			return
		}
		key, _ := req.Get("Sec-WebSocket-Key")
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", handshake.AcceptKey(key))
		serve(nc, br)
	})
	return "ws://" + ln.Addr().String() + "/bench"
}

// frame returns an unmasked server frame.
func frame(op wire.Opcode, payload []byte) []byte {
	return append(wire.AppendHeader(nil, wire.Header{Fin: true, Op: op, Length: int64(len(payload))}), payload...)
}

// awaitClose reads the client's frames until its close and answers it.
func awaitClose(nc net.Conn, br *bufio.Reader) {
	c := wire.NewConn(br, nc, wire.Config{Role: wire.RoleServer})
	for {
		m, err := c.Read()
		if err != nil {
			return
		}
		if m.Op == wire.OpClose {
			_ = c.WriteClose(m.CloseCode, "")
			return
		}
	}
}

// blockingStdin never yields a line and ends when closed.
func blockingStdin() (io.Reader, func()) {
	pr, pw := io.Pipe()
	return pr, func() { pw.Close() }
}

// runBench runs wsdbg once with stdin in and stdout into io.Discard.
func runBench(b *testing.B, in io.Reader, args ...string) {
	var errb wstest.Buffer
	o := &cmd.IO{In: in, Out: io.Discard, Err: &errb}
	if code := cmd.MainContext(context.Background(), append([]string{"wsdbg"}, args...), o); code != 0 {
		b.Fatalf("wsdbg %q exited %d: %s", args, code, errb.String())
	}
}

// benchReceive: the server sends n messages of size bytes, then closes.
func benchReceive(b *testing.B, n, size int) {
	payload := bytes.Repeat([]byte("x"), size)
	one := frame(wire.OpText, payload)
	// Whole frames in writes of about 256 KiB.
	per := max(1, (256<<10)/len(one))
	block := bytes.Repeat(one, per)
	url := benchServer(b, func(nc net.Conn, br *bufio.Reader) {
		for sent := 0; sent < n; {
			k := min(per, n-sent)
			if _, err := nc.Write(block[:k*len(one)]); err != nil {
				return
			}
			sent += k
		}
		_, _ = nc.Write(frame(wire.OpClose, []byte{0x03, 0xe8}))
		awaitClose(nc, br)
	})
	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	for b.Loop() {
		in, done := blockingStdin()
		runBench(b, in, "connect", "-q", url)
		done()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}

func BenchmarkSessionReceive200kx1KiB(b *testing.B) { benchReceive(b, 200_000, 1<<10) }
func BenchmarkSessionReceive2000x1MiB(b *testing.B) { benchReceive(b, 2000, 1<<20) }

// BenchmarkSessionSend200kLines sends 200 000 stdin lines of 100 bytes;
// the server reads them (unmasking, checking UTF-8) and answers the close.
func BenchmarkSessionSend200kLines(b *testing.B) {
	const n = 200_000
	line := strings.Repeat("y", 99) + "\n"
	input := []byte(strings.Repeat(line, n))
	counts := make(chan int, 1)
	url := benchServer(b, func(nc net.Conn, br *bufio.Reader) {
		c := wire.NewConn(br, nc, wire.Config{Role: wire.RoleServer})
		got := 0
		for {
			m, err := c.Read()
			if err != nil {
				break
			}
			if m.Op == wire.OpClose {
				_ = c.WriteClose(m.CloseCode, "")
				break
			}
			got++
		}
		counts <- got
	})
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		runBench(b, bytes.NewReader(input), "connect", "-q", "--wait", "0", url)
		if got := <-counts; got != n {
			b.Fatalf("server got %d messages, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}

// BenchmarkSessionEchoRTT measures lock-step round trips through
// connect --echo: the server sends a 32-byte message and waits for the
// echo, 20 000 times; the median round trip is reported.
func BenchmarkSessionEchoRTT(b *testing.B) {
	const n = 20_000
	rtts := make(chan []time.Duration, 1)
	url := benchServer(b, func(nc net.Conn, br *bufio.Reader) {
		c := wire.NewConn(br, nc, wire.Config{Role: wire.RoleServer})
		msg := bytes.Repeat([]byte("e"), 32)
		d := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			if err := c.WriteMessage(wire.OpText, msg); err != nil {
				break
			}
			m, err := c.Read()
			if err != nil || !bytes.Equal(m.Data, msg) {
				break
			}
			d = append(d, time.Since(start))
		}
		_ = c.WriteClose(1000, "")
		_, _ = c.Read()
		rtts <- d
	})
	var all []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		runBench(b, nil, "connect", "--echo", "-q", url)
		d := <-rtts
		if len(d) != n {
			b.Fatalf("%d round trips, want %d", len(d), n)
		}
		all = append(all, d...)
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "median-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkSessionHandshakeClose is one connect: handshake, close 1000 at
// the end of an empty stdin, the server's close, exit.
func BenchmarkSessionHandshakeClose(b *testing.B) {
	url := benchServer(b, awaitClose)
	b.ReportAllocs()
	for b.Loop() {
		runBench(b, strings.NewReader(""), "connect", "-q", "--wait", "0", url)
	}
}
