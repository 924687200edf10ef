package repl

import (
	"context"

	"github.com/wsdbg/wsdbg/wire"
)

// RunEcho is mirror mode (SPEC §1.4 --echo): it starts s and sends every
// data message it receives back with the same opcode and payload, until
// the peer closes; pings are answered by the session (unless auto-pong is
// off) and the peer's close is echoed. It works in either role, so the
// server uses it too. It returns Wait's error.
//
// Echoes are queued, not flushed one by one: the session flushes them
// whenever it is about to wait for the network, so a burst costs one
// write and a lock-step peer still gets each echo at once.
func RunEcho(ctx context.Context, s *Session) error {
	next := s.cfg.OnMessage
	s.cfg.OnMessage = func(m wire.Message) {
		s.echo(m)
		if next != nil {
			next(m)
		}
	}
	s.Start(ctx)
	return s.Wait()
}

// echo queues m back to the peer through the write owner (see
// session_write.go). Errors are ignored: after our close frame data may
// not be sent (RFC 6455 §5.5.1), and a failed connection ends the read
// loop anyway.
func (s *Session) echo(m wire.Message) {
	s.answer(reply{op: m.Op, payload: m.Data})
}
