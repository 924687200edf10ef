package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/wsdbg/wsdbg/wire"
)

// lineBufferSize is the stdin buffer of line mode. Lines longer than it
// are assembled in a separate buffer.
const lineBufferSize = 64 << 10

// maxKeptLine is the largest long-line buffer kept between lines.
const maxKeptLine = 1 << 20

// SendLines sends each line of in as one message of type op (OpText or
// OpBinary) until in ends, and returns how many it sent. The line ending
// (\n, and a \r before it) is not sent; a last line without \n is sent
// too. Memory stays bounded by the longest line: stdin is never held
// whole. Lines already buffered are queued and written together, so a
// large input costs one write per 64 KiB, not one per line; the queue is
// flushed before every read of in that may block.
//
// It stops at the first write error, which it returns: the session ended.
// A text line that is not valid UTF-8 is not sent: RFC 6455 §5.6 requires
// text messages to be UTF-8, so it returns an error naming the line.
func (s *Session) SendLines(in io.Reader, op wire.Opcode) (int, error) {
	if op != wire.OpBinary {
		op = wire.OpText
	}
	br := bufio.NewReaderSize(&flushingReader{s: s, r: in}, lineBufferSize)
	var long []byte
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if len(long) > 0 {
			long = append(long, line...)
			line = long
		}
		if len(line) > 0 {
			msg := trimEOL(line)
			if op == wire.OpText && !utf8.Valid(msg) {
				_ = s.Flush()
				return n, fmt.Errorf("line %d of the input is not valid UTF-8, and a text message must be (RFC 6455 §5.6); send it as binary (wsdbg send --binary) or fix the encoding", n+1)
			}
			if qerr := s.Queue(op, msg); qerr != nil {
				return n, qerr
			}
			n++
		}
		if cap(long) > maxKeptLine {
			long = nil
		} else {
			long = long[:0]
		}
		if err != nil {
			if ferr := s.Flush(); ferr != nil {
				return n, ferr
			}
			if err == io.EOF {
				return n, nil
			}
			return n, fmt.Errorf("read input after %s: %w", plural(n, "line", "lines"), err)
		}
	}
}

// trimEOL strips a trailing \n and a \r before it.
func trimEOL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// flushingReader flushes the session's queued frames and printed output
// before each read of the input, which may block.
type flushingReader struct {
	s *Session
	r io.Reader
}

func (f *flushingReader) Read(p []byte) (int, error) {
	if f.s.queued.Load() {
		if err := f.s.Flush(); err != nil {
			return 0, err
		}
	}
	f.s.p.Drain()
	return f.r.Read(p)
}

// WaitForever, as RunLines' idle, keeps listening after the end of the
// input until the peer closes or ctx is cancelled (--wait inf).
const WaitForever time.Duration = -1

// RunLines is line mode (SPEC §1.4): it starts s, sends each line of in as
// a text message while received events are printed, and at the end of in
// keeps reading until nothing has arrived for idle (0: not at all;
// WaitForever: until the peer closes or ctx is cancelled), then closes
// with 1000 and waits for the peer's close (bounded by the close timeout),
// printing what still arrives. Many servers drop the replies they have
// not sent yet once our close arrives (RFC 6455 §7.1.2 lets them), so
// closing at the end of the input would lose them. It returns when the
// session has ended, with Wait's error, or the input error if the session
// itself ended well.
//
// If the peer closes first, RunLines returns without waiting for in: a
// goroutine blocked reading in stays until in yields or ends, then exits.
func RunLines(ctx context.Context, s *Session, in io.Reader, idle time.Duration) error {
	s.Start(ctx)
	res := make(chan error, 1)
	go func() {
		_, err := s.SendLines(in, wire.OpText)
		res <- err
	}()
	select {
	case inErr := <-res:
		if inErr == nil {
			s.waitIdle(ctx, idle)
		}
		if cerr := s.Close(wire.CloseNormal, ""); cerr != nil && inErr == nil {
			inErr = cerr
		}
		if err := s.Wait(); err != nil {
			return err
		}
		if errors.Is(inErr, wire.ErrCloseSent) {
			return nil
		}
		return inErr
	case <-s.Done():
		return s.Wait()
	}
}

// waitIdle returns once no frame has arrived for idle, counted from now or
// from the last frame, whichever is later; or when the session ends or ctx
// is cancelled. A negative idle waits for those two only.
func (s *Session) waitIdle(ctx context.Context, idle time.Duration) {
	if idle == 0 {
		return
	}
	// Only now does the reading goroutine note the time of each frame: it
	// costs a clock read per frame, which the rest of the session need
	// not pay.
	s.idleWatch.Store(true)
	var timeout <-chan time.Time
	var t *time.Timer
	from := time.Since(s.born)
	if idle > 0 {
		t = time.NewTimer(idle)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-timeout:
			last := max(from, time.Duration(s.lastIn.Load()))
			if left := idle - (time.Since(s.born) - last); left > 0 {
				t.Reset(left)
				continue
			}
			return
		case <-s.done:
			return
		case <-ctx.Done():
			return
		}
	}
}
