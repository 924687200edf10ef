package cmd_test

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// TestInspectGolden compares whole transcripts and JSON documents with
// testdata/inspect/*.txt (go test -run InspectGolden -update rewrites
// them). The clock and the random source are fakes, so timings and keys are
// stable; the URL names wsdbg.test and --connect-to reaches the loopback
// server, whose port is replaced by PORT. Each case runs without color and
// with --color always; ESC is stored as \e in the colored files.
func TestInspectGolden(t *testing.T) {
	t.Parallel()
	const bad101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: dGhpcyBpcyBub3QgdGhlIGFjY2VwdA==\r\n\r\n"
	tests := []struct {
		name  string
		reply func(*handshake.Request) string // nil: nothing listens
		args  []string
		code  int
	}{
		{"upgrade", upgradeReply(""), []string{"-p", "chat", "-p", "superchat"}, 0},
		{"deflate", upgradeReply("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"), []string{"--deflate", "--origin", "http://wsdbg.test"}, 0},
		{"refused", fixedReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), nil, 4},
		{"426", fixedReply("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"), []string{"--ws-version", "8"}, 4},
		{"bad-accept", fixedReply(bad101), nil, 5},
		{"expect", upgradeReply(""), []string{"--expect-status", "200", "--expect-protocol", "chat"}, 7},
		{"no-server", nil, nil, 3},
		{"secrets", upgradeReply("Set-Cookie: session=abc123\r\n"), []string{"-H", "Authorization: Bearer tok", "-H", "Cookie: a=b"}, 0},
		{"json", upgradeReply(""), []string{"--json", "-p", "chat"}, 0},
		{"json-refused", fixedReply("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), []string{"--json"}, 4},
		{"body", fixedReply("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\r\nThis server speaks TLS: use wss://\n\x1b[31mred\x1b[0m\n"), nil, 4},
		{"json-body", fixedReply("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 19\r\n\r\n<h1>Not Found</h1>\n"), []string{"--json"}, 4},
		{"426-empty", fixedReply("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version:\r\nContent-Length: 0\r\n\r\n"), nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := inspectFreePort(t)
			if tt.reply != nil {
				addr, _ = startInspectPeer(t, tt.reply)
			}
			_, port, _ := net.SplitHostPort(addr)
			for _, color := range []string{"never", "always"} {
				if color == "always" && strings.HasPrefix(tt.name, "json") {
					continue
				}
				args := append([]string{"inspect", "--color", color, "--connect-to", addr}, tt.args...)
				args = append(args, "ws://wsdbg.test/chat")
				code, out, errOut := runInspectMain(t, nil, false, args...)
				if code != tt.code {
					t.Fatalf("--color %s: exit %d; want %d\n%s%s", color, code, tt.code, out, errOut)
				}
				got := strings.ReplaceAll(out, "127.0.0.1:"+port, "127.0.0.1:PORT")
				file := tt.name + ".txt"
				if color == "always" {
					got = strings.ReplaceAll(got, "\x1b", `\e`)
					file = tt.name + ".color.txt"
				}
				wstest.Golden(t, filepath.Join("testdata", "inspect", file), []byte(got))
			}
		})
	}
}
