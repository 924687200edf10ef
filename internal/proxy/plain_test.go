package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// TestPlainResponseLogged forwards a request that is not an upgrade: the
// log shows the response's status line and every header as they reached
// the client, Set-Cookie redacted, and the body by its size only (SPEC
// §9), while the client gets the body unchanged.
func TestPlainResponseLogged(t *testing.T) {
	body := strings.Repeat("page ", 1000)
	up := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := handshake.ReadRequest(br); err != nil {
			t.Errorf("upstream: %v", err)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: session=s3cr3t\r\nX-Served-By: edge-7\r\nContent-Length: "+
			itoa(int64(len(body)))+"\r\n\r\n"+body)
	})
	p := startProxy(t, up, nil)
	resp, err := http.Get("http://" + p.addr + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != body || resp.Header.Get("Set-Cookie") != "session=s3cr3t" {
		t.Errorf("through the proxy: %d, %d body bytes, Set-Cookie %q", resp.StatusCode, len(got), resp.Header.Get("Set-Cookie"))
	}
	p.log.waitFor(t, `forwarded as plain HTTP`)
	log := p.log.String()
	for _, want := range []string{
		`#1 < HTTP/1.1 200 OK`,
		`#1 < Content-Type: text/html`,
		`#1 < X-Served-By: edge-7`,
		`#1 < Content-Length: 5000`,
		`#1 < Set-Cookie: <redacted`,
		`(body 5000 bytes, not shown)`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "s3cr3t") || strings.Contains(log, "page page") {
		t.Errorf("log shows the cookie or the body:\n%s", log)
	}
	if !regexp.MustCompile(`(?m)^#1 <$`).MatchString(log) {
		t.Errorf("no blank line ending the response head:\n%s", log)
	}
}
