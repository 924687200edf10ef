package wstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LoopbackIPs are the addresses a loopback server certificate names.
var LoopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// CertSpec describes a certificate made for a test.
type CertSpec struct {
	Name      string   // subject common name; "wsdbg test" when empty
	DNS       []string // subject alternative names
	IPs       []net.IP
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: in an hour
	// CA lets the certificate sign others (and be a trust root itself).
	CA bool
	// Client makes a client certificate (TLS client authentication);
	// otherwise a certificate that names hosts is a server certificate.
	Client bool
}

// Cert is a certificate with its key, as PEM and as tls.Certificate.
type Cert struct {
	TLS     tls.Certificate
	X509    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
	key     *ecdsa.PrivateKey
}

// NewCert makes a certificate (ECDSA P-256) signed by parent, or by itself
// when parent is nil.
func NewCert(spec CertSpec, parent *Cert) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.Name},
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		DNSNames:     spec.DNS,
		IPAddresses:  spec.IPs,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject.CommonName = "wsdbg test"
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(time.Hour)
	}
	if spec.CA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	switch {
	case spec.Client:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case len(spec.DNS)+len(spec.IPs) > 0:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.X509, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed},
		X509:    parsed,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		key:     key,
	}, nil
}

// MustCert is NewCert that fails the test on error.
func MustCert(tb testing.TB, spec CertSpec, parent *Cert) *Cert {
	tb.Helper()
	c, err := NewCert(spec, parent)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Pool returns a pool that trusts c.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.X509)
	return p
}

// WriteFiles writes c's certificate and key as PEM files name.pem and
// name-key.pem in dir.
func (c *Cert) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// MustWriteFiles is WriteFiles into a folder of the test's own, failing
// the test on error.
func (c *Cert) MustWriteFiles(tb testing.TB, name string) (certFile, keyFile string) {
	tb.Helper()
	certFile, keyFile, err := c.WriteFiles(tb.TempDir(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}

// LoopbackCA returns a test CA and a server certificate it signed for
// localhost, 127.0.0.1 and ::1.
func LoopbackCA(tb testing.TB) (ca, server *Cert) {
	tb.Helper()
	ca = MustCert(tb, CertSpec{Name: "wsdbg test CA", CA: true}, nil)
	server = MustCert(tb, CertSpec{Name: "localhost", DNS: []string{"localhost"}, IPs: LoopbackIPs}, ca)
	return ca, server
}

// SelfSigned returns a server certificate for localhost, 127.0.0.1 and
// ::1 that signed itself and may serve as its own trust root (a file to
// pass as --cacert, a pool for a Go client).
func SelfSigned(tb testing.TB) *Cert {
	tb.Helper()
	return MustCert(tb, CertSpec{DNS: []string{"localhost"}, IPs: LoopbackIPs, CA: true}, nil)
}

// CertFile writes c's certificate as a PEM file in a folder of the test's
// own and returns its name, for a --cacert.
func (c *Cert) CertFile(tb testing.TB) string {
	tb.Helper()
	f := filepath.Join(tb.TempDir(), "cert.pem")
	if err := os.WriteFile(f, c.CertPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}
