package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// h2Preface is the HTTP/2 client connection preface (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2FrameTypes names HTTP/2 frame types (RFC 9113 §6).
var h2FrameTypes = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

// wsOpcodes names the WebSocket opcodes a server frame may carry (RFC 6455
// §5.2), for recognising frames sent without a handshake.
var wsOpcodes = [16]string{0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}

// sniffLen is how many bytes sniff may wait for: an HTTP/2 frame header.
const sniffLen = 9

// sniff looks at the first bytes in br without consuming them and returns a
// *NotHTTPError when they cannot start an HTTP/1.x message, or an
// *IncompleteError when the stream ended before there was anything to judge.
// response selects the status-line check ("HTTP/") over the request-line
// check (token SP).
func sniff(br *bufio.Reader, response bool) error {
	b, err := br.Peek(1)
	if len(b) == 0 {
		if err == io.EOF {
			return &IncompleteError{N: 0, Err: io.EOF}
		}
		return &IncompleteError{N: 0, Err: err}
	}
	// Wait for a few more bytes only when they are needed to decide.
	need := 0
	switch c := b[0]; {
	case c == 0x14 || c == 0x15 || c == 0x16 || c == 0x17:
		need = 3 // TLS record: type, version major 3, minor
	case c == 0x00:
		need = sniffLen // HTTP/2 frame header
	case response && c&0x70 == 0 && wsOpcodes[c&0x0f] != "":
		need = 2 // WebSocket frame header
	case response && (c == 'H' || c == 'h'):
		need = 5 // "HTTP/"
	case !response && c == 'P':
		need = len(h2Preface)
	}
	if need > 0 {
		if n := br.Buffered(); n < need {
			b, err = br.Peek(need)
			if len(b) < need && !errors.Is(err, io.EOF) && err != nil {
				// Timed out or failed while waiting: judge on what came.
				b, _ = br.Peek(br.Buffered())
			}
		}
	}
	b, _ = br.Peek(br.Buffered())
	if what := classify(b, response); what != "" {
		first := b
		if len(first) > 32 {
			first = first[:32]
		}
		return &NotHTTPError{What: what, First: bytes.Clone(first)}
	}
	return nil
}

// classify says what b looks like when it cannot start an HTTP/1.x message
// of the given kind, or "" when it can (or when it is a prefix of one).
func classify(b []byte, response bool) string {
	if len(b) >= 3 && b[1] == 0x03 && b[2] <= 0x04 && b[0] >= 0x14 && b[0] <= 0x17 {
		kind := map[byte]string{0x14: "change_cipher_spec", 0x15: "alert", 0x16: "handshake", 0x17: "application_data"}[b[0]]
		if response {
			return fmt.Sprintf("a TLS record (%s): the server speaks TLS here, use wss://", kind)
		}
		return fmt.Sprintf("a TLS record (%s): the client speaks TLS to a plain listener", kind)
	}
	if bytes.HasPrefix(b, []byte("PRI * HTTP/2")) {
		return "the HTTP/2 connection preface (RFC 9113 §3.4); this peer wants HTTP/2 with prior knowledge"
	}
	if len(b) >= sniffLen && b[0] == 0 && b[3] < byte(len(h2FrameTypes)) {
		return fmt.Sprintf("an HTTP/2 %s frame (RFC 9113 §4.1); the server speaks HTTP/2 only", h2FrameTypes[b[3]])
	}
	if response && len(b) >= 2 && b[0]&0x70 == 0 && b[1]&0x80 == 0 {
		if op := wsOpcodes[b[0]&0x0f]; op != "" {
			return fmt.Sprintf("a WebSocket %s frame without an HTTP response before it; the server skipped the opening handshake", op)
		}
	}
	if response {
		const p = "HTTP/"
		n := min(len(b), len(p))
		if bytes.EqualFold(b[:n], []byte(p[:n])) {
			return ""
		}
	} else {
		// A request line starts with a method token and a space.
		i := 0
		for i < len(b) && isTokenChar(b[i]) {
			i++
		}
		if i == len(b) {
			return ""
		}
		if i > 0 && b[i] == ' ' {
			// When the whole request line is here, it must name HTTP.
			line, _, complete := bytes.Cut(b, []byte("\n"))
			if !complete || bytes.Contains(line, []byte(" HTTP/")) {
				return ""
			}
		}
	}
	if looksBinary(b) {
		return "binary data"
	}
	if response {
		return "text that is not an HTTP status line"
	}
	return "text that is not an HTTP request line"
}

// looksBinary reports whether b holds control bytes other than tab, CR and
// LF, or invalid UTF-8 (a truncated last rune is allowed).
func looksBinary(b []byte) bool {
	for len(b) > 0 {
		c := b[0]
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return true
		}
		if c < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return utf8.FullRune(b)
		}
		b = b[size:]
	}
	return false
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
