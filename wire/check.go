package wire

import "fmt"

// CheckHeader applies the rules of RFC 6455 §5.1-5.5 (and RFC 7692 §6 for
// RSV1) to a header received by an endpoint playing role, and returns a
// *ProtocolError with close code 1002 naming the first rule broken, or nil.
//
// rsv1OK says permessage-deflate was negotiated; inMessage says a
// fragmented data message is open (its first frame had FIN=0). The checks,
// in order:
//
//   - the opcode is not reserved (§5.2);
//   - RSV2 and RSV3 are clear, and RSV1 only with permessage-deflate, only
//     on the first frame of a data message (§5.2, RFC 7692 §6.1);
//   - a client masks every frame and a server none (§5.1, §5.3);
//   - control frames carry at most 125 bytes and are not fragmented (§5.5);
//   - a continuation continues an open message, and a text or binary frame
//     does not start inside one (§5.4).
//
// A non-minimal length encoding is not rejected; Header.NonMinimal shows it.
func CheckHeader(h Header, role Role, rsv1OK, inMessage bool) *ProtocolError {
	if h.Op.IsReserved() {
		return protoErr("reserved opcode 0x%x", byte(h.Op))
	}
	if h.Rsv2 || h.Rsv3 {
		bit := "RSV2"
		if !h.Rsv2 {
			bit = "RSV3"
		} else if h.Rsv3 {
			bit = "RSV2 and RSV3"
		}
		return protoErr("reserved bit %s set on a %v frame (no extension defines it)", bit, h.Op)
	}
	if h.Rsv1 {
		switch {
		case !rsv1OK:
			return protoErr("reserved bit RSV1 set on a %v frame but permessage-deflate was not negotiated", h.Op)
		case h.Op.IsControl():
			return protoErr("RSV1 set on a %v control frame (RFC 7692 §6.1 allows it only on the first frame of a data message)", h.Op)
		case h.Op == OpContinuation:
			return protoErr("RSV1 set on a continuation frame (RFC 7692 §6.1 allows it only on the first frame of a message)")
		}
	}
	switch {
	case role == RoleClient && h.Masked:
		return protoErr("masked %v frame from the server (key %02x%02x%02x%02x); servers must not mask (RFC 6455 §5.1)",
			h.Op, h.Mask[0], h.Mask[1], h.Mask[2], h.Mask[3])
	case role == RoleServer && !h.Masked:
		return protoErr("unmasked %v frame from the client; clients must mask every frame (RFC 6455 §5.1)", h.Op)
	}
	if h.Op.IsControl() {
		if h.Length > MaxControlPayload {
			return protoErr("control frame %v with %d-byte payload (max %d)", h.Op, h.Length, MaxControlPayload)
		}
		if !h.Fin {
			return protoErr("fragmented control frame %v (FIN=0); control frames must not be fragmented (RFC 6455 §5.5)", h.Op)
		}
		return nil
	}
	switch {
	case h.Op == OpContinuation && !inMessage:
		return protoErr("continuation frame with no fragmented message to continue (RFC 6455 §5.4)")
	case h.Op != OpContinuation && inMessage:
		return protoErr("new %v frame inside a fragmented message; expected a continuation frame (RFC 6455 §5.4)", h.Op)
	}
	return nil
}

func protoErr(format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: CloseProtocolError, Reason: fmt.Sprintf(format, args...)}
}
