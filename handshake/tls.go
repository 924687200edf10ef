package handshake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// ALPN is the only application protocol wsdbg offers over TLS: the upgrade
// is an HTTP/1.1 mechanism (RFC 6455 §4.1; over HTTP/2 it is RFC 8441).
const ALPN = "http/1.1"

// TLSConfig returns the client TLS configuration that o asks for: ALPN
// http/1.1 only; with --cacert, trust in the certificates of that PEM file
// instead of the system's roots (as curl does); a client certificate from
// --cert and --cert-key (a --cert file holding the key too may go without
// --cert-key); no verification with --insecure. ServerName is left for the
// caller. Errors name the file and say what to fix; cmd calls TLSConfig to
// check the files before any connection is made.
func TLSConfig(o *Options) (*tls.Config, error) {
	alpn := ALPN
	if o.HTTP2 {
		alpn = ALPNH2
	}
	cfg := &tls.Config{
		NextProtos:         []string{alpn},
		InsecureSkipVerify: o.Insecure,
	}
	if o.CACert != "" {
		pool, err := loadCAFile(o.CACert)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if o.CertKey != "" && o.Cert == "" {
		return nil, fmt.Errorf("--cert-key %q given without --cert; give the client certificate with --cert FILE", o.CertKey)
	}
	if o.Cert != "" {
		keyFile := o.CertKey
		if keyFile == "" {
			keyFile = o.Cert
		}
		pair, err := tls.LoadX509KeyPair(o.Cert, keyFile)
		if err != nil {
			if o.CertKey == "" {
				return nil, fmt.Errorf("load client certificate --cert %q: %v; give its private key with --cert-key FILE (PEM), or put the key in the same file", o.Cert, err)
			}
			return nil, fmt.Errorf("load client certificate --cert %q with key --cert-key %q: %v; both must be PEM and belong together", o.Cert, o.CertKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func loadCAFile(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read --cacert %q: %v; give a PEM file with the CA certificates to trust", name, errors.Unwrap(err))
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--cacert %q: certificate %d: %v; the file must hold PEM certificates", name, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("--cacert %q holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block); give the CA certificate in PEM form", name)
	}
	return pool, nil
}

// serverName is the TLS server name: --sni, else the one the Target
// carries, else the URL's host.
func (d *dialer) serverName() string {
	switch {
	case d.o.SNI != "":
		return d.o.SNI
	case d.t.ServerName != "":
		return d.t.ServerName
	case d.t.URL != nil:
		return d.t.URL.Hostname()
	}
	h, _, _ := net.SplitHostPort(d.t.Host)
	return h
}

// handshakeTLS runs the TLS handshake over conn and records what was
// negotiated.
func (d *dialer) handshakeTLS(ctx context.Context, conn net.Conn) (net.Conn, error) {
	cfg, err := TLSConfig(d.o)
	if err != nil {
		d.info.TLS = d.lap()
		conn.Close()
		return nil, &DialError{Stage: "tls", Err: err}
	}
	name := d.serverName()
	cfg.ServerName = name
	// Ask to be told when the server requests a client certificate
	// (RFC 8446 §4.3.2), so that a rejection can be explained.
	certRequested := false
	certs := cfg.Certificates
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		certRequested = true
		if len(certs) > 0 {
			return &certs[0], nil
		}
		return &tls.Certificate{}, nil
	}
	tc := tls.Client(conn, cfg)
	err = tc.HandshakeContext(ctx)
	d.info.TLS = d.lap() // from the end of the connect: loading --cacert and --cert too
	if err != nil {
		conn.Close()
		p := describeTLSError(err, name, d.o.CACert)
		if d.o.HTTP2 && p.ID == "tls-alpn" {
			// --http2 offers h2 only (RFC 9113 §3.2): a refusal means the
			// server does not speak HTTP/2 here.
			p = tlsProblem{Text: fmt.Sprintf("the server refused ALPN %q (%s): it does not speak HTTP/2 on this port", ALPNH2, unwrapOp(err)), Hint: "drop --http2 to use an HTTP/1.1 upgrade", ID: "h2-alpn"}
		}
		switch {
		case ctx.Err() != nil || isTimeout(err):
			p = tlsProblem{Text: fmt.Sprintf("no TLS handshake within %s", d.o.timeout()), Hint: "check that the server speaks TLS on this port, or raise --timeout"}
		case certRequested && len(certs) == 0 && p.ID == "":
			p = tlsProblem{Text: fmt.Sprintf("the server asked for a client certificate, none was given, and it ended the handshake (%s)", unwrapOp(err)), Hint: "give one with --cert FILE --cert-key FILE"}
		case certRequested && p.ID == "":
			p.Text += fmt.Sprintf(" (the server asked for a client certificate and got %q)", clientSubject(certs[0]))
		}
		de := &DialError{Stage: "tls", Err: fmt.Errorf("TLS handshake with %s (server name %q): %s; %s", d.info.RemoteAddr, name, p.Text, p.Hint)}
		if p.ID != "" {
			de.Diagnostics = append(de.Diagnostics, Diag(p.ID, "%s; %s", p.Text, p.Hint))
		}
		return nil, de
	}
	st := tc.ConnectionState()
	info := &TLSInfo{
		Version:    tls.VersionName(st.Version),
		Cipher:     tls.CipherSuiteName(st.CipherSuite),
		ALPN:       st.NegotiatedProtocol,
		ServerName: name,
	}
	for _, c := range st.PeerCertificates {
		info.Certs = append(info.Certs, CertInfo{
			Subject:   c.Subject.String(),
			Issuer:    c.Issuer.String(),
			NotBefore: c.NotBefore,
			NotAfter:  c.NotAfter,
		})
	}
	d.info.TLSInfo = info
	alpn := info.ALPN
	if alpn == "" {
		alpn = "none"
	}
	d.note("TLS handshake in %s: %s, %s, ALPN %s, server name %q", durMS(d.info.TLS), info.Version, info.Cipher, alpn, name)
	if len(info.Certs) > 0 {
		c := info.Certs[0]
		d.note("Server certificate %q, issuer %q, valid %s to %s", c.Subject, c.Issuer, c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly))
	}
	if certRequested {
		if len(certs) == 0 {
			d.note("Server asked for a client certificate; none sent (give one with --cert)")
		} else {
			d.note("Server asked for a client certificate; sent %q", clientSubject(certs[0]))
		}
	}
	if d.o.Insecure {
		d.info.Diagnostics = append(d.info.Diagnostics, Diag("tls-insecure", "%s", insecureVerdict(st, cfg.RootCAs, name)))
		// The verification --insecure skipped is run to say what it would
		// have found; loading the system's roots for it can take a while,
		// and that is TLS time too.
		d.info.TLS += d.lap()
	}
	if info.ALPN != "" && info.ALPN != ALPN && !d.o.HTTP2 {
		d.info.Diagnostics = append(d.info.Diagnostics, Diag("tls-alpn", "TLS negotiated ALPN %q although only %q was offered; the server may not read HTTP/1.1 on this connection", info.ALPN, ALPN))
	}
	return tc, nil
}

// clientSubject names a client certificate by its subject.
func clientSubject(c tls.Certificate) string {
	if c.Leaf != nil {
		return c.Leaf.Subject.String()
	}
	if len(c.Certificate) > 0 {
		if x, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
			return x.Subject.String()
		}
	}
	return "?"
}

// insecureVerdict says that the certificate was not verified and what
// verification would have said.
func insecureVerdict(st tls.ConnectionState, roots *x509.CertPool, name string) string {
	if len(st.PeerCertificates) == 0 {
		return "server certificate not verified (--insecure); the server sent none"
	}
	leaf := st.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
	if err == nil {
		return fmt.Sprintf("server certificate %q not verified (--insecure); it would have passed verification for %q", leaf.Subject.String(), name)
	}
	return fmt.Sprintf("server certificate %q not verified (--insecure); verification would have failed: %s", leaf.Subject.String(), describeVerifyError(err, leaf, name))
}

// tlsProblem explains a failed TLS handshake: what happened, what to try,
// and the diagnostic id, if any, that goes with it.
type tlsProblem struct {
	Text, Hint string
	ID         ID
}

// describeTLSError turns a handshake error into a sentence with the values
// involved. caFile is --cacert ("" when the system's roots were used), so
// that an unknown authority is not answered with "give --cacert" when it
// was given.
func describeTLSError(err error, name, caFile string) tlsProblem {
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		var leaf *x509.Certificate
		if len(cve.UnverifiedCertificates) > 0 {
			leaf = cve.UnverifiedCertificates[0]
		}
		p := tlsProblem{Text: describeVerifyError(cve.Err, leaf, name), ID: "tls-verify"}
		var ua x509.UnknownAuthorityError
		var he x509.HostnameError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(cve.Err, &ua) && caFile != "":
			top := leaf
			if n := len(cve.UnverifiedCertificates); n > 0 {
				top = cve.UnverifiedCertificates[n-1]
			}
			issuer := "?"
			if top != nil {
				issuer = top.Issuer.String()
			}
			p.Hint = fmt.Sprintf("--cacert %q was given, but the server's chain does not lead to a CA in it: the chain ends at one issued by %q; give that CA's certificate with --cacert, or skip verification with --insecure (-k)", caFile, issuer)
		case errors.As(cve.Err, &ua):
			p.Hint = "give the CA certificate with --cacert FILE, or skip verification with --insecure (-k)"
		case errors.As(cve.Err, &he):
			p.Hint = "use the name the certificate is for in the URL, or set the name to check with --sni NAME (--connect-to keeps the name while connecting elsewhere); --insecure skips the check"
		case errors.As(cve.Err, &ci) && ci.Reason == x509.Expired:
			p.Hint = "check the clocks, renew the server's certificate, or connect anyway with --insecure"
		default:
			p.Hint = "give the right CA with --cacert FILE, or skip verification with --insecure"
		}
		return p
	}
	msg := unwrapOp(err).Error()
	var re tls.RecordHeaderError
	switch {
	case errors.As(err, &re):
		what := "not a TLS record"
		if looksLikeHTTP(re.RecordHeader[:]) {
			what = "plain HTTP"
		}
		return tlsProblem{Text: fmt.Sprintf("the server answered with %s (first bytes %q), not TLS", what, re.RecordHeader[:]), Hint: "use ws:// for a server without TLS, or check the port"}
	case strings.Contains(msg, "no application protocol"):
		return tlsProblem{Text: fmt.Sprintf("the server refused ALPN %q (alert %q)", ALPN, msg), Hint: "the server may speak only HTTP/2 on this port (RFC 8441), which wsdbg does not do; try another endpoint", ID: "tls-alpn"}
	case strings.Contains(msg, "unadvertised ALPN"):
		return tlsProblem{Text: fmt.Sprintf("the server chose an ALPN protocol other than %q (%s)", ALPN, msg), Hint: "the server does not speak HTTP/1.1 here; try another endpoint", ID: "tls-alpn"}
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate"):
		return tlsProblem{Text: fmt.Sprintf("the server rejected the client certificate (%s)", msg), Hint: "give a certificate it accepts with --cert FILE --cert-key FILE"}
	case strings.Contains(msg, "protocol version") || strings.Contains(msg, "handshake failure") || strings.Contains(msg, "no cipher suite"):
		return tlsProblem{Text: fmt.Sprintf("no common TLS version or cipher suite (%s)", msg), Hint: "the server may only support old TLS versions that wsdbg does not offer"}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(msg, "connection reset"):
		return tlsProblem{Text: fmt.Sprintf("the server closed the connection during the handshake (%s)", msg), Hint: "check that the server speaks TLS on this port, or whether it wants a client certificate (--cert)"}
	}
	return tlsProblem{Text: msg, Hint: "check the server's TLS setup, or try --insecure to see whether verification is the problem"}
}

// describeVerifyError explains a certificate verification failure with the
// names and dates involved.
func describeVerifyError(err error, leaf *x509.Certificate, name string) string {
	subject := subjectOf(leaf)
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		issuer := "?"
		if ua.Cert != nil {
			issuer = ua.Cert.Issuer.String()
		} else if leaf != nil {
			issuer = leaf.Issuer.String()
		}
		return fmt.Sprintf("certificate %q is signed by %q, an authority not trusted here", subject, issuer)
	case errors.As(err, &he):
		c := he.Certificate
		if c == nil {
			c = leaf
		}
		return fmt.Sprintf("certificate %q is for %s, not %q", subjectOf(c), certNames(c), he.Host)
	case errors.As(err, &ci):
		c := ci.Cert
		if c == nil {
			c = leaf
		}
		switch {
		case ci.Reason == x509.Expired && c != nil:
			now := time.Now().UTC()
			when := "expired on " + c.NotAfter.UTC().Format(time.RFC3339)
			if now.Before(c.NotBefore) {
				when = "is not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
			}
			return fmt.Sprintf("certificate %q %s (valid %s to %s, now %s)", c.Subject.String(), when,
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
		}
		return fmt.Sprintf("certificate %q is invalid: %v", subjectOf(c), ci.Error())
	}
	return fmt.Sprintf("certificate %q failed verification: %v", subject, err)
}

// subjectOf names a certificate by its subject; "?" for none.
func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return "?"
	}
	return c.Subject.String()
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no names"
	}
	var names []string
	for _, n := range c.DNSNames {
		names = append(names, fmt.Sprintf("%q", n))
	}
	for _, ip := range c.IPAddresses {
		names = append(names, fmt.Sprintf("%q", ip.String()))
	}
	if len(names) == 0 {
		return "no names (no subject alternative names; the common name is not used)"
	}
	return strings.Join(names, ", ")
}

func looksLikeHTTP(b []byte) bool {
	s := string(b)
	for _, p := range []string{"HTTP", "GET ", "POST", "PUT ", "HEAD", "<!DO", "<htm", "<HTM"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
