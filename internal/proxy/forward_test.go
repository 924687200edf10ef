package proxy_test

import (
	"net/url"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/proxy"
)

func TestForwardHead(t *testing.T) {
	const req = "GET /chat?a=1 HTTP/1.1\r\nhost: client:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Multi: 1\r\nOrigin: http://o\r\n" +
		"X-Multi: 2\r\n\tfolded\r\nSec-WebSocket-Key: " + testKey + "\r\nCookie: a=b\n\r\n"
	tests := []struct {
		name string
		rw   proxy.Rewrite
		want string
	}{
		{"as it is", proxy.Rewrite{}, req},
		{"host replaced in place, case kept", proxy.Rewrite{Host: "up:9000"},
			"GET /chat?a=1 HTTP/1.1\r\nhost: up:9000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Multi: 1\r\nOrigin: http://o\r\n" +
				"X-Multi: 2\r\n\tfolded\r\nSec-WebSocket-Key: " + testKey + "\r\nCookie: a=b\n\r\n"},
		{"target, -H replace and add, --omit", proxy.Rewrite{Target: "/up", Headers: []string{"x-multi: new", "X-Multi: newer", "X-New: 1"}, Omit: []string{"origin"}},
			"GET /up HTTP/1.1\r\nhost: client:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-multi: new\r\nX-Multi: newer\r\n" +
				"Sec-WebSocket-Key: " + testKey + "\r\nCookie: a=b\n" + "X-New: 1\r\n\r\n"},
		{"-H Host wins over the upstream's", proxy.Rewrite{Host: "up", Headers: []string{"Host: mine"}},
			"GET /chat?a=1 HTTP/1.1\r\nHost: mine\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Multi: 1\r\nOrigin: http://o\r\n" +
				"X-Multi: 2\r\n\tfolded\r\nSec-WebSocket-Key: " + testKey + "\r\nCookie: a=b\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := proxy.ForwardHead(handshake.ParseRequest([]byte(req)), tt.rw)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestTargetFor(t *testing.T) {
	for raw, want := range map[string]string{
		"ws://h":          "",
		"ws://h/":         "",
		"ws://h/api/ws":   "/api/ws",
		"ws://h/?token=1": "/?token=1",
	} {
		u, _ := url.Parse(raw)
		if got := proxy.TargetFor(u); got != want {
			t.Errorf("TargetFor(%s) = %q, want %q", raw, got, want)
		}
	}
}
