package wire

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	kflate "github.com/klauspost/compress/flate"
)

// ErrMessageTooBig is wrapped by Decompressor.Append when a message inflates
// to more than the limit. The caller closes the connection with 1009
// (CloseMessageTooBig, RFC 6455 §7.4.1).
var ErrMessageTooBig = errors.New("message too big")

// ErrCorruptDeflate is wrapped by Decompressor.Append when a compressed
// message is not a valid DEFLATE stream (RFC 7692 §7.2.2). The caller closes
// the connection with 1002 (CloseProtocolError): the payload breaks the
// framing the negotiated extension defines, which is a protocol error rather
// than data inconsistent with the message type (1007).
var ErrCorruptDeflate = errors.New("corrupt permessage-deflate data")

// deflateTail is the empty stored block that ends every compressed message
// and that senders remove (RFC 7692 §7.2.1, §7.2.2).
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// inflateTail is appended to a received message before it is inflated: the
// tail the sender removed (RFC 7692 §7.2.2), then an empty final stored block
// so that a complete message ends the DEFLATE stream cleanly (io.EOF) and a
// truncated one does not.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// flateWriter is what a Compressor needs from a DEFLATE compressor. The
// writers of compress/flate and github.com/klauspost/compress/flate both
// have it, so the implementation can be swapped on evidence.
type flateWriter interface {
	Write(p []byte) (int, error)
	Flush() error // a sync flush, ending with 00 00 ff ff (RFC 1951 §3.2.4)
	Reset(w io.Writer)
}

// flateReader is what a Decompressor needs from a DEFLATE decompressor
// (flate.Resetter of either package).
type flateReader interface {
	io.Reader
	Reset(r io.Reader, dict []byte) error
}

// flateCodec makes the compressors and decompressors of one DEFLATE
// implementation and keeps the idle ones.
type flateCodec struct {
	name string
	// newWriter returns a compressor whose back-references reach at most
	// 1<<bits bytes, or nil when the implementation cannot keep to a window
	// smaller than 32 KiB.
	newWriter func(bits int) flateWriter
	newReader func() flateReader
	// windowed: newWriter honours windows below 15 bits.
	windowed bool

	writers [maxWindowBits + 1]sync.Pool // idle writers by window bits
	readers sync.Pool
}

// compressionLevel is the DEFLATE level of outgoing messages: the fastest,
// as gorilla/websocket and coder/websocket choose.
const compressionLevel = flate.BestSpeed

// ShortMessage is the length under which compressing a message gains
// nothing with the implementations used here: at BestSpeed both (and every
// fast level of klauspost, and its window-limited writer) store or
// Huffman-code a flush of fewer than 128 bytes without LZ77 and restart the
// context, so the payload is about the message's size plus a few bytes and
// the next message cannot refer to earlier ones. Sent uncompressed instead, a
// short message is seen by neither side's LZ77 window (RFC 7692 §6.1) and
// the context carries on. Compress still compresses what it is given: the
// caller's threshold decides, and ShortMessage is a good one.
const ShortMessage = 128

// stdCodec is compress/flate. It always compresses with a 32 KiB window, so
// it cannot honour a smaller negotiated window on its own.
var stdCodec = &flateCodec{
	name:     "compress/flate",
	windowed: false,
	newWriter: func(bits int) flateWriter {
		if bits < maxWindowBits {
			return nil
		}
		w, err := flate.NewWriter(nil, compressionLevel)
		if err != nil {
			panic(err) // the level is a valid constant
		}
		return w
	},
	newReader: func() flateReader {
		return flate.NewReader(emptyInput).(flateReader)
	},
}

// klauspostCodec is github.com/klauspost/compress/flate, which can also
// compress within any window from 32 bytes to 32 KiB (NewWriterWindow keeps
// every back-reference shorter than the window).
var klauspostCodec = &flateCodec{
	name:     "klauspost/compress/flate",
	windowed: true,
	newWriter: func(bits int) flateWriter {
		var w *kflate.Writer
		var err error
		if bits < maxWindowBits {
			w, err = kflate.NewWriterWindow(nil, 1<<bits)
		} else {
			w, err = kflate.NewWriter(nil, compressionLevel)
		}
		if err != nil {
			panic(err) // the level and window sizes are valid constants
		}
		return w
	},
	newReader: func() flateReader {
		return kflate.NewReader(emptyInput).(flateReader)
	},
}

// The implementations NewCompressor and NewDecompressor use, chosen with
// BenchmarkDeflate (figures in deflate_bench_test.go): klauspost compresses
// and inflates text faster than compress/flate from 1 KiB up, with a smaller
// writer (about 0.5 MB against 1.2 MB), no more allocations, and it is the
// one that keeps to a window below 15 bits (see Compressor).
// compress/flate at level 2 and up would also compress short messages
// against the context, but at half the speed on large ones.
var (
	compressCodec = klauspostCodec
	windowCodec   = klauspostCodec
	inflateCodec  = klauspostCodec
)

func (f *flateCodec) getWriter(bits int) flateWriter {
	if w, ok := f.writers[bits].Get().(flateWriter); ok {
		return w
	}
	return f.newWriter(bits)
}

func (f *flateCodec) putWriter(bits int, w flateWriter) {
	w.Reset(nil)
	f.writers[bits].Put(w)
}

func (f *flateCodec) getReader() flateReader {
	if r, ok := f.readers.Get().(flateReader); ok {
		return r
	}
	return f.newReader()
}

// emptyInput is what idle readers point at, so that a pooled reader holds no
// reference to a message. Nothing reads from it.
var emptyInput = bytes.NewReader(nil)

func (f *flateCodec) putReader(r flateReader) {
	_ = r.Reset(emptyInput, nil)
	f.readers.Put(r)
}

// windowBits turns a negotiated max_window_bits value into the window in
// force: absent (0) or without a value (-1) means 15 (RFC 7692 §7.1.2).
func windowBits(v int) int {
	if v < minWindowBits || v > maxWindowBits {
		return maxWindowBits
	}
	return v
}

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Compressor compresses the messages one endpoint sends (RFC 7692 §7.2.1).
// It is not safe for concurrent use.
//
// Context takeover (RFC 7692 §7.1.1): when negotiated, one DEFLATE stream
// runs across messages and later messages refer back to earlier ones; with
// no_context_takeover each message starts afresh, with a compressor taken
// from a pool and returned after the message, so an idle connection holds
// none.
//
// Window (RFC 7692 §7.1.2): under a negotiated window below 15 bits,
// NewCompressor uses klauspost/compress, whose writer keeps every
// back-reference within the 2^bits window, so every message is compressed,
// with context takeover if negotiated. An implementation that only has a
// 32 KiB window (compress/flate) would compress only messages of at most
// 2^bits bytes, each from a fresh state so that no reference can reach
// farther, and send longer ones uncompressed, which RFC 7692 §6 allows; the
// tests exercise that path too.
type Compressor struct {
	codec  *flateCodec
	bits   int  // window of the writer, 8..15
	maxLen int  // longest message compressed; -1: any
	perMsg bool // fresh state per message: no takeover, or emulated window
	fw     flateWriter
	out    sliceWriter
}

// NewCompressor returns the compressor for our side of a connection with the
// negotiated parameters p (the server's response): for RoleClient the
// client_* parameters bind us, for RoleServer the server_* ones.
func NewCompressor(p DeflateParams, role Role) *Compressor {
	codec := compressCodec
	if sendingBits(p, role) < maxWindowBits && !codec.windowed {
		codec = windowCodec
	}
	return newCompressor(p, role, codec)
}

// sendingBits is the window our side compresses with.
func sendingBits(p DeflateParams, role Role) int {
	if role == RoleServer {
		return windowBits(p.ServerMaxWindowBits)
	}
	return windowBits(p.ClientMaxWindowBits)
}

func newCompressor(p DeflateParams, role Role, codec *flateCodec) *Compressor {
	c := &Compressor{codec: codec, maxLen: -1, bits: sendingBits(p, role)}
	if role == RoleServer {
		c.perMsg = p.ServerNoContextTakeover
	} else {
		c.perMsg = p.ClientNoContextTakeover
	}
	if c.bits < maxWindowBits && !codec.windowed {
		// A message of at most 2^bits bytes compressed from a fresh state
		// cannot refer back farther than 2^bits bytes.
		c.maxLen, c.bits, c.perMsg = 1<<c.bits, maxWindowBits, true
	}
	return c
}

// Compress appends the compressed payload of the whole message msg to dst,
// without the final 00 00 ff ff (RFC 7692 §7.2.1), and returns it with
// ok=true; the caller sends it with RSV1 set on the first frame. ok=false
// means msg is to be sent uncompressed, as RFC 7692 §6 allows, because it
// does not fit the negotiated window (see Compressor); dst is then returned
// unchanged and the context is untouched. msg is not modified. See
// ShortMessage for a threshold below which callers should not compress.
func (c *Compressor) Compress(dst, msg []byte) (out []byte, ok bool, err error) {
	if c.maxLen >= 0 && len(msg) > c.maxLen {
		return dst, false, nil
	}
	if c.fw == nil {
		c.fw = c.codec.getWriter(c.bits)
		c.fw.Reset(&c.out)
	}
	c.out.b = dst
	_, err = c.fw.Write(msg)
	if err == nil {
		err = c.fw.Flush()
	}
	out, c.out.b = c.out.b, nil
	if err == nil && !bytes.HasSuffix(out[len(dst):], deflateTail) {
		err = fmt.Errorf("%s did not end the sync flush with 00 00 ff ff", c.codec.name)
	}
	if err != nil || c.perMsg {
		if err == nil {
			c.codec.putWriter(c.bits, c.fw)
		}
		c.fw = nil // after an error the stream state is unknown: start over
	}
	if err != nil {
		return dst, false, fmt.Errorf("compress message: %w", err)
	}
	return out[:len(out)-len(deflateTail)], true, nil
}

// Decompressor inflates the compressed messages one endpoint receives
// (RFC 7692 §7.2.2). It is not safe for concurrent use.
//
// With context takeover it keeps the last 2^bits bytes of output, bits being
// the peer's negotiated window, and gives them to the DEFLATE reader as its
// dictionary at the start of each message; a reference farther back than
// the peer's window is therefore reported as corrupt. The reader itself is
// taken from a pool for each message, so an idle connection holds only that
// window (none with no_context_takeover).
//
// The frames of a fragmented message are gathered and inflated when the last
// one arrives, because a DEFLATE reader cannot pause in the middle of a block
// and resume when the next frame comes.
type Decompressor struct {
	codec    *flateCodec
	winSize  int  // the peer's window in bytes
	takeover bool // the peer keeps its context across messages
	window   []byte
	pending  []byte // compressed payload of the current message so far
	src      bytes.Reader
	n        int64 // output of the current message so far
	probe    [512]byte
}

// NewDecompressor returns the decompressor for what the peer sends on a
// connection with the negotiated parameters p: for RoleClient the peer is the
// server and the server_* parameters apply, for RoleServer the client_* ones.
func NewDecompressor(p DeflateParams, role Role) *Decompressor {
	return newDecompressor(p, role, inflateCodec)
}

func newDecompressor(p DeflateParams, role Role, codec *flateCodec) *Decompressor {
	d := &Decompressor{codec: codec}
	bits := windowBits(p.ServerMaxWindowBits)
	d.takeover = !p.ServerNoContextTakeover
	if role == RoleServer {
		bits = windowBits(p.ClientMaxWindowBits)
		d.takeover = !p.ClientNoContextTakeover
	}
	d.winSize = 1 << bits
	return d
}

// Begin starts a new compressed message, dropping whatever a previous
// message that was not completed left behind.
func (d *Decompressor) Begin() {
	d.n = 0
	d.pending = d.pending[:0]
}

// maxPending bounds the compressed payload of one message: a DEFLATE stream
// that inflates to at most limit bytes is at most about limit*9/8 bytes with
// fixed Huffman codes, plus block overhead; anything larger is refused as too
// big.
func maxPending(limit int64) int64 {
	if limit < 0 || limit > math.MaxInt64/2 {
		return math.MaxInt64
	}
	return limit + limit/8 + 1024
}

// Append takes one frame's payload of the current compressed message. For a
// frame that is not the last one (final=false) it keeps the payload and
// returns dst as it is; for the last one it inflates the whole message,
// appending the output to dst (RFC 7692 §7.2.2: the 00 00 ff ff tail is
// added here).
//
// limit bounds the output of the whole message (negative: no limit). When the
// message would inflate to more, Append stops having appended at most limit
// bytes and returns an error wrapping ErrMessageTooBig (close 1009); it never
// allocates beyond the limit, so a decompression bomb costs at most limit
// bytes. A compressed payload that cannot be a message within the limit is
// refused the same way. Invalid DEFLATE data gives an error wrapping
// ErrCorruptDeflate (close 1002). After an error the connection is to be
// failed: the context is no longer reliable.
func (d *Decompressor) Append(dst, chunk []byte, final bool, limit int64) ([]byte, error) {
	if int64(len(d.pending))+int64(len(chunk)) > maxPending(limit) {
		return dst, fmt.Errorf("inflate message: %d compressed bytes cannot inflate to at most %d bytes: %w",
			len(d.pending)+len(chunk), limit, ErrMessageTooBig)
	}
	d.pending = append(d.pending, chunk...)
	if !final {
		return dst, nil
	}
	d.pending = append(d.pending, inflateTail...)
	d.src.Reset(d.pending)
	fr := d.codec.getReader()
	err := fr.Reset(&d.src, d.dict())
	start := len(dst)
	if err == nil {
		dst, err = d.inflate(fr, dst, limit)
	}
	d.codec.putReader(fr)
	if cap(d.pending) > 64<<10 {
		d.pending = nil // do not keep a large message's buffer
	}
	d.pending = d.pending[:0]
	d.n = 0
	if err != nil {
		return dst, err
	}
	if d.takeover {
		d.remember(dst[start:])
	}
	return dst, nil
}

// inflate reads the whole message from fr into dst, growing dst by at most
// what the limit allows. When dst is full it reads into d.probe first, so
// that a message that fills dst exactly costs no allocation.
func (d *Decompressor) inflate(fr flateReader, dst []byte, limit int64) ([]byte, error) {
	for {
		room := int64(math.MaxInt64)
		if limit >= 0 {
			room = limit - d.n
		}
		var n int
		var err error
		if len(dst) < cap(dst) && room > 0 {
			space := dst[len(dst):cap(dst)]
			if int64(len(space)) > room {
				space = space[:room]
			}
			n, err = fr.Read(space)
			dst = dst[:len(dst)+n]
		} else {
			n, err = fr.Read(d.probe[:])
			if n > 0 {
				if int64(n) > room {
					return dst, fmt.Errorf("inflate message: more than %d bytes after decompression: %w", limit, ErrMessageTooBig)
				}
				grow := min(max(int64(cap(dst)), 512), room)
				nb := make([]byte, len(dst), int64(len(dst))+max(grow, int64(n)))
				copy(nb, dst)
				dst = append(nb, d.probe[:n]...)
			}
		}
		d.n += int64(n)
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, corrupt(err)
		}
	}
}

func corrupt(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("inflate message: the DEFLATE data ends in the middle of a block: %w", ErrCorruptDeflate)
	}
	return fmt.Errorf("inflate message: %w: %v", ErrCorruptDeflate, err)
}

// remember keeps the last winSize bytes of output as the dictionary of the
// next message (RFC 7692 §7.1.1: context takeover). The buffer holds up to
// two windows so that small messages rarely move it.
func (d *Decompressor) remember(out []byte) {
	w := d.winSize
	if len(out) >= w {
		if cap(d.window) < w {
			d.window = make([]byte, 0, 2*w)
		}
		d.window = append(d.window[:0], out[len(out)-w:]...)
		return
	}
	if cap(d.window) < 2*w {
		nw := make([]byte, len(d.window), 2*w)
		copy(nw, d.window)
		d.window = nw
	}
	if len(d.window)+len(out) > cap(d.window) {
		keep := w - len(out)
		copy(d.window, d.window[len(d.window)-keep:])
		d.window = d.window[:keep]
	}
	d.window = append(d.window, out...)
}

// dict returns the dictionary for the next message: the last winSize bytes
// of output.
func (d *Decompressor) dict() []byte {
	if !d.takeover {
		return nil
	}
	if len(d.window) > d.winSize {
		return d.window[len(d.window)-d.winSize:]
	}
	return d.window
}
