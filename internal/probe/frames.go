package probe

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// Payloads of the frame checks: short, recognisable, ASCII unless the
// check is about UTF-8.
var (
	echoText  = []byte("wsdbg probe: echo")
	pingData  = []byte("wsdbg-probe-ping")
	fragParts = [][]byte{[]byte("wsdbg probe: "), []byte("fragmented "), []byte("message")}
	badUTF8   = []byte("wsdbg probe: \xc3\x28 is not UTF-8")
)

// masked returns a header for a masked client frame; WriteFrame gives it a
// fresh key (RFC 6455 §5.3).
func masked(op wire.Opcode, fin bool) wire.Header {
	return wire.Header{Fin: fin, Op: op, Masked: true}
}

func frEcho(ctx context.Context, e *env, r *Report) {
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	sent := "sent text " + quote(string(echoText))
	if err := fc.ws.WriteMessage(wire.OpText, echoText); err != nil {
		r.set(Info, "", "%s → the connection failed while it was written (%v): no echo", sent, err)
		return
	}
	first := ""
	for {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			if !ev.msg.Op.IsData() {
				continue
			}
			if ev.msg.Op == wire.OpText && bytes.Equal(ev.msg.Data, echoText) {
				r.echoes = true
				r.set(Info, "", "%s → the same text back: the server echoes", sent)
				return
			}
			if first == "" {
				first = messageText(ev.msg)
			}
			continue
		case evClose:
			r.set(Info, "", "%s → %s: no echo; the checks that need one are skipped", sent, closeText(ev.msg))
		case evProtocol:
			if ev.perr.Code == wire.CloseMessageTooBig {
				r.set(Info, "", "%s → %s: no echo; the checks that need one are skipped", sent, faultText(ev.perr))
			} else {
				r.set(Fail, "a server must not send frames that break RFC 6455", "%s → %s", sent, faultText(ev.perr))
			}
		case evEnded:
			r.set(Info, "", "%s → %s: no echo; the checks that need one are skipped", sent, endedText(ev.err))
		case evTimeout:
			if first != "" {
				r.set(Info, "", "%s → %s, but no echo within %s; the checks that need one are skipped", sent, first, e.timeout)
			} else {
				r.set(Info, "", "%s → nothing within %s: no echo; the checks that need one are skipped", sent, e.timeout)
			}
		}
		return
	}
}

// echoes reports whether fr-echo found that the server echoes, and sets r
// to SKIP when it did not.
func (e *env) echoes(r *Report) bool {
	er := e.report("fr-echo")
	switch {
	case er == nil:
		r.set(Skip, "it needs fr-echo, which was not run", "not run: whether the server echoes is unknown")
	case !er.echoes:
		r.set(Skip, "it needs an echo", "not run: the server does not echo (fr-echo)")
	default:
		return true
	}
	return false
}

func frPing(ctx context.Context, e *env, r *Report) {
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	sent := fmt.Sprintf("sent ping %q", pingData)
	const rule = "a ping is answered with a pong carrying the same payload"
	if err := fc.ws.WriteControl(wire.OpPing, pingData); err != nil {
		r.set(Fail, rule, "%s → the connection failed while it was written (%v)", sent, err)
		return
	}
	other := ""
	for {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			if ev.msg.Op == wire.OpPong {
				if bytes.Equal(ev.msg.Data, pingData) {
					r.set(Pass, "", "%s → pong %s", sent, quote(string(ev.msg.Data)))
					return
				}
				other = "pong " + quote(string(ev.msg.Data))
			}
			continue
		case evClose:
			r.set(Fail, rule, "%s → %s", sent, closeText(ev.msg))
		case evProtocol:
			r.set(Fail, rule, "%s → %s", sent, faultText(ev.perr))
		case evEnded:
			r.set(Fail, rule, "%s → %s", sent, endedText(ev.err))
		case evTimeout:
			if other != "" {
				r.set(Fail, rule, "%s → only %s within %s", sent, other, e.timeout)
			} else {
				r.set(Fail, rule, "%s → no pong within %s", sent, e.timeout)
			}
		}
		return
	}
}

func frPingBetweenFragments(ctx context.Context, e *env, r *Report) {
	echo := false
	if er := e.report("fr-echo"); er != nil {
		echo = er.echoes
	}
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	whole := bytes.Join(fragParts, nil)
	sent := fmt.Sprintf("sent text %q in 3 frames with ping %q after the first", whole, pingData)
	const rule = "control frames may come between the fragments of a message"
	write := func() error {
		if err := fc.ws.WriteFrame(masked(wire.OpText, false), fragParts[0]); err != nil {
			return err
		}
		if err := fc.ws.WriteControl(wire.OpPing, pingData); err != nil {
			return err
		}
		if err := fc.ws.WriteFrame(masked(wire.OpContinuation, false), fragParts[1]); err != nil {
			return err
		}
		return fc.ws.WriteFrame(masked(wire.OpContinuation, true), fragParts[2])
	}
	if err := write(); err != nil {
		r.set(Fail, rule, "%s → the connection failed while it was written (%v)", sent, err)
		return
	}
	pong, echoed := false, false
	for !pong || (echo && !echoed) {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			switch {
			case ev.msg.Op == wire.OpPong && bytes.Equal(ev.msg.Data, pingData):
				pong = true
			case ev.msg.Op == wire.OpText && bytes.Equal(ev.msg.Data, whole):
				echoed = true
			}
			continue
		case evClose:
			r.set(Fail, rule, "%s → %s", sent, closeText(ev.msg))
		case evProtocol:
			r.set(Fail, rule, "%s → %s", sent, faultText(ev.perr))
		case evEnded:
			r.set(Fail, rule, "%s → %s", sent, endedText(ev.err))
		case evTimeout:
			switch {
			case !pong && echo && echoed:
				r.set(Fail, rule, "%s → the message echoed, but no pong within %s", sent, e.timeout)
			case !pong:
				r.set(Fail, rule, "%s → no pong within %s", sent, e.timeout)
			default:
				r.set(Fail, rule, "%s → pong, but the message was not echoed within %s", sent, e.timeout)
			}
		}
		return
	}
	if echo {
		r.set(Pass, "", "%s → pong, and the whole message echoed", sent)
	} else {
		r.set(Pass, "", "%s → pong (the message is not compared: the server does not echo)", sent)
	}
}

func frClose(ctx context.Context, e *env, r *Report) {
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	const sent = "sent close 1000"
	const rule = "an endpoint that receives a close frame sends one back"
	if err := fc.ws.WriteClose(wire.CloseNormal, ""); err != nil {
		r.set(Fail, rule, "%s → the connection failed while it was written (%v)", sent, err)
		return
	}
	for {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			continue
		case evClose:
			got := closeText(ev.msg)
			if ended, _ := fc.waitTCPClose(); !ended {
				r.set(Warn, "after the close handshake the server should close the TCP connection first (RFC 6455 §7.1.1)", "%s → %s, but the TCP connection stayed open for %s", sent, got, e.timeout)
				return
			}
			r.set(Pass, "", "%s → %s, then the TCP close", sent, got)
		case evProtocol:
			r.set(Fail, rule, "%s → %s", sent, faultText(ev.perr))
		case evEnded:
			r.set(Fail, rule, "%s → %s without a close frame", sent, endedText(ev.err))
		case evTimeout:
			r.set(Fail, rule, "%s → no close frame within %s", sent, e.timeout)
		}
		return
	}
}

const failRule = "an endpoint must fail the connection"

func frUnmasked(ctx context.Context, e *env, r *Report) {
	p := []byte("wsdbg probe: unmasked")
	violation{
		sent: fmt.Sprintf("sent unmasked text %q", p), rule: failRule + " on an unmasked client frame",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(wire.Header{Fin: true, Op: wire.OpText}, p) },
		echoOf: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frRSV(ctx context.Context, e *env, r *Report) {
	p := []byte("wsdbg probe: RSV2")
	h := masked(wire.OpText, true)
	h.Rsv2 = true
	violation{
		sent: fmt.Sprintf("sent text %q with RSV2 set", p), rule: failRule + " on a reserved bit no extension defines",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(h, p) },
		echoOf: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frOpcode(ctx context.Context, e *env, r *Report) {
	p := []byte("wsdbg probe: opcode 0x3")
	violation{
		sent: fmt.Sprintf("sent a frame with reserved opcode 0x3 and payload %q", p), rule: failRule + " on a reserved opcode",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(masked(0x3, true), p) },
		echoOf: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frControlLong(ctx context.Context, e *env, r *Report) {
	p := bytes.Repeat([]byte("p"), wire.MaxControlPayload+1)
	violation{
		sent: "sent a ping with a 126-byte payload", rule: failRule + " on a control frame over 125 bytes",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpPing, true), p) },
		pongOf: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frControlFragmented(ctx context.Context, e *env, r *Report) {
	violation{
		sent: fmt.Sprintf("sent ping %q with FIN=0", pingData), rule: failRule + " on a fragmented control frame",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpPing, false), pingData) },
		pongOf: pingData, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frContinuation(ctx context.Context, e *env, r *Report) {
	p := []byte("wsdbg probe: continuation")
	violation{
		sent: fmt.Sprintf("sent continuation %q with no message started", p), rule: failRule + " on a continuation with nothing to continue",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpContinuation, true), p) },
		echoOf: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frUTF8(ctx context.Context, e *env, r *Report) {
	violation{
		sent: "sent text " + quote(string(badUTF8)), rule: failRule + " on a text message that is not UTF-8, with 1007",
		write:  func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpText, true), badUTF8) },
		echoOf: badUTF8, want: wire.CloseInvalidPayload,
	}.run(ctx, e, r)
}

func frCloseCode(ctx context.Context, e *env, r *Report) {
	p := wire.AppendClose(nil, 999, "")
	violation{
		sent: "sent close with code 999", rule: failRule + " on a close code outside the ranges of §7.4",
		write:        func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpClose, true), p) },
		closePayload: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

func frCloseShort(ctx context.Context, e *env, r *Report) {
	p := []byte{0x03}
	violation{
		sent: "sent close with a 1-byte payload 0x03", rule: failRule + " on a close payload of 1 byte",
		write:        func(fc *frameConn) error { return fc.ws.WriteFrame(masked(wire.OpClose, true), p) },
		closePayload: p, want: wire.CloseProtocolError,
	}.run(ctx, e, r)
}

// largeMessage is fr-large's 1 MiB of ASCII text, built when first
// needed: built at init it cost every wsdbg command 2 ms and 2 MiB.
var largeMessage = sync.OnceValue(func() []byte {
	const line = "wsdbg probe: a 1 MiB text message, echoed back intact. "
	return []byte(strings.Repeat(line, (1<<20)/len(line)+1)[:1<<20])
})

func frLarge(ctx context.Context, e *env, r *Report) {
	if !e.echoes(r) {
		return
	}
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	largeMessage := largeMessage()
	sent := fmt.Sprintf("sent a %d-byte text message", len(largeMessage))
	const rule = "an echo returns the message as sent"
	start := e.now()
	if err := fc.ws.WriteMessage(wire.OpText, largeMessage); err != nil {
		r.set(Fail, rule, "%s → the connection failed while it was written (%v)", sent, err)
		return
	}
	for {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			if !ev.msg.Op.IsData() {
				continue
			}
			if bytes.Equal(ev.msg.Data, largeMessage) {
				el := max(e.now().Sub(start), 0)
				r.set(Info, "", "%s → echoed intact in %.1fms", sent, float64(el.Microseconds())/1000)
				return
			}
			at := 0
			for at < len(ev.msg.Data) && at < len(largeMessage) && ev.msg.Data[at] == largeMessage[at] {
				at++
			}
			r.set(Fail, rule, "%s → a %d-byte %v message that differs from it at byte %d", sent, len(ev.msg.Data), ev.msg.Op, at)
		case evClose:
			if ev.msg.CloseCode == wire.CloseMessageTooBig {
				r.set(Warn, "the server's message size limit is below 1 MiB", "%s → %s", sent, closeText(ev.msg))
			} else {
				r.set(Fail, rule, "%s → %s", sent, closeText(ev.msg))
			}
		case evProtocol:
			r.set(Fail, rule, "%s → %s", sent, faultText(ev.perr))
		case evEnded:
			r.set(Fail, rule, "%s → %s", sent, endedText(ev.err))
		case evTimeout:
			r.set(Fail, rule, "%s → no echo within %s", sent, e.timeout)
		}
		return
	}
}

// deflateMessages are fr-deflate's three messages: alike, so that the
// second and third compress against the first (RFC 7692 §7.2.1 context
// takeover), and long enough to be compressed.
func deflateMessages() [][]byte {
	var ms [][]byte
	for i := 1; i <= 3; i++ {
		ms = append(ms, fmt.Appendf(nil, `{"probe":"wsdbg","seq":%d,"text":"%s"}`, i, strings.Repeat("compressible text shared between messages, ", 4)))
	}
	return ms
}

// roundTrips sends each message, compressed, and waits for its echo. It
// returns "" when every echo came back intact, or what went wrong.
func roundTrips(fc *frameConn, e *env, msgs [][]byte) (problem string, compressedOut, compressedIn int) {
	defer func() { compressedOut = fc.compressedOut }()
	for i, m := range msgs {
		if err := fc.ws.WriteMessage(wire.OpText, m); err != nil {
			return fmt.Sprintf("the connection failed while message %d was written (%v)", i+1, err), compressedOut, compressedIn
		}
	wait:
		for {
			ev := fc.next()
			switch ev.kind {
			case evMessage:
				if !ev.msg.Op.IsData() {
					continue
				}
				if !bytes.Equal(ev.msg.Data, m) {
					return fmt.Sprintf("message %d came back as %s", i+1, messageText(ev.msg)), compressedOut, compressedIn
				}
				if ev.msg.Compressed {
					compressedIn++
				}
				break wait
			case evClose:
				return fmt.Sprintf("after message %d: %s", i+1, closeText(ev.msg)), compressedOut, compressedIn
			case evProtocol:
				return fmt.Sprintf("after message %d: %s", i+1, faultText(ev.perr)), compressedOut, compressedIn
			case evEnded:
				return fmt.Sprintf("after message %d: %s", i+1, endedText(ev.err)), compressedOut, compressedIn
			case evTimeout:
				return fmt.Sprintf("no echo of message %d within %s", i+1, e.timeout), compressedOut, compressedIn
			}
		}
	}
	return "", compressedOut, compressedIn
}

func frDeflate(ctx context.Context, e *env, r *Report) {
	if !e.echoes(r) {
		return
	}
	if dr := e.report("hs-deflate"); dr == nil || dr.deflate == "" {
		r.set(Skip, "it needs permessage-deflate", "not run: the server did not accept permessage-deflate validly (hs-deflate)")
		return
	}
	fc := e.open(ctx, r, handshake.DeflateOffer)
	if fc == nil {
		return
	}
	defer fc.close()
	if len(fc.res.Negotiated.Extensions) == 0 {
		r.set(Skip, "it needs permessage-deflate", "not run: this time the server declined permessage-deflate")
		return
	}
	msgs := deflateMessages()
	sent := fmt.Sprintf("sent 3 text messages of %d bytes, compressed with %s", len(msgs[0]), strings.Join(fc.res.Negotiated.Extensions, ", "))
	problem, out, in := roundTrips(fc, e, msgs)
	if problem != "" {
		r.set(Fail, "compressed messages are inflated with the context the parameters say", "%s → %s", sent, problem)
		return
	}
	r.set(Pass, "", "%s (%d of 3 compressed) → all 3 echoed intact (%d of 3 compressed by the server)", sent, out, in)
}

func hsDeflateWindow(ctx context.Context, e *env, r *Report) {
	res, elem, judged := deflateOffer(ctx, e, r, windowOffer)
	if judged {
		closeResult(res)
		return
	}
	sent := "sent Sec-WebSocket-Extensions: " + windowOffer
	if elem == "" {
		closeResult(res)
		r.set(Pass, "", "%s → 101 without permessage-deflate: declined", sent)
		return
	}
	er := e.report("fr-echo")
	if er == nil || !er.echoes {
		closeResult(res)
		r.set(Pass, "", "%s → accepted: %s (no compressed round trip: the server does not echo)", sent, elem)
		return
	}
	params, _ := wire.CheckDeflateResponse([]string{windowOffer}, elem)
	fc := e.frameConn(ctx, r, res, &params)
	defer fc.close()
	problem, _, _ := roundTrips(fc, e, deflateMessages()[:1])
	if problem != "" {
		r.set(Fail, "the negotiated windows must work both ways", "%s → accepted: %s, but the compressed round trip failed: %s", sent, elem, problem)
		return
	}
	r.set(Pass, "", "%s → accepted: %s, and a compressed message echoed intact", sent, elem)
}
