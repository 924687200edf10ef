package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// findChromium returns the path of a Chromium binary, or "".
func findChromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser loads serve's page in headless Chromium, a real browser
// client: the page (with ?autotest=1) opens a WebSocket back to the server,
// offering the subprotocols of its ?protocol= parameters, sends one
// message, writes the echo into the DOM and closes with 1000.
//
// The DOM is read over the DevTools protocol (--remote-debugging-pipe)
// once the echo is in it: --dump-dom snapshots the DOM at the load event,
// before a WebSocket exchange that starts at load can finish.
func TestBrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("Chromium is not installed, so the real-browser test cannot run; install it with " +
			"`apt-get update && apt-get install -y --no-install-recommends chromium` (Debian/Ubuntu) and run the tests again")
	}
	srv := startServe(t, "--deflate", "-p", "chat")
	pageURL := "http://" + srv.addr + "/?autotest=1&protocol=superchat&protocol=chat"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startChromium(ctx, t, chromium)

	sessionID, echo := b.openAutotest(ctx, t, pageURL, "server log", srv.log)
	dom, err := b.eval(ctx, sessionID, "document.documentElement.outerHTML")
	if err != nil {
		t.Fatal(err)
	}
	b.call(ctx, "", "Browser.close", nil)

	if !regexp.MustCompile(`^echo: hello from HeadlessChrome/[0-9.]+$`).MatchString(echo) {
		t.Errorf("page shows %q, want the echo of its hello", echo)
	}
	for _, want := range []string{
		`<li class="note">open; protocol: chat; extensions: permessage-deflate`,
		`<li class="out">hello from HeadlessChrome/`,
		`<li class="in">hello from HeadlessChrome/`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q:\n%s", want, dom)
		}
	}

	// The server's log: the page request, then the browser's handshake,
	// the negotiated compression and the echo, under one label.
	srv.log.waitFor(t, `#\d+ \* Not an upgrade request: served the test page`, serveWait)
	m := srv.log.waitFor(t, `#\d+ \* Upgraded to WebSocket: subprotocol "chat", extension "permessage-deflate[^"]*"`, serveWait)
	label := strings.Fields(m)[0]
	srv.log.waitFor(t, regexp.QuoteMeta(label)+` \* Closed after`, serveWait)
	log := srv.log.String()
	for _, re := range []string{
		`< GET / HTTP/1\.1`,
		`< User-Agent: Mozilla/5\.0 .*HeadlessChrome/`,
		`< Upgrade: websocket`,
		`< Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`,
		`< Sec-WebSocket-Protocol: superchat, chat`,
		`> Sec-WebSocket-Protocol: chat`,
		`> HTTP/1\.1 101 Switching Protocols`,
		`> Sec-WebSocket-Extensions: permessage-deflate`,
		`< hello from HeadlessChrome/[0-9.]+$`,
		`> hello from HeadlessChrome/[0-9.]+$`,
		`< close 1000 \(normal closure\) "autotest done"`,
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` ` + re).MatchString(log) {
			t.Errorf("log lacks %s %s:\n%s", label, re, log)
		}
	}
	if err := b.wait(); err != nil {
		t.Logf("chromium: %v", err)
	}
}

// cdpBrowser is a headless Chromium driven over the DevTools protocol on
// a pipe: NUL-terminated JSON messages on file descriptors 3 (to the
// browser) and 4 (from it).
type cdpBrowser struct {
	t      *testing.T
	cmd    *exec.Cmd
	w      io.WriteCloser
	stderr *logBuffer

	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
	readErr error
	done    chan struct{}
}

type cdpReply struct {
	Result json.RawMessage
	Error  *struct {
		Code    int
		Message string
	}
}

func startChromium(ctx context.Context, t *testing.T, path string, extra ...string) *cdpBrowser {
	t.Helper()
	toBrowser, ours, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromBrowser, theirs, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
		"--user-data-dir=" + t.TempDir(), "--remote-debugging-pipe"}, extra...)
	cmd := exec.CommandContext(ctx, path, append(args, "about:blank")...)
	cmd.ExtraFiles = []*os.File{toBrowser, theirs} // fd 3 and fd 4
	b := &cdpBrowser{t: t, cmd: cmd, w: ours, stderr: newLogBuffer(), pending: map[int]chan cdpReply{}, done: make(chan struct{})}
	cmd.Stderr = b.stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	toBrowser.Close()
	theirs.Close()
	t.Cleanup(func() {
		ours.Close()
		cmd.Process.Kill()
		b.wait()
		fromBrowser.Close()
	})
	go b.readLoop(fromBrowser)
	return b
}

func (b *cdpBrowser) readLoop(r io.Reader) {
	defer close(b.done)
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m struct {
			ID int
			cdpReply
		}
		if json.Unmarshal(bytes.TrimSuffix(msg, []byte{0}), &m) != nil || m.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends one command (to the browser, or to a page's session) and
// waits for its result.
func (b *cdpBrowser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("browser gone (%v); its stderr:\n%s", b.readErr, b.stderr)
	}
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return nil, fmt.Errorf("send %s: %v", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s: browser gone; its stderr:\n%s", method, b.stderr)
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		return r.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %v", method, ctx.Err())
	}
}

// eval evaluates a JavaScript expression with a string value in a page.
func (b *cdpBrowser) eval(ctx context.Context, session, expr string) (string, error) {
	res, err := b.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return "", err
	}
	var v struct {
		Result struct {
			Value any
		}
		ExceptionDetails *struct{ Text string }
	}
	if err := json.Unmarshal(res, &v); err != nil {
		return "", err
	}
	if v.ExceptionDetails != nil {
		return "", fmt.Errorf("evaluate %q: %s", expr, v.ExceptionDetails.Text)
	}
	s, _ := v.Result.Value.(string)
	return s, nil
}

// wait waits for the browser to exit (bounded by the command's context and
// WaitDelay).
func (b *cdpBrowser) wait() error {
	err := b.cmd.Wait()
	if err != nil && strings.Contains(err.Error(), "Wait was already called") {
		return nil
	}
	return err
}

// openAutotest opens pageURL, one of serve's test pages with ?autotest=1,
// and waits until the page shows the echo of its hello; it returns the
// page's session and that text. The log named label is printed when the
// page cannot be read or shows nothing before ctx ends.
func (b *cdpBrowser) openAutotest(ctx context.Context, t *testing.T, pageURL, label string, log fmt.Stringer) (session, echo string) {
	t.Helper()
	target, err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": pageURL})
	if err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	var created struct{ TargetID string }
	json.Unmarshal(target, &created)
	attached, err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true})
	if err != nil {
		t.Fatalf("attach to the page: %v", err)
	}
	var s struct{ SessionID string }
	json.Unmarshal(attached, &s)
	for echo == "" {
		echo, err = b.eval(ctx, s.SessionID, `(document.getElementById("autotest") || {}).textContent || ""`)
		if err != nil {
			t.Fatalf("read the page: %v\n%s:\n%s", err, label, log)
		}
		if echo == "" {
			select {
			case <-ctx.Done():
				dom, _ := b.eval(context.Background(), s.SessionID, "document.documentElement.outerHTML")
				t.Fatalf("no echo in the page within the deadline; DOM:\n%s\n%s:\n%s", dom, label, log)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return s.SessionID, echo
}
