package cmd_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestServeH2 runs serve --http2 without TLS: h2c with prior knowledge and
// HTTP/1.1 on one port, the extended CONNECT logged as the request with
// its diagnostics, and x/net's HTTP/2 client loading the test page.
func TestServeH2(t *testing.T) {
	srv := startServe(t, "--http2", "-p", "chat")
	res := run(t, nil, "send", "--http2", "-p", "chat", "--expect", "over h2", srv.url+"h2", "over h2")
	if res.code != 0 {
		t.Fatalf("send --http2: exit %d\n%s", res.code, res.err)
	}
	srv.log.waitFor(t, `#1 \* HTTP/2 \(h2c with prior knowledge`, serveWait)
	srv.log.waitFor(t, `#1/1 < :protocol: websocket`, serveWait)
	srv.log.waitFor(t, `#1/1 > sec-websocket-protocol: chat`, serveWait)
	srv.log.waitFor(t, `#1/1 \* Extended CONNECT accepted: WebSocket over HTTP/2 stream 1`, serveWait)
	srv.log.waitFor(t, `#1/1 < over h2`, serveWait)

	// HTTP/1.1 on the same port.
	if res := run(t, nil, "send", "--expect", "h1", srv.url, "h1"); res.code != 0 {
		t.Errorf("HTTP/1.1 beside h2c: exit %d\n%s", res.code, res.err)
	}

	// A CONNECT without :protocol and with the wrong :scheme is refused
	// with 400 and the request-side diagnostics.
	res = run(t, nil, "inspect", "--http2", "--omit", ":protocol", "-H", ":scheme: https", "--ws-version", "8", srv.url)
	if res.code != 4 || !strings.Contains(res.out, "< :status: 400") {
		t.Errorf("malformed CONNECT: exit %d\n%s", res.code, res.out)
	}
	for _, id := range []string{"request-h2-protocol", "request-h2-scheme", "request-version"} {
		srv.log.waitFor(t, `#3/1 ! `+id, serveWait)
	}

	// An independent HTTP/2 client (x/net's Transport, h2c) gets the page.
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + srv.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !strings.Contains(string(body), "new WebSocket(") {
		t.Errorf("page over h2c: %s %d, %d bytes", resp.Proto, resp.StatusCode, len(body))
	}
	srv.log.waitFor(t, `/1 \* Served the test page over HTTP/2`, serveWait)
}

// TestServeH2TLS runs serve --http2 with TLS: ALPN h2 and http/1.1 on one
// port.
func TestServeH2TLS(t *testing.T) {
	certFile, keyFile, _ := writeServeCert(t)
	srv := startServe(t, "--http2", "--tls-cert", certFile, "--tls-key", keyFile)
	res := run(t, nil, "send", "--http2", "--cacert", certFile, "--expect", "x", srv.url, "x")
	if res.code != 0 || !strings.Contains(res.err, "ALPN h2") || !strings.Contains(res.err, "> :scheme: https") {
		t.Errorf("send --http2 over TLS: exit %d\n%s", res.code, res.err)
	}
	srv.log.waitFor(t, `#1 \* HTTP/2 \(TLS, ALPN h2\)`, serveWait)
	res = run(t, nil, "send", "--cacert", certFile, "--expect", "y", srv.url, "y")
	if res.code != 0 || !strings.Contains(res.err, "ALPN http/1.1") {
		t.Errorf("HTTP/1.1 over TLS beside h2: exit %d\n%s", res.code, res.err)
	}
}

// TestBrowserH2 loads serve --http2's test page in headless Chromium over
// TLS, with a certificate made for the test and trusted through
// --ignore-certificate-errors-spki-list; Chromium, having seen
// ENABLE_CONNECT_PROTOCOL, opens the page's WebSocket as an extended
// CONNECT on the same HTTP/2 connection (RFC 8441), and the echo reaches
// the page.
func TestBrowserH2(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("Chromium is not installed, so the real-browser test cannot run; install it with " +
			"`apt-get update && apt-get install -y --no-install-recommends chromium` (Debian/Ubuntu) and run the tests again")
	}
	certFile, keyFile, _ := writeServeCert(t)
	srv := startServe(t, "--http2", "--tls-cert", certFile, "--tls-key", keyFile, "-p", "chat")
	spki := certSPKI(t, certFile)
	pageURL := "https://" + srv.addr + "/?autotest=1&protocol=chat"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startChromium(ctx, t, chromium, "--ignore-certificate-errors-spki-list="+spki, "--enable-features=WebSocketOverHttp2")
	_, echo := b.openAutotest(ctx, t, pageURL, "server log", srv.log)
	if !strings.HasPrefix(echo, "echo: hello from ") || !strings.Contains(echo, "Chrome") {
		t.Errorf("page shows %q, want the echo of its hello", echo)
	}
	srv.log.waitFor(t, `#\d+ \* HTTP/2 \(TLS, ALPN h2\)`, serveWait)
	srv.log.waitFor(t, `#\d+/\d+ \* Served the test page over HTTP/2`, serveWait)
	srv.log.waitFor(t, `#\d+/\d+ < :protocol: websocket`, serveWait)
	srv.log.waitFor(t, `#\d+/\d+ \* Extended CONNECT accepted: WebSocket over HTTP/2`, serveWait)
	srv.log.waitFor(t, `#\d+/\d+ < hello from \S*Chrome`, serveWait)
	srv.log.waitFor(t, `#\d+/\d+ < close 1000`, serveWait)
}

// certSPKI returns the base64 SHA-256 of a PEM certificate's public key,
// as --ignore-certificate-errors-spki-list takes it.
func certSPKI(t *testing.T, file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
