package cmd_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/cmd"
)

// BenchmarkServeCloseAfterEcho measures how soon `serve -q` answers a
// close frame sent right after an 8 MiB binary message came back
// (Autobahn case 9.2.5 allows 1 s): nothing is shown under -q, so nothing
// may be formatted and the close reply must not wait behind a hex dump.
// close-ns is the time from sending the close to reading the reply.
func BenchmarkServeCloseAfterEcho(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	lc := &listenCatcher{url: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- cmd.MainContext(ctx, []string{"wsdbg", "serve", "-q", "--listen", "127.0.0.1:0"}, &cmd.IO{Out: lc, Err: io.Discard})
	}()
	defer func() { cancel(); <-done }()
	var url string
	select {
	case url = <-lc.url:
	case <-time.After(serveWait):
		b.Fatal("serve did not listen")
	}
	msg := make([]byte, 8<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	var closing time.Duration
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			b.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || len(got) != len(msg) {
			b.Fatalf("echo: %d bytes, %v", len(got), err)
		}
		start := time.Now()
		if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(serveWait)); err != nil {
			b.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(serveWait))
		_, _, err = c.ReadMessage()
		closing += time.Since(start)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1000 {
			b.Fatalf("after close: %v, want the close 1000 echoed", err)
		}
		c.Close()
	}
	b.ReportMetric(float64(closing.Nanoseconds())/float64(b.N), "close-ns")
}
