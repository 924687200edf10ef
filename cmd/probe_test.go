package cmd_test

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

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// probeIO is an IO over buffers with a clock that stands still (every
// duration is 0.0ms, whatever order concurrent checks read it in) and the
// counting random source.
func probeIO() (*cmd.IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	nd := &net.Dialer{}
	return &cmd.IO{
		Out:       &out,
		Err:       &errb,
		LookupEnv: func(string) (string, bool) { return "", false },
		Now:       func() time.Time { return now },
		Rand:      &inspectRand{},
		Dial:      nd.DialContext,
	}, &out, &errb
}

// runProbeMain runs `wsdbg probe args...` and returns the exit code and
// both streams.
func runProbeMain(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	cmd.MainMu.Lock()
	defer cmd.MainMu.Unlock()
	o, out, errb := probeIO()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := cmd.MainContext(ctx, append([]string{"wsdbg", "probe"}, args...), o)
	return code, out.String(), errb.String()
}

var verdictLine = regexp.MustCompile(`(?m)^(.) (PASS|FAIL|WARN|INFO|SKIP) (\S+)`)

// verdicts maps each check id of a text output to its verdict.
func verdicts(out string) map[string]string {
	m := map[string]string{}
	for _, v := range verdictLine.FindAllStringSubmatch(out, -1) {
		m[v[3]] = v[2]
	}
	return m
}

// TestProbeServe probes `wsdbg serve` with and without --deflate: no check
// fails, none warns, and the facts are the ones serve is built to show
// (it echoes, does not check Origin, accepts deflate only with --deflate).
func TestProbeServe(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		args := []string{"-q", "-p", "chat"}
		if deflate {
			args = append(args, "--deflate")
		}
		srv := startServe(t, args...)
		code, out, errOut := runProbeMain(t, "--color", "never", "-p", "chat", srv.url)
		if code != 0 {
			t.Fatalf("deflate %v: exit %d\n%s%s", deflate, code, out, errOut)
		}
		want := map[string]string{"hs-deflate": "INFO", "hs-origin": "INFO", "fr-echo": "INFO", "fr-large": "INFO", "fr-deflate": "PASS"}
		if !deflate {
			want["fr-deflate"] = "SKIP"
		}
		got := verdicts(out)
		if len(got) != 33 {
			t.Errorf("deflate %v: %d verdict lines, want 33:\n%s", deflate, len(got), out)
		}
		for id, v := range got {
			w := want[id]
			if w == "" {
				w = "PASS"
			}
			if v != w {
				t.Errorf("deflate %v: %s is %s, want %s\n%s", deflate, id, v, w, out)
			}
		}
		if !strings.HasSuffix(out, "probe: "+map[bool]string{false: "28 passed, 0 failed, 0 warnings, 4 info, 1 skipped", true: "29 passed, 0 failed, 0 warnings, 4 info, 0 skipped"}[deflate]+"\n") {
			t.Errorf("deflate %v: summary line:\n%s", deflate, out)
		}
		srv.stop()
	}
}

// TestProbeGolden compares probe's output against `serve -p chat
// --deflate` with testdata/probe/*: text without and with color (ESC
// stored as \e), verbose text and the JSON document, the last two with
// --serial so that keys and masks come from the counting source in a
// fixed order. The port is replaced by PORT. -update rewrites them.
func TestProbeGolden(t *testing.T) {
	srv := startServe(t, "-q", "-p", "chat", "--deflate")
	_, port, _ := net.SplitHostPort(srv.addr)
	for _, tt := range []struct {
		file string
		args []string
	}{
		{"serve.txt", []string{"--color", "never"}},
		{"serve.color.txt", []string{"--color", "always"}},
		{"serve.verbose.txt", []string{"--color", "never", "--serial", "-v"}},
		{"serve.json", []string{"--serial", "--json"}},
	} {
		args := append(append([]string{"-p", "chat"}, tt.args...), srv.url)
		code, out, errOut := runProbeMain(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", tt.file, code, out, errOut)
		}
		if strings.HasSuffix(tt.file, ".json") {
			var doc struct {
				URL    string
				Checks []struct {
					ID, Verdict, RFC, Message, Sent, Received string
					MS                                        *float64
				}
				ExitCode *int `json:"exit_code"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Checks) != 33 || doc.ExitCode == nil || *doc.ExitCode != 0 {
				t.Fatalf("%s: not the document expected (%v):\n%s", tt.file, err, out)
			}
			for _, c := range doc.Checks {
				if c.ID == "" || c.Verdict == "" || c.Message == "" || c.MS == nil || (c.Verdict != "SKIP" && c.Sent == "") {
					t.Errorf("%s: incomplete check %+v", tt.file, c)
				}
			}
		}
		got := strings.ReplaceAll(out, "127.0.0.1:"+port, "127.0.0.1:PORT")
		got = strings.ReplaceAll(got, "\x1b", `\e`)
		wstest.Golden(t, filepath.Join("testdata", "probe", tt.file), []byte(got))
	}
}

// TestProbeExitCodes checks the exit codes of SPEC §7 for probe: usage
// errors, a failed hs-baseline (inspect's code) and a failed check (9).
func TestProbeExitCodes(t *testing.T) {
	refuser, _ := startInspectPeer(t, fixedReply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	// Upgrades anything, even without a key: hs-key-missing and others fail.
	upgrader, _ := startInspectPeer(t, upgradeReply(""))
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no URL", nil, 2, ""},
		{"unknown check", []string{"--only", "fr-nope", "ws://127.0.0.1:1/"}, 2, ""},
		{"skip baseline", []string{"--skip", "hs-baseline", "ws://127.0.0.1:1/"}, 2, ""},
		{"request file", []string{"--request-file", "probe_test.go", "ws://127.0.0.1:1/"}, 2, ""},
		{"no server", []string{"--timeout", "1s", "ws://" + inspectFreePort(t) + "/"}, 3, "✗ FAIL hs-baseline"},
		{"refused", []string{"ws://" + refuser + "/"}, 4, "- SKIP fr-echo"},
		{"upgrades everything", []string{"--timeout", "1s", "--only", "hs-key-missing,hs-method", "ws://" + upgrader + "/"}, 9, "✗ FAIL hs-key-missing"},
	} {
		code, out, errOut := runProbeMain(t, append([]string{"--color", "never"}, tt.args...)...)
		if code != tt.code || !strings.Contains(out, tt.out) {
			t.Errorf("%s: exit %d, want %d with %q\n%s%s", tt.name, code, tt.code, tt.out, out, errOut)
		}
		if tt.code == 2 && errOut == "" {
			t.Errorf("%s: no message on stderr", tt.name)
		}
	}
}

// BenchmarkProbeServe runs the whole probe (33 checks, default
// concurrency, fr-large's 1 MiB echo and fr-deflate included) against a
// local `serve --deflate`; ns/op is the wall time of one run.
func BenchmarkProbeServe(b *testing.B) {
	srv := startServe(b, "-q", "-p", "chat", "--deflate")
	b.ReportAllocs()
	for b.Loop() {
		code, out, errOut := runProbeMain(b, "--color", "never", "-p", "chat", srv.url)
		if code != 0 {
			b.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
	}
}
