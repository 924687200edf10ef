package handshake_test

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

func TestAppendEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text: {}[]~", "plain text: {}[]~"},
		{"a\x1b[31mred", `a\x1b[31mred`},
		{"nul\x00 bel\x07 cr\r lf\n del\x7f", `nul\x00 bel\x07 cr\x0d lf\x0a del\x7f`},
		{"tab\there", `tab\there`},
		{"caf\u00e9 \u2713 \u4e16\u754c \U0001F600", "caf\u00e9 \u2713 \u4e16\u754c \U0001F600"},
		{"bad \xff\xfe utf8 \xe2\x82", `bad \xff\xfe utf8 \xe2\x82`},
		{"c1 \u009b csi \u0085 nel", `c1 \xc2\x9b csi \xc2\x85 nel`},
		{"bidi \u202eevil\u202c zw\u200b ls\u2028", `bidi \u202eevil\u202c zw\u200b ls\u2028`},
		{"tag \U000E0041", `tag \U000e0041`},
		{`back\slash`, `back\slash`},
	}
	for _, tt := range tests {
		got := string(handshake.AppendEscaped([]byte("> "), []byte(tt.in)))
		if got != "> "+tt.want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", tt.in, got, "> "+tt.want)
		}
	}
}

// TestDocumentShape checks the JSON document's fields, in SPEC §3.1 order,
// and the nulls of an exchange without a response.
func TestDocumentShape(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"Sec-WebSocket-Protocol: chat\r\nSet-Cookie: id=secret\r\n\r\n"))
	res := run(t, &handshake.Options{URL: "ws://bob:pw@" + s.addr + "/chat", Protocols: []string{"chat"}, Key: fixedKey})
	b, err := json.Marshal(res.Document(0))
	if err != nil {
		t.Fatal(err)
	}
	keys := topKeys(t, b)
	want := []string{"url", "ok", "exit_code", "request", "response", "accept", "negotiated", "diagnostics", "timing", "tls", "redirects"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("document keys = %v, want %v", keys, want)
	}
	var doc struct {
		OK      bool `json:"ok"`
		Request struct {
			Raw     string      `json:"raw"`
			Method  string      `json:"method"`
			Target  string      `json:"target"`
			Headers [][2]string `json:"headers"`
		} `json:"request"`
		Response struct {
			Raw     string      `json:"raw"`
			Status  int         `json:"status"`
			Headers [][2]string `json:"headers"`
		} `json:"response"`
		Accept struct {
			Key, Expected, Received string
			OK                      bool
		} `json:"accept"`
		Negotiated struct {
			Protocol   string   `json:"protocol"`
			Extensions []string `json:"extensions"`
		} `json:"negotiated"`
		Diagnostics []map[string]string `json:"diagnostics"`
		Timing      map[string]*float64 `json:"timing"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.OK || doc.Request.Method != "GET" || doc.Request.Target != "/chat" || doc.Response.Status != 101 {
		t.Errorf("document = %s", b)
	}
	if doc.Accept.Key != fixedKey || doc.Accept.Expected != rfcAccept || doc.Accept.Received != rfcAccept || !doc.Accept.OK {
		t.Errorf("accept = %+v", doc.Accept)
	}
	if doc.Negotiated.Protocol != "chat" || doc.Negotiated.Extensions == nil {
		t.Errorf("negotiated = %+v", doc.Negotiated)
	}
	if bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("Ym9iOnB3")) || bytes.Contains(b, []byte("bob:pw")) {
		t.Errorf("secrets leak into the document: %s", b)
	}
	if !strings.Contains(doc.Request.Raw, "Authorization: <redacted 14 bytes>\r\n") || doc.Request.Headers[len(doc.Request.Headers)-1] != [2]string{"Authorization", "<redacted 14 bytes>"} {
		t.Errorf("Authorization not redacted in raw and headers: %q %q", doc.Request.Raw, doc.Request.Headers)
	}
	if !strings.Contains(doc.Response.Raw, "Set-Cookie: <redacted 9 bytes>\r\n") {
		t.Errorf("Set-Cookie not redacted: %q", doc.Response.Raw)
	}
	if len(doc.Diagnostics) == 0 || doc.Diagnostics[0]["id"] != "accept-ok" || doc.Diagnostics[0]["severity"] != "ok" || doc.Diagnostics[0]["rfc"] != "RFC 6455 §4.2.2" {
		t.Errorf("diagnostics = %v", doc.Diagnostics)
	}
	if doc.Timing["tls_ms"] != nil || doc.Timing["total_ms"] == nil || doc.Timing["connect_ms"] == nil {
		t.Errorf("timing = %v", doc.Timing)
	}
	if _, ok := doc.Timing["response_ms"]; !ok {
		t.Error("timing lacks response_ms")
	}

	// Shown secrets.
	res = run(t, &handshake.Options{URL: "ws://bob:pw@" + s.addr + "/", ShowSecrets: true})
	b, _ = json.Marshal(res.Document(0))
	if !bytes.Contains(b, []byte("Basic Ym9iOnB3")) || !bytes.Contains(b, []byte("id=secret")) {
		t.Errorf("--show-secrets document hides them: %s", b)
	}
}

// TestDialFailure: no connection, no request sent, the reason in the
// transcript and the document.
func TestDialFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	res := run(t, &handshake.Options{URL: "ws://" + addr + "/"})
	if res.Class != handshake.ClassNoResponse || res.Sent || res.Err == nil || res.Conn != nil {
		t.Fatalf("Class %v, Sent %v, Err %v", res.Class, res.Sent, res.Err)
	}
	var buf bytes.Buffer
	res.WriteTranscript(&buf, nil)
	tr := buf.String()
	if strings.Contains(tr, "> GET") || !strings.Contains(tr, "✗ connect-failed") || !strings.Contains(tr, addr) || !strings.Contains(tr, "refused") {
		t.Errorf("transcript:\n%s", tr)
	}
	b, _ := json.Marshal(res.Document(3))
	var doc struct {
		Request, Response, Accept any
		ExitCode                  int `json:"exit_code"`
		Diagnostics               []struct{ ID, Severity, Message string }
	}
	json.Unmarshal(b, &doc)
	if doc.Request != nil || doc.Response != nil || doc.Accept != nil || doc.ExitCode != 3 ||
		len(doc.Diagnostics) != 1 || doc.Diagnostics[0].ID != "connect-failed" || doc.Diagnostics[0].Severity != "error" ||
		!strings.Contains(doc.Diagnostics[0].Message, addr) {
		t.Errorf("document = %s", b)
	}
}

// topKeys returns the keys of a JSON object in order.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestFoldedSecretRedacted: a folded continuation of a secret field is
// redacted too, in the transcript and the raw JSON.
func TestFoldedSecretRedacted(t *testing.T) {
	t.Parallel()
	s := startRaw(t, write(ok101+"Set-Cookie: a=1;\r\n  more=topsecret\r\nno colon\r\n\tstill=hidden\r\nX-Next: shown\r\n\r\n"))
	res := run(t, &handshake.Options{URL: s.url("/")})
	var buf bytes.Buffer
	res.WriteTranscript(&buf, nil)
	b, _ := json.Marshal(res.Document(0))
	for _, out := range []string{buf.String(), string(b)} {
		if strings.Contains(out, "topsecret") || strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
			t.Errorf("folded secret not redacted:\n%s", out)
		}
	}
	if !strings.Contains(buf.String(), "<   <redacted 14 bytes>\n") {
		t.Errorf("continuation line not shown redacted:\n%s", buf.String())
	}
}

// TestTranscriptRFCOnce: a diagnostic's line cites its RFC section once
// (request-host named RFC 9112 and then RFC 6455).
func TestTranscriptRFCOnce(t *testing.T) {
	req := handshake.ParseRequest([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	for _, d := range handshake.DiagnoseRequest(req) {
		if d.ID == "request-host" {
			if d.RFC != "RFC 9112 §3.2" || strings.Contains(d.Message, "RFC") {
				t.Errorf("request-host: RFC %q, message %q", d.RFC, d.Message)
			}
			return
		}
	}
	t.Error("no request-host diagnostic")
}
