package probe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsdbg/wsdbg/internal/probe"
)

// startHTTP serves h on loopback until the test ends, waiting for every
// handler (hijacked connections included) to return.
func startHTTP(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h(w, r)
	}))
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// TestGorilla probes a gorilla/websocket echo server (v1.5.3, compression
// on, subprotocol "chat"), offering "x-other" before "chat". From its
// source:
//
//   - Upgrader.Upgrade never looks at the request line's version, so an
//     HTTP/1.0 request is upgraded (hs-http10 FAIL; RFC 6455 §4.1 asks for
//     HTTP/1.1 or higher).
//   - Subprotocols reads only the first Sec-WebSocket-Protocol line, so the
//     split offer "x-other" / "chat" selects nothing while the joined one
//     selects "chat" (hs-protocol-split FAIL, RFC 6455 §11.3.4).
//   - The deflate response is always "permessage-deflate;
//     server_no_context_takeover; client_no_context_takeover" whatever the
//     offer's parameters, so an offer limiting server_max_window_bits is
//     answered without it (hs-deflate-window FAIL, RFC 7692 §7.1.2.1).
//   - Text messages are not checked for UTF-8, so invalid UTF-8 is echoed
//     (fr-utf8 FAIL, RFC 6455 §8.1).
//   - A 1-byte close payload is read as "no status code" and answered with
//     an empty close frame instead of failing the connection (fr-close-short
//     WARN).
//   - The default CheckOrigin refuses a foreign Origin with 403 (hs-origin
//     INFO).
func TestGorilla(t *testing.T) {
	t.Parallel()
	up := websocket.Upgrader{Subprotocols: []string{"chat"}, EnableCompression: true}
	url := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			mt, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(mt, p) != nil {
				return
			}
		}
	})
	res := runProbe(t, url, func(o *probe.Options) { o.Handshake.Protocols = []string{"x-other", "chat"} })
	compare(t, res, expect(map[string]probe.Verdict{
		"hs-http10":         probe.Fail,
		"hs-protocol-split": probe.Fail,
		"hs-deflate-window": probe.Fail,
		"fr-utf8":           probe.Fail,
		"fr-close-short":    probe.Warn,
	}))
	if res.ExitCode != probe.ExitFailed {
		t.Errorf("exit code %d, want 9", res.ExitCode)
	}
	logOnFailure(t, res)
}

// TestCoder probes a coder/websocket echo server (v1.8.15, context
// takeover compression, subprotocol "chat", default read limit). From its
// source:
//
//   - The reader does not check text messages for UTF-8, so invalid UTF-8
//     is echoed (fr-utf8 FAIL, RFC 6455 §8.1).
//   - acceptDeflate declines an offer with server_max_window_bits other than
//     15, which is allowed (hs-deflate-window PASS, declined).
//   - The default read limit is 32 KiB: the 1 MiB message gets close 1009
//     (fr-large WARN), which the RFC allows.
//   - Accept refuses a foreign Origin with 403 (hs-origin INFO).
func TestCoder(t *testing.T) {
	t.Parallel()
	url := startHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{Subprotocols: []string{"chat"}, CompressionMode: coder.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if wr.Close() != nil {
				return
			}
		}
	})
	res := runProbe(t, url, func(o *probe.Options) { o.Handshake.Protocols = []string{"x-other", "chat"} })
	compare(t, res, expect(map[string]probe.Verdict{
		"fr-utf8":  probe.Fail,
		"fr-large": probe.Warn,
	}))
	logOnFailure(t, res)
}

func logOnFailure(t *testing.T, res *probe.Result) {
	if t.Failed() {
		var b strings.Builder
		probe.WriteText(&b, res, nil, false, 4, testTimeout)
		t.Log("\n" + b.String())
	}
}
