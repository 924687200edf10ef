package cmd_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/wire"
)

// sessionRand is a deterministic random source (keys, masks): 0, 1, 2, ...
type sessionRand struct {
	mu sync.Mutex
	n  byte
}

func (r *sessionRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

var portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// TestSessionGolden compares the whole output of a scripted exchange —
// transcript, control and close lines on stderr, messages on stdout —
// with testdata/session, plain and colored. Run with -update to rewrite.
func TestSessionGolden(t *testing.T) {
	serve := func(c *handConn) {
		m, err := c.read()
		if err != nil {
			return
		}
		_ = c.conn.WriteControl(wire.OpPing, []byte("p"))
		_ = c.conn.WriteMessage(wire.OpText, append([]byte("re: "), m.Data...))
		_ = c.conn.WriteMessage(wire.OpText, []byte("\x1b[1mbold\x1b[0m"))
		_ = c.conn.WriteMessage(wire.OpBinary, []byte{0xde, 0xad, 0xbe, 0xef})
		_, cl, err := c.readUntilClose()
		if err == nil {
			_ = c.conn.WriteClose(cl.CloseCode, "bye")
		}
	}
	url := handServer{serve: serve}.start(t)
	for _, tt := range []struct {
		name string
		tty  bool
		args []string
	}{
		{"send", false, []string{"send", "--count", "3", url, "hello"}},
		{"send-tty", true, []string{"send", "--count", "3", url, "hello"}},
		{"send-base64", false, []string{"send", "--count", "3", "--binary-out", "base64", url, "hello"}},
	} {
		for _, color := range []string{"never", "always"} {
			t.Run(tt.name+"-"+color, func(t *testing.T) {
				o, out, errb := sessionIO(nil, tt.tty)
				o.ErrTTY = tt.tty
				o.Rand = &sessionRand{}
				var mu sync.Mutex
				now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
				o.Now = func() time.Time {
					mu.Lock()
					defer mu.Unlock()
					now = now.Add(100 * time.Microsecond)
					return now
				}
				args := append([]string{tt.args[0], "--color", color}, tt.args[1:]...)
				code := runWsdbg(t, o, args...)
				got := "exit " + string(rune('0'+code)) + "\n--- stdout\n" + out.String() + "--- stderr\n" + errb.String()
				got = portRE.ReplaceAllString(got, "127.0.0.1:PORT")
				got = strings.ReplaceAll(got, "\x1b", `\e`)
				file := tt.name + ".txt"
				if color == "always" {
					file = tt.name + ".color.txt"
				}
				wstest.Golden(t, filepath.Join("testdata", "session", file), []byte(got))
			})
		}
	}
}
