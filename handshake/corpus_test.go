package handshake

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// corpusDir holds real heads captured from real clients and servers
// (testdata/heads/README.md says how).
const corpusDir = "../testdata/heads"

// corpusKey is the Sec-WebSocket-Key of every captured response's request.
const corpusKey = "dGhlIHNhbXBsZSBub25jZQ=="

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorpusRequests: every real client's request is read whole, agrees
// with net/http, draws only the warnings it deserves, and gets a 101 from
// serve's Respond unless it is invalid.
func TestCorpusRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		warn  []ID // request-side diagnostics it deserves
		proto string
	}{
		{"requests/chromium.http", nil, "chat"},
		{"requests/python-websockets.http", nil, "chat"},
		{"requests/node-ws.http", nil, "chat"},
		{"requests/wsdbg.http", nil, "chat"},
		// The key of the usual curl recipe is 13 bytes, base64-encoded.
		{"requests/curl.http", []ID{"request-key"}, ""},
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "requests", "*.http"))
	if len(files) != len(tests) {
		t.Errorf("%d captured requests, %d in the table", len(files), len(tests))
	}
	for _, tt := range tests {
		raw := readCorpus(t, tt.file)
		req, err := ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if !bytes.Equal(req.Raw, raw) || req.BareLF {
			t.Errorf("%s: head of %d bytes (bare LF %v), file has %d", tt.file, len(req.Raw), req.BareLF, len(raw))
		}
		std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Errorf("%s: net/http: %v", tt.file, err)
		} else if std.Method != req.Method || std.RequestURI != req.Target || len(std.Header)+1 != len(req.Fields) {
			// net/http moves Host out of the header map.
			t.Errorf("%s: net/http reads %s %s with %d fields, wsdbg %s %s with %d", tt.file, std.Method, std.RequestURI, len(std.Header)+1, req.Method, req.Target, len(req.Fields))
		}
		var got []ID
		for _, d := range DiagnoseRequest(req) {
			got = append(got, d.ID)
		}
		if !slices.Equal(got, tt.warn) {
			t.Errorf("%s: request diagnostics %v, want %v", tt.file, got, tt.warn)
		}
		reply := Respond(req, ServerOptions{Protocols: []string{"chat"}})
		if reply.Upgrade != (len(tt.warn) == 0) || reply.Protocol != tt.proto {
			t.Errorf("%s: Respond upgrades %v with subprotocol %q", tt.file, reply.Upgrade, reply.Protocol)
		}
	}
}

// TestCorpusResponses: every real server's answer is read whole, its body
// as well, and diagnosed as it deserves against the request it answered.
func TestCorpusResponses(t *testing.T) {
	t.Parallel()
	const v8 = "8"
	tests := []struct {
		file    string
		version string // Sec-WebSocket-Version offered
		deflate bool   // permessage-deflate offered
		status  int
		ids     []ID // every diagnostic, in order
		body    string
	}{
		{"responses/python-websockets-101-deflate.http", "13", true, 101, []ID{"accept-ok", "extension-ok"}, ""},
		{"responses/python-websockets-400-version.http", v8, false, 400, []ID{"status-not-101", "body"}, "invalid Sec-WebSocket-Version header: 8."},
		{"responses/python-websockets-400-no-key.http", "13", false, 400, []ID{"status-not-101", "body"}, "missing Sec-WebSocket-Key header."},
		{"responses/node-ws-101-deflate.http", "13", true, 101, []ID{"accept-ok", "extension-ok"}, ""},
		// ws speaks versions 8 and 13 (RFC 6455 §4.4 allows it).
		{"responses/node-ws-400-version.http", v8, false, 101, []ID{"accept-ok"}, ""},
		{"responses/node-ws-400-no-key.http", "13", false, 400, []ID{"status-not-101", "body"}, "Missing or invalid Sec-WebSocket-Key header"},
		{"responses/wsdbg-serve-101-deflate.http", "13", true, 101, []ID{"accept-ok", "extension-ok"}, ""},
		{"responses/wsdbg-serve-426.http", v8, false, 426, []ID{"version-unsupported", "status-not-101", "body"}, "version 13 only"},
		{"responses/wsdbg-serve-400-no-key.http", "13", false, 400, []ID{"status-not-101", "body"}, "no Sec-WebSocket-Key field"},
		{"responses/nginx-python-websockets-101.http", "13", true, 101, []ID{"accept-ok", "extension-ok"}, ""},
		{"responses/nginx-no-upgrade-headers.http", "13", true, 400, []ID{"status-not-101", "body"}, "did not receive a valid HTTP request"},
		{"responses/nginx-502.http", "13", true, 502, []ID{"status-not-101", "body"}, "502 Bad Gateway"},
		{"responses/nginx-404.http", "13", true, 404, []ID{"status-not-101", "body"}, "404 Not Found"},
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "responses", "*.http"))
	if len(files) != len(tests) {
		t.Errorf("%d captured responses, %d in the table", len(files), len(tests))
	}
	for _, tt := range tests {
		raw := readCorpus(t, tt.file)
		br := bufio.NewReader(bytes.NewReader(raw))
		resp, err := ReadResponse(br)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if resp.Status != tt.status || resp.BareLF {
			t.Errorf("%s: status %d (bare LF %v), want %d", tt.file, resp.Status, resp.BareLF, tt.status)
		}
		if std, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil); err != nil || std.StatusCode != resp.Status {
			t.Errorf("%s: net/http reads %v, %v", tt.file, std, err)
		}
		if resp.Status != 101 {
			resp.Body, resp.BodyTruncated, _ = readBody(br, noDeadline{}, time.Now().Add(time.Second), resp, "GET")
		}
		if len(raw) != len(resp.Raw)+len(resp.Body) {
			t.Errorf("%s: %d bytes read of %d", tt.file, len(resp.Raw)+len(resp.Body), len(raw))
		}
		if !strings.Contains(string(resp.Body), tt.body) {
			t.Errorf("%s: body %q lacks %q", tt.file, resp.Body, tt.body)
		}
		o := &Options{URL: "ws://127.0.0.1/", Key: corpusKey, Version: tt.version, Deflate: tt.deflate}
		reqRaw, err := BuildRequest(mustURL(t, o.URL), o)
		if err != nil {
			t.Fatal(err)
		}
		f := DiagnoseResponse(ParseRequest(reqRaw), resp, o)
		var got []ID
		for _, d := range f.Diagnostics {
			got = append(got, d.ID)
		}
		if !slices.Equal(got, tt.ids) {
			t.Errorf("%s: diagnostics %v, want %v", tt.file, got, tt.ids)
		}
	}
}

type noDeadline struct{}

func (noDeadline) SetReadDeadline(time.Time) error { return nil }

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
