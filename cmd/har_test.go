package cmd_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// harFile is HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as
// far as wsdbg writes it, decoded strictly: a field outside the spec, or
// of another type, fails the test.
type harFile struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"creator"`
		Pages   []json.RawMessage `json:"pages"`
		Entries []harEntry        `json:"entries"`
	} `json:"log"`
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harEntry struct {
	StartedDateTime string  `json:"startedDateTime"`
	Time            float64 `json:"time"`
	Request         struct {
		Method      string  `json:"method"`
		URL         string  `json:"url"`
		HTTPVersion string  `json:"httpVersion"`
		Cookies     []harNV `json:"cookies"`
		Headers     []harNV `json:"headers"`
		QueryString []harNV `json:"queryString"`
		HeadersSize int     `json:"headersSize"`
		BodySize    int     `json:"bodySize"`
	} `json:"request"`
	Response struct {
		Status      int     `json:"status"`
		StatusText  string  `json:"statusText"`
		HTTPVersion string  `json:"httpVersion"`
		Cookies     []harNV `json:"cookies"`
		Headers     []harNV `json:"headers"`
		Content     struct {
			Size     int    `json:"size"`
			MimeType string `json:"mimeType"`
		} `json:"content"`
		RedirectURL string `json:"redirectURL"`
		HeadersSize int    `json:"headersSize"`
		BodySize    int    `json:"bodySize"`
	} `json:"response"`
	Cache   struct{} `json:"cache"`
	Timings struct {
		Blocked float64 `json:"blocked"`
		DNS     float64 `json:"dns"`
		Connect float64 `json:"connect"`
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
		SSL     float64 `json:"ssl"`
	} `json:"timings"`
	ServerIPAddress string `json:"serverIPAddress"`
	Connection      string `json:"connection"`
	ResourceType    string `json:"_resourceType"`
	// Exactly the fields Chrome DevTools writes and reads.
	Messages []struct {
		Type   string  `json:"type"`
		Time   float64 `json:"time"`
		Opcode int     `json:"opcode"`
		Data   string  `json:"data"`
	} `json:"_webSocketMessages"`
}

// readHAR decodes path strictly and checks the HAR 1.2 rules that types
// alone do not: version, ISO 8601 start, timings (-1 only where allowed),
// Chrome's message types and times.
func readHAR(t *testing.T, path string) *harFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read HAR: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var h harFile
	if err := dec.Decode(&h); err != nil {
		t.Fatalf("HAR %s is not HAR 1.2 as expected: %v\n%.2000s", path, err, raw)
	}
	if h.Log.Version != "1.2" || h.Log.Creator.Name != "wsdbg" || h.Log.Pages == nil || h.Log.Entries == nil {
		t.Errorf("log: version %q, creator %+v, pages %v", h.Log.Version, h.Log.Creator, h.Log.Pages)
	}
	for i, e := range h.Log.Entries {
		if _, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err != nil {
			t.Errorf("entry %d startedDateTime %q: %v", i, e.StartedDateTime, err)
		}
		tm := e.Timings
		if tm.Send < 0 || tm.Wait < 0 || tm.Receive < 0 || tm.DNS < -1 || tm.Connect < -1 || tm.SSL < -1 || tm.Blocked < -1 {
			t.Errorf("entry %d timings %+v: send, wait, receive must be >= 0, the others >= -1", i, tm)
		}
		if e.ResourceType != "websocket" || e.Request.Method == "" || e.Request.Headers == nil || e.Response.Headers == nil || e.Request.Cookies == nil {
			t.Errorf("entry %d: %+v", i, e)
		}
		for j, m := range e.Messages {
			if m.Type != "send" && m.Type != "receive" || m.Opcode < 1 || m.Time < 1e9 {
				t.Errorf("entry %d message %d: %+v", i, j, m)
			}
		}
	}
	return &h
}

// TestHARProxyAndServe puts `proxy --har` in front of `serve --har`, has
// gorilla send a text and a binary message, and stops both while the
// connection is still open (Ctrl-C mid-session): each file is complete,
// with Chrome's fields, "send" being what the client sent in both.
func TestHARProxyAndServe(t *testing.T) {
	dir := t.TempDir()
	serveHAR, proxyHAR := filepath.Join(dir, "serve.har"), filepath.Join(dir, "proxy.har")
	srv := startServe(t, "--har", serveHAR, "--deflate")
	p := startProxy(t, srv.url, "--har", proxyHAR, "-H", "Cookie: secret=1")
	d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: serveWait}
	c, _, err := d.Dial(p.url+"room?q=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bin := []byte{0, 1, 2, 0xff}
	c.WriteMessage(websocket.TextMessage, []byte("hello ✓"))
	c.WriteMessage(websocket.BinaryMessage, bin)
	for range 2 {
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	// Ctrl-C with the connection open.
	if code := p.stop(); code != 0 {
		t.Errorf("proxy exit %d, stderr %s", code, p.errs)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exit %d", code)
	}
	for _, path := range []string{proxyHAR, serveHAR} {
		h := readHAR(t, path)
		if len(h.Log.Entries) != 1 {
			t.Fatalf("%s: %d entries, want 1", path, len(h.Log.Entries))
		}
		e := h.Log.Entries[0]
		if e.Response.Status != 101 || !strings.HasSuffix(e.Request.URL, "/room?q=1") || len(e.Request.QueryString) != 1 {
			t.Errorf("%s: request %s %s, status %d", path, e.Request.Method, e.Request.URL, e.Response.Status)
		}
		type msg struct {
			typ  string
			op   int
			data string
		}
		var got []msg
		for _, m := range e.Messages {
			got = append(got, msg{m.Type, m.Opcode, m.Data})
		}
		want := []msg{
			{"send", 1, "hello ✓"}, {"receive", 1, "hello ✓"},
			{"send", 2, base64.StdEncoding.EncodeToString(bin)}, {"receive", 2, base64.StdEncoding.EncodeToString(bin)},
		}
		if len(got) != len(want) {
			t.Errorf("%s: messages %v, want %v", path, got, want)
			continue
		}
		for _, w := range want { // send and receive may interleave
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("%s: no message %v in %v", path, w, got)
			}
		}
		raw, _ := os.ReadFile(path)
		if bytes.Contains(raw, []byte("secret=1")) {
			t.Errorf("%s: the Cookie value is not redacted", path)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

// TestHARGolden compares `send --har` against a golden file: the clock
// and the random source are fixed, so keys and times are too; only the
// port changes between runs.
func TestHARGolden(t *testing.T) {
	url := handServer{serve: echoServe}.start(t)
	port := regexp.MustCompile(`:(\d+)`).FindStringSubmatch(url)[1]
	path := filepath.Join(t.TempDir(), "send.har")
	var out, errb bytes.Buffer
	fixed := time.Date(2026, 12, 2, 16, 0, 0, 123456000, time.UTC)
	o := &cmd.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Now: func() time.Time { return fixed }, Rand: &inspectRand{}}
	code := runWsdbg(t, o, "send", "-q", "--har", path, "--binary-out", "hex", url+"?token=x", "hello wörld")
	if code != 0 {
		t.Fatalf("send exit %d; stderr:\n%s", code, errb.String())
	}
	readHAR(t, path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, raw, "", "  ")
	got := strings.ReplaceAll(pretty.String(), ":"+port, ":PORT")
	got = strings.ReplaceAll(got, `"connection": "`+port+`"`, `"connection": "PORT"`)
	wstest.Golden(t, filepath.Join("testdata", "har", "send.har"), []byte(got))
}
