package handshake

import (
	"bufio"
	"strings"
)

// Request is a request head: as wsdbg sent it, or as `serve` received it.
type Request struct {
	Head
	Method, Target, Proto string // request line parts as spelled
}

// ReadRequest reads one request head from br and leaves every byte after it
// buffered in br. Errors are as for ReadResponse; a TLS ClientHello or the
// HTTP/2 preface yields *NotHTTPError saying so.
func ReadRequest(br *bufio.Reader) (*Request, error) {
	if err := sniff(br, false); err != nil {
		return nil, err
	}
	s, err := readHead(br)
	if err != nil {
		return nil, err
	}
	return parseRequest(s), nil
}

// ParseRequest parses request bytes leniently, without sniffing: an
// unterminated head is parsed as far as it goes. Used for --request-file,
// whose bytes are sent whatever they are.
func ParseRequest(b []byte) *Request {
	s := string(b)
	return parseRequest(s)
}

func parseRequest(s string) *Request {
	r := &Request{Head: parseHead(s, []byte(s))}
	r.Method, r.Target, r.Proto = parseRequestLine(r.StartLine)
	return r
}

// parseRequestLine splits "GET /chat HTTP/1.1" (RFC 9112 §3).
func parseRequestLine(line string) (method, target, proto string) {
	method, rest, _ := strings.Cut(line, " ")
	target, proto, _ = strings.Cut(rest, " ")
	return method, target, proto
}
