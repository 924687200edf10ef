package cmd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/cmd"
	"github.com/wsdbg/wsdbg/handshake"
)

// countingListener accepts on loopback and counts the connections, so a
// test can prove that bad input sent nothing.
func countingListener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

// TestBadInputSendsNothing: each kind of bad input (a flag without its
// value, an unknown flag, a bad value, a misread URL) is one line on
// stderr saying what was wrong and what to type instead, exit 2, and no
// connection is opened.
func TestBadInputSendsNothing(t *testing.T) {
	addr, accepted := countingListener(t)
	url := "ws://" + addr + "/"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", url, "hello", "-p"}, "wsdbg: flag needs an argument: -p; write it like -p chat\n"},
		{[]string{"send", url, "hello", "--origin"}, "wsdbg: flag needs an argument: --origin; write it like --origin http://127.0.0.1:8080\n"},
		{[]string{"inspect", url, "--timeout"}, "wsdbg: flag needs an argument: --timeout; write it like --timeout 5s\n"},
		{[]string{"send", url, "--expect", "--", "x"}, "wsdbg: flag needs an argument: --expect; write it like --expect hello\n"},
		{[]string{"send", "-q", url, "hi", "-z"}, "wsdbg: unknown flag -z; try 'wsdbg send --help'; to send \"-z\" as a message, put it after --: wsdbg send URL -- -z\n"},
		{[]string{"send", "-q", "-z", url, "hi"}, "wsdbg: unknown flag -z; try 'wsdbg send --help'; to send \"-z\" as a message, put it after --: wsdbg send URL -- -z\n"},
		{[]string{"inspect", "-v", url}, "wsdbg: unknown flag -v; try 'wsdbg inspect --help'\n"},
		{[]string{"inspect", "--timeout", "5", url}, "wsdbg: --timeout 5: a duration needs a unit (ms, s, m, h); write --timeout 5s\n"},
		{[]string{"send", "--count", "abc", url, "x"}, "wsdbg: --count abc: \"abc\" is not a whole number; write e.g. --count 2\n"},
		{[]string{"send", "--max-message-size", "1.5k", url, "x"}, "wsdbg: --max-message-size 1.5k: a size is a whole number of bytes (1.5k is 1536 bytes); write --max-message-size 1536\n"},
		{[]string{"inspect", "ws:/" + addr + "/"}, "wsdbg: parse URL: \"ws:/" + addr + "/\": the scheme \"ws:\" needs \"//\" before the host; write ws://" + addr + "/\n"},
		{[]string{"inspect", "wss:" + addr}, "wsdbg: parse URL: \"wss:" + addr + "\": the scheme \"wss:\" needs \"//\" before the host; write wss://" + addr + "\n"},
		{[]string{"send", "--binary-out", "octal", url}, "wsdbg: --binary-out \"octal\" is not a format; write --binary-out raw, --binary-out hex or --binary-out base64\n"},
		{[]string{"inspect", "--connect-to", "nope", url}, "wsdbg: --connect-to \"nope\" is not HOST:PORT (missing port in address); write e.g. --connect-to 127.0.0.1:8080 or --connect-to [::1]:8080\n"},
		{[]string{"inspect", "-H", "NoColon", url}, "wsdbg: -H \"NoColon\" is not \"Name: value\"; write e.g. -H \"X-Token: abc\"\n"},
		{[]string{"connect", "http:" + addr + "/x"}, "wsdbg: parse URL: \"http:" + addr + "/x\": the scheme \"http:\" needs \"//\" before the host; write http://" + addr + "/x\n"},
	} {
		code, out, errOut := runInspectMain(t, nil, false, tc.args...)
		if code != cmd.ExitUsage || errOut != tc.want || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	time.Sleep(50 * time.Millisecond) // let any stray connection be counted
	if n := accepted.Load(); n != 0 {
		t.Errorf("bad input opened %d connections", n)
	}
}

// TestJSONUsageError: with --json a usage error is also on stdout, as the
// document (inspect) or an error event (send, connect), exit code 2.
func TestJSONUsageError(t *testing.T) {
	code, out, errOut := runInspectMain(t, nil, false, "inspect", "--json", "ws://127.0.0.1:1/", "--timeout", "5")
	want := "{\n  \"url\": null,\n  \"ok\": false,\n  \"exit_code\": 2,\n  \"error\": \"--timeout 5: a duration needs a unit (ms, s, m, h); write --timeout 5s\"\n}\n"
	if code != 2 || out != want || errOut != "wsdbg: --timeout 5: a duration needs a unit (ms, s, m, h); write --timeout 5s\n" {
		t.Errorf("inspect: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runInspectMain(t, nil, false, "inspect", "--json", "--expect-status", "42", "ws://127.0.0.1:1/")
	var doc struct {
		URL      string `json:"url"`
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 2 || doc.URL != "ws://127.0.0.1:1/" || doc.OK || doc.ExitCode != 2 || !strings.Contains(doc.Error, "--expect-status 42") {
		t.Errorf("inspect --expect-status 42: exit %d, %v, stdout %q", code, err, out)
	}
	for _, c := range []string{"send", "connect"} {
		code, out, _ := runInspectMain(t, nil, false, c, "ws://127.0.0.1:1/", "--json", "-z")
		want := `{"event":"error","message":"unknown flag -z; try 'wsdbg ` + c + ` --help'`
		if code != 2 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\"exit_code\":2}\n") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q", c, code, out)
		}
	}
	// Without --json stdout stays empty.
	if _, out, _ := runInspectMain(t, nil, false, "send", "ws://127.0.0.1:1/", "-z"); out != "" {
		t.Errorf("stdout %q without --json", out)
	}
}

// TestHelpAndVersion: `wsdbg --version` is `wsdbg version`; `wsdbg help`
// and `wsdbg help COMMAND` are --help; help lines show defaults only where
// there is one, and each flag once.
func TestHelpAndVersion(t *testing.T) {
	_, version, _ := runInspectMain(t, nil, false, "version")
	for _, args := range [][]string{{"--version"}, {"-V"}} {
		code, out, errOut := runInspectMain(t, nil, false, args...)
		if code != 0 || out != version || errOut != "" || !strings.HasPrefix(out, "wsdbg ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", args, code, out, errOut, version)
		}
	}
	_, appHelp, _ := runInspectMain(t, nil, false, "--help")
	if code, out, _ := runInspectMain(t, nil, false, "help"); code != 0 || out != appHelp {
		t.Errorf("help: exit %d, stdout %q; want --help's", code, out)
	}
	_, sendHelp, _ := runInspectMain(t, nil, false, "send", "--help")
	if code, out, _ := runInspectMain(t, nil, false, "help", "send"); code != 0 || out != sendHelp {
		t.Errorf("help send: exit %d, stdout %q; want send --help's", code, out)
	}
	if code, _, errOut := runInspectMain(t, nil, false, "help", "nope"); code != 2 || !strings.HasPrefix(errOut, `wsdbg: no command "nope"; the commands are `) {
		t.Errorf("help nope: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runInspectMain(t, nil, false, "--frobnicate"); code != 2 || errOut != "wsdbg: unknown flag --frobnicate; the options before a command are --help and --version (try 'wsdbg --help')\n" {
		t.Errorf("--frobnicate: exit %d, stderr %q", code, errOut)
	}
	for _, bad := range []string{"(default: false)", "(default: 0s)", "(default: 0)", "(default: none)", "[ -"} {
		if strings.Contains(sendHelp, bad) {
			t.Errorf("send --help shows %q:\n%s", bad, sendHelp)
		}
	}
	for _, line := range strings.Split(sendHelp, "\n") {
		if strings.Count(line, "(default:") > 1 {
			t.Errorf("two defaults: %s", line)
		}
	}
	_, serveHelp, _ := runInspectMain(t, nil, false, "serve", "--help")
	_, inspectHelp, _ := runInspectMain(t, nil, false, "inspect", "--help")
	for _, want := range []string{"-p, --protocol NAME ", "--listen ADDR ", "(default: 127.0.0.1:8080)", "(default: never)"} {
		if !strings.Contains(serveHelp, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, serveHelp)
		}
	}
	for _, want := range []string{"-H, --header \"Name: value\" ", "--timeout DURATION ", "(default: 10s)", "-k, --insecure "} {
		if !strings.Contains(inspectHelp, want) {
			t.Errorf("inspect --help lacks %q", want)
		}
	}
	if strings.Contains(inspectHelp, "(default: none)") || strings.Contains(inspectHelp, "(default: false)") {
		t.Errorf("inspect --help shows an empty default:\n%s", inspectHelp)
	}
}

// TestTranscriptAsItHappens: against a server that reads the request and
// does not answer, the connect line and the request are printed while
// wsdbg waits (SPEC §1.1); the rest follows once the answer comes, and the
// whole is the transcript of the exchange.
func TestTranscriptAsItHappens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answer := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := handshake.ReadRequest(br)
		if err != nil {
			return
		}
		<-answer
		key, _ := req.Get("Sec-WebSocket-Key")
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(key) + "\r\n\r\n"))
		c.Read(make([]byte, 64))
	}()
	for _, command := range []string{"inspect", "connect"} {
		t.Run(command, func(t *testing.T) {
			if command == "connect" {
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					defer c.Close()
					c.Read(make([]byte, 4096)) // the request; never answered
					time.Sleep(10 * time.Second)
				}()
			}
			o, out, errb := sessionIO(strings.NewReader(""), false)
			screen := out
			if command == "connect" {
				screen = errb
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				done <- cmd.MainContext(ctx, []string{"wsdbg", command, "--timeout", "20s", "ws://" + ln.Addr().String() + "/live"}, o)
			}()
			waitFor(t, "the request on the screen while the server is silent", func() bool {
				return strings.Contains(screen.String(), "> User-Agent: wsdbg/devel\n>\n")
			}, screen)
			got := screen.String()
			if !regexp.MustCompile(`^\* Connected to 127\.0\.0\.1:\d+ \(127\.0\.0\.1\) in \d+\.\dms\n> GET /live HTTP/1\.1\n`).MatchString(got) || strings.Contains(got, "Handshake") {
				t.Fatalf("before the answer:\n%s", got)
			}
			if command == "inspect" {
				close(answer)
				if code := <-done; code != 0 {
					t.Fatalf("exit %d:\n%s", code, screen.String())
				}
				all := screen.String()
				if !strings.HasPrefix(all, got) || !strings.Contains(all, "✓ accept-ok ") || !strings.Contains(all, "* Handshake 101 in ") {
					t.Errorf("after the answer:\n%s", all)
				}
				return
			}
			cancel() // Ctrl-C while waiting
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("connect did not end on cancel")
			}
			if all := screen.String(); !strings.HasPrefix(all, got) || !strings.Contains(all, "* No response after ") {
				t.Errorf("after Ctrl-C:\n%s", all)
			}
		})
	}
}

// TestTimingsAddUp: the parts of the summary line and of --json's timing
// add up to the total, within the rounding of each part to 0.1 ms, for a
// plain connection, TLS (verified and -k) and a proxy's CONNECT, whose time
// is a part of its own.
func TestTimingsAddUp(t *testing.T) {
	plain, _ := startInspectPeer(t, upgradeReply(""))
	caFile, cert := inspectCA(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr, _ := serveInspectPeer(t, ln, upgradeReply(""))
	_, port, _ := net.SplitHostPort(tlsAddr)
	px, _ := startInspectProxy(t, "")
	summary := regexp.MustCompile(`\* Handshake 101 in ([\d.]+)ms \(dns ([\d.]+)ms, connect ([\d.]+)ms, (?:proxy ([\d.]+)ms, )?tls ([\d.]+ms|-), response ([\d.]+)ms\)`)
	for _, tc := range []struct {
		name  string
		args  []string
		proxy bool
	}{
		{"plain", []string{plain}, false},
		{"tls", []string{"--cacert", caFile, "wss://localhost:" + port + "/"}, false},
		{"tls -k", []string{"-k", "wss://localhost:" + port + "/"}, false},
		{"proxy", []string{"--proxy", "http://" + px, plain}, true},
	} {
		o, out, _ := sessionIO(nil, false)
		if code := cmd.MainContext(context.Background(), append([]string{"wsdbg", "inspect"}, tc.args...), o); code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.name, code, out.String())
		}
		m := summary.FindStringSubmatch(out.String())
		if m == nil || (m[4] != "") != tc.proxy {
			t.Fatalf("%s: summary line:\n%s", tc.name, out.String())
		}
		var sum float64
		for _, s := range m[2:] {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(s, "ms"), 64)
			sum += v
		}
		total, _ := strconv.ParseFloat(m[1], 64)
		if d := total - sum; d > 0.35 || d < -0.35 {
			t.Errorf("%s: parts sum to %.1fms, total %.1fms: %s", tc.name, sum, total, m[0])
		}

		o, out, _ = sessionIO(nil, false)
		if code := cmd.MainContext(context.Background(), append([]string{"wsdbg", "inspect", "--json"}, tc.args...), o); code != 0 {
			t.Fatalf("%s --json: exit %d", tc.name, code)
		}
		var doc struct {
			Timing map[string]*float64 `json:"timing"`
		}
		if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
			t.Fatal(err)
		}
		sum = 0
		for _, k := range []string{"dns_ms", "connect_ms", "proxy_ms", "tls_ms", "response_ms"} {
			if v := doc.Timing[k]; v != nil {
				sum += *v
			}
		}
		if tot := doc.Timing["total_ms"]; tot == nil || *tot-sum > 0.01 || sum-*tot > 0.01 || (doc.Timing["proxy_ms"] != nil) != tc.proxy {
			t.Errorf("%s --json: timing parts %.3f vs total %v: %v", tc.name, sum, tot, doc.Timing)
		}
	}
}
