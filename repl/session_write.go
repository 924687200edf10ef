package repl

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

// DefaultWriteTimeout bounds every write to the socket: a peer that reads
// nothing of what we send for this long ends the session with an error
// instead of holding it forever.
const DefaultWriteTimeout = 10 * time.Second

// maxQueuedReplies bounds the echoes the reading goroutine queues while
// another goroutine writes; beyond it the reader waits for that write
// (itself bounded by the write timeout): an echo cannot read faster than
// it writes.
const maxQueuedReplies = 1 << 20

// The write side of a session has one owner at a time: the goroutine
// holding the write token (Session.own), which it holds across the
// socket write and nothing else does. Senders (stdin, the REPL, the
// pinger, Close) take the token and wait for it. The reading goroutine
// never waits for it: an answer it owes the peer (a pong, the echo of a
// close, a close for a protocol error, an echo) is written at once when
// the token is free, and otherwise queued; whoever holds the token writes
// the queue before giving the token back (RFC 6455 §5.4 allows control
// frames between the frames of a message, never inside one). So a peer
// that stops reading can stall our writes, up to the write timeout, but
// never the reading goroutine, which keeps reading, printing and
// classifying how the session ends.

// reply is an answer the reading goroutine queued for the write owner.
type reply struct {
	op      wire.Opcode // OpPong, OpClose, or a data opcode for an echo
	payload []byte      // a copy: the message it answers is gone by then
	code    wire.CloseCode
	hasCode bool
	reason  string
}

// lockWrite takes the write token; unlockWrite writes what the reading
// goroutine queued meanwhile and gives it back.
func (s *Session) lockWrite() { s.own.Lock() }

func (s *Session) unlockWrite() {
	s.drainReplies()
	s.own.Unlock()
	s.tryReplies()
}

// tryReplies writes queued replies if the token is free; a reply queued
// just as its owner gave the token back is not left behind.
func (s *Session) tryReplies() {
	for s.wanted.Load() > 0 && s.own.TryLock() {
		s.drainReplies()
		s.own.Unlock()
	}
}

// drainReplies writes the queued replies and flushes; the token is held.
func (s *Session) drainReplies() {
	if s.wanted.Swap(0) == 0 {
		return
	}
	s.rmu.Lock()
	q := s.replies
	s.replies, s.replyBytes = s.spareReplies[:0], 0
	s.rmu.Unlock()
	for _, r := range q {
		s.writeReply(r)
	}
	s.echoQueued.Store(false)
	_ = s.conn.Flush() // a write error is sticky and surfaces on the next write
	clear(q)
	s.rmu.Lock()
	if cap(q) <= 64 {
		s.spareReplies = q[:0]
	} else {
		s.spareReplies = nil
	}
	s.rmu.Unlock()
}

// writeReply writes one reply; the token is held. Echoes are queued in
// the connection's buffer, not flushed: they go out together when the
// reading goroutine runs out of input.
func (s *Session) writeReply(r reply) {
	switch r.op {
	case wire.OpPong:
		_ = s.conn.WriteControl(wire.OpPong, r.payload) // printed by answer
	case wire.OpClose:
		if err := s.conn.WriteClose(r.code, r.reason); err == nil {
			s.p.CloseFrame(wire.DirOut, r.code, r.hasCode, r.reason)
		}
	default:
		if err := s.conn.QueueMessage(r.op, r.payload); err == nil {
			s.echoQueued.Store(true)
			s.sent(r.op, r.payload, 1)
		}
	}
}

// answer is how the reading goroutine sends a reply: written now if the
// token is free, else queued for its holder. payload is copied only when
// queued. A pong is printed here, in the order the reader saw the ping,
// whoever writes it (as a ping we send is printed before it is written):
// events keep the order of the conversation, not of the write queue.
func (s *Session) answer(r reply) {
	if r.op == wire.OpPong {
		s.p.Control(wire.DirOut, wire.OpPong, r.payload)
	}
	if s.own.TryLock() {
		s.writeReply(r)
		if r.op == wire.OpPong || r.op == wire.OpClose {
			s.drainReplies()
		}
		s.own.Unlock()
		s.tryReplies()
		return
	}
	r.payload = append([]byte(nil), r.payload...)
	s.rmu.Lock()
	s.replies = append(s.replies, r)
	s.replyBytes += len(r.payload)
	over := s.replyBytes > maxQueuedReplies
	s.rmu.Unlock()
	s.wanted.Add(1)
	s.tryReplies()
	if over {
		s.lockWrite()
		s.unlockWrite()
	}
}

// flushEchoes writes the echoes the reading goroutine queued; it is called
// when the reader is about to wait for the network. If another goroutine
// holds the token, it flushes them when it gives the token back.
func (s *Session) flushEchoes() {
	if !s.echoQueued.Load() {
		return
	}
	if s.own.TryLock() {
		if s.echoQueued.Swap(false) {
			_ = s.conn.Flush()
		}
		s.own.Unlock()
		s.tryReplies()
		return
	}
	s.wanted.Add(1)
	s.tryReplies()
}

// deadlineConn is the connection as the session writes it: every write
// has a deadline (the write timeout, or the end of the close timeout once
// closing), and a write that times out ends the session: reading stops
// and Wait reports that the peer stopped reading. A large write goes out
// in chunks, each with its own deadline, so the timeout bounds how long
// the peer reads nothing, not how long a large message takes.
type deadlineConn struct {
	net.Conn
	s       *Session
	timeout time.Duration
	closeBy atomic.Int64 // unix nanoseconds; 0 until closing
}

// writeChunk is the most written under one deadline.
const writeChunk = 256 << 10

func (c *deadlineConn) Write(b []byte) (int, error) {
	written := 0
	for {
		chunk := b[written:]
		if len(chunk) > writeChunk {
			chunk = chunk[:writeChunk]
		}
		n, err := c.write(chunk)
		written += n
		if err != nil {
			if isTimeout(err) {
				c.s.stalled.CompareAndSwap(nil, &stallError{peer: c.s.peerName(), after: c.timeout, left: len(b) - written, err: err})
				_ = c.Conn.SetReadDeadline(time.Now())
			}
			return written, err
		}
		if written == len(b) {
			return written, nil
		}
	}
}

func (c *deadlineConn) write(b []byte) (int, error) {
	by := c.closeBy.Load()
	if c.timeout > 0 || by != 0 {
		d := time.Unix(0, by)
		if t := time.Now().Add(c.timeout); c.timeout > 0 && (by == 0 || t.Before(d)) {
			d = t
		}
		_ = c.Conn.SetWriteDeadline(d)
	}
	return c.Conn.Write(b)
}

// stallError says that the peer stopped reading what we wrote.
type stallError struct {
	peer  string
	after time.Duration
	left  int
	err   error
}

func (e *stallError) Error() string {
	return fmt.Sprintf("%s read nothing of what wsdbg sent for %v while %d bytes waited to be written (%v); wsdbg gave up: the peer stopped reading its connection",
		e.peer, e.after, e.left, e.err)
}

func (e *stallError) Unwrap() error { return e.err }

func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	if !ok {
		if u, ok2 := err.(interface{ Unwrap() error }); ok2 && u.Unwrap() != nil {
			return isTimeout(u.Unwrap())
		}
		return false
	}
	return t.Timeout()
}
