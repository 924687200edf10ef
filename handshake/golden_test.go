package handshake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// goldenPainter marks every kind with a distinct ANSI color, so that golden
// files show where color goes.
func goldenPainter(k handshake.Kind, s string) string {
	codes := map[handshake.Kind]string{
		handshake.KindRequest: "36", handshake.KindResponse: "35", handshake.KindNote: "2",
		handshake.KindOK: "32", handshake.KindInfo: "34", handshake.KindWarning: "33", handshake.KindError: "31", handshake.KindID: "1",
	}
	return "\x1b[" + codes[k] + "m" + s + "\x1b[0m"
}

var ansi = regexp.MustCompile("\x1b\\[[0-9]+m")

// TestGoldenTranscripts runs fixed exchanges against loopback servers with
// an injected clock, random source and dialer (the URL's fake address is
// routed to the test server), and compares the transcript, colored and
// plain, and the JSON document with testdata/golden.
func TestGoldenTranscripts(t *testing.T) {
	t.Parallel()
	evil := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n" +
		"X-Evil: \x1b[31mred\x1b[0m\x07 \xff\xfe \u202eevil\u202c \x9b \u009b tab\there\r\nServer: caf\u00e9 \u2713\r\n\r\n"
	tests := []struct {
		name   string
		routes map[string]string // fake host:port → response text ({accept} filled in)
		o      handshake.Options
		exit   int
	}{
		{
			name:   "ok-101",
			routes: map[string]string{"127.0.0.1:8080": ok101 + "Sec-WebSocket-Protocol: chat\r\n\r\n"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/chat", Protocols: []string{"chat", "superchat"}},
		},
		{
			name:   "deflate-and-early-data",
			routes: map[string]string{"127.0.0.1:8080": ok101 + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n\x81\x05hello"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/", Deflate: true, Origin: "http://127.0.0.1:8080", Headers: []string{"X-Trace: 7"}},
		},
		{
			name:   "refused-426",
			routes: map[string]string{"127.0.0.1:8080": "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/", Version: "8"},
			exit:   4,
		},
		{
			name:   "escaped-bad-accept",
			routes: map[string]string{"127.0.0.1:8080": evil},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/\u202e", Headers: []string{"X-User: a\x1bb"}},
			exit:   5,
		},
		{
			name:   "secrets-redacted",
			routes: map[string]string{"127.0.0.1:8080": ok101 + "Set-Cookie: session=abcdef; HttpOnly\r\n\r\n"},
			o:      handshake.Options{URL: "ws://alice:secret@127.0.0.1:8080/", Headers: []string{"Cookie: a=1", "Proxy-Authorization: Basic eA=="}},
		},
		{
			name:   "secrets-shown",
			routes: map[string]string{"127.0.0.1:8080": ok101 + "Set-Cookie: session=abcdef; HttpOnly\r\n\r\n"},
			o:      handshake.Options{URL: "ws://alice:secret@127.0.0.1:8080/", Headers: []string{"Cookie: a=1"}, ShowSecrets: true},
		},
		{
			name:   "bare-lf-and-folding",
			routes: map[string]string{"127.0.0.1:8080": "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection:\n Upgrade\nSec-WebSocket-Accept: {accept}\nno colon here\n\n"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/"},
		},
		{
			name:   "not-http-tls",
			routes: map[string]string{"127.0.0.1:8443": "\x15\x03\x03\x00\x02\x02\x46"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8443/"},
			exit:   3,
		},
		{
			name:   "not-http-tls-alert-lf",
			routes: map[string]string{"127.0.0.1:8443": "\x15\x03\x01\x00\x02\x02\x0a"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8443/"},
			exit:   3,
		},
		{
			name:   "timeout-partial",
			routes: map[string]string{"127.0.0.1:8080": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/", Timeout: 200 * time.Millisecond},
			exit:   3,
		},
		{
			name: "redirects",
			routes: map[string]string{
				"127.0.0.1:8080": "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:8081/next\r\n\r\n",
				"127.0.0.1:8081": "HTTP/1.1 301 Moved Permanently\r\nLocation: /final?x=1\r\n\r\n",
			},
			o: handshake.Options{URL: "http://127.0.0.1:8080/start", Location: true, Protocols: []string{"chat"}, ExpectProtocol: "chat"},
		},
		{
			name:   "expect-unmet",
			routes: map[string]string{"127.0.0.1:8080": ok101 + "\r\n"},
			o:      handshake.Options{URL: "ws://127.0.0.1:8080/", Protocols: []string{"chat"}, ExpectStatus: 101, ExpectProtocol: "chat", ExpectExtension: []string{"permessage-deflate"}},
			exit:   7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			routes := map[string]string{}
			for fake, text := range tt.routes {
				text := text
				partial := strings.HasSuffix(tt.name, "partial")
				s := startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
					key, _ := req.Get("Sec-WebSocket-Key")
					c.Write([]byte(strings.ReplaceAll(text, "{accept}", handshake.AcceptKey(key))))
					if partial {
						drain(c)
					}
				})
				routes[fake] = s.addr
			}
			// The redirect case ends on a host that is not routed: give it
			// the ok101 server.
			if tt.name == "redirects" {
				s := startRaw(t, write(ok101+"Sec-WebSocket-Protocol: chat\r\n\r\n"))
				routes["127.0.0.1:8081/final"] = s.addr
			}
			o := tt.o
			o.Now = stepClock(100 * time.Microsecond)
			o.Rand = zeroRand{}
			if o.Timeout == 0 {
				o.Timeout = 5 * time.Second
			}
			hits := map[string]int{}
			o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				real := routes[addr]
				hits[addr]++
				if addr == "127.0.0.1:8081" && hits[addr] > 1 {
					real = routes["127.0.0.1:8081/final"]
				}
				if real == "" {
					real = addr
				}
				var d net.Dialer
				return d.DialContext(ctx, network, real)
			}
			res, err := handshake.Do(context.Background(), &o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Conn != nil {
				res.Conn.Close()
			}
			if got := res.Class.ExitCode(); got != tt.exit {
				t.Errorf("exit code %d, want %d (diagnostics %v)", got, tt.exit, idsOf(res.Diagnostics))
			}

			var plain, colored bytes.Buffer
			res.WriteTranscript(&plain, nil)
			res.WriteTranscript(&colored, goldenPainter)
			if stripped := ansi.ReplaceAllString(colored.String(), ""); stripped != plain.String() {
				t.Errorf("colored transcript without colors differs from the plain one:\n%s\n---\n%s", stripped, plain.String())
			}
			doc, err := json.MarshalIndent(res.Document(res.Class.ExitCode()), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name+".txt", plain.Bytes())
			checkGolden(t, tt.name+".color.txt", bytes.ReplaceAll(colored.Bytes(), []byte("\x1b"), []byte(`\x1b`)))
			checkGolden(t, tt.name+".json", append(doc, '\n'))
			if bytes.ContainsAny(plain.Bytes(), "\x1b\x07\u202e") || !isValidUTF8(plain.Bytes()) {
				t.Errorf("transcript passes control bytes through:\n%q", plain.String())
			}
		})
	}
}

func isValidUTF8(b []byte) bool { return strings.ToValidUTF8(string(b), "\ufffd") == string(b) }

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	wstest.Golden(t, filepath.Join("testdata", "golden", name), got)
}
