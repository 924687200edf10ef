package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/handshake"
)

// parseHandshake runs a throwaway command with handshakeFlags over args and
// returns what handshakeOptions made of them.
func parseHandshake(t *testing.T, o *IO, args ...string) (*handshake.Options, error) {
	t.Helper()
	MainMu.Lock()
	defer MainMu.Unlock()
	var opts *handshake.Options
	var optErr error
	app := &cli.App{
		Name:           "wsdbg",
		Writer:         &bytes.Buffer{},
		ErrWriter:      &bytes.Buffer{},
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{
			Name:  "inspect",
			Flags: handshakeFlags(),
			Action: func(c *cli.Context) error {
				opts, optErr = handshakeOptions(c, o)
				return nil
			},
		}},
	}
	if err := app.Run(append([]string{"wsdbg", "inspect"}, args...)); err != nil {
		return nil, err
	}
	return opts, optErr
}

func flagIO(env map[string]string) *IO {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &IO{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       func() time.Time { return clock },
		Rand:      strings.NewReader("0123456789abcdef"),
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("test dialer")
		},
	}
	o.fill()
	return o
}

func TestHandshakeOptionsMapping(t *testing.T) {
	t.Parallel()
	o := flagIO(map[string]string{"HTTP_PROXY": "http://proxy.test:3128"})
	opts, err := parseHandshake(t, o,
		"-H", "X-A: 1, 2", "-p", "a", "--header", "X-B: 3", "--protocol", "b, c",
		"-x", "permessage-deflate; client_max_window_bits", "--extension", "x-foo",
		"--omit", "Origin", "--omit", "Sec-WebSocket-Key",
		"--split-headers", "--deflate", "--ws-version", "8", "--key", "a2V5", "--origin", "http://o.test",
		"--request-file", "req.txt", "--timeout", "3s", "-k", "--sni", "s.test",
		"--connect-to", "127.0.0.1:1", "--location", "--lenient", "--show-secrets",
		"ws://h.test/p")
	if err != nil {
		t.Fatal(err)
	}
	want := handshake.Options{
		URL:          "ws://h.test/p",
		Headers:      []string{"X-A: 1, 2", "X-B: 3"},
		Omit:         []string{"Origin", "Sec-WebSocket-Key"},
		Protocols:    []string{"a", "b, c"},
		SplitHeaders: true,
		Extensions:   []string{"permessage-deflate; client_max_window_bits", "x-foo"},
		Deflate:      true,
		Version:      "8",
		Key:          "a2V5",
		Origin:       "http://o.test",
		RequestFile:  "req.txt",
		UserAgent:    UserAgent(),
		Timeout:      3 * time.Second,
		Insecure:     true,
		SNI:          "s.test",
		ConnectTo:    "127.0.0.1:1",
		Location:     true,
		Lenient:      true,
		ShowSecrets:  true,
	}
	got := *opts
	if got.Now == nil || got.Rand != o.Rand || got.DialContext == nil || got.Getenv == nil || got.CheckExtension == nil {
		t.Fatalf("injected fields not wired: %+v", got)
	}
	if !got.Now().Equal(o.Now()) {
		t.Errorf("Now is not the IO's clock")
	}
	if _, err := got.DialContext(context.Background(), "tcp", "x:1"); err == nil || err.Error() != "test dialer" {
		t.Errorf("DialContext is not the IO's dialer: %v", err)
	}
	if v := got.Getenv("HTTP_PROXY"); v != "http://proxy.test:3128" {
		t.Errorf("Getenv(HTTP_PROXY) = %q", v)
	}
	if p := got.CheckExtension([]string{"permessage-deflate"}, "permessage-deflate; server_max_window_bits=99"); len(p) == 0 {
		t.Errorf("CheckExtension found no problem with server_max_window_bits=99")
	}
	got.Now, got.Rand, got.DialContext, got.Getenv, got.CheckExtension = nil, nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options\n got %+v\nwant %+v", got, want)
	}
}

func TestHandshakeOptionsDefaults(t *testing.T) {
	t.Parallel()
	opts, err := parseHandshake(t, flagIO(nil), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Timeout != 10*time.Second || opts.Version != "13" || opts.Proxy != "" || opts.Headers != nil || opts.Insecure {
		t.Errorf("defaults: %+v", opts)
	}
}

// TestHandshakeOptionsNoProxy: --proxy "" hides the proxy variables, as
// curl -x "" does, and nothing else.
func TestHandshakeOptionsNoProxy(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HTTP_PROXY": "http://p.test", "https_proxy": "http://p.test", "ALL_PROXY": "socks5://p.test", "HOME": "/home/x"}
	opts, err := parseHandshake(t, flagIO(env), "--proxy", "", "ws://h.test/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"HTTP_PROXY", "https_proxy", "ALL_PROXY"} {
		if v := opts.Getenv(k); v != "" {
			t.Errorf("Getenv(%s) = %q; want hidden", k, v)
		}
	}
	if v := opts.Getenv("HOME"); v != "/home/x" {
		t.Errorf("Getenv(HOME) = %q; other variables must pass", v)
	}
}

func TestHandshakeOptionsUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "missing URL"},
		{[]string{"ftp://h/"}, `"ftp"`},
		{[]string{"-H", "NoColon", "ws://h/"}, `-H "NoColon"`},
		{[]string{"--omit", "A:B", "ws://h/"}, `--omit "A:B"`},
		{[]string{"-p", "", "ws://h/"}, `-p ""`},
		{[]string{"-x", " ", "ws://h/"}, `-x " "`},
		{[]string{"--key", "a\r\nX-Evil: 1", "ws://h/"}, "--key"},
		{[]string{"--timeout", "-1s", "ws://h/"}, "--timeout -1s"},
		{[]string{"--color", "sometimes", "ws://h/"}, `--color "sometimes"`},
		{[]string{"--unix", "/tmp/s", "--connect-to", "h:1", "ws://h/"}, "--unix"},
		{[]string{"--unix", "/tmp/s", "--proxy", "http://p:1", "ws://h/"}, "cannot be combined"},
		{[]string{"--connect-to", ":", "ws://h/"}, "neither host nor port"},
		{[]string{"--connect-to", "h:0", "ws://h/"}, `port "0"`},
		{[]string{"--connect-to", "h", "ws://h/"}, `--connect-to "h"`},
		{[]string{"--proxy", "gopher://p", "ws://h/"}, `"gopher"`},
		{[]string{"--cert-key", "k.pem", "ws://h/"}, "without --cert"},
		{[]string{"--cacert", "/nonexistent.pem", "ws://h/"}, `--cacert "/nonexistent.pem"`},
	}
	for _, tt := range tests {
		_, err := parseHandshake(t, flagIO(nil), tt.args...)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage {
			t.Errorf("%q: error %v; want a usage error", tt.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %q lacks %q", tt.args, err, tt.want)
		}
	}
}

func TestPainter(t *testing.T) {
	t.Parallel()
	o := flagIO(map[string]string{"NO_COLOR": "1"})
	if p := o.painter("never", true); p != nil {
		t.Errorf("--color never gave a painter")
	}
	if p := o.painter("auto", true); p != nil {
		t.Errorf("NO_COLOR gave a painter")
	}
	// fatih/color's global NoColor is true when the test's stdout is not a
	// terminal; the painter must color anyway and leave the global alone.
	before := color.NoColor
	p := o.painter("always", false)
	if p == nil {
		t.Fatal("--color always gave no painter")
	}
	seen := map[string]handshake.Kind{}
	for k := handshake.KindRequest; k <= handshake.KindID; k++ {
		s := p(k, "text")
		if !strings.HasPrefix(s, "\x1b[") || !strings.Contains(s, "text") {
			t.Errorf("%v: %q is not colored", k, s)
		}
		if prev, dup := seen[s]; dup && k <= handshake.KindError {
			t.Errorf("%v and %v look the same: %q", prev, k, s)
		}
		seen[s] = k
	}
	if got := p(handshake.KindError, "✗"); got != "\x1b[31;1m✗\x1b[0;22m" {
		t.Errorf("error marker %q", got)
	}
	if color.NoColor != before {
		t.Errorf("painter changed color.NoColor")
	}
}

func TestHandshakeExit(t *testing.T) {
	t.Parallel()
	resp := func(status int, reason string) *handshake.Response {
		return &handshake.Response{Status: status, Reason: reason}
	}
	tests := []struct {
		r    *handshake.Result
		code int
		msg  []string
	}{
		{&handshake.Result{Class: handshake.ClassOK}, 0, nil},
		{&handshake.Result{Class: handshake.ClassNoResponse, Err: &handshake.DialError{Stage: "connect", Err: errors.New(`"h:1" refused the connection`)}}, 3, []string{"no usable response", "refused"}},
		{&handshake.Result{Class: handshake.ClassRefused, Response: resp(404, "Not Found"), Diagnostics: []handshake.Diagnostic{handshake.Diag("status-not-101", "no such path")}}, 4, []string{"404 Not Found", "no such path"}},
		{&handshake.Result{Class: handshake.ClassBadHandshake, Response: resp(101, "Switching Protocols"), Diagnostics: []handshake.Diagnostic{handshake.Diag("accept-ok", "ok"), handshake.Diag("upgrade-missing", "x"), handshake.Diag("expect-status", "y")}}, 5, []string{"upgrade-missing", "--lenient"}},
		{&handshake.Result{Class: handshake.ClassExpect, Response: resp(101, "Switching Protocols"), Diagnostics: []handshake.Diagnostic{handshake.Diag("expect-protocol", "wanted chat")}}, 7, []string{"expect-protocol", "wanted chat"}},
	}
	for _, tt := range tests {
		err := handshakeExit(tt.r)
		if tt.code == 0 {
			if err != nil {
				t.Errorf("%v: %v; want nil", tt.r.Class, err)
			}
			continue
		}
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != tt.code || !ee.Quiet {
			t.Errorf("%v: %#v; want a quiet ExitError with code %d", tt.r.Class, err, tt.code)
			continue
		}
		if exitCodeOf(err) != tt.code {
			t.Errorf("%v: exitCodeOf = %d", tt.r.Class, exitCodeOf(err))
		}
		for _, s := range tt.msg {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: %q lacks %q", tt.r.Class, err, s)
			}
		}
		if loud := handshakeExitError(tt.r, false); loud.Quiet || loud.Code != tt.code {
			t.Errorf("%v: handshakeExitError(r, false) = %+v", tt.r.Class, loud)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"headers": [][2]string{{"Host", "a, [b]"}, {"X", "quote \" and \\ and \n"}},
		"nested":  []any{[]int{1, 2}, map[string]any{"k": []string{}}},
		"empty":   []string{},
		"null":    nil,
		"html":    "<a&b>",
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{`["Host", "a, [b]"]`, `["X", "quote \" and \\ and \n"]`, `[1, 2]`, `"<a&b>"`} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s:\n%s", s, out)
		}
	}
	var got, want any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	b, _ := json.Marshal(v)
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n%v\n%v", got, want)
	}
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") < 5 {
		t.Errorf("want an indented document ending in a newline:\n%s", out)
	}
}
