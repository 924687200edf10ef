package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// bufSize is the relay's buffer: input is read into it in pieces of up to
// this size, parsed in place and written from it, so that frames that
// arrive together leave together in one write.
const bufSize = 256 << 10

// slowSize is the buffer of a relay whose source cannot be waited on
// without a read (TLS): it blocks in Read holding this buffer.
const slowSize = 16 << 10

// closeRequest asks a relay to send a close frame to its destination at
// the next frame boundary, and to drop what its source sends from then on.
type closeRequest struct {
	code   wire.CloseCode
	reason string
}

// relay copies frames from one side to the other. It reads into one
// buffer, finds the frames in place and writes the same bytes from there:
// no copy, no per-frame allocation. Its goroutine is the only writer of
// dst.
type relay struct {
	p       *pair
	side    string         // the side that sends what src carries
	other   string         // the side that receives it
	dir     wire.Direction // DirOut for the client's frames, DirIn for the server's
	pre     *bufio.Reader  // the handshake's reader: bytes that came with the head
	srcConn net.Conn
	dst     net.Conn
	role    wire.Role // the role of the endpoint that receives these frames
	mask    bool      // frames the proxy itself sends to dst are masked (towards the server)
	rsv1OK  bool      // permessage-deflate negotiated
	printer *repl.Printer
	keep    bool // assemble messages (display, --strict, --har)
	// hold relays a frame only once all of it has been checked (--strict),
	// so that a frame that turns out to break the rules never reaches the
	// other side in part (SPEC §9).
	hold bool

	rc      syscall.RawConn // srcConn's descriptor, to wait for input without a buffer
	tryRead func(fd uintptr) bool
	nread   int
	rerr    error

	// buf[w:r] is parsed and waits to be written; buf[r:e] is not parsed
	// yet. buf is nil while the relay waits with nothing buffered.
	buf     []byte
	bufp    *[]byte // buf's pool entry
	w, r, e int

	// The current frame.
	inFrame bool
	h       wire.Header
	frameAt int   // offset in buf where the current frame starts; -1 once part of it was written
	left    int64 // payload bytes still to come
	pos     int   // payload bytes seen

	pending   atomic.Pointer[closeRequest]
	injected  bool // the proxy sent its own close to dst
	closeSent bool // src sent a close frame
	lost      bool // framing was lost: copy bytes as they come

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

// bufPool holds the relays' buffers: a relay that waits for its source
// with nothing buffered gives its buffer back, so an idle pair costs no
// buffer.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// run relays until src ends or the pair is closed.
func (r *relay) run() {
	defer r.release()
	if sc, ok := r.srcConn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r.rc = rc
			r.tryRead = r.readFD
		}
	}
	if n := r.pre.Buffered(); n > 0 {
		r.acquire()
		p, _ := r.pre.Peek(n)
		if n > len(r.buf) {
			r.buf, r.bufp = make([]byte, n), nil
		}
		r.e = copy(r.buf, p)
		r.pre.Discard(n)
	}
	r.pre = nil
	for {
		if !r.inFrame && !r.servePending() {
			return
		}
		if r.r == r.e {
			if !r.fill() {
				return
			}
			continue
		}
		var ok bool
		switch {
		case r.lost:
			r.wireBytes += int64(r.e - r.r)
			r.advance(r.e - r.r)
			ok = true
		case !r.inFrame:
			ok = r.header()
		default:
			ok = r.payload()
		}
		if !ok {
			return
		}
	}
}

// advance moves the parse position by n bytes; once the proxy has sent
// its own close, what the source sends is dropped.
func (r *relay) advance(n int) {
	r.r += n
	if r.injected {
		r.w = r.r
	}
}

func (r *relay) acquire() {
	if r.buf != nil {
		return
	}
	if r.rc == nil {
		r.buf = make([]byte, slowSize)
		return
	}
	r.bufp = bufPool.Get().(*[]byte)
	r.buf = *r.bufp
}

// release gives the buffer back when nothing is in it.
func (r *relay) release() {
	if r.buf == nil || r.e != 0 || r.rc == nil {
		return
	}
	if r.bufp != nil && len(r.buf) == bufSize {
		bufPool.Put(r.bufp)
	}
	r.buf, r.bufp = nil, nil
}

// fill writes what is parsed and reads more; false when the relay must
// stop.
func (r *relay) fill() bool {
	if !r.flush() {
		return false
	}
	if r.w == r.e {
		r.w, r.r, r.e = 0, 0, 0
		if r.inFrame && r.frameAt >= 0 {
			r.frameAt = -1 // all of it is written (hold is off or it is dropped)
		}
		if r.buf != nil && len(r.buf) != bufSize && len(r.buf) != slowSize {
			r.buf, r.bufp = nil, nil // a held frame made it grow
		}
	} else if r.w > 0 {
		// Keep the unwritten part (a held frame, a partial header).
		r.e = copy(r.buf, r.buf[r.w:r.e])
		r.r -= r.w
		if r.frameAt >= 0 {
			r.frameAt -= r.w
		}
		r.w = 0
	}
	if r.e == len(r.buf) && r.buf != nil {
		// Full of a frame held for --strict: make room for all of it; its
		// size is bounded by --max-message-size, checked on its header.
		want := r.e + wire.MaxHeaderSize
		if r.inFrame {
			want = r.r + int(r.left)
		}
		nb := make([]byte, max(want, 2*len(r.buf)))
		copy(nb, r.buf[:r.e])
		if r.bufp != nil {
			bufPool.Put(r.bufp)
		}
		r.buf, r.bufp = nb, nil
	}
	if r.e == 0 {
		if r.printer != nil {
			r.printer.Flush()
		}
		r.release()
	}
	n, err := r.read()
	r.e += n
	if err == nil {
		return true
	}
	if isTimeout(err) && r.woken() {
		return true
	}
	if r.inFrame {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.end(fmt.Errorf("after %d of %d payload bytes of a %v frame: %w", r.pos, r.h.Length, r.h.Op, err), true)
		return false
	}
	if r.r < r.e && !r.lost {
		// The stream ended inside a frame header: relay what came.
		r.wireBytes += int64(r.e - r.r)
		r.advance(r.e - r.r)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	// A close requested just as the source ended still goes out: it is
	// the answer the other side waits for.
	r.servePending()
	r.end(err, false)
	return false
}

// read reads into buf[e:]: from a socket through its descriptor, taking a
// buffer only once there is something to read; from anything else, with
// a plain Read.
func (r *relay) read() (int, error) {
	if r.rc == nil {
		r.acquire()
		n, err := r.srcConn.Read(r.buf[r.e:])
		if n > 0 && err == io.EOF {
			err = nil // seen on the next read
		}
		return n, err
	}
	r.nread, r.rerr = 0, nil
	if err := r.rc.Read(r.tryRead); err != nil {
		return 0, err
	}
	return r.nread, r.rerr
}

// readFD is the body of a raw read: false asks to wait until the
// descriptor is readable.
func (r *relay) readFD(fd uintptr) bool {
	r.acquire()
	for {
		n, err := syscall.Read(int(fd), r.buf[r.e:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			r.release()
			return false
		case err != nil:
			r.rerr = &net.OpError{Op: "read", Net: r.srcConn.LocalAddr().Network(), Source: r.srcConn.LocalAddr(), Addr: r.srcConn.RemoteAddr(), Err: os.NewSyscallError("read", err)}
		case n == 0:
			r.rerr = io.EOF
		default:
			r.nread = n
		}
		return true
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
	if r.pending.Load() == nil {
		return true
	}
	req := r.pending.Swap(nil)
	if req == nil {
		return true
	}
	r.srcConn.SetReadDeadline(time.Time{})
	if r.injected {
		return true
	}
	if !r.flush() {
		return false
	}
	r.injected = true
	r.w = r.r
	var frame [wire.MaxHeaderSize + wire.MaxControlPayload]byte
	pl := wire.AppendClose(frame[wire.MaxHeaderSize:wire.MaxHeaderSize], req.code, req.reason)
	h := wire.Header{Fin: true, Op: wire.OpClose, Length: int64(len(pl)), Masked: r.mask}
	if r.mask {
		io.ReadFull(r.p.s.opts.Rand, h.Mask[:])
		wire.Mask(h.Mask, 0, pl)
	}
	out := append(wire.AppendHeader(frame[:0:wire.MaxHeaderSize], h), pl...)
	if r.printer != nil {
		r.printer.Note(fmt.Sprintf("Proxy sent close %v %q to the %s", req.code, req.reason, r.other))
	}
	return r.write(out)
}

// header reads and checks one frame header. It reports false when the
// relay must stop.
func (r *relay) header() bool {
	h, n, err := wire.ParseHeader(r.buf[r.r:r.e])
	if err == wire.ErrShortHeader {
		return r.fill()
	}
	if err != nil {
		// The length cannot be decoded: framing is lost.
		var pe *wire.ProtocolError
		errors.As(err, &pe)
		r.violation(pe, true)
		r.wireBytes += int64(n)
		r.advance(n)
		r.lost = true
		return true
	}
	o := &r.p.s.opts
	if r.printer != nil {
		r.printer.Frame(r.dir, h, nil)
	}
	r.inFrame, r.h, r.frameAt, r.left, r.pos = true, h, r.r, h.Length, 0
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
	r.wireBytes += int64(n) + h.Length
	r.advance(n)
	r.msg.begin(r, h)
	if r.left == 0 {
		return r.endFrame()
	}
	return true
}

// payload takes what the buffer holds of the current frame's payload. It
// reports false when the relay must stop.
func (r *relay) payload() bool {
	n := int(min(int64(r.e-r.r), r.left))
	if !r.msg.payload(r, r.h, r.buf[r.r:r.r+n], r.pos) {
		return false
	}
	r.pos += n
	r.left -= int64(n)
	r.advance(n)
	if r.left == 0 {
		return r.endFrame()
	}
	return true
}

// endFrame finishes the current frame. It reports false when the relay
// must stop.
func (r *relay) endFrame() bool {
	// The frame stays current (held) while its message is judged.
	ok := r.msg.end(r, r.h)
	r.inFrame = false
	if !ok {
		return false
	}
	if r.injected && r.h.Op == wire.OpClose {
		r.ended = fmt.Sprintf("the %s answered the proxy's close", r.side)
		r.end(nil, false)
		return false
	}
	return true
}

// flush writes what is parsed and may go (not a frame held for
// --strict); false when the destination failed.
func (r *relay) flush() bool {
	end := r.r
	if r.hold && r.inFrame && r.frameAt >= 0 {
		end = r.frameAt
	}
	if end <= r.w {
		return true
	}
	if !r.write(r.buf[r.w:end]) {
		return false
	}
	if r.inFrame && r.frameAt >= 0 && r.frameAt < end {
		r.frameAt = -1
	}
	r.w = end
	return true
}

// write writes b within --write-timeout; false when the destination
// failed, in which case the pair is torn down.
func (r *relay) write(b []byte) bool {
	r.dst.SetWriteDeadline(time.Now().Add(r.p.s.opts.WriteTimeout))
	n, err := r.dst.Write(b)
	if err != nil {
		why := fmt.Sprintf("Could not relay to the %s: %v", r.other, err)
		if isTimeout(err) {
			why = fmt.Sprintf("The %s read nothing for --write-timeout %s while %d bytes waited to be relayed; dropping both connections", r.other, r.p.s.opts.WriteTimeout, len(b)-n)
		}
		r.ended = why
		r.fail(why)
		r.p.drop()
		return false
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
// destination. The current frame is held until checked (hold), so none of
// it has reached the destination and the close follows the last whole
// frame relayed.
func (r *relay) strictFail(code wire.CloseCode, reason string) {
	if r.inFrame && r.frameAt >= 0 {
		// None of the frame is out: what precedes it goes, the frame is
		// dropped.
		if r.frameAt > r.w {
			r.write(r.buf[r.w:r.frameAt])
		}
		r.w, r.frameAt = r.r, -1
	} else if r.inFrame {
		// Part of the frame is out (it was not held): a close cannot
		// follow it.
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
