package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBody caps the bytes of a non-101 response body that are kept and shown
// (SPEC §3.1): servers often say there why they refused the upgrade, and a
// debugger should show it, but an error page is no reason to read megabytes.
const MaxBody = 4096

// bodyWait bounds how long wsdbg waits for a refusal's body after its head,
// within the handshake deadline: a server that neither sends the bytes it
// announced nor closes the connection must not hold the answer back.
// bodyIdle bounds the wait for the next byte of a body that only the close
// of the connection would end (no Content-Length, not chunked): such bodies
// come with the head or right after it, and a server that keeps the
// connection open after them should not cost the user seconds.
const (
	bodyWait = 2 * time.Second
	bodyIdle = 200 * time.Millisecond
)

// readDeadliner is the part of a net.Conn readBody needs.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// readBody reads the start of a non-101 response's body from br, framed as
// RFC 9112 §6.3 says: none after HEAD or for 1xx, 204 and 304; chunked when
// Transfer-Encoding ends with chunked; Content-Length bytes when that is
// valid; otherwise until the server closes (or goes quiet for bodyIdle).
// It keeps at most MaxBody bytes and reports whether the body was longer.
// Reads end by limit at the latest. A body cut short (the connection ended,
// the deadline passed) keeps what arrived, and short says why.
func readBody(br *bufio.Reader, c readDeadliner, limit time.Time, resp *Response, method string) (body []byte, truncated bool, short string) {
	if method == "HEAD" || resp.Status < 200 || resp.Status == 204 || resp.Status == 304 {
		return nil, false, ""
	}
	var r io.Reader
	declared := int64(-1)
	untilClose := false
	if te := resp.Tokens("Transfer-Encoding"); len(te) > 0 {
		if strings.EqualFold(te[len(te)-1], "chunked") {
			r = httputil.NewChunkedReader(br)
		} else {
			r, untilClose = br, true // RFC 9112 §6.3 ¶4: read until the connection closes
		}
	} else if n, ok := contentLength(resp); ok {
		if n == 0 {
			return nil, false, ""
		}
		declared = n
		r = io.LimitReader(br, n)
	} else {
		r, untilClose = br, true
	}
	c.SetReadDeadline(limit)
	buf := make([]byte, MaxBody+1)
	n, err := 0, error(nil)
	for n < len(buf) && err == nil {
		if untilClose && br.Buffered() == 0 {
			c.SetReadDeadline(earliest(limit, time.Now().Add(bodyIdle)))
		}
		var m int
		m, err = r.Read(buf[n:])
		n += m
	}
	switch {
	case n > MaxBody:
		return buf[:MaxBody], true, ""
	case untilClose && (err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded)):
		// Ended by the close, or by the server going quiet after it.
	case declared >= 0 && int64(n) < declared:
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		short = fmt.Sprintf("the body ended after %d of the %d bytes Content-Length announced (%v)", n, declared, err)
	case err != nil && err != io.EOF:
		short = fmt.Sprintf("the body ended after %d bytes: %v", n, err)
	}
	if n == 0 {
		return nil, false, short
	}
	return buf[:n:n], false, short
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// contentLength returns the response's Content-Length when it is valid:
// one value, or several equal ones (RFC 9110 §8.6).
func contentLength(resp *Response) (int64, bool) {
	vs := resp.Tokens("Content-Length")
	if len(vs) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return 0, false
		}
	}
	return n, true
}

// bodyDiagnostic summarises a refusal's body: its size, its type and its
// first line, since that is usually where the server says why.
func bodyDiagnostic(resp *Response) Diagnostic {
	size := fmt.Sprintf("%d bytes", len(resp.Body))
	if resp.BodyTruncated {
		size = fmt.Sprintf("more than %d bytes, the first %d shown", MaxBody, MaxBody)
		if n, ok := contentLength(resp); ok {
			size = fmt.Sprintf("%d bytes, the first %d shown", n, MaxBody)
		}
	}
	if ct, ok := resp.Get("Content-Type"); ok && ct != "" {
		size += " of " + ct
	}
	return Diag("body", "the %d response has a body (%s); it starts %q", resp.Status, size, bodyPreview(resp.Body))
}

// bodyPreview returns the first non-blank line of a body, at most 120
// bytes of it, cut at a rune boundary.
func bodyPreview(b []byte) string {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(line) > 120 {
			cut := 120
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			return string(line[:cut]) + "…"
		}
		return string(line)
	}
	return ""
}

// bodyMentionsTLS reports whether a refusal's body says the server wants
// TLS, as "Client sent an HTTP request to an HTTPS server" and "This server
// speaks TLS: use wss://" do.
func bodyMentionsTLS(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "https") || strings.Contains(s, "wss://") || strings.Contains(s, "tls") || strings.Contains(s, "ssl")
}

// bodyLines splits a body into the lines the transcript shows, each without
// its line ending.
func bodyLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
