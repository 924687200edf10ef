package cmd_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
)

// TestServeGolden sends each raw request of testdata/serve/*.http to
// `serve -p chat --deflate` and compares the log with
// testdata/serve/NAME.log (and, with --color always, NAME.color.log, ESC
// shown as \e). After a 101 the client sends "hello" and a close frame.
// Ephemeral ports and durations are replaced by PORT and Xms. Run with -update to
// rewrite the golden files.
func TestServeGolden(t *testing.T) {
	requests, err := filepath.Glob(filepath.Join("testdata", "serve", "*.http"))
	if err != nil || len(requests) == 0 {
		t.Fatalf("no requests in testdata/serve: %v", err)
	}
	for _, path := range requests {
		name := strings.TrimSuffix(filepath.Base(path), ".http")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, color := range []bool{false, true} {
			golden := filepath.Join("testdata", "serve", name+".log")
			args := []string{"-p", "chat", "--deflate", "--color", "never"}
			if color {
				golden = filepath.Join("testdata", "serve", name+".color.log")
				args[4] = "always"
			}
			t.Run(filepath.Base(golden), func(t *testing.T) {
				srv := startServe(t, args...)
				goldenExchange(t, srv.addr, raw)
				srv.log.waitFor(t, `#1 \S* ?\* Closed`, serveWait)
				if code := srv.stop(); code != 0 {
					t.Fatalf("serve exit %d", code)
				}
				got := normaliseServeLog(srv.log.String())
				wstest.Golden(t, golden, []byte(got))
			})
		}
	}
}

// goldenExchange sends raw; after a 101 it sends a text message and a
// close frame, then reads until the server closes.
func goldenExchange(t *testing.T, addr string, raw []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, serveWait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(serveWait))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 12)
	if _, err := io.ReadFull(c, first); err != nil {
		t.Fatalf("read status line: %v", err)
	}
	if bytes.HasPrefix(first, []byte("HTTP/1.1 101")) {
		c.Write(append(clientFrame(0x81, []byte("hello")), clientFrame(0x88, []byte{0x03, 0xe8})...))
	}
	io.Copy(io.Discard, c)
}

var (
	portRx     = regexp.MustCompile(`(127\.0\.0\.1):\d{5}\b`)
	durationRx = regexp.MustCompile(`Closed after [0-9.]+m?s`)
)

func normaliseServeLog(s string) string {
	s = portRx.ReplaceAllString(s, "$1:PORT")
	s = durationRx.ReplaceAllString(s, "Closed after Xms")
	return strings.ReplaceAll(s, "\x1b", `\e`)
}
