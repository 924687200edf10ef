package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// CloseCode is a close frame status code (RFC 6455 §7.4).
type CloseCode uint16

// Status codes of RFC 6455 §7.4.1 and the IANA registry (§11.7).
const (
	CloseNormal             CloseCode = 1000
	CloseGoingAway          CloseCode = 1001
	CloseProtocolError      CloseCode = 1002
	CloseUnsupportedData    CloseCode = 1003
	CloseNoStatus           CloseCode = 1005 // never sent: no code in the close frame
	CloseAbnormal           CloseCode = 1006 // never sent: connection dropped without a close frame
	CloseInvalidPayload     CloseCode = 1007
	ClosePolicyViolation    CloseCode = 1008
	CloseMessageTooBig      CloseCode = 1009
	CloseMandatoryExtension CloseCode = 1010
	CloseInternalError      CloseCode = 1011
	CloseServiceRestart     CloseCode = 1012
	CloseTryAgainLater      CloseCode = 1013
	CloseBadGateway         CloseCode = 1014
	CloseTLSHandshake       CloseCode = 1015 // never sent: TLS handshake failed
)

// ValidOnWire reports whether c may appear in a close frame: 1000-1003 and
// 1007-1011 (RFC 6455 §7.4.1), 1012-1014 (registered with IANA since) and
// 3000-4999 (§7.4.2). 1004-1006 and 1015 are reserved or designated for use
// outside frames; 1016-2999 are reserved; the rest are out of range.
func (c CloseCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// ProtocolError reports that the peer broke RFC 6455 or RFC 7692, or that
// a limit was hit. Code is the close code to send back (1002, 1007, 1009)
// and Reason says what was wrong, with the values involved.
type ProtocolError struct {
	Code   CloseCode
	Reason string
}

func (e *ProtocolError) Error() string {
	return "protocol error (close " + strconv.Itoa(int(e.Code)) + "): " + e.Reason
}

// CloseError reports that the peer sent a close frame (RFC 6455 §5.5.1).
// HasCode is false when the close payload was empty.
type CloseError struct {
	Code    CloseCode
	HasCode bool
	Reason  string
}

func (e *CloseError) Error() string {
	if !e.HasCode {
		return "peer closed the connection without a status code"
	}
	if e.Reason == "" {
		return "peer closed the connection: " + e.Code.String()
	}
	return fmt.Sprintf("peer closed the connection: %v %q", e.Code, e.Reason)
}

// ParseClose decodes a close frame payload (RFC 6455 §5.5.1): empty, or a
// 2-byte big-endian status code followed by a UTF-8 reason. A 1-byte
// payload or a code not valid on the wire (see ValidOnWire) is a
// *ProtocolError with code 1002; a reason that is not valid UTF-8 is one
// with code 1007 (§8.1). The code and reason are returned even then, so
// they can be shown.
func ParseClose(payload []byte) (code CloseCode, hasCode bool, reason string, err error) {
	switch len(payload) {
	case 0:
		return 0, false, "", nil
	case 1:
		return 0, false, "", &ProtocolError{Code: CloseProtocolError,
			Reason: fmt.Sprintf("close frame with a 1-byte payload 0x%02x (a status code takes 2 bytes)", payload[0])}
	}
	code = CloseCode(binary.BigEndian.Uint16(payload))
	reason = string(payload[2:])
	if !code.ValidOnWire() {
		return code, true, reason, &ProtocolError{Code: CloseProtocolError,
			Reason: fmt.Sprintf("close code %v is not allowed in a close frame", code)}
	}
	if !utf8.ValidString(reason) {
		return code, true, reason, &ProtocolError{Code: CloseInvalidPayload,
			Reason: fmt.Sprintf("close reason %q is not valid UTF-8", reason)}
	}
	return code, true, reason, nil
}

// AppendClose appends a close frame payload to dst: the code in two bytes
// followed by reason. Code 0 gives an empty payload (reason is dropped),
// which the peer reads as 1005. Neither code nor reason is checked, so
// invalid close frames can be produced on purpose.
func AppendClose(dst []byte, code CloseCode, reason string) []byte {
	if code == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// truncateReason shortens reason so that a close payload stays within 125
// bytes (RFC 6455 §5.5), cutting at a UTF-8 boundary.
func truncateReason(reason string) string {
	const max = MaxControlPayload - 2
	if len(reason) <= max {
		return reason
	}
	i := max
	for i > 0 && !utf8.RuneStart(reason[i]) {
		i--
	}
	return reason[:i]
}
