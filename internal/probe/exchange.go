package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// maxFrameLines caps the frames recorded in a check's exchange, so that a
// server flooding pings costs a bounded amount of memory.
const maxFrameLines = 40

// previewBytes is how much of a payload a recorded frame line shows.
const previewBytes = 60

// frameConn is the upgraded connection of one frame check. It is used by
// the check's goroutine only.
type frameConn struct {
	r       *Report
	res     *handshake.Result
	ws      *wire.Conn
	stop    func() bool
	frames  int
	closeIn []byte // payload of the last close frame received
	// compressedOut counts the data messages sent compressed (RSV1).
	compressedOut int
}

// open upgrades a connection for a frame check with the baseline request
// minus its extension offers, so that reserved bits mean what the check
// says; offer, when not "", is the one extension offered. It returns nil
// after setting r to SKIP when there is no connection to test.
func (e *env) open(ctx context.Context, r *Report, offer string) *frameConn {
	res := e.exchange(ctx, r, func(o *handshake.Options) {
		o.Extensions, o.Deflate = nil, false
		if offer != "" {
			o.Extensions = []string{offer}
		}
		dropHeader(o, "Sec-WebSocket-Extensions")
	})
	if res == nil {
		return nil
	}
	if res.Conn == nil {
		got := "no 101"
		if res.Response != nil {
			got = status(res.Response)
		} else {
			got, _ = noAnswer(res)
		}
		r.set(Skip, "the check needs an upgraded connection of its own", "the check's handshake got %s", got)
		return nil
	}
	var params *wire.DeflateParams
	if offer != "" && len(res.Negotiated.Extensions) > 0 {
		p, problems := wire.CheckDeflateResponse([]string{offer}, strings.Join(res.Negotiated.Extensions, ", "))
		if len(problems) > 0 {
			closeResult(res)
			r.set(Fail, "the response parameters must answer the offer", "the check's handshake accepted %q: %s", strings.Join(res.Negotiated.Extensions, ", "), strings.Join(problems, "; "))
			return nil
		}
		params = &p
	}
	return e.frameConn(ctx, r, res, params)
}

// frameConn wraps an upgraded handshake result for frame I/O bounded by
// ctx: its deadline is the connection's, and cancelling ctx interrupts any
// read or write at once.
func (e *env) frameConn(ctx context.Context, r *Report, res *handshake.Result, params *wire.DeflateParams) *frameConn {
	fc := &frameConn{r: r, res: res}
	fc.ws = wire.NewConn(res.Reader, res.Conn, wire.Config{
		Role:           wire.RoleClient,
		MaxMessageSize: MaxMessage,
		Rand:           e.rand,
		Deflate:        params,
		OnFrame:        fc.onFrame,
	})
	if dl, ok := ctx.Deadline(); ok {
		res.Conn.SetDeadline(dl)
	}
	conn := res.Conn
	fc.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return fc
}

// close drops the connection. A frame check ends with a verdict, not a
// close handshake: the server's answer was the point.
func (fc *frameConn) close() {
	fc.stop()
	fc.res.Conn.Close()
}

// onFrame records each frame in both directions, up to maxFrameLines.
func (fc *frameConn) onFrame(dir wire.Direction, h wire.Header, payload []byte) {
	if dir == wire.DirIn && h.Op == wire.OpClose {
		fc.closeIn = append(fc.closeIn[:0], payload...)
	}
	if dir == wire.DirOut && h.Rsv1 {
		fc.compressedOut++
	}
	fc.frames++
	switch {
	case fc.frames < maxFrameLines:
	case fc.frames == maxFrameLines:
		fc.r.note("more frames are not shown")
		return
	default:
		return
	}
	d := byte('>')
	if dir == wire.DirIn {
		d = '<'
	}
	fc.r.Exchange = append(fc.r.Exchange, Line{d, frameText(h, payload)})
}

// frameText is a frame's line in an exchange: the header fields and a
// preview of the payload.
func frameText(h wire.Header, payload []byte) string {
	var b strings.Builder
	b.WriteString(h.String())
	switch {
	case h.Op == wire.OpClose && len(payload) >= 2:
		code, _, reason, _ := wire.ParseClose(payload)
		fmt.Fprintf(&b, " code=%d", uint16(code))
		if reason != "" {
			fmt.Fprintf(&b, " reason=%s", quote(reason))
		}
	case h.Rsv1 && h.Op.IsData():
		b.WriteString(" (compressed)")
	case len(payload) > 0:
		p := payload[:min(len(payload), previewBytes)]
		fmt.Fprintf(&b, " %s", quote(string(p)))
		if len(payload) > len(p) {
			fmt.Fprintf(&b, "… (%d more bytes)", len(payload)-len(p))
		}
	}
	return b.String()
}

// quote puts network text in double quotes; escaping happens when it is
// printed (handshake.AppendEscaped), so it is not escaped twice.
func quote(s string) string { return `"` + s + `"` }

// eventKind sorts what reading the connection gave.
type eventKind uint8

const (
	evMessage  eventKind = iota // a data message or a control frame other than close
	evClose                     // a valid close frame
	evProtocol                  // the server broke a rule, or sent more than probe reads
	evEnded                     // the TCP connection ended (EOF, reset)
	evTimeout                   // nothing more before the deadline
)

type event struct {
	kind eventKind
	msg  wire.Message // evMessage and evClose; Data valid until the next read
	perr *wire.ProtocolError
	err  error
}

// next reads one message or control frame.
func (fc *frameConn) next() event {
	m, err := fc.ws.Read()
	var pe *wire.ProtocolError
	switch {
	case err == nil && m.Op == wire.OpClose:
		return event{kind: evClose, msg: m}
	case err == nil:
		return event{kind: evMessage, msg: m}
	case errors.As(err, &pe):
		return event{kind: evProtocol, perr: pe, err: err}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return event{kind: evTimeout, err: err}
	}
	return event{kind: evEnded, err: err}
}

// waitTCPClose reads, and discards, until the server closes the TCP
// connection or the deadline passes; it returns whether the connection
// ended and how many bytes came after the close frame.
func (fc *frameConn) waitTCPClose() (ended bool, extra int64) {
	n, err := io.Copy(io.Discard, fc.res.Reader)
	return !errors.Is(err, os.ErrDeadlineExceeded), n
}

// closeText describes a close message: `close 1002 "reason"`.
func closeText(m wire.Message) string {
	if !m.HasCode {
		return "close without a status code"
	}
	if m.CloseReason == "" {
		return fmt.Sprintf("close %d", uint16(m.CloseCode))
	}
	return fmt.Sprintf("close %d %s", uint16(m.CloseCode), quote(m.CloseReason))
}

// endedText describes a connection that ended.
func endedText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the server closed the TCP connection"
	}
	return fmt.Sprintf("the TCP connection ended (%v)", err)
}

// faultText describes a protocol error: the server's frame broke a rule,
// or was larger than probe reads.
func faultText(pe *wire.ProtocolError) string {
	if pe.Code == wire.CloseMessageTooBig {
		return "a message larger than probe reads: " + pe.Reason
	}
	return "a frame that breaks the RFC: " + pe.Reason
}

// messageText describes a received data message or control frame.
func messageText(m wire.Message) string {
	p := m.Data[:min(len(m.Data), previewBytes)]
	s := fmt.Sprintf("%v %s", m.Op, quote(string(p)))
	if len(m.Data) > len(p) {
		s = fmt.Sprintf("%v message of %d bytes starting %s", m.Op, len(m.Data), quote(string(p)))
	}
	return s
}

// violation writes a frame that breaks a MUST of RFC 6455 and judges the
// answer (SPEC §8 "fail the connection"): a close frame with want (1002,
// or 1007 for invalid UTF-8) or the TCP close is PASS; a close with
// another code, or none, is WARN; nothing within the deadline, or the
// frame processed (echoed back, or a ping answered), is FAIL. closePayload
// is the invalid close payload sent, whose echo is FAIL.
type violation struct {
	sent         string // "sent an unmasked text frame"
	rule         string
	write        func(*frameConn) error
	echoOf       []byte // a data message with this payload means the frame was processed
	pongOf       []byte // a pong with this payload means the ping was processed
	closePayload []byte
	want         wire.CloseCode
}

func (v violation) run(ctx context.Context, e *env, r *Report) {
	fc := e.open(ctx, r, "")
	if fc == nil {
		return
	}
	defer fc.close()
	if err := v.write(fc); err != nil {
		r.set(Pass, v.rule, "%s → the connection failed while it was written (%v)", v.sent, err)
		return
	}
	echoed := func() bool { return v.closePayload != nil && bytes.Equal(fc.closeIn, v.closePayload) }
	others := 0
	for {
		ev := fc.next()
		switch ev.kind {
		case evMessage:
			switch {
			case ev.msg.Op.IsData() && v.echoOf != nil && bytes.Equal(ev.msg.Data, v.echoOf):
				r.set(Fail, v.rule, "%s → %s: the server processed it instead of failing the connection", v.sent, messageText(ev.msg))
				return
			case ev.msg.Op == wire.OpPong && v.pongOf != nil && bytes.Equal(ev.msg.Data, v.pongOf):
				r.set(Fail, v.rule, "%s → a pong with its payload: the server processed it instead of failing the connection", v.sent)
				return
			}
			others++
		case evClose:
			m := ev.msg
			switch {
			case echoed():
				r.set(Fail, v.rule, "%s → the same invalid close payload echoed back", v.sent)
			case !m.HasCode:
				r.set(Warn, fmt.Sprintf("%s; the close frame should say %d", v.rule, uint16(v.want)), "%s → close without a status code", v.sent)
			case m.CloseCode != v.want:
				r.set(Warn, fmt.Sprintf("%s; the close code for this is %d (RFC 6455 §7.4.1)", v.rule, uint16(v.want)), "%s → %s", v.sent, closeText(m))
			default:
				r.set(Pass, "", "%s → %s", v.sent, closeText(m))
			}
			return
		case evProtocol:
			if echoed() {
				r.set(Fail, v.rule, "%s → the same invalid close payload echoed back", v.sent)
			} else {
				r.set(Fail, v.rule, "%s → %s", v.sent, faultText(ev.perr))
			}
			return
		case evEnded:
			r.set(Pass, "", "%s → %s without a close frame", v.sent, endedText(ev.err))
			return
		case evTimeout:
			extra := ""
			if others > 0 {
				extra = fmt.Sprintf(" (%d other messages or pings arrived)", others)
			}
			r.set(Fail, v.rule, "%s → no close and no TCP close within %s%s: the server ignored it", v.sent, e.timeout, extra)
			return
		}
	}
}
