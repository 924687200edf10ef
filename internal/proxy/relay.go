package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// outSize is the relay's write buffer: frames that arrive together leave
// together in one write, and a large payload moves in pieces of this size.
const outSize = 256 << 10

// readSize is the relay's read buffer.
const readSize = 16 << 10

// closeRequest asks a relay to send a close frame to its destination at
// the next frame boundary, and to drop what its source sends from then on.
type closeRequest struct {
	code   wire.CloseCode
	reason string
}

// relay copies frames from one side to the other. Its goroutine is the
// only writer of dst.
type relay struct {
	p       *pair
	side    string         // the side that sends what src carries
	other   string         // the side that receives it
	dir     wire.Direction // DirOut for the client's frames, DirIn for the server's
	src     *bufio.Reader
	srcConn net.Conn
	dst     net.Conn
	role    wire.Role // the role of the endpoint that receives these frames
	mask    bool      // frames the proxy itself sends to dst are masked (towards the server)
	rsv1OK  bool      // permessage-deflate negotiated
	printer *repl.Printer
	keep    bool // assemble messages (display, --strict, --har)

	out       []byte
	frameAt   int // offset in out where the current frame starts; -1 once part of it was written
	pending   atomic.Pointer[closeRequest]
	injected  bool // the proxy sent its own close to dst
	closeSent bool // src sent a close frame
	raw       bool // framing was lost: copy bytes as they come

	msg message

	// Statistics for the summary.
	messages, frames, wireBytes int64
	closeCode                   wire.CloseCode
	closeHas                    bool
	closeReason                 string
	ended                       string // how the relay ended, for the summary
}

// requestClose asks r to send a close frame to its destination, waking
// it if it waits for its source.
func (r *relay) requestClose(code wire.CloseCode, reason string) {
	r.pending.Store(&closeRequest{code: code, reason: reason})
	r.srcConn.SetReadDeadline(time.Unix(1, 0))
}

// outPool holds the relays' write buffers: a relay that waits for its
// source with nothing to write gives its buffer back, so an idle pair
// costs no buffer.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}

// run relays until src ends or the pair is closed.
func (r *relay) run() {
	r.frameAt = 0
	defer r.release()
	for {
		if r.src.Buffered() == 0 {
			if !r.flush() {
				return
			}
			if r.printer != nil {
				r.printer.Flush()
			}
			r.release()
			// Wait for the source without holding a buffer.
			if _, err := r.src.Peek(1); err != nil && !(isTimeout(err) && r.woken()) && !r.raw {
				r.acquire()
				if !r.servePending() {
					return
				}
				r.end(err, false)
				return
			}
		}
		r.acquire()
		if !r.servePending() {
			return
		}
		if r.raw {
			if !r.copyRaw() {
				return
			}
			continue
		}
		var hraw [wire.MaxHeaderSize]byte
		n, h, err := r.readHeader(&hraw)
		if err != nil {
			if isTimeout(err) && r.woken() {
				continue
			}
			var pe *wire.ProtocolError
			if errors.As(err, &pe) {
				// The length cannot be decoded: framing is lost.
				r.violation(pe, true)
				if !r.injected {
					r.out = append(r.out, hraw[:n]...)
				}
				r.raw = true
				continue
			}
			if n := r.src.Buffered(); n > 0 && !r.injected {
				// The stream ended inside a frame header: relay what came.
				p, _ := r.src.Peek(n)
				r.out = append(r.out, p...)
				r.wireBytes += int64(n)
				r.src.Discard(n)
			}
			// A close requested just as the source ended still goes out:
			// it is the answer the other side waits for.
			r.servePending()
			r.end(err, false)
			return
		}
		if !r.frame(h, hraw[:n]) {
			return
		}
	}
}

func (r *relay) acquire() {
	if r.out == nil {
		r.out = (*outPool.Get().(*[]byte))[:0]
	}
}

func (r *relay) release() {
	if r.out != nil && len(r.out) == 0 {
		b := r.out
		outPool.Put(&b)
		r.out = nil
	}
}

// woken clears the wake-up deadline; it reports true so that the loop
// serves the close request that caused it.
func (r *relay) woken() bool {
	r.srcConn.SetReadDeadline(time.Time{})
	return true
}

// servePending sends a requested close frame; false when the relay must
// stop.
func (r *relay) servePending() bool {
	req := r.pending.Swap(nil)
	if req == nil {
		return true
	}
	r.srcConn.SetReadDeadline(time.Time{})
	if r.injected {
		return true
	}
	r.injected = true
	var payload [wire.MaxControlPayload]byte
	pl := wire.AppendClose(payload[:0], req.code, req.reason)
	h := wire.Header{Fin: true, Op: wire.OpClose, Length: int64(len(pl)), Masked: r.mask}
	if r.mask {
		io.ReadFull(r.p.s.opts.Rand, h.Mask[:])
		wire.Mask(h.Mask, 0, pl)
	}
	r.out = wire.AppendHeader(r.out, h)
	r.out = append(r.out, pl...)
	r.frameAt = len(r.out)
	if r.printer != nil {
		r.printer.Note(fmt.Sprintf("Proxy sent close %v %q to the %s", req.code, req.reason, r.other))
	}
	return r.flush()
}

// readHeader reads one frame header, keeping its bytes in raw.
func (r *relay) readHeader(raw *[wire.MaxHeaderSize]byte) (int, wire.Header, error) {
	p, err := r.src.Peek(2)
	if len(p) < 2 {
		if err == io.EOF && len(p) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, wire.Header{}, err
	}
	n := 2
	switch p[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if p[1]&0x80 != 0 {
		n += 4
	}
	p, err = r.src.Peek(n)
	if len(p) < n {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, wire.Header{}, err
	}
	copy(raw[:], p)
	h, err := wire.ReadHeader(r.src)
	return n, h, err
}

// frame relays one frame whose header has been read. It reports false
// when the relay must stop.
func (r *relay) frame(h wire.Header, hraw []byte) bool {
	o := &r.p.s.opts
	if r.printer != nil {
		r.printer.Frame(r.dir, h, nil)
	}
	r.frameAt = len(r.out)
	if !r.injected {
		if pe := wire.CheckHeader(h, r.role, r.rsv1OK, r.msg.open); pe != nil {
			r.violation(pe, false)
		} else if r.closeSent && !h.Op.IsControl() {
			r.violation(&wire.ProtocolError{Code: wire.CloseProtocolError, Reason: fmt.Sprintf("%v frame after the %s's close frame (RFC 6455 §5.5.1)", h.Op, r.side)}, false)
		} else if h.Length > o.MaxMessageSize && h.Op.IsData() {
			r.warn(fmt.Sprintf("%s: %v frame declares %d bytes, more than --max-message-size %d", r.side, h.Op, h.Length, o.MaxMessageSize))
			if o.Strict {
				r.strictFail(wire.CloseMessageTooBig, fmt.Sprintf("frame of %d bytes is above the proxy's limit", h.Length))
			}
		}
	}
	r.frames++
	if !r.injected {
		r.out = append(r.out, hraw...)
	}
	r.wireBytes += int64(len(hraw)) + h.Length
	r.msg.begin(r, h)
	left := h.Length
	pos := 0
	for left > 0 {
		if len(r.out) == cap(r.out) {
			if len(r.out) > r.frameAt {
				r.frameAt = -1
			}
			if !r.flush() {
				return false
			}
		}
		room := cap(r.out) - len(r.out)
		chunk := r.out[len(r.out) : len(r.out)+int(min(int64(room), left))]
		n, err := r.src.Read(chunk)
		if n > 0 {
			if !r.msg.payload(r, h, chunk[:n], pos) {
				return false
			}
			pos += n
			left -= int64(n)
			if !r.injected {
				r.out = r.out[:len(r.out)+n]
			}
		}
		if err != nil {
			if isTimeout(err) && r.woken() {
				// A close cannot go out in the middle of a frame; it waits
				// for the frame's end (or the grace timer).
				continue
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.end(fmt.Errorf("after %d of %d payload bytes of a %v frame: %w", h.Length-left, h.Length, h.Op, err), true)
			return false
		}
	}
	if !r.msg.end(r, h) {
		return false
	}
	if r.injected && h.Op == wire.OpClose {
		r.ended = fmt.Sprintf("the %s answered the proxy's close", r.side)
		r.end(nil, false)
		return false
	}
	return true
}

// copyRaw copies what src has, once framing is lost.
func (r *relay) copyRaw() bool {
	if len(r.out) == cap(r.out) && !r.flush() {
		return false
	}
	n, err := r.src.Read(r.out[len(r.out):cap(r.out)])
	if !r.injected {
		r.out = r.out[:len(r.out)+n]
	}
	r.wireBytes += int64(n)
	if err != nil {
		if isTimeout(err) && r.woken() {
			return true
		}
		r.flush()
		r.end(err, false)
		return false
	}
	return true
}

// flush writes out within --write-timeout; false when the destination
// failed, in which case the pair is torn down.
func (r *relay) flush() bool {
	if len(r.out) == 0 {
		return true
	}
	r.dst.SetWriteDeadline(time.Now().Add(r.p.s.opts.WriteTimeout))
	n, err := r.dst.Write(r.out)
	if err != nil {
		why := fmt.Sprintf("Could not relay to the %s: %v", r.other, err)
		if isTimeout(err) {
			why = fmt.Sprintf("The %s read nothing for --write-timeout %s while %d bytes waited to be relayed; dropping both connections", r.other, r.p.s.opts.WriteTimeout, len(r.out)-n)
		}
		r.ended = why
		r.fail(why)
		r.p.drop()
		return false
	}
	r.out = r.out[:0]
	if r.frameAt > 0 {
		r.frameAt = 0
	}
	return true
}

// end records how the source ended and half-closes the destination, so
// that the other side sees the end of the stream too; the pair's grace
// timer drops both connections if the other side does not follow.
func (r *relay) end(err error, midFrame bool) {
	r.flush()
	switch {
	case err == nil:
	case err == io.EOF && r.closeSent:
		r.ended = fmt.Sprintf("the %s closed the connection", r.side)
	case err == io.EOF:
		r.ended = fmt.Sprintf("the %s closed the connection without a close frame", r.side)
	case errors.Is(err, net.ErrClosed) || r.p.dropped.Load():
		if r.ended == "" {
			r.ended = fmt.Sprintf("the %s connection was dropped", r.side)
		}
	default:
		r.ended = fmt.Sprintf("the %s connection ended: %v", r.side, err)
		if midFrame || errors.Is(err, io.ErrUnexpectedEOF) {
			r.fail(fmt.Sprintf("%s: connection ended in the middle of a frame %v", r.side, err))
		}
	}
	if cw, ok := r.dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		r.dst.Close()
	}
	r.p.startGrace()
}

// violation reports a frame that breaks RFC 6455. Without --strict the
// frame is relayed as it is; with --strict the side is failed, and what
// it sends from then on is read and dropped.
func (r *relay) violation(pe *wire.ProtocolError, lostFraming bool) {
	o := &r.p.s.opts
	if !o.Strict {
		what := "relayed as it is"
		if lostFraming {
			what = "relayed as it is; the rest of this direction is copied without decoding"
		}
		r.report(pe, what)
		return
	}
	r.report(pe, fmt.Sprintf("--strict: failing the %s's connection with %v and closing the %s's with 1001", r.side, pe.Code, r.other))
	r.strictFail(pe.Code, pe.Reason)
}

// strictFail fails the side this relay reads (RFC 6455 §7.1.7): the
// other relay sends it a close with code; this relay sends 1001 to its
// destination, unless the current frame is already partly relayed, in
// which case only dropping the connection is left.
func (r *relay) strictFail(code wire.CloseCode, reason string) {
	if r.frameAt >= 0 {
		r.out = r.out[:r.frameAt]
	} else {
		r.out = r.out[:0]
		r.dst.Close()
	}
	r.p.mu.Lock()
	if r.p.first == "" {
		r.p.first = "proxy"
	}
	r.p.mu.Unlock()
	// The offender's close is requested first: once the other side has
	// our 1001 it may hang up, and the offender must still get its code.
	if o := r.p.otherRelay(r); o != nil {
		o.requestClose(code, truncate(reason, 100))
	}
	r.pending.Store(&closeRequest{code: wire.CloseGoingAway, reason: fmt.Sprintf("the %s broke the protocol", r.side)})
	r.servePending()
	r.p.startGrace()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// closePayload returns the code, whether there is one, and the reason of a
// close payload, leniently, for display.
func closePayload(b []byte) (wire.CloseCode, bool, string) {
	if len(b) < 2 {
		return 0, false, ""
	}
	return wire.CloseCode(binary.BigEndian.Uint16(b)), true, string(b[2:])
}
