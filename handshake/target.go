package handshake

import (
	"fmt"
	"net/url"
	"time"
)

// Target is where a handshake goes: the URL the request is built from and
// the address to connect to. It is the input of Dial.
type Target struct {
	URL        *url.URL // ws:// or wss:// URL (http and https already mapped)
	Host       string   // host:port to connect to (from the URL, or --connect-to)
	ServerName string   // TLS server name (SNI): --sni, else the URL's host
	Secure     bool     // wss: run TLS over the connection
}

// DialInfo describes how a connection was made, for the transcript and the
// JSON document. Durations are -1 when the step did not happen (no DNS
// lookup for an IP literal, no TLS for ws://).
type DialInfo struct {
	Notes       []string     // "*" transcript lines: proxy exchange, TLS summary
	Diagnostics []Diagnostic // tls-insecure, tls-alpn, ...
	DNS         time.Duration
	Connect     time.Duration
	Proxy       time.Duration // proxy TLS and CONNECT or SOCKS5 exchange, after the connect to the proxy
	TLS         time.Duration // TLS handshake time, with the server
	End         time.Time     // when the last phase ended
	TLSInfo     *TLSInfo      // nil without TLS
	RemoteAddr  string        // address actually connected to (the proxy's, with a proxy)
	ProxyScheme string        // http, https, socks5 or socks5h; "" without a proxy
}

// TLSInfo summarises a TLS connection (SPEC §3.1 "tls").
type TLSInfo struct {
	Version    string // "TLS 1.3"
	Cipher     string // "TLS_AES_128_GCM_SHA256"
	ALPN       string // negotiated protocol, "" when none
	ServerName string // the SNI sent
	Certs      []CertInfo
}

// CertInfo is one certificate of the peer's chain, leaf first.
type CertInfo struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
}

// DialError is returned by Dial when no connection could be made. Stage is
// one of "dns", "connect", "tls" or "proxy". Diagnostics carries findings
// such as tls-verify.
type DialError struct {
	Stage       string
	Err         error
	Diagnostics []Diagnostic
}

func (e *DialError) Error() string {
	return fmt.Sprintf("%s: %v", e.Stage, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }
