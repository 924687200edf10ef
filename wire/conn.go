package wire

import (
	"bufio"
	"crypto/rand"
	"errors"
	"io"
	"sync"
)

// DefaultMaxMessageSize is the message size limit when Config.MaxMessageSize
// is 0: 64 MiB, counted after decompression.
const DefaultMaxMessageSize = 64 << 20

// DefaultCompressionThreshold is the size below which messages are sent
// uncompressed when Config.CompressionThreshold is 0. Below it DEFLATE at
// the speed-oriented levels used here stores or Huffman-codes a message
// without LZ77, so compressing gains nothing, while a message sent
// uncompressed leaves the compression context untouched (RFC 7692 §6.1).
const DefaultCompressionThreshold = 128

// Direction says whether a frame was read or written.
type Direction uint8

// Directions.
const (
	DirIn Direction = iota
	DirOut
)

// Config configures a Conn.
type Config struct {
	// Role is the side we play; it decides masking (RFC 6455 §5.1).
	Role Role

	// MaxMessageSize limits a data message after decompression; 0 means
	// DefaultMaxMessageSize. A longer message fails Read with a
	// *ProtocolError carrying close code 1009 (RFC 6455 §7.4.1).
	MaxMessageSize int64

	// Deflate holds the negotiated permessage-deflate parameters (the
	// server's response, RFC 7692 §7); nil means no compression. With it,
	// RSV1 is accepted on the first frame of a data message and messages
	// of at least CompressionThreshold bytes are sent compressed.
	Deflate *DeflateParams

	// Rand is the source of masking keys; nil means crypto/rand. It is read
	// through a 4 KiB buffer, so a key costs no system call.
	Rand io.Reader

	// OnFrame, if set, is called for every frame read and written, with the
	// header and the payload unmasked but still compressed, as on the wire.
	// It must not retain payload. For a frame Read rejects, payload holds
	// what was read of it (often nothing). It runs on the reading goroutine
	// for DirIn and under the write lock for DirOut.
	OnFrame func(dir Direction, h Header, payload []byte)

	// CompressionThreshold: messages shorter than this are sent
	// uncompressed even when permessage-deflate is negotiated; 0 means
	// DefaultCompressionThreshold.
	CompressionThreshold int
}

// Message is one data message or one control frame, as returned by Read.
type Message struct {
	Op         Opcode // OpText, OpBinary, OpPing, OpPong or OpClose
	Data       []byte // valid until the next Read; text is valid UTF-8
	Compressed bool   // the data message arrived compressed (RSV1)
	Frames     int    // number of frames; 1 for a control frame

	// For OpClose: the decoded payload (RFC 6455 §5.5.1). CloseCode is 0
	// and HasCode false when the payload was empty.
	CloseCode   CloseCode
	HasCode     bool
	CloseReason string
}

// ErrCloseSent is returned by the message writers after a close frame was
// sent: RFC 6455 §5.5.1 forbids data frames after it.
var ErrCloseSent = errors.New("write message: close frame already sent; open a new connection to send more")

// messageCompressor and messageDecompressor are the permessage-deflate
// engines of deflate.go, seen through the methods Conn calls.
type messageCompressor interface {
	Compress(dst, msg []byte) (out []byte, ok bool, err error)
}

type messageDecompressor interface {
	Begin()
	Append(dst, chunk []byte, final bool, limit int64) ([]byte, error)
}

// Conn reads and writes WebSocket messages over an established connection
// (RFC 6455 §5-7). It starts no goroutines and knows nothing of deadlines:
// set them on the underlying net.Conn. One goroutine may Read while any
// number of others write; writes are serialised by an internal mutex.
type Conn struct {
	role    Role
	maxSize int64
	onFrame func(Direction, Header, []byte)

	br     *bufio.Reader
	decomp messageDecompressor // nil unless permessage-deflate
	r      readState

	wmu       sync.Mutex
	w         io.Writer
	comp      messageCompressor // nil unless permessage-deflate
	threshold int
	rnd       *bufio.Reader // masking keys (client role)
	wbuf      []byte        // frames queued, not yet written
	cbuf      []byte        // compressed message
	closeBuf  [MaxControlPayload]byte
	closeSent bool
	werr      error
}

// NewConn returns a Conn that reads frames from br and writes them to w.
// br reads the connection and may already hold bytes that arrived after
// the opening handshake; w is the connection itself.
func NewConn(br *bufio.Reader, w io.Writer, cfg Config) *Conn {
	c := &Conn{
		role:      cfg.Role,
		maxSize:   cfg.MaxMessageSize,
		onFrame:   cfg.OnFrame,
		br:        br,
		w:         w,
		threshold: cfg.CompressionThreshold,
	}
	if c.maxSize <= 0 {
		c.maxSize = DefaultMaxMessageSize
	}
	if c.threshold <= 0 {
		c.threshold = DefaultCompressionThreshold
	}
	if c.role == RoleClient {
		c.rnd = newKeySource(cfg.Rand)
	}
	setupDeflate(c, cfg)
	return c
}

// Role returns the role the Conn plays.
func (c *Conn) Role() Role { return c.role }

// newKeySource buffers src (crypto/rand when nil) for masking keys.
func newKeySource(src io.Reader) *bufio.Reader {
	if src == nil {
		src = rand.Reader
	}
	return bufio.NewReaderSize(src, 4096)
}
