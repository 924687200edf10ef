package handshake_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// selfSigned returns a certificate for loopback signed by itself.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	return wstest.SelfSigned(t).TLS
}

// TestSecureExchange runs a handshake over TLS (wss://, insecure so that a
// self-signed certificate passes) and checks the TLS summary, timing and
// document.
func TestSecureExchange(t *testing.T) {
	t.Parallel()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				write(ok101+"\r\n")(mustReadRequest(c), nil, c)
			}()
		}
	}()
	res := run(t, &handshake.Options{URL: "wss://" + ln.Addr().String() + "/secure", Insecure: true})
	if res.Class != handshake.ClassOK || res.Conn == nil {
		t.Fatalf("Class %v, diagnostics %v", res.Class, idsOf(res.Diagnostics))
	}
	diagOf(t, res.Diagnostics, "tls-insecure")
	if res.TLS == nil || !strings.HasPrefix(res.TLS.Version, "TLS 1.") || len(res.TLS.Certs) != 1 || res.TLS.Certs[0].Subject == "" {
		t.Fatalf("TLS = %+v", res.TLS)
	}
	if res.Timing.TLS < 0 {
		t.Errorf("TLS time %v, want measured", res.Timing.TLS)
	}
	var buf bytes.Buffer
	res.WriteTranscript(&buf, nil)
	if strings.Contains(buf.String(), "tls -") {
		t.Errorf("summary has no TLS time:\n%s", buf.String())
	}
	b, _ := json.Marshal(res.Document(0))
	var doc struct {
		TLS *struct {
			Version      string              `json:"version"`
			Certificates []map[string]string `json:"certificates"`
		} `json:"tls"`
		Timing map[string]*float64 `json:"timing"`
	}
	json.Unmarshal(b, &doc)
	if doc.TLS == nil || doc.TLS.Version != res.TLS.Version || len(doc.TLS.Certificates) != 1 || doc.TLS.Certificates[0]["not_after"] == "" {
		t.Errorf("document tls = %s", b)
	}
	if doc.Timing["tls_ms"] == nil {
		t.Errorf("tls_ms is null: %s", b)
	}
}

// mustReadRequest reads a request head from c, or returns an empty one.
func mustReadRequest(c net.Conn) *handshake.Request {
	r, err := handshake.ReadRequest(bufioReader(c))
	if err != nil {
		return &handshake.Request{}
	}
	return r
}
