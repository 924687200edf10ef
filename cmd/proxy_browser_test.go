package cmd_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestProxyBrowser loads serve's test page in headless Chromium through
// `wsdbg proxy`: the page comes through as plain HTTP, then opens a
// WebSocket to its own origin, the proxy. The proxy's log shows
// Chromium's real handshake (User-Agent, Origin, its deflate offer), its
// message and the echo, each direction once.
func TestProxyBrowser(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("Chromium is not installed, so the real-browser test cannot run; install it with " +
			"`apt-get update && apt-get install -y --no-install-recommends chromium` (Debian/Ubuntu) and run the tests again")
	}
	srv := startServe(t, "--deflate")
	p := startProxy(t, srv.url, "--color", "never")
	pageURL := "http://" + p.addr + "/?autotest=1"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startChromium(ctx, t, chromium)
	_, echo := b.openAutotest(ctx, t, pageURL, "proxy log", p.log)
	b.call(ctx, "", "Browser.close", nil)
	if !regexp.MustCompile(`^echo: hello from HeadlessChrome/[0-9.]+$`).MatchString(echo) {
		t.Errorf("page shows %q, want the echo of its hello", echo)
	}

	p.log.waitFor(t, `#\d+ \* Not an upgrade request: forwarded as plain HTTP`, serveWait)
	m := p.log.waitFor(t, `#\d+ \* Relaying frames: extension "permessage-deflate`, serveWait)
	label := strings.Fields(m)[0]
	p.log.waitFor(t, regexp.QuoteMeta(label)+` \* Closed after`, serveWait)
	log := p.log.String()
	for _, re := range []string{
		`> GET / HTTP/1\.1`,
		`> User-Agent: Mozilla/5\.0 .*HeadlessChrome/`,
		`> Origin: http://` + regexp.QuoteMeta(p.addr) + `$`,
		`> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`,
		`< HTTP/1\.1 101 Switching Protocols`,
		`< Sec-WebSocket-Extensions: permessage-deflate`,
		`✓ accept-ok +server: `,
		`✓ extension-ok +server: `,
		`> hello from HeadlessChrome/[0-9.]+$`,
		`< hello from HeadlessChrome/[0-9.]+$`,
		`> close 1000 \(normal closure\) "autotest done"`,
		`\* Closed after [^:]+: client closed first`,
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` ` + re).MatchString(log) {
			t.Errorf("proxy log lacks %s %s:\n%s", label, re, log)
		}
	}
	for _, dir := range []string{">", "<"} {
		if n := len(regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(label)+` `+dir+` hello from HeadlessChrome`).FindAllString(log, -1)); n != 1 {
			t.Errorf("%q shown %d times, want once", dir+" hello", n)
		}
	}
	if err := b.wait(); err != nil {
		t.Logf("chromium: %v", err)
	}
}
