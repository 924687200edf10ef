package wire

import "strconv"

// String names the opcode: "continuation", "text", "binary", "close",
// "ping", "pong", or "reserved(0x3)" for the reserved ones.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// String returns "in" or "out".
func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// closeCodeNames holds the names of the status codes of RFC 6455 §7.4.1 and
// the IANA "WebSocket Close Code Number Registry".
var closeCodeNames = map[CloseCode]string{
	CloseNormal:             "normal closure",
	CloseGoingAway:          "going away",
	CloseProtocolError:      "protocol error",
	CloseUnsupportedData:    "unsupported data",
	1004:                    "reserved",
	CloseNoStatus:           "no status received",
	CloseAbnormal:           "abnormal closure",
	CloseInvalidPayload:     "invalid frame payload data",
	ClosePolicyViolation:    "policy violation",
	CloseMessageTooBig:      "message too big",
	CloseMandatoryExtension: "mandatory extension",
	CloseInternalError:      "internal error",
	CloseServiceRestart:     "service restart",
	CloseTryAgainLater:      "try again later",
	CloseBadGateway:         "bad gateway",
	CloseTLSHandshake:       "TLS handshake",
}

// Name returns the name of the code alone, e.g. "normal closure",
// "private use" for 4000-4999 or "unassigned" for codes nobody defined.
func (c CloseCode) Name() string {
	if n, ok := closeCodeNames[c]; ok {
		return n
	}
	switch {
	case c < 1000:
		return "invalid"
	case c < 3000:
		return "reserved"
	case c < 4000:
		return "registered"
	case c < 5000:
		return "private use"
	}
	return "invalid"
}

// String formats the code with its name, e.g. "1000 (normal closure)".
func (c CloseCode) String() string {
	return strconv.Itoa(int(c)) + " (" + c.Name() + ")"
}
