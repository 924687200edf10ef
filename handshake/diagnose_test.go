package handshake_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
)

// rfcAccept is AcceptKey(fixedKey), from RFC 6455 §1.3.
const rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// TestResponseDiagnostics runs one deliberately broken (or correct) server
// per response-side diagnostic and checks id, severity, class and the
// values named in the message.
func TestResponseDiagnostics(t *testing.T) {
	t.Parallel()
	deflateCheck := func(offers []string, accepted string) []string {
		if strings.Contains(accepted, "=20") {
			return []string{"client_max_window_bits=20 is outside 8..15"}
		}
		return nil
	}
	tests := []struct {
		name  string
		resp  string // {accept} is replaced by the right accept value
		o     handshake.Options
		id    string
		sev   handshake.Severity
		class handshake.Class
		msg   []string // substrings of the message
		not   []string // ids that must not appear
	}{
		{name: "accept ok", resp: ok101 + "\r\n", id: "accept-ok", sev: handshake.SevOK, class: handshake.ClassOK,
			msg: []string{"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"}, not: []string{"protocol-ignored", "early-data"}},
		{name: "accept missing", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			id: "accept-missing", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{rfcAccept, fixedKey}},
		{name: "accept mismatch", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3JvbmcgYWNjZXB0IHZhbHVlIQ==\r\n\r\n",
			id: "accept-mismatch", sev: handshake.SevError, class: handshake.ClassBadHandshake,
			msg: []string{`"d3JvbmcgYWNjZXB0IHZhbHVlIQ=="`, `"` + rfcAccept + `"`, `"` + fixedKey + `"`}},
		{name: "accept mismatch without key", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n",
			o:  handshake.Options{Omit: []string{"Sec-WebSocket-Key"}},
			id: "accept-mismatch", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"abc="`, "no Sec-WebSocket-Key"}},
		{name: "accept duplicate", resp: ok101 + "Sec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "accept-duplicate", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{"2 Sec-WebSocket-Accept", rfcAccept},
			not: []string{"accept-ok"}},
		{name: "200", resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"200 OK"`, "ignored the Upgrade", "RFC 9110 §7.8", `"/"`}, not: []string{"accept-missing", "upgrade-missing"}},
		{name: "400", resp: "HTTP/1.1 400 Bad Request\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"400 Bad Request"`, "rejected the handshake"}},
		{name: "401", resp: "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ws\"\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"401 Unauthorized"`, "credentials", `Basic realm=\"ws\"`, "user:pass@"}},
		{name: "403 with origin", resp: "HTTP/1.1 403 Forbidden\r\n\r\n", o: handshake.Options{Origin: "http://evil.example"},
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{`"403 Forbidden"`, `Origin (sent "http://evil.example")`}},
		{name: "403 without origin", resp: "HTTP/1.1 403 Forbidden\r\n\r\n",
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{"none was sent", "--origin"}},
		{name: "404", resp: "HTTP/1.1 404 Not Found\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"404 Not Found"`, "check the path"}},
		{name: "426", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", o: handshake.Options{Version: "8"},
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{`"426 Upgrade Required"`, "supports Sec-WebSocket-Version 13", `offered "8"`}},
		{name: "302", resp: "HTTP/1.1 302 Found\r\nLocation: wss://example.com/new\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"302 Found"`, `"wss://example.com/new"`, "--location"}},
		{name: "503", resp: "HTTP/1.1 503 Service Unavailable\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"503 Service Unavailable"`, "server-side"}},
		{name: "malformed status", resp: "HTTP/1.1 abc\r\n\r\n", id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused,
			msg: []string{`"HTTP/1.1 abc"`, "three-digit"}},
		{name: "version unsupported", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13, 8\r\n\r\n", o: handshake.Options{Version: "7"},
			id: "version-unsupported", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{"13, 8", `"7"`}},
		{name: "upgrade missing", resp: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "upgrade-missing", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{"Upgrade: websocket"}},
		{name: "upgrade mismatch", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "upgrade-mismatch", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"h2c"`, "websocket"}},
		{name: "upgrade case-insensitive", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "accept-ok", sev: handshake.SevOK, class: handshake.ClassOK, not: []string{"upgrade-mismatch", "connection-missing"}},
		{name: "generic upgrade mismatch", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: bar\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			o:  handshake.Options{Headers: []string{"Upgrade: foo/2"}},
			id: "upgrade-mismatch", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"bar"`, "offered protocols (foo/2)"}},
		{name: "connection missing", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "connection-missing", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{"without a Connection field"}},
		{name: "connection without upgrade token", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
			id: "connection-missing", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"keep-alive"`}},
		{name: "protocol ok", resp: ok101 + "Sec-WebSocket-Protocol: superchat\r\n\r\n", o: handshake.Options{Protocols: []string{"chat", "superchat"}},
			id: "protocol-ok", sev: handshake.SevOK, class: handshake.ClassOK, msg: []string{`"superchat"`, "offered: chat, superchat"}},
		{name: "protocol not offered", resp: ok101 + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", o: handshake.Options{Protocols: []string{"chat"}},
			id: "protocol-not-offered", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"mqtt"`, "offered: chat"}},
		{name: "protocol none offered", resp: ok101 + "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
			id: "protocol-not-offered", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`"mqtt"`, "no subprotocol was offered"}},
		{name: "protocol multiple", resp: ok101 + "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n", o: handshake.Options{Protocols: []string{"chat", "superchat"}},
			id: "protocol-multiple", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{`("chat", "superchat" in 1 line)`}},
		{name: "protocol multiple lines", resp: ok101 + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n", o: handshake.Options{Protocols: []string{"chat"}},
			id: "protocol-multiple", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{"in 2 lines"}},
		{name: "protocol ignored", resp: ok101 + "\r\n", o: handshake.Options{Protocols: []string{"chat", "superchat"}},
			id: "protocol-ignored", sev: handshake.SevWarning, class: handshake.ClassOK, msg: []string{"offered: chat, superchat"}},
		{name: "extension ok", resp: ok101 + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n",
			o: handshake.Options{Deflate: true, CheckExtension: deflateCheck}, id: "extension-ok", sev: handshake.SevOK, class: handshake.ClassOK,
			msg: []string{`"permessage-deflate" with server_no_context_takeover, client_max_window_bits=10`}},
		{name: "extension not offered", resp: ok101 + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n", o: handshake.Options{Deflate: true},
			id: "extension-not-offered", sev: handshake.SevError, class: handshake.ClassBadHandshake,
			msg: []string{`"x-webkit-deflate-frame"`, "offered: permessage-deflate; client_max_window_bits"}},
		{name: "extension params", resp: ok101 + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=20\r\n\r\n",
			o: handshake.Options{Deflate: true, CheckExtension: deflateCheck}, id: "extension-params", sev: handshake.SevError, class: handshake.ClassBadHandshake,
			msg: []string{"outside 8..15", `"permessage-deflate; client_max_window_bits=20"`}, not: []string{"extension-ok"}},
		{name: "extension accepted twice", resp: ok101 + "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n\r\n",
			o: handshake.Options{Deflate: true}, id: "extension-params", sev: handshake.SevError, class: handshake.ClassBadHandshake, msg: []string{"more than once"}},
		{name: "http version", resp: strings.Replace(ok101, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n", id: "http-version", sev: handshake.SevError,
			class: handshake.ClassBadHandshake, msg: []string{`"HTTP/1.0"`}},
		{name: "not http: TLS", resp: "\x15\x03\x03\x00\x02\x02\x46", id: "not-http", sev: handshake.SevError, class: handshake.ClassNoResponse,
			msg: []string{"use wss://", `\x15\x03\x03`}},
		{name: "not http: HTTP/2", resp: "\x00\x00\x00\x04\x00\x00\x00\x00\x00", id: "not-http", sev: handshake.SevError, class: handshake.ClassNoResponse,
			msg: []string{"HTTP/2 SETTINGS frame"}},
		{name: "not http: garbage", resp: "\xff\xfe\x00garbage", id: "not-http", sev: handshake.SevError, class: handshake.ClassNoResponse,
			msg: []string{"binary data", `\xff\xfe\x00garbage`}},
		{name: "head too large", resp: "HTTP/1.1 101 Switching Protocols\r\nX-Big: " + strings.Repeat("x", 100<<10) + "\r\n\r\n",
			id: "head-too-large", sev: handshake.SevError, class: handshake.ClassNoResponse, msg: []string{"65536 bytes"}},
		{name: "426 with an empty version list", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version:\r\nContent-Length: 0\r\n\r\n",
			id: "version-unsupported", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{`Sec-WebSocket-Version ""`, "empty list", `offered "13"`}},
		{name: "426 with an empty version list explained", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: ,\r\nContent-Length: 0\r\n\r\n",
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{"empty Sec-WebSocket-Version list"}},
		{name: "deflate declined", resp: ok101 + "\r\n", o: handshake.Options{Deflate: true},
			id: "extension-declined", sev: handshake.SevInfo, class: handshake.ClassOK, msg: []string{"did not accept permessage-deflate", `"permessage-deflate; client_max_window_bits"`, "runs without it"}},
		{name: "one of two extensions declined", resp: ok101 + "Sec-WebSocket-Extensions: x-a\r\n\r\n", o: handshake.Options{Extensions: []string{"x-a", "x-b; p=1", "x-b"}},
			id: "extension-declined", sev: handshake.SevInfo, class: handshake.ClassOK, msg: []string{"did not accept x-b", `"x-b; p=1", "x-b"`}},
		{name: "extension accepted is not declined", resp: ok101 + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", o: handshake.Options{Deflate: true},
			id: "extension-ok", sev: handshake.SevOK, class: handshake.ClassOK, not: []string{"extension-declined"}},
		{name: "400 whose body asks for TLS", resp: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nThis server speaks TLS: use wss://\n",
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, msg: []string{"wants TLS", "try wss://"}, not: []string{"timeout"}},
		{name: "400 body", resp: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nThis server speaks TLS: use wss://\n",
			id: "body", sev: handshake.SevInfo, class: handshake.ClassRefused, msg: []string{"35 bytes of text/plain", `"This server speaks TLS: use wss://"`}},
		{name: "chunked body", resp: "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n6\r\norigin\r\n9\r\n refused\n\r\n0\r\n\r\n",
			id: "body", sev: handshake.SevInfo, class: handshake.ClassRefused, msg: []string{"15 bytes", `"origin refused"`}},
		{name: "closed body without length", resp: "HTTP/1.1 500 Internal Server Error\r\n\r\n<h1>upstream down</h1>",
			id: "body", sev: handshake.SevInfo, class: handshake.ClassRefused, msg: []string{"22 bytes", `"<h1>upstream down</h1>"`}},
		{name: "no body", resp: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
			id: "status-not-101", sev: handshake.SevError, class: handshake.ClassRefused, not: []string{"body"}},
		{name: "closed without answer", resp: "", id: "no-response", sev: handshake.SevError, class: handshake.ClassNoResponse, msg: []string{"0 bytes", "try wss://"}, not: []string{"timeout"}},
		{name: "closed mid head", resp: "HTTP/1.1 101 Switching", id: "no-response", sev: handshake.SevError, class: handshake.ClassNoResponse, msg: []string{"after 22 bytes"}, not: []string{"timeout"}},
		{name: "early data", resp: ok101 + "\r\n\x81\x05hello", id: "early-data", sev: handshake.SevInfo, class: handshake.ClassOK, msg: []string{"7 bytes"}},
		{name: "expect status", resp: ok101 + "\r\n", o: handshake.Options{ExpectStatus: 426}, id: "expect-status", sev: handshake.SevError,
			class: handshake.ClassExpect, msg: []string{"expected status 426, got 101"}},
		{name: "expect status refused", resp: "HTTP/1.1 404 Not Found\r\n\r\n", o: handshake.Options{ExpectStatus: 101}, id: "expect-status", sev: handshake.SevError,
			class: handshake.ClassRefused, msg: []string{"expected status 101, got 404"}},
		{name: "expect status met", resp: "HTTP/1.1 426 Upgrade Required\r\n\r\n", o: handshake.Options{ExpectStatus: 426}, id: "status-not-101", sev: handshake.SevError,
			class: handshake.ClassRefused, not: []string{"expect-status"}},
		{name: "expect protocol", resp: ok101 + "Sec-WebSocket-Protocol: chat\r\n\r\n", o: handshake.Options{Protocols: []string{"chat", "v2"}, ExpectProtocol: "v2"},
			id: "expect-protocol", sev: handshake.SevError, class: handshake.ClassExpect, msg: []string{`expected subprotocol "v2", server selected "chat"`}},
		{name: "expect protocol none", resp: ok101 + "\r\n", o: handshake.Options{Protocols: []string{"v2"}, ExpectProtocol: "v2"},
			id: "expect-protocol", sev: handshake.SevError, class: handshake.ClassExpect, msg: []string{"none was selected"}},
		{name: "expect extension", resp: ok101 + "\r\n", o: handshake.Options{Deflate: true, ExpectExtension: []string{"permessage-deflate"}},
			id: "expect-extension", sev: handshake.SevError, class: handshake.ClassExpect, msg: []string{`"permessage-deflate"`, "accepted: none"}},
		{name: "expect extension met", resp: ok101 + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", o: handshake.Options{Deflate: true, ExpectExtension: []string{"permessage-deflate"}},
			id: "extension-ok", sev: handshake.SevOK, class: handshake.ClassOK, not: []string{"expect-extension"}},
		{name: "bad 101 with an expectation", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			o: handshake.Options{ExpectStatus: 200}, id: "expect-status", sev: handshake.SevError, class: handshake.ClassBadHandshake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
				key, _ := req.Get("Sec-WebSocket-Key")
				c.Write([]byte(strings.ReplaceAll(tt.resp, "{accept}", handshake.AcceptKey(key))))
				if tt.resp != "" && !strings.HasPrefix(tt.name, "closed") {
					drain(c)
				}
			})
			o := tt.o
			o.URL = s.url("/")
			if o.Key == "" && len(o.Omit) == 0 {
				o.Key = fixedKey
			}
			res := run(t, &o)
			d := diagOf(t, res.Diagnostics, tt.id)
			if d.Severity != tt.sev {
				t.Errorf("%s severity = %v, want %v", tt.id, d.Severity, tt.sev)
			}
			if e, _ := handshake.Lookup(handshake.ID(tt.id)); d.RFC != e.RFC || d.RFC == "" {
				t.Errorf("%s RFC = %q, want %q from the Catalog", tt.id, d.RFC, e.RFC)
			}
			for _, m := range tt.msg {
				if !strings.Contains(d.Message, m) {
					t.Errorf("%s message %q does not contain %q", tt.id, d.Message, m)
				}
			}
			for _, id := range tt.not {
				for _, g := range res.Diagnostics {
					if string(g.ID) == id {
						t.Errorf("unexpected %s: %s", id, g.Message)
					}
				}
			}
			if res.Class != tt.class {
				t.Errorf("Class = %v, want %v (diagnostics %v)", res.Class, tt.class, idsOf(res.Diagnostics))
			}
			open := tt.class == handshake.ClassOK || tt.class == handshake.ClassExpect
			if (res.Conn != nil) != open || (res.Reader != nil) != open {
				t.Errorf("Conn open = %v, want %v", res.Conn != nil, open)
			}
		})
	}
}

// TestTimeoutCountsBytes: a server that sends part of a head and then
// nothing; the deadline ends the wait and the message says how much came.
func TestTimeoutCountsBytes(t *testing.T) {
	t.Parallel()
	for _, partial := range []string{"", "HTTP/1.1 101 Switching Protocols\r\nUpg"} {
		s := startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
			c.Write([]byte(partial))
			drain(c)
		})
		res := run(t, &handshake.Options{URL: s.url("/"), Timeout: 150 * time.Millisecond})
		d := diagOf(t, res.Diagnostics, "timeout")
		want := []string{"within 150ms", " " + itoa(len(partial)) + " bytes arrived", "--timeout"}
		for _, w := range want {
			if !strings.Contains(d.Message, w) {
				t.Errorf("timeout message %q lacks %q", d.Message, w)
			}
		}
		if res.Class != handshake.ClassNoResponse || res.Response != nil || res.Conn != nil {
			t.Errorf("Class %v, Response %v, Conn %v", res.Class, res.Response, res.Conn)
		}
		if string(res.Partial) != partial {
			t.Errorf("Partial = %q, want %q", res.Partial, partial)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestEarlyDataKept: frame bytes sent with the 101 are readable from
// Result.Reader.
func TestEarlyDataKept(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"\r\n\x81\x05hello"))
	res := run(t, &handshake.Options{URL: s.url("/"), Key: fixedKey})
	if res.Class != handshake.ClassOK || res.Reader == nil {
		t.Fatalf("Class %v, Reader %v", res.Class, res.Reader)
	}
	res.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got [7]byte
	if _, err := io.ReadFull(res.Reader, got[:]); err != nil || string(got[:]) != "\x81\x05hello" {
		t.Errorf("early data = %q, %v", got, err)
	}
}

// TestFailTheConnection: a 101 with errors is closed (RFC 6455 §4.1)
// unless Lenient.
func TestFailTheConnection(t *testing.T) {
	t.Parallel()
	bad := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n"
	closed := make(chan error, 2)
	s := startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
		c.Write([]byte(bad))
		var b [1]byte
		_, err := c.Read(b[:])
		closed <- err
	})
	res := run(t, &handshake.Options{URL: s.url("/")})
	if res.Conn != nil || res.Class != handshake.ClassBadHandshake {
		t.Fatalf("Conn %v, Class %v", res.Conn, res.Class)
	}
	if !strings.Contains(strings.Join(res.Later, "\n"), "Failing the connection") {
		t.Errorf("notes %q do not say the connection was failed", res.Later)
	}
	select {
	case err := <-closed:
		if err != io.EOF {
			t.Errorf("server read %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not close the connection")
	}

	res = run(t, &handshake.Options{URL: s.url("/"), Lenient: true})
	if res.Conn == nil || res.Class != handshake.ClassBadHandshake {
		t.Fatalf("lenient: Conn %v, Class %v; want an open connection", res.Conn, res.Class)
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	final := startRaw(t, write(ok101+"\r\n"))
	hop2 := startRaw(t, write("HTTP/1.1 301 Moved Permanently\r\nLocation: "+final.url("/final")+"\r\n\r\n"))
	hop1 := startRaw(t, write("HTTP/1.1 302 Found\r\nLocation: http://"+hop2.addr+"/two?x=1\r\n\r\n"))

	res := run(t, &handshake.Options{URL: hop1.url("/one"), Location: true, Headers: []string{"Authorization: Bearer t0ken", "X-Keep: 1"}})
	if res.Class != handshake.ClassOK || len(res.Redirects) != 2 {
		t.Fatalf("Class %v with %d redirects, want OK after 2", res.Class, len(res.Redirects))
	}
	d := diagOf(t, res.Redirects[0].Diagnostics, "redirect")
	if d.Severity != handshake.SevInfo || !strings.Contains(d.Message, "302 Found") || !strings.Contains(d.Message, "ws://"+hop2.addr+"/two?x=1") {
		t.Errorf("redirect = %+v", d)
	}
	if res.URL != final.url("/final") || res.Request.Target != "/final" {
		t.Errorf("final URL %q, target %q", res.URL, res.Request.Target)
	}
	if h, _ := res.Request.Get("Host"); h != final.addr {
		t.Errorf("final Host = %q, want %q", h, final.addr)
	}
	// Credentials from -H stay with the first host; other fields follow.
	if _, ok := res.Redirects[0].Request.Get("Authorization"); !ok {
		t.Error("first hop lacks the -H Authorization")
	}
	if _, ok := res.Request.Get("Authorization"); ok || !strings.Contains(string(res.Request.Raw), "X-Keep: 1") {
		t.Errorf("request after a cross-host redirect: %q", res.Request.Raw)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "Not sending the -H credentials") {
		t.Errorf("notes %q do not say credentials were dropped", res.Notes)
	}

	// Without --location the 3xx is the answer.
	res = run(t, &handshake.Options{URL: hop1.url("/one")})
	if res.Class != handshake.ClassRefused || len(res.Redirects) != 0 {
		t.Errorf("without --location: Class %v, %d redirects", res.Class, len(res.Redirects))
	}

	// A loop stops after MaxRedirects.
	var loop *rawServer
	loop = startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
		c.Write([]byte("HTTP/1.1 307 Temporary Redirect\r\nLocation: /again\r\n\r\n"))
		drain(c)
	})
	res = run(t, &handshake.Options{URL: loop.url("/"), Location: true})
	if len(res.Redirects) != handshake.MaxRedirects || res.Class != handshake.ClassRefused {
		t.Errorf("loop: %d redirects, Class %v", len(res.Redirects), res.Class)
	}
}

// TestRequestDiagnostics covers every request-side id, both for what a
// server receives (DiagnoseRequest) and for what wsdbg sends (Do).
func TestRequestDiagnostics(t *testing.T) {
	t.Parallel()
	good := rfcRequest
	tests := []struct {
		name string
		req  string
		id   string
		msg  []string
	}{
		{"method", strings.Replace(good, "GET", "POST", 1), "request-method", []string{`"POST"`}},
		{"http version", strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1), "request-http-version", []string{`"HTTP/1.0"`}},
		{"host missing", strings.Replace(good, "Host: server.example.com\r\n", "", 1), "request-host", []string{"no Host"}},
		{"host twice", strings.Replace(good, "Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n", 1), "request-host", []string{`"a", "b"`}},
		{"upgrade missing", strings.Replace(good, "Upgrade: websocket\r\n", "", 1), "request-upgrade", []string{"no Upgrade"}},
		{"upgrade wrong", strings.Replace(good, "Upgrade: websocket", "Upgrade: h2c", 1), "request-upgrade", []string{`"h2c"`}},
		{"connection missing", strings.Replace(good, "Connection: Upgrade\r\n", "", 1), "request-connection", []string{"no Connection"}},
		{"connection wrong", strings.Replace(good, "Connection: Upgrade", "Connection: keep-alive", 1), "request-connection", []string{`"keep-alive"`}},
		{"key missing", strings.Replace(good, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), "request-key", []string{"no Sec-WebSocket-Key"}},
		{"key not base64", strings.Replace(good, fixedKey, "not*base64", 1), "request-key", []string{`"not*base64"`, "not base64"}},
		{"key short", strings.Replace(good, fixedKey, "c2hvcnQ=", 1), "request-key", []string{`"c2hvcnQ="`, "5 bytes"}},
		{"version missing", strings.Replace(good, "Sec-WebSocket-Version: 13\r\n", "", 1), "request-version", []string{"no Sec-WebSocket-Version"}},
		{"version wrong", strings.Replace(good, "Version: 13", "Version: 8", 1), "request-version", []string{`"8"`}},
		{"bare LF", strings.ReplaceAll(good, "\r\n", "\n"), "request-bare-lf", []string{"9 of 9 lines"}},
	}
	if ds := handshake.DiagnoseRequest(mustRequest(t, good)); len(ds) != 0 {
		t.Errorf("the RFC 6455 example request has diagnostics %v", idsOf(ds))
	}
	for _, tt := range tests {
		ds := handshake.DiagnoseRequest(mustRequest(t, tt.req))
		if len(ds) != 1 {
			t.Errorf("%s: diagnostics %v, want exactly %s", tt.name, idsOf(ds), tt.id)
			continue
		}
		d := ds[0]
		if string(d.ID) != tt.id || d.Severity != handshake.SevWarning {
			t.Errorf("%s: got %s (%v), want %s warning", tt.name, d.ID, d.Severity, tt.id)
		}
		for _, m := range tt.msg {
			if !strings.Contains(d.Message, m) {
				t.Errorf("%s: message %q lacks %q", tt.name, d.Message, m)
			}
		}
	}

	// The same findings for requests wsdbg sends on request.
	s := startRaw(t, write(ok101+"\r\n"))
	file := filepath.Join(t.TempDir(), "req")
	os.WriteFile(file, []byte(strings.Replace(strings.Replace(good, "GET", "PUT", 1), "HTTP/1.1", "HTTP/1.0", 1)), 0o600)
	sent := []struct {
		o   handshake.Options
		ids []string
	}{
		{handshake.Options{Omit: []string{"Host", "Upgrade"}, Headers: []string{"Connection: close"}, Key: "short", Version: "7"},
			[]string{"request-host", "request-upgrade", "request-connection", "request-key", "request-version"}},
		{handshake.Options{RequestFile: file}, []string{"request-method", "request-http-version"}},
	}
	for _, tt := range sent {
		o := tt.o
		o.URL = s.url("/")
		res := run(t, &o)
		for _, id := range tt.ids {
			diagOf(t, res.Diagnostics, id)
		}
	}
}

func mustRequest(t *testing.T, s string) *handshake.Request {
	t.Helper()
	r, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(s)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", s, err)
	}
	return r
}

// TestInterrupted: cancelling the caller's context ends the wait for the
// response head, and the diagnostic says so rather than blaming --timeout.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	s := startRaw(t, func(req *handshake.Request, raw []byte, c net.Conn) {
		c.Write([]byte("HTTP/1.1 101"))
		drain(c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := handshake.Do(ctx, &handshake.Options{URL: s.url("/")})
	if err != nil {
		t.Fatal(err)
	}
	d := diagOf(t, res.Diagnostics, "no-response")
	if !strings.Contains(d.Message, "interrupted after 12 bytes") || res.Class != handshake.ClassNoResponse {
		t.Errorf("Class %v, no-response message %q", res.Class, d.Message)
	}
	if hasDiag(res.Diagnostics, "timeout") {
		t.Errorf("an interruption is not a timeout: %v", res.Diagnostics)
	}
}
