package handshake

import (
	"bufio"
	"strings"
)

// Response is a response head as received.
type Response struct {
	Head
	Proto  string // "HTTP/1.1" as spelled
	Status int    // 0 when the status line has no three-digit code
	Reason string

	// Body holds the first bytes (at most MaxBody) of a non-101
	// response's body, nil when it has none; BodyTruncated says whether the
	// body was longer.
	Body          []byte
	BodyTruncated bool
}

// ReadResponse reads one response head from br and leaves every byte after
// it buffered in br (frame data that arrived with a 101). It sniffs the first
// bytes before parsing and fails with *NotHTTPError when they are not an
// HTTP/1.x status line, *HeadTooLargeError past MaxHeadSize, and
// *IncompleteError when the stream ends or fails before the blank line.
// Anything else is parsed leniently and judged by DiagnoseResponse.
func ReadResponse(br *bufio.Reader) (*Response, error) {
	if err := sniff(br, true); err != nil {
		return nil, err
	}
	s, err := readHead(br)
	if err != nil {
		return nil, err
	}
	return parseResponse(s), nil
}

func parseResponse(s string) *Response {
	r := &Response{Head: parseHead(s, []byte(s))}
	r.Proto, r.Status, r.Reason = parseStatusLine(r.StartLine)
	return r
}

// parseStatusLine splits "HTTP/1.1 101 Switching Protocols" (RFC 9112 §4).
// Extra spaces before the code are tolerated; status is 0 when the code is
// not three digits.
func parseStatusLine(line string) (proto string, status int, reason string) {
	proto, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " ")
	code, reason, _ := strings.Cut(rest, " ")
	if len(code) == 3 && isDigit(code[0]) && isDigit(code[1]) && isDigit(code[2]) {
		status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	} else {
		reason = rest
	}
	return proto, status, reason
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
