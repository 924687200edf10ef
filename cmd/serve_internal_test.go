package cmd

import (
	"net"
	"strings"
	"testing"
)

// TestServeAddresses checks the announced URLs and the warning for
// addresses other hosts can reach, without listening on them.
func TestServeAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen string
		addr   *net.TCPAddr
		tls    bool
		ws     string
		web    string
		warn   string
	}{
		{"127.0.0.1:8080", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, false, "ws://127.0.0.1:8080/", "http://127.0.0.1:8080/", ""},
		{"127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}, true, "wss://127.0.0.1:41234/", "https://127.0.0.1:41234/", ""},
		{"localhost:9000", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}, false, "ws://localhost:9000/", "http://localhost:9000/", ""},
		{"[::1]:9000", &net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, false, "ws://[::1]:9000/", "http://[::1]:9000/", ""},
		{":8080", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, false, "ws://127.0.0.1:8080/", "http://127.0.0.1:8080/", "[::]:8080 is reachable from other hosts"},
		{"0.0.0.0:8080", &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, false, "ws://127.0.0.1:8080/", "http://127.0.0.1:8080/", "0.0.0.0:8080 is reachable from other hosts"},
		{"192.0.2.7:8080", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 8080}, false, "ws://192.0.2.7:8080/", "http://192.0.2.7:8080/", "use --listen 127.0.0.1:8080 to keep it to this machine"},
	}
	for _, tt := range tests {
		ws, web := serveURLs(tt.listen, tt.addr, tt.tls)
		if ws != tt.ws || web != tt.web {
			t.Errorf("serveURLs(%q, %v) = %q, %q; want %q, %q", tt.listen, tt.addr, ws, web, tt.ws, tt.web)
		}
		w := reachableWarning(tt.addr)
		if (tt.warn == "") != (w == "") || !strings.Contains(w, tt.warn) {
			t.Errorf("reachableWarning(%v) = %q, want %q", tt.addr, w, tt.warn)
		}
	}
}
