package handshake_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// dialPKI is a test CA with the certificates the TLS tests need, written
// as PEM files where the options take file names.
type dialPKI struct {
	CAFile     string
	Good       tls.Certificate // 127.0.0.1, localhost, other.test
	Expired    tls.Certificate
	WrongName  tls.Certificate // only wrong.test
	ClientCert string          // PEM files of a client certificate
	ClientKey  string
	ClientPool *x509.CertPool // trusts the client certificate's CA
}

var (
	pkiOnce sync.Once
	pki     *dialPKI
	pkiErr  error
)

// testPKI returns the shared test PKI, generated once per test binary.
func testPKI(t testing.TB) *dialPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newDialPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func newDialPKI() (*dialPKI, error) {
	dir, err := os.MkdirTemp("", "wsdbg-pki")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca, err := wstest.NewCert(wstest.CertSpec{Name: "wsdbg test CA", CA: true, NotAfter: now.Add(24 * time.Hour)}, nil)
	if err != nil {
		return nil, err
	}
	p := &dialPKI{CAFile: filepath.Join(dir, "ca.pem"), ClientPool: ca.Pool()}
	if err := os.WriteFile(p.CAFile, ca.CertPEM, 0o600); err != nil {
		return nil, err
	}
	specs := []struct {
		to   *tls.Certificate
		spec wstest.CertSpec
	}{
		{&p.Good, wstest.CertSpec{Name: "localhost", DNS: []string{"localhost", "other.test"}, IPs: wstest.LoopbackIPs}},
		{&p.Expired, wstest.CertSpec{Name: "expired.test", DNS: []string{"localhost"}, IPs: wstest.LoopbackIPs,
			NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}},
		{&p.WrongName, wstest.CertSpec{Name: "wrong.test", DNS: []string{"wrong.test"}}},
	}
	for _, s := range specs {
		c, err := wstest.NewCert(s.spec, ca)
		if err != nil {
			return nil, err
		}
		*s.to = c.TLS
	}
	client, err := wstest.NewCert(wstest.CertSpec{Name: "wsdbg client", Client: true}, ca)
	if err != nil {
		return nil, err
	}
	p.ClientCert, p.ClientKey, err = client.WriteFiles(dir, "client")
	return p, err
}

// goodServerConfig serves the certificate that verifies with the test CA.
func goodServerConfig(p *dialPKI) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Good}, NextProtos: []string{"http/1.1"}}
}

// tlsServer is a loopback TLS echo server that records each handshake.
type tlsServer struct {
	Addr   string
	mu     sync.Mutex
	states []tls.ConnectionState
	errs   []error
}

func (s *tlsServer) last() (tls.ConnectionState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st tls.ConnectionState
	var err error
	if len(s.states) > 0 {
		st = s.states[len(s.states)-1]
	}
	if len(s.errs) > 0 {
		err = s.errs[len(s.errs)-1]
	}
	return st, err
}

func startTLSServer(t testing.TB, cfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{Addr: ln.Addr().String()}
	wstest.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, cfg)
		err := tc.Handshake()
		s.mu.Lock()
		s.errs = append(s.errs, err)
		if err == nil {
			s.states = append(s.states, tc.ConnectionState())
		}
		s.mu.Unlock()
		if err == nil {
			io.Copy(tc, tc)
		}
	})
	return s
}

// wssTarget is the Target of wss://host:port/ connecting to addr.
func wssTarget(t testing.TB, host, addr string) handshake.Target {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	u, err := url.Parse("wss://" + net.JoinHostPort(host, port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	return handshake.Target{URL: u, Host: net.JoinHostPort(host, port), ServerName: host, Secure: true}
}

// roundTrip checks that conn carries bytes both ways.
func roundTrip(t testing.TB, conn net.Conn) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read back %q, %v; want \"ping\"", buf, err)
	}
}

func diagIDs(ds []handshake.Diagnostic) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, string(d.ID))
	}
	return ids
}

func findDiag(ds []handshake.Diagnostic, id string) (handshake.Diagnostic, bool) {
	for _, d := range ds {
		if string(d.ID) == id {
			return d, true
		}
	}
	return handshake.Diagnostic{}, false
}

func TestDialTLS(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	good := &tls.Config{Certificates: []tls.Certificate{p.Good}, NextProtos: []string{"http/1.1"}}
	tests := []struct {
		name     string
		server   *tls.Config
		host     string // URL host
		opts     handshake.Options
		wantErr  []string // substrings of the error; nil = success
		wantDiag string   // diagnostic id expected (on success or in the DialError)
		diagHas  []string
		sni      string // server name the server must have seen
	}{
		{name: "verified", server: good, host: "localhost", opts: handshake.Options{CACert: p.CAFile}, sni: "localhost"},
		{name: "verified IP", server: good, host: "127.0.0.1", opts: handshake.Options{CACert: p.CAFile}},
		{name: "sni override", server: good, host: "127.0.0.1", opts: handshake.Options{CACert: p.CAFile, SNI: "other.test"}, sni: "other.test"},
		{
			name: "cacert of another CA", server: good, host: "localhost", opts: handshake.Options{CACert: otherCAFile(t)},
			wantErr:  []string{`"CN=wsdbg test CA"`, `--cacert "`, "was given, but the server's chain does not lead to a CA in it: the chain ends at one issued by \"CN=wsdbg test CA\""},
			wantDiag: "tls-verify", diagHas: []string{"was given, but the server's chain does not lead to a CA in it"},
		},
		{
			name: "unknown authority", server: good, host: "localhost",
			wantErr:  []string{"tls: ", `"CN=localhost"`, `"CN=wsdbg test CA"`, "--cacert", "--insecure"},
			wantDiag: "tls-verify", diagHas: []string{"not trusted", "--cacert"},
		},
		{
			name: "expired", server: &tls.Config{Certificates: []tls.Certificate{p.Expired}}, host: "localhost", opts: handshake.Options{CACert: p.CAFile},
			wantErr:  []string{`"CN=expired.test" expired on`, "valid "},
			wantDiag: "tls-verify", diagHas: []string{"expired on", "--insecure"},
		},
		{
			name: "wrong name", server: &tls.Config{Certificates: []tls.Certificate{p.WrongName}}, host: "localhost", opts: handshake.Options{CACert: p.CAFile},
			wantErr:  []string{`is for "wrong.test", not "localhost"`},
			wantDiag: "tls-verify", diagHas: []string{"--sni"},
		},
		{
			name: "insecure", server: &tls.Config{Certificates: []tls.Certificate{p.WrongName}}, host: "localhost", opts: handshake.Options{Insecure: true},
			wantDiag: "tls-insecure", diagHas: []string{"not verified", "would have failed", "wrong.test"},
		},
		{
			name: "insecure but valid", server: good, host: "localhost", opts: handshake.Options{Insecure: true, CACert: p.CAFile},
			wantDiag: "tls-insecure", diagHas: []string{"would have passed"},
		},
		{
			name:    "client certificate missing",
			server:  &tls.Config{Certificates: []tls.Certificate{p.Good}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ClientPool, MaxVersion: tls.VersionTLS12},
			host:    "localhost",
			opts:    handshake.Options{CACert: p.CAFile},
			wantErr: []string{"asked for a client certificate, none was given", "--cert FILE"},
		},
		{
			name:   "client certificate",
			server: &tls.Config{Certificates: []tls.Certificate{p.Good}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.ClientPool},
			host:   "localhost",
			opts:   handshake.Options{CACert: p.CAFile, Cert: p.ClientCert, CertKey: p.ClientKey},
		},
		{
			name:     "alpn refused",
			server:   &tls.Config{Certificates: []tls.Certificate{p.Good}, NextProtos: []string{"wsdbg-test"}},
			host:     "localhost",
			opts:     handshake.Options{CACert: p.CAFile},
			wantErr:  []string{`refused ALPN "http/1.1"`},
			wantDiag: "tls-alpn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startTLSServer(t, tt.server)
			o := tt.opts
			o.Timeout = 5 * time.Second
			conn, info, err := handshake.Dial(context.Background(), wssTarget(t, tt.host, srv.Addr), &o)
			if tt.wantErr != nil {
				if err == nil {
					conn.Close()
					t.Fatalf("Dial succeeded; want error with %q", tt.wantErr)
				}
				de, ok := err.(*handshake.DialError)
				if !ok || de.Stage != "tls" {
					t.Fatalf("error %T %v; want *DialError at stage tls", err, err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if tt.wantDiag != "" {
					d, ok := findDiag(de.Diagnostics, tt.wantDiag)
					if !ok {
						t.Fatalf("diagnostics %v lack %s", diagIDs(de.Diagnostics), tt.wantDiag)
					}
					for _, s := range tt.diagHas {
						if !strings.Contains(d.Message, s) {
							t.Errorf("%s message %q lacks %q", d.ID, d.Message, s)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer conn.Close()
			roundTrip(t, conn)
			if info.TLS < 0 || info.TLSInfo == nil {
				t.Fatalf("TLS %v, TLSInfo %v; want both set", info.TLS, info.TLSInfo)
			}
			ti := info.TLSInfo
			if !strings.HasPrefix(ti.Version, "TLS 1.") || !strings.HasPrefix(ti.Cipher, "TLS_") {
				t.Errorf("version %q, cipher %q; want TLS names", ti.Version, ti.Cipher)
			}
			if len(ti.Certs) == 0 || ti.Certs[0].Issuer != "CN=wsdbg test CA" || ti.Certs[0].NotAfter.IsZero() {
				t.Errorf("certs %+v; want the leaf issued by the test CA", ti.Certs)
			}
			st, _ := srv.last()
			if st.NegotiatedProtocol != ti.ALPN {
				t.Errorf("ALPN: client %q, server %q", ti.ALPN, st.NegotiatedProtocol)
			}
			if tt.sni != "" && (st.ServerName != tt.sni || ti.ServerName != tt.sni) {
				t.Errorf("server name: server saw %q, TLSInfo %q; want %q", st.ServerName, ti.ServerName, tt.sni)
			}
			if tt.opts.Cert != "" && (len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "wsdbg client") {
				t.Errorf("server did not see the client certificate")
			}
			if !strings.Contains(strings.Join(info.Notes, "\n"), "TLS handshake in ") {
				t.Errorf("notes %q lack the TLS summary", info.Notes)
			}
			if tt.wantDiag != "" {
				d, ok := findDiag(info.Diagnostics, tt.wantDiag)
				if !ok {
					t.Fatalf("diagnostics %v lack %s", diagIDs(info.Diagnostics), tt.wantDiag)
				}
				for _, s := range tt.diagHas {
					if !strings.Contains(d.Message, s) {
						t.Errorf("%s message %q lacks %q", d.ID, d.Message, s)
					}
				}
			} else if len(info.Diagnostics) != 0 {
				t.Errorf("unexpected diagnostics %v", diagIDs(info.Diagnostics))
			}
		})
	}
}

// TestDialTLSOfferALPN checks that http/1.1 is the only ALPN offered.
func TestDialTLSOfferALPN(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	offered := make(chan []string, 1)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{p.Good},
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			offered <- hi.SupportedProtos
			return nil, nil
		},
	}
	srv := startTLSServer(t, cfg)
	conn, _, err := handshake.Dial(context.Background(), wssTarget(t, "localhost", srv.Addr), &handshake.Options{CACert: p.CAFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case got := <-offered:
		if len(got) != 1 || got[0] != "http/1.1" {
			t.Errorf("offered ALPN %q; want [http/1.1]", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ClientHello seen")
	}
}

func TestDialTLSPlainServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		io.Copy(io.Discard, c)
	}()
	_, _, err = handshake.Dial(context.Background(), wssTarget(t, "127.0.0.1", ln.Addr().String()), &handshake.Options{Timeout: 5 * time.Second})
	de, ok := err.(*handshake.DialError)
	if !ok || de.Stage != "tls" || !strings.Contains(err.Error(), "plain HTTP") || !strings.Contains(err.Error(), "ws://") {
		t.Fatalf("error %v; want a tls DialError saying plain HTTP, hinting ws://", err)
	}
}

func TestTLSConfigFiles(t *testing.T) {
	t.Parallel()
	p := testPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello\n"), 0o600)
	tests := []struct {
		name string
		opts handshake.Options
		want []string // substrings of the error; nil = success
	}{
		{"ok", handshake.Options{CACert: p.CAFile, Cert: p.ClientCert, CertKey: p.ClientKey}, nil},
		{"missing cacert", handshake.Options{CACert: filepath.Join(dir, "nope.pem")}, []string{"--cacert", "nope.pem", "no such file"}},
		{"cacert not PEM", handshake.Options{CACert: notPEM}, []string{"no PEM certificate", "not.pem"}},
		{"key without cert", handshake.Options{CertKey: p.ClientKey}, []string{"--cert-key", "without --cert"}},
		{"cert without key", handshake.Options{Cert: p.ClientCert}, []string{"--cert-key FILE"}},
		{"key mismatch", handshake.Options{Cert: p.ClientCert, CertKey: notPEM}, []string{"--cert", "--cert-key", "not.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := handshake.TLSConfig(&tt.opts)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(cfg.NextProtos) != 1 || cfg.NextProtos[0] != "http/1.1" || cfg.RootCAs == nil || len(cfg.Certificates) != 1 {
					t.Errorf("config %+v; want ALPN http/1.1, roots and one certificate", cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// otherCAFile writes a PEM file with a self-signed CA that signed nothing
// the test servers present.
func otherCAFile(t *testing.T) string {
	t.Helper()
	return wstest.MustCert(t, wstest.CertSpec{Name: "other CA", CA: true}, nil).CertFile(t)
}
