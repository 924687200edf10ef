package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// upgradeHead is a valid opening handshake (RFC 6455 §1.2) before the blank
// line; cases append fields to it.
const upgradeHead = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n"

// acceptSample is the accept value for the RFC 6455 §1.3 sample key.
const acceptSample = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

func readRequest(t *testing.T, raw string) *handshake.Request {
	t.Helper()
	req, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	return req
}

// parseReply checks that the reply is a well-formed HTTP/1.1 response by
// reading it back with net/http, and returns it with its body.
func parseReply(t *testing.T, r *handshake.ServerReply, method string) (*http.Response, string) {
	t.Helper()
	if !bytes.HasSuffix(r.Head, []byte("\r\n\r\n")) {
		t.Fatalf("head does not end with an empty line: %q", r.Head)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.Bytes())), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("net/http cannot read the reply %q: %v", r.Bytes(), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil && r.Status != 101 {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != r.Status {
		t.Errorf("status line says %d, reply.Status %d", resp.StatusCode, r.Status)
	}
	return resp, string(body)
}

func ids(ds []handshake.Diagnostic) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.ID))
	}
	return out
}

func TestRespond(t *testing.T) {
	t.Parallel()
	page := []byte("<!DOCTYPE html><p>page</p>\n")
	deflate := func(offers []string) (string, bool) {
		for _, o := range offers {
			if strings.HasPrefix(o, "permessage-deflate") {
				return "permessage-deflate; server_no_context_takeover", true
			}
		}
		return "", false
	}
	tests := []struct {
		name       string
		raw        string
		opts       handshake.ServerOptions
		status     int
		header     map[string]string // fields the reply must have ("" = must be absent)
		body       []string          // substrings of the body
		diags      []string          // request-side diagnostic ids
		refused    []string
		protocol   string
		extensions []string
	}{
		{
			name:   "valid",
			raw:    upgradeHead + "\r\n",
			status: 101,
			header: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": acceptSample,
				"Sec-WebSocket-Protocol": "", "Sec-WebSocket-Extensions": ""},
		},
		{
			name:     "client preference wins",
			raw:      upgradeHead + "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
			opts:     handshake.ServerOptions{Protocols: []string{"superchat", "chat"}},
			status:   101,
			header:   map[string]string{"Sec-WebSocket-Protocol": "chat"},
			protocol: "chat",
		},
		{
			name:     "first supported over split lines",
			raw:      upgradeHead + "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Protocol: v2.json, v1.json\r\n\r\n",
			opts:     handshake.ServerOptions{Protocols: []string{"v1.json", "v2.json"}},
			status:   101,
			header:   map[string]string{"Sec-WebSocket-Protocol": "v2.json"},
			protocol: "v2.json",
		},
		{
			name:   "subprotocol names are case-sensitive",
			raw:    upgradeHead + "Sec-WebSocket-Protocol: Chat\r\n\r\n",
			opts:   handshake.ServerOptions{Protocols: []string{"chat"}},
			status: 101,
			header: map[string]string{"Sec-WebSocket-Protocol": ""},
		},
		{
			name:   "no protocol supported",
			raw:    upgradeHead + "Sec-WebSocket-Protocol: chat\r\n\r\n",
			status: 101,
			header: map[string]string{"Sec-WebSocket-Protocol": ""},
		},
		{
			name:       "deflate accepted",
			raw:        upgradeHead + "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; client_max_window_bits\r\n\r\n",
			opts:       handshake.ServerOptions{AcceptExtensions: deflate},
			status:     101,
			header:     map[string]string{"Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover"},
			extensions: []string{"permessage-deflate; server_no_context_takeover"},
		},
		{
			name:   "deflate not enabled",
			raw:    upgradeHead + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
			status: 101,
			header: map[string]string{"Sec-WebSocket-Extensions": ""},
		},
		{
			name:   "extension declined",
			raw:    upgradeHead + "Sec-WebSocket-Extensions: x-unknown\r\n\r\n",
			opts:   handshake.ServerOptions{AcceptExtensions: deflate},
			status: 101,
			header: map[string]string{"Sec-WebSocket-Extensions": ""},
		},
		{
			name:   "bare LF is reported, not refused",
			raw:    strings.ReplaceAll(upgradeHead, "\r\n", "\n") + "\n",
			status: 101,
			header: map[string]string{"Sec-WebSocket-Accept": acceptSample},
			diags:  []string{"request-bare-lf"},
		},
		{
			name:    "version 12",
			raw:     strings.Replace(upgradeHead, "Version: 13", "Version: 12", 1) + "\r\n",
			status:  426,
			header:  map[string]string{"Sec-WebSocket-Version": "13", "Upgrade": "websocket", "Sec-WebSocket-Accept": ""},
			body:    []string{"request-version: Sec-WebSocket-Version is \"12\"; it must be 13"},
			diags:   []string{"request-version"},
			refused: []string{"request-version"},
		},
		{
			name:    "version missing",
			raw:     strings.Replace(upgradeHead, "Sec-WebSocket-Version: 13\r\n", "", 1) + "\r\n",
			status:  400,
			header:  map[string]string{"Sec-WebSocket-Version": "13"},
			body:    []string{"request-version: no Sec-WebSocket-Version field"},
			diags:   []string{"request-version"},
			refused: []string{"request-version"},
		},
		{
			name:    "method",
			raw:     strings.Replace(upgradeHead, "GET", "POST", 1) + "\r\n",
			status:  400,
			header:  map[string]string{"Content-Type": "text/plain; charset=utf-8", "Sec-WebSocket-Accept": ""},
			body:    []string{"request-method: request method is \"POST\""},
			diags:   []string{"request-method"},
			refused: []string{"request-method"},
		},
		{
			name:    "http version",
			raw:     strings.Replace(upgradeHead, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n",
			status:  400,
			body:    []string{"request-http-version: "},
			diags:   []string{"request-http-version"},
			refused: []string{"request-http-version"},
		},
		{
			name:    "host missing",
			raw:     strings.Replace(upgradeHead, "Host: server.example.com\r\n", "", 1) + "\r\n",
			status:  400,
			body:    []string{"request-host: no Host field"},
			diags:   []string{"request-host"},
			refused: []string{"request-host"},
		},
		{
			name:    "upgrade missing",
			raw:     strings.Replace(upgradeHead, "Upgrade: websocket\r\n", "", 1) + "\r\n",
			status:  400,
			body:    []string{"request-upgrade: no Upgrade field"},
			diags:   []string{"request-upgrade"},
			refused: []string{"request-upgrade"},
		},
		{
			name:    "upgrade other protocol",
			raw:     strings.Replace(upgradeHead, "Upgrade: websocket", "Upgrade: h2c", 1) + "\r\n",
			status:  400,
			body:    []string{"request-upgrade: Upgrade is \"h2c\""},
			diags:   []string{"request-upgrade"},
			refused: []string{"request-upgrade"},
		},
		{
			name:    "connection without upgrade",
			raw:     strings.Replace(upgradeHead, "Connection: Upgrade", "Connection: keep-alive", 1) + "\r\n",
			status:  400,
			body:    []string{"request-connection: Connection is \"keep-alive\""},
			diags:   []string{"request-connection"},
			refused: []string{"request-connection"},
		},
		{
			name:    "key missing",
			raw:     strings.Replace(upgradeHead, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1) + "\r\n",
			status:  400,
			body:    []string{"request-key: no Sec-WebSocket-Key field"},
			diags:   []string{"request-key"},
			refused: []string{"request-key"},
		},
		{
			name:    "key not 16 bytes",
			raw:     strings.Replace(upgradeHead, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1) + "\r\n",
			status:  400,
			body:    []string{"request-key: Sec-WebSocket-Key \"c2hvcnQ=\" decodes to 5 bytes"},
			diags:   []string{"request-key"},
			refused: []string{"request-key"},
		},
		{
			name:    "several faults listed together",
			raw:     "POST /chat HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Version: 8\r\n\r\n",
			status:  400,
			header:  map[string]string{"Sec-WebSocket-Version": "13"},
			body:    []string{"request-method: ", "request-upgrade: ", "request-connection: ", "request-key: ", "request-version: "},
			diags:   []string{"request-method", "request-upgrade", "request-connection", "request-key", "request-version"},
			refused: []string{"request-method", "request-upgrade", "request-connection", "request-key", "request-version"},
		},
		{
			name:   "plain GET gets the page",
			raw:    "GET /?autotest=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: test\r\n\r\n",
			opts:   handshake.ServerOptions{Page: page},
			status: 200,
			header: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
			body:   []string{string(page)},
		},
		{
			name:   "plain GET without a page",
			raw:    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
			status: 426,
			header: map[string]string{"Upgrade": "websocket", "Sec-WebSocket-Version": "13"},
			body:   []string{"This is a WebSocket server"},
		},
		{
			name:    "POST without upgrade is a broken handshake",
			raw:     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
			opts:    handshake.ServerOptions{Page: page},
			status:  400,
			body:    []string{"request-method: "},
			diags:   []string{"request-method", "request-upgrade", "request-connection", "request-key", "request-version"},
			refused: []string{"request-method", "request-upgrade", "request-connection", "request-key", "request-version"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := readRequest(t, tt.raw)
			r := handshake.Respond(req, tt.opts)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d; reply:\n%s", r.Status, tt.status, r.Bytes())
			}
			if r.Upgrade != (tt.status == 101) {
				t.Errorf("Upgrade = %v for status %d", r.Upgrade, r.Status)
			}
			resp, body := parseReply(t, r, req.Method)
			for name, want := range tt.header {
				got := resp.Header.Values(name)
				switch {
				case want == "" && len(got) > 0:
					t.Errorf("reply has %s: %q, want none", name, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("reply %s = %q, want %q", name, got, want)
				}
			}
			for _, s := range tt.body {
				if !strings.Contains(body, s) {
					t.Errorf("body %q does not contain %q", body, s)
				}
			}
			if tt.status == 101 && len(r.Body) != 0 {
				t.Errorf("101 with a body: %q", r.Body)
			}
			if tt.status != 101 {
				if !resp.Close {
					t.Errorf("reply does not say Connection: close:\n%s", r.Head)
				}
				if cl := resp.ContentLength; cl != int64(len(r.Body)) {
					t.Errorf("Content-Length %d, body %d bytes", cl, len(r.Body))
				}
			}
			if got := ids(r.Diagnostics); !reflect.DeepEqual(got, tt.diags) {
				t.Errorf("diagnostics %q, want %q", got, tt.diags)
			}
			if got := ids(r.Refused); !reflect.DeepEqual(got, tt.refused) {
				t.Errorf("refused %q, want %q", got, tt.refused)
			}
			if r.Protocol != tt.protocol {
				t.Errorf("protocol %q, want %q", r.Protocol, tt.protocol)
			}
			if !reflect.DeepEqual(r.Extensions, tt.extensions) {
				t.Errorf("extensions %q, want %q", r.Extensions, tt.extensions)
			}
			if r.Page != (tt.status == 200) {
				t.Errorf("Page = %v for status %d", r.Page, r.Status)
			}
		})
	}
}

func TestRespondHeadHasNoBody(t *testing.T) {
	t.Parallel()
	page := []byte("<p>page</p>")
	r := handshake.Respond(readRequest(t, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"), handshake.ServerOptions{Page: page})
	if r.Status != 200 || len(r.Body) != 0 {
		t.Fatalf("HEAD: status %d, body %q; want 200 without a body", r.Status, r.Body)
	}
	resp, _ := parseReply(t, r, "HEAD")
	if resp.ContentLength != int64(len(page)) {
		t.Errorf("HEAD Content-Length %d, want the page's %d", resp.ContentLength, len(page))
	}
}

// TestRespondAcceptKey checks the accept value against keys other than the
// RFC sample, computed independently of AcceptKey.
func TestRespondAcceptKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"dGhlIHNhbXBsZSBub25jZQ==": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		"AAAAAAAAAAAAAAAAAAAAAA==": "ICX+Yqv66kxgM0FcWaLWlFLwTAI=",
	} {
		raw := strings.Replace(upgradeHead, "dGhlIHNhbXBsZSBub25jZQ==", key, 1) + "\r\n"
		r := handshake.Respond(readRequest(t, raw), handshake.ServerOptions{})
		resp, _ := parseReply(t, r, "GET")
		if got := resp.Header.Get("Sec-WebSocket-Accept"); got != want {
			t.Errorf("key %q: accept %q, want %q", key, got, want)
		}
	}
}

func TestRespondExtensionOffers(t *testing.T) {
	t.Parallel()
	raw := upgradeHead + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, foo\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	var got []string
	handshake.Respond(readRequest(t, raw), handshake.ServerOptions{AcceptExtensions: func(offers []string) (string, bool) {
		got = offers
		return "", false
	}})
	want := []string{"permessage-deflate; client_max_window_bits", "foo", "permessage-deflate"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("offers %q, want %q", got, want)
	}
}

func TestRespondError(t *testing.T) {
	t.Parallel()
	read := func(raw string) error {
		_, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err == nil {
			t.Fatalf("ReadRequest(%.40q...) succeeded, want an error", raw)
		}
		return err
	}
	tests := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"head too large", read("GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"), 431, "larger than 65536 bytes"},
		{"TLS record", read("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 400, "not HTTP/1.x"},
		{"HTTP/2 preface", read("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 400, "not HTTP/1.x"},
		{"timeout", &handshake.IncompleteError{N: 7, Err: os.ErrDeadlineExceeded}, 408, "7 bytes received"},
		{"client went away", read("GET / HTTP/1.1\r\nHost"), 0, ""},
		{"nothing at all", read(""), 0, ""},
		{"other error", errors.New("boom"), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := handshake.RespondError(tt.err)
			if tt.status == 0 {
				if r != nil {
					t.Fatalf("RespondError(%v) = %d, want nothing sent", tt.err, r.Status)
				}
				return
			}
			if r == nil {
				t.Fatalf("RespondError(%v) = nil, want %d", tt.err, tt.status)
			}
			resp, body := parseReply(t, r, "GET")
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("got %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if !resp.Close {
				t.Errorf("reply does not say Connection: close:\n%s", r.Head)
			}
		})
	}
}

func TestTextReply(t *testing.T) {
	t.Parallel()
	r := handshake.TextReply(400, "use wss://\n")
	resp, body := parseReply(t, r, "GET")
	if resp.StatusCode != 400 || resp.Status != "400 Bad Request" || body != "use wss://\n" || !resp.Close {
		t.Errorf("got %q %q close=%v", resp.Status, body, resp.Close)
	}
	if r.Upgrade || r.Page {
		t.Errorf("a text reply is neither an upgrade nor the page: %+v", r)
	}
}
