package handshake

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Do runs one client opening handshake (RFC 6455 §4.1) as o describes:
// parse the URL, build the request (or take --request-file), dial through
// Dial, write the request, read the response head and diagnose it. With
// o.Location it follows up to MaxRedirects redirects, keeping each earlier
// exchange in Result.Redirects.
//
// Every outcome of the exchange is a Result, whose Class says how it went;
// Do returns an error only when the options themselves are unusable (a bad
// URL, a malformed -H, an unreadable --request-file): a *UsageError.
//
// After a 101 with error-level diagnostics the connection is failed (closed)
// as RFC 6455 §4.1 requires, unless o.Lenient. Otherwise, after a 101, the
// caller owns Result.Conn and Result.Reader.
func Do(ctx context.Context, o *Options) (*Result, error) {
	u, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	var file []byte
	if o.RequestFile != "" && o.HTTP2 {
		return nil, &UsageError{"request file", fmt.Errorf("--request-file %q is an HTTP/1.1 head and cannot be sent with --http2; shape the HEADERS with -H, --omit, -p and -x instead", o.RequestFile)}
	}
	if o.RequestFile != "" {
		file, err = os.ReadFile(o.RequestFile)
		if err != nil {
			return nil, &UsageError{"read request file", fmt.Errorf("%v; check the --request-file path", err)}
		}
		if len(file) == 0 {
			return nil, &UsageError{"read request file", fmt.Errorf("%q is empty", o.RequestFile)}
		}
	}
	for _, h := range o.Headers {
		parse := ParseHeader
		if o.HTTP2 {
			parse = ParseH2Header
		}
		if _, _, err := parse(h); err != nil {
			return nil, err
		}
	}
	var hops []*Result
	first, cur := HostPort(u), o
	var pre []string
	if n := URLNote(o.URL, u); n != "" && file == nil {
		pre = append(pre, n)
	}
	for {
		if cur != o {
			pre = append(pre, fmt.Sprintf("Not sending the -H credentials (Authorization, Cookie) to %s after a redirect from %s", HostPort(u), first))
		}
		res, err := exchange(ctx, u, cur, file, pre)
		if err != nil {
			return nil, err
		}
		pre = nil
		next, why := redirectTarget(res, u, o)
		if next == nil || len(hops) == MaxRedirects {
			if next != nil {
				res.Later = append(res.Later, fmt.Sprintf("Not following Location %q: already followed %d redirects", why, MaxRedirects))
			}
			res.Redirects = hops
			o.Live.rest(res)
			return res, nil
		}
		// A followed redirect is not a refusal, and expectations apply to
		// the final exchange only.
		kept := res.Diagnostics[:0]
		for _, d := range res.Diagnostics {
			if d.ID != "status-not-101" && d.ID != "h2-status" && !d.Entry().Expectation() {
				kept = append(kept, d)
			}
		}
		res.Diagnostics = append(kept, Diag("redirect", "%d %s: following Location %q to %s", res.Response.Status, res.Response.Reason, why, shownURL(next, o.ShowSecrets)))
		o.Live.rest(res)
		hops = append(hops, res)
		u = next
		cur = o
		if HostPort(u) != first {
			cur = withoutCredentials(o)
		}
	}
}

// withoutCredentials returns o, or a copy without -H fields that carry
// credentials when it has some: like curl, wsdbg does not send them to
// another host a redirect points to.
func withoutCredentials(o *Options) *Options {
	var kept []string
	for _, h := range o.Headers {
		name, _, _ := ParseHeader(h)
		if !IsSecret(name) {
			kept = append(kept, h)
		}
	}
	if len(kept) == len(o.Headers) {
		return o
	}
	c := *o
	c.Headers = kept
	return &c
}

// shownURL is u for transcripts and documents: its password replaced by
// "xxxxx" unless secrets are shown.
func shownURL(u *url.URL, show bool) string {
	if show {
		return u.String()
	}
	return u.Redacted()
}

// redirectTarget returns the URL a 3xx points to when --location is on.
func redirectTarget(res *Result, u *url.URL, o *Options) (*url.URL, string) {
	if !o.Location || res.Response == nil || res.Response.Status < 300 || res.Response.Status > 399 {
		return nil, ""
	}
	loc, ok := res.Response.Get("Location")
	if !ok || loc == "" {
		return nil, ""
	}
	ref, err := url.Parse(loc)
	if err != nil {
		res.Later = append(res.Later, fmt.Sprintf("Not following Location %q: %v", loc, err))
		return nil, ""
	}
	next := u.ResolveReference(ref)
	scheme, ok := wsScheme(next.Scheme)
	if !ok {
		res.Later = append(res.Later, fmt.Sprintf("Not following Location %q: scheme %q is not ws, wss, http or https", loc, next.Scheme))
		return nil, ""
	}
	next.Scheme = scheme
	next.Fragment, next.RawFragment = "", ""
	return next, loc
}

// exchange runs one request/response over a new connection; pre are notes
// to print first. With o.Live the notes and the request are printed as they
// happen; the caller prints the rest once it has judged the response.
func exchange(ctx context.Context, u *url.URL, o *Options, file []byte, pre []string) (*Result, error) {
	if o.HTTP2 {
		return exchangeH2(ctx, u, o, pre)
	}
	res := &Result{
		URL:    shownURL(u, o.ShowSecrets),
		Notes:  pre,
		Timing: Timing{DNS: -1, Connect: -1, Proxy: -1, TLS: -1, Response: -1, Total: -1},
		shown:  o.ShowSecrets,
	}
	res.rand = func(b []byte) error {
		r := o.Rand
		if r == nil {
			r = rand.Reader
		}
		_, err := io.ReadFull(r, b)
		return err
	}

	// The request: built, or the file's bytes as they are.
	var raw []byte
	if file != nil {
		raw = file
	} else {
		var err error
		raw, err = BuildRequest(u, o)
		if err != nil {
			return nil, err
		}
	}
	res.Request = ParseRequest(raw)
	var fileNotes []string
	if file != nil && shapes(o) {
		fileNotes = append(fileNotes, "--request-file is sent as it is: -H, --omit, -p, -x, --deflate, --key, --origin and --ws-version do not apply")
	}
	if file != nil && len(res.Request.Raw) > 0 {
		if n := len(file) - headLen(file); n > 0 {
			fileNotes = append(fileNotes, fmt.Sprintf("--request-file has %d bytes after the head; they are sent too", n))
		} else if headLen(file) == len(file) && !headComplete(file) {
			fileNotes = append(fileNotes, "--request-file does not end with a blank line; the server may wait for the rest of the head")
		}
	}
	res.Request.Raw = raw
	o.Live.begin()
	o.Live.catchUp(res)

	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()

	t := Target{URL: u, Host: HostPort(u), ServerName: u.Hostname(), Secure: u.Scheme == "wss"}
	if o.SNI != "" {
		t.ServerName = o.SNI
	}
	// The clock starts here: dial times each phase from the end of the
	// one before, and the response phase runs from the end of the dial, so
	// the parts add up to the total.
	start := o.now()
	conn, info, err := dial(ctx, t, o, start)
	sent := start
	if info != nil {
		res.Notes = append(append(res.Notes, info.Notes...), fileNotes...)
		res.Diagnostics = append(res.Diagnostics, info.Diagnostics...)
		res.Timing.DNS, res.Timing.Connect, res.Timing.Proxy, res.Timing.TLS = info.DNS, info.Connect, info.Proxy, info.TLS
		res.TLS = info.TLSInfo
		if !info.End.IsZero() {
			sent = info.End
		}
	}
	if err != nil {
		res.Class = ClassNoResponse
		res.Err = err
		var de *DialError
		if errors.As(err, &de) {
			res.Diagnostics = append(res.Diagnostics, de.Diagnostics...)
		}
		switch {
		case errors.Is(ctx.Err(), context.Canceled) && Worst(res.Diagnostics) < SevError:
			res.Diagnostics = append(res.Diagnostics, Diag("no-response", "interrupted before the connection was open (0 bytes received)"))
		case ctx.Err() != nil && !hasID(res.Diagnostics, "timeout"):
			res.Diagnostics = append(res.Diagnostics, Diag("timeout", "no connection within %s (0 bytes received); raise --timeout or check the address", o.timeout()))
		}
		if Worst(res.Diagnostics) < SevError {
			d := Diag("connect-failed", "could not open the connection: %s", err)
			if de != nil && de.Stage == "proxy" {
				// The failure is the proxy's: cite its protocol, not the
				// WebSocket handshake's.
				d.RFC = "RFC 9110 §9.3.6"
				if info != nil && strings.HasPrefix(info.ProxyScheme, "socks") {
					d.RFC = "RFC 1928 §6"
				}
			}
			res.Diagnostics = append(res.Diagnostics, d)
		}
		res.Timing.Total = sent.Sub(start)
		return res, nil
	}
	res.Diagnostics = append(res.Diagnostics, DiagnoseRequest(res.Request)...)

	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Cancelling ctx (the caller's, or the deadline) interrupts the
	// exchange by moving the connection's deadline into the past.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	defer stop()

	if _, err := conn.Write(raw); err != nil {
		conn.Close()
		res.Class = ClassNoResponse
		res.Err = fmt.Errorf("write request: %w", err)
		res.Diagnostics = append(res.Diagnostics, Diag("connect-failed", "the connection broke while the request was written: %v; the server may have closed it (check the port and scheme)", err))
		end := o.now()
		res.Timing.Response, res.Timing.Total = end.Sub(sent), end.Sub(start)
		return res, nil
	}
	res.Sent = true
	o.Live.request(res)

	br := bufio.NewReaderSize(conn, 4096)
	resp, err := ReadResponse(br)
	end := o.now()
	res.Timing.Response = end.Sub(sent)
	res.Timing.Total = end.Sub(start)
	if err != nil {
		res.Class = ClassNoResponse
		res.Err = err
		partial, _ := br.Peek(min(br.Buffered(), maxPartial))
		res.Partial = append([]byte(nil), partial...)
		res.Diagnostics = append(res.Diagnostics, readDiagnostic(ctx, err, o, t.Secure))
		conn.Close()
		return res, nil
	}
	res.Response = resp
	if resp.Status != 101 {
		limit := time.Now().Add(bodyWait)
		if dl, ok := ctx.Deadline(); ok {
			limit = earliest(limit, dl)
		}
		var short string
		resp.Body, resp.BodyTruncated, short = readBody(br, conn, limit, resp, res.Request.Method)
		if short != "" {
			res.Later = append(res.Later, "The response "+short[len("the "):])
		}
	}
	if resp.BareLF {
		n, total := bareLFLines(&resp.Head)
		res.Later = append(res.Later, fmt.Sprintf("%d of %d response lines end with a bare LF instead of CRLF (RFC 9112 §2.2)", n, total))
	}
	for _, f := range resp.Fields {
		if f.NoColon {
			res.Later = append(res.Later, fmt.Sprintf("Response line %q has no colon; ignored", f.Raw))
		}
	}
	fs := DiagnoseResponse(res.Request, resp, o)
	res.Diagnostics = append(res.Diagnostics, fs.Diagnostics...)
	res.Accept, res.Negotiated = fs.Accept, fs.Negotiated
	if resp.Status == 101 {
		if n := br.Buffered(); n > 0 {
			res.Diagnostics = append(res.Diagnostics, Diag("early-data", "%s of frame data arrived with the 101 head; they are kept and decoded as the first frames", plural(n, "byte", "bytes")))
		}
	}
	res.Class = classify101(resp, res.Diagnostics)

	if resp.Status != 101 || (res.Class == ClassBadHandshake && !o.Lenient) {
		if resp.Status == 101 {
			res.Later = append(res.Later, "Failing the connection: the 101 response has errors (RFC 6455 §4.1); --lenient continues anyway")
		}
		conn.Close()
		return res, nil
	}
	if !stop() {
		<-interrupted // the head arrived as ctx ended; undo the interruption
	}
	conn.SetDeadline(time.Time{})
	res.Conn, res.Reader = conn, br
	return res, nil
}

// shapes reports whether o asks for request shaping that --request-file
// bypasses.
func shapes(o *Options) bool {
	return len(o.Headers) > 0 || len(o.Omit) > 0 || len(o.Protocols) > 0 || len(o.Extensions) > 0 ||
		o.Deflate || o.Key != "" || o.Origin != "" || o.Version != "" || o.SplitHeaders ||
		o.Method != "" || o.Proto != ""
}

// maxPartial caps the bytes of a failed response kept for the transcript.
const maxPartial = 1024

// classify101 picks the Class of an exchange that got a response head.
func classify101(resp *Response, ds []Diagnostic) Class {
	if resp.Status != 101 {
		return ClassRefused
	}
	return classifyUpgrade(ds)
}

// classifyUpgrade picks the Class of an upgrade the server accepted (a
// 101, or a 2xx over HTTP/2) from the catalogue entries of its
// error-level diagnostics.
func classifyUpgrade(ds []Diagnostic) Class {
	bad, expect := false, false
	for _, d := range ds {
		if d.Severity != SevError {
			continue
		}
		switch e := d.Entry(); {
		case e.Expectation():
			expect = true
		case e.Side == SideResponse:
			bad = true
		}
	}
	switch {
	case bad:
		return ClassBadHandshake
	case expect:
		return ClassExpect
	}
	return ClassOK
}

// readDiagnostic turns a ReadResponse error into its diagnostic: timeout
// only when the deadline passed; no-response when the connection ended (or
// was interrupted) before the blank line that ends the head.
func readDiagnostic(ctx context.Context, err error, o *Options, secure bool) Diagnostic {
	var (
		nh *NotHTTPError
		tl *HeadTooLargeError
		ie *IncompleteError
	)
	switch {
	case errors.As(err, &nh):
		return Diag("not-http", "the response is not HTTP: %s; first bytes: %s", nh.What, escapeString(nh.First))
	case errors.As(err, &tl):
		return Diag("head-too-large", "response head larger than %d bytes (%d bytes read without the blank line that ends it)", MaxHeadSize, tl.N)
	case errors.As(err, &ie) && errors.Is(ctx.Err(), context.Canceled):
		return Diag("no-response", "interrupted after %d bytes, before a complete response head", ie.N)
	case errors.As(err, &ie):
		var ne net.Error
		if errors.Is(ie.Err, os.ErrDeadlineExceeded) || (errors.As(ie.Err, &ne) && ne.Timeout()) {
			return Diag("timeout", "no complete response head within %s: %d bytes arrived; raise --timeout or check that the server speaks WebSocket", o.timeout(), ie.N)
		}
		return noResponse(ie, secure)
	}
	return Diag("no-response", "reading the response failed: %v", err)
}

// noResponse explains a connection that ended before a complete response
// head, with the causes that usually lie behind it.
func noResponse(ie *IncompleteError, secure bool) Diagnostic {
	what := fmt.Sprintf("the server closed the connection after %d bytes, before a complete response head (%v)", ie.N, ie.Err)
	if ie.N == 0 {
		what = fmt.Sprintf("the server closed the connection without answering (0 bytes received; %v)", ie.Err)
	}
	switch msg := fmt.Sprint(ie.Err); {
	case strings.Contains(msg, "remote error: tls: certificate required"), strings.Contains(msg, "remote error: tls: bad certificate"):
		// The TLS 1.3 server judges the client certificate after the
		// client's handshake ended, so the alert arrives on the first read.
		return Diag("no-response", "%s: the server requires a client certificate; give one with --cert FILE --cert-key FILE", what)
	case strings.Contains(msg, "remote error: tls:"):
		return Diag("no-response", "%s: the server ended TLS with an alert; if it requires a client certificate, give one with --cert FILE --cert-key FILE", what)
	case !secure:
		return Diag("no-response", "%s; likely causes: a TLS port spoken to in plain text (try wss://), a server that closes connections to unknown paths (check the path), or one that requires a client certificate", what)
	}
	return Diag("no-response", "%s; likely causes: a server that requires a client certificate (--cert FILE --cert-key FILE), or one that closes connections to unknown paths (check the path)", what)
}

func hasID(ds []Diagnostic, id ID) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

// headLen returns the length of the head at the start of b: up to and
// including the first empty line, or all of b.
func headLen(b []byte) int {
	s := string(b)
	first := true
	n := 0
	for len(s) > 0 {
		line, eol, rest := cutLine(s)
		n += len(line) + len(eol)
		s = rest
		if line == "" && eol != "" && !first {
			return n
		}
		first = false
	}
	return n
}

// headComplete reports whether b contains a whole head.
func headComplete(b []byte) bool {
	return ParseRequest(b).EndEOL != ""
}
