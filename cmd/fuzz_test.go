package cmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// Seed corpora live in testdata/fuzz/FuzzInspect and
// testdata/fuzz/FuzzSession; f.Add below adds the same kinds of answers.

// fuzzKey is the Sec-WebSocket-Key wsdbg sends with the counting random
// source of fuzzIO: the bytes 0, 1, …, 15.
const fuzzKey = "AAECAwQFBgcICQoLDA0ODw=="

// fuzzURL is where the fuzz targets connect: an IP address, so that no
// name is looked up; the dialer of fuzzIO never opens a socket.
const fuzzURL = "ws://127.0.0.1:9/"

// fuzz101 is a correct 101 for fuzzKey; extra fields go before the blank
// line.
func fuzz101(extra string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.AcceptKey(fuzzKey) + "\r\n" + extra + "\r\n"
}

// fuzzIO returns an IO whose dialer connects to a wstest.ScriptConn that
// plays script, with standard streams that claim to be terminals (so that
// everything printed must be escaped), a stepping clock and a counting
// random source.
func fuzzIO(script []byte, chunk int) (*cmd.IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	var mu sync.Mutex
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return &cmd.IO{
		In:        strings.NewReader(""),
		Out:       &out,
		Err:       &errb,
		OutTTY:    true,
		ErrTTY:    true,
		LookupEnv: func(string) (string, bool) { return "", false },
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(100 * time.Microsecond)
			return now
		},
		Rand: &inspectRand{},
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return wstest.NewScriptConn(script, chunk), nil
		},
	}, &out, &errb
}

// fuzzRun runs wsdbg with args against a server that answers script, and
// checks what every run must satisfy: it ends (well within its deadlines:
// the script ends with the peer's close), with an exit code of SPEC §7,
// with nothing on a terminal that is not escaped, and with valid JSON where
// JSON was asked for.
func fuzzRun(t *testing.T, script []byte, chunk int, jsonOut bool, args ...string) {
	t.Helper()
	cmd.MainMu.Lock()
	defer cmd.MainMu.Unlock()
	o, out, errb := fuzzIO(script, chunk)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan int, 1)
	args = append([]string{"wsdbg"}, args...)
	go func() { done <- cmd.MainContext(ctx, args, o) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("wsdbg %q did not end within 10s against %q", args, script)
	}
	if !wstest.ExitCodes[code] {
		t.Fatalf("wsdbg %q: exit code %d is not one of SPEC §7", args, code)
	}
	if err := wstest.TerminalSafe(errb.Bytes()); err != nil {
		t.Fatalf("wsdbg %q, stderr: %v\n%s", args, err, errb.Bytes())
	}
	switch {
	case jsonOut && args[1] == "inspect":
		if !json.Valid(out.Bytes()) {
			t.Fatalf("wsdbg %q: stdout is not one JSON document:\n%s", args, out.Bytes())
		}
	case jsonOut:
		if err := wstest.JSONLines(out.Bytes()); err != nil {
			t.Fatalf("wsdbg %q, stdout: %v", args, err)
		}
	default:
		if err := wstest.TerminalSafe(out.Bytes()); err != nil {
			t.Fatalf("wsdbg %q, stdout: %v\n%s", args, err, out.Bytes())
		}
	}
}

// FuzzInspect plays any server answer (a response head and whatever
// follows it) into inspect, in text and JSON: diagnosis, the transcript,
// the body of a refusal and the close after a 101.
func FuzzInspect(f *testing.F) {
	for _, s := range []string{
		fuzz101(""),
		fuzz101("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n") + "\x81\x02hi",
		"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version:\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 8, 7\r\n\r\n",
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 35\r\n\r\nThis server speaks TLS: use wss://\n",
		"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n\x1b[31m\r\n0\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: ws://other.test/\x1b]0;x\x07\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\n<html>\xff\xfe\xc2\x9b</html>",
		"\x15\x03\x03\x00\x02\x02\x28",
		"\x00\x00\x12\x04\x00\x00\x00\x00\x00",
		"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n folded\nSec-WebSocket-Accept: x\n\n",
		"",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, script []byte, mode uint8) {
		args := []string{"inspect", "--color", "never", "--timeout", "5s", "-p", "chat", "--deflate"}
		jsonOut := mode&1 == 1
		if jsonOut {
			args = append(args, "--json")
		}
		fuzzRun(t, script, int(mode>>1)%64, jsonOut, append(args, fuzzURL)...)
	})
}

// FuzzSession plays a correct 101 followed by any frame bytes into send and
// connect --echo: the session's read path with every way of printing
// (text, hex dumps, NDJSON, -v frame lines), close handling included.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"\x81\x05hello\x88\x02\x03\xe8",
		"\x82\x04\x00\x1b\x9b\xff\x88\x00",
		"\x01\x03hel\x89\x02hi\x80\x02lo\x88\x02\x03\xe8",
		"\x81\x03\xff\xfe\xfd",
		"\x81\x7f\x40\x00\x00\x00\x00\x00\x00\x00",
		"\x83\x00",
		"\x89\x7e\x00\x7e" + strings.Repeat("a", 126),
		"\x88\x01\x03",
		"\x88\x04\x0f\xa0\x1b[",
		"\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00",
		"\x81\x85\x01\x02\x03\x04iiiii",
		"\x80\x00",
		"",
	} {
		for m := range uint8(5) {
			f.Add([]byte(s), m)
		}
	}
	f.Fuzz(func(t *testing.T, frames []byte, mode uint8) {
		head := fuzz101("")
		if mode&0x80 != 0 {
			head = fuzz101("Sec-WebSocket-Extensions: permessage-deflate\r\n")
		}
		script := append([]byte(head), frames...)
		base := []string{"--color", "never", "--timeout", "5s", "--close-timeout", "50ms", "--deflate", "--max-message-size", "64k"}
		var args []string
		jsonOut := false
		switch mode & 0x7f % 5 {
		case 0:
			args = append(append([]string{"send"}, base...), fuzzURL, "hi")
		case 1:
			args = append(append([]string{"send", "-v", "--binary-out", "hex"}, base...), fuzzURL, "hi")
		case 2:
			args, jsonOut = append(append([]string{"send", "--json"}, base...), fuzzURL, "hi"), true
		case 3:
			args = append(append([]string{"send", "--binary-out", "base64", "--count", "2", "--wait", "100ms"}, base...), fuzzURL, "hi")
		case 4:
			args = append(append([]string{"connect", "--echo", "-v"}, base...), fuzzURL)
		}
		fuzzRun(t, script, int(mode>>4)%8*7, jsonOut, args...)
	})
}
