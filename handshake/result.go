package handshake

import (
	"bufio"
	"fmt"
	"net"
	"time"
)

// Class sums up a handshake for the exit code (SPEC §7).
type Class uint8

// Classes, in the order cmd maps them to exit codes 0, 3, 4, 5 and 7.
const (
	ClassOK           Class = iota // 101 without error-level diagnostics, expectations met
	ClassNoResponse                // no usable response: dial failure, timeout, not-http, head-too-large
	ClassRefused                   // a status other than 101
	ClassBadHandshake              // 101 with error-level diagnostics
	ClassExpect                    // an --expect-* was not met
)

// String names the class.
func (c Class) String() string {
	switch c {
	case ClassOK:
		return "ok"
	case ClassNoResponse:
		return "no-response"
	case ClassRefused:
		return "refused"
	case ClassBadHandshake:
		return "bad-handshake"
	case ClassExpect:
		return "expect"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// ExitCode returns the exit code of SPEC §7 for the class: 0, 3, 4, 5 or 7.
func (c Class) ExitCode() int {
	switch c {
	case ClassOK:
		return 0
	case ClassNoResponse:
		return 3
	case ClassRefused:
		return 4
	case ClassBadHandshake:
		return 5
	case ClassExpect:
		return 7
	}
	return 1
}

// AcceptInfo is the Sec-WebSocket-Accept check of a 101 (RFC 6455 §4.1).
type AcceptInfo struct {
	Key      string // Sec-WebSocket-Key as sent
	Expected string // AcceptKey(Key)
	Received string // first Sec-WebSocket-Accept received, "" when none
	OK       bool
}

// Negotiated is what a 101 settled: the selected subprotocol and the
// accepted extension elements, as the server spelled them.
type Negotiated struct {
	Protocol   string
	Extensions []string
}

// Timing of one exchange. A duration is -1 when the step did not happen.
//
// The phases follow each other without gaps, each starting where the one
// before ended, so DNS + Connect + Proxy + TLS + Response = Total.
type Timing struct {
	DNS, Connect, TLS time.Duration // from Dial
	Proxy             time.Duration // proxy TLS and CONNECT/SOCKS5 exchange; -1 without a proxy
	Response          time.Duration // end of the dial → response head read (writing the request included)
	Total             time.Duration // start → response head read (or failure)
}

// Result is one handshake exchange as it happened.
type Result struct {
	URL     string   // the URL of this hop, as normalised by ParseURL
	Request *Request // as sent: Raw is exactly the bytes written
	Sent    bool     // the request was written (false when the dial failed)
	// Response is the response head as received; nil when none came.
	Response *Response
	// Notes are the "*" lines before the request: connection, proxy, TLS.
	Notes []string
	// Later are the "*" lines after the diagnostics: oddities of the
	// response, the failed connection, a redirect not followed.
	Later       []string
	Diagnostics []Diagnostic
	Accept      *AcceptInfo // nil unless a 101 came
	Negotiated  Negotiated
	Timing      Timing
	TLS         *TLSInfo
	// HTTP2 is set for an extended CONNECT over HTTP/2 (SPEC §10); then
	// Request and Response hold the decoded HEADERS fields, pseudo-header
	// fields included, and H2Frames the frames of the handshake in order.
	HTTP2     bool
	H2Frames  []H2Frame
	h2Live    int       // frames already printed by Options.Live
	Redirects []*Result // earlier hops followed with --location, in order
	Class     Class
	// Err is why no response came (the dial error, the read error); nil
	// otherwise.
	Err error
	// Partial holds the bytes of an incomplete or non-HTTP response that
	// were still buffered when reading failed, for the transcript.
	Partial []byte

	// Conn and Reader are open after a 101 that was not failed: Reader
	// reads Conn and its buffer holds any frame bytes that arrived with the
	// head (early data). Both are nil otherwise.
	Conn   net.Conn
	Reader *bufio.Reader

	rand  func([]byte) error
	shown bool // Options.ShowSecrets
}
