package handshake

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// DiagnoseRequest returns the request-side warnings of SPEC §4.2: every way
// req breaks the opening handshake rules of RFC 6455 §4.1. wsdbg reports
// them for what it sent (the user may have asked for a broken request on
// purpose), and `serve` for what it received.
func DiagnoseRequest(req *Request) []Diagnostic {
	var ds []Diagnostic
	if req.Method != "GET" {
		ds = append(ds, Diag("request-method", "request method is %q; an opening handshake must be a GET", req.Method))
	}
	if req.Proto != "HTTP/1.1" {
		ds = append(ds, Diag("request-http-version", "request line %q says %q; an opening handshake must be HTTP/1.1", req.StartLine, req.Proto))
	}
	if hosts := req.Values("Host"); len(hosts) == 0 {
		ds = append(ds, Diag("request-host", "no Host field; an opening handshake must name the host"))
	} else if len(hosts) > 1 {
		ds = append(ds, Diag("request-host", "%d Host fields (%s); a request must have exactly one", len(hosts), quoteList(hosts)))
	}
	switch ups := req.Values("Upgrade"); {
	case len(ups) == 0:
		ds = append(ds, Diag("request-upgrade", "no Upgrade field; an opening handshake needs \"Upgrade: websocket\""))
	case !req.HasToken("Upgrade", "websocket"):
		ds = append(ds, Diag("request-upgrade", "Upgrade is %s, without the keyword websocket", quoteList(ups)))
	}
	switch cs := req.Values("Connection"); {
	case len(cs) == 0:
		ds = append(ds, Diag("request-connection", "no Connection field; an opening handshake needs \"Connection: Upgrade\""))
	case !req.HasToken("Connection", "upgrade"):
		ds = append(ds, Diag("request-connection", "Connection is %s, without the token Upgrade", quoteList(cs)))
	}
	switch keys := req.Values("Sec-WebSocket-Key"); {
	case len(keys) == 0:
		ds = append(ds, Diag("request-key", "no Sec-WebSocket-Key field; the server cannot compute Sec-WebSocket-Accept"))
	case len(keys) > 1:
		ds = append(ds, Diag("request-key", "%d Sec-WebSocket-Key fields (%s); a request must have exactly one (RFC 6455 §11.3.1)", len(keys), quoteList(keys)))
	default:
		if n, ok := keyLen(keys[0]); !ok {
			ds = append(ds, Diag("request-key", "Sec-WebSocket-Key %q is not base64; it must be 16 random bytes, base64-encoded (24 characters)", keys[0]))
		} else if n != 16 {
			ds = append(ds, Diag("request-key", "Sec-WebSocket-Key %q decodes to %d bytes; it must be 16 random bytes, base64-encoded", keys[0], n))
		}
	}
	switch vs := req.Values("Sec-WebSocket-Version"); {
	case len(vs) == 0:
		ds = append(ds, Diag("request-version", "no Sec-WebSocket-Version field; it must be 13"))
	case len(vs) > 1 || vs[0] != "13":
		ds = append(ds, Diag("request-version", "Sec-WebSocket-Version is %s; it must be 13", quoteList(vs)))
	}
	if req.BareLF {
		n, total := bareLFLines(&req.Head)
		ds = append(ds, Diag("request-bare-lf", "%d of %d lines end with a bare LF instead of CRLF", n, total))
	}
	return ds
}

// keyLen returns the decoded length of a base64 key and whether it is
// valid standard base64 with padding.
func keyLen(k string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(k)
	return len(b), err == nil
}

// bareLFLines counts the head's lines ending with a bare LF, and all lines.
func bareLFLines(h *Head) (n, total int) {
	count := func(eol string) {
		if eol == "" {
			return
		}
		total++
		if eol == "\n" {
			n++
		}
	}
	count(h.StartEOL)
	for i := range h.Fields {
		count(h.Fields[i].EOL)
	}
	count(h.EndEOL)
	return n, total
}

// quoteList formats values as "a", "b".
func quoteList(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}
