package har

import (
	"encoding/binary"
	"time"

	"github.com/wsdbg/wsdbg/wire"
)

// Stream decodes one direction of a WebSocket connection as its bytes
// pass (RFC 6455 §5.2) and records every data message in an Entry:
// unmasked, reassembled from its fragments and inflated when
// permessage-deflate compressed it (RFC 7692). It never changes or holds
// back the bytes it is given; a message larger than the limit, or one
// that does not inflate, is left out. Streams are used from one goroutine
// at a time.
type Stream struct {
	e     *Entry
	send  bool
	now   func() time.Time
	dec   *wire.Decompressor
	limit int64

	hdr  [wire.MaxHeaderSize]byte
	hn   int // header bytes gathered
	h    frame
	left int64 // payload bytes of the current frame still to come
	pos  int   // offset in the current frame's payload, for unmasking
	body bool  // inside a payload

	open       bool // a data message is in progress
	op         byte
	compressed bool
	data       []byte
	over       bool
	lost       bool // the inflate context is gone
}

type frame struct {
	fin, rsv1 bool
	op        byte
	masked    bool
	mask      [4]byte
	length    int64
}

// NewStream returns the decoder of one direction of e's connection:
// send is true for what the client sent. deflate holds the negotiated
// permessage-deflate parameters (nil: none) and fromClient says whether
// this direction's sender is the client, which picks the window and
// context parameters. limit bounds a recorded message after inflation.
func NewStream(e *Entry, send bool, deflate *wire.DeflateParams, fromClient bool, limit int64, now func() time.Time) *Stream {
	s := &Stream{e: e, send: send, now: now, limit: limit}
	if s.now == nil {
		s.now = time.Now
	}
	if deflate != nil {
		role := wire.RoleClient // the peer of a client is the server
		if fromClient {
			role = wire.RoleServer
		}
		s.dec = wire.NewDecompressor(*deflate, role)
	}
	return s
}

// Write takes the next bytes of the direction; it never fails.
func (s *Stream) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if !s.body {
			b = s.header(b)
			continue
		}
		k := int(min(int64(len(b)), s.left))
		s.payload(b[:k])
		b = b[k:]
		s.left -= int64(k)
		if s.left == 0 {
			s.frameEnd()
		}
	}
	return n, nil
}

// header gathers header bytes; once complete it starts the payload.
func (s *Stream) header(b []byte) []byte {
	for len(b) > 0 {
		s.hdr[s.hn] = b[0]
		s.hn++
		b = b[1:]
		need := 2
		if s.hn >= 2 {
			switch s.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if s.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if s.hn < need {
			continue
		}
		h := frame{fin: s.hdr[0]&0x80 != 0, rsv1: s.hdr[0]&0x40 != 0, op: s.hdr[0] & 0x0f, masked: s.hdr[1]&0x80 != 0}
		i := 2
		switch l := s.hdr[1] & 0x7f; l {
		case 126:
			h.length = int64(binary.BigEndian.Uint16(s.hdr[2:4]))
			i = 4
		case 127:
			h.length = int64(binary.BigEndian.Uint64(s.hdr[2:10]) &^ (1 << 63))
			i = 10
		default:
			h.length = int64(l)
		}
		if h.masked {
			copy(h.mask[:], s.hdr[i:i+4])
		}
		s.hn = 0
		s.h, s.left, s.pos, s.body = h, h.length, 0, true
		s.frameStart()
		if s.left == 0 {
			s.frameEnd()
		}
		return b
	}
	return b
}

func (s *Stream) frameStart() {
	op := s.h.op
	if op >= 8 {
		return
	}
	if op == 0 && s.open {
		return
	}
	s.open, s.op, s.compressed, s.over = true, op, s.h.rsv1 && s.dec != nil, false
	if s.op == 0 {
		s.op = OpBinary
	}
	if cap(s.data) > 1<<20 {
		s.data = nil
	}
	s.data = s.data[:0]
}

func (s *Stream) payload(b []byte) {
	defer func() { s.pos += len(b) }()
	if s.h.op >= 8 || s.over {
		return
	}
	limit := s.limit
	if s.compressed {
		limit += limit/8 + 1024
	}
	if int64(len(s.data))+int64(len(b)) > limit {
		s.over = true
		return
	}
	start := len(s.data)
	s.data = append(s.data, b...)
	if s.h.masked {
		wire.Mask(s.h.mask, s.pos, s.data[start:])
	}
}

func (s *Stream) frameEnd() {
	s.body = false
	if s.h.op >= 8 || !s.h.fin || !s.open {
		return
	}
	s.open = false
	data := s.data
	switch {
	case s.over:
		s.lost = s.lost || s.compressed
		return
	case s.compressed && s.lost:
		return
	case s.compressed:
		s.dec.Begin()
		out, err := s.dec.Append(nil, s.data, true, s.limit)
		if err != nil {
			s.lost = true
			return
		}
		data = out
	}
	s.e.Message(s.send, s.now(), s.op, data)
}
