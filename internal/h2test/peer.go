// Package h2test is a scripted HTTP/2 server for tests: it accepts
// connections on loopback and lets a test write frames one by one with
// x/net's Framer, to play a correct or a deliberately broken RFC 8441
// server. It is imported by tests only.
package h2test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/wstest"
)

// SettingEnableConnectProtocol is SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
const SettingEnableConnectProtocol http2.SettingID = 0x8

// ECP is the setting that advertises extended CONNECT.
var ECP = http2.Setting{ID: SettingEnableConnectProtocol, Val: 1}

// Conn is one accepted connection.
type Conn struct {
	NC  net.Conn
	Fr  *http2.Framer // writes go through bw, flushed by Write
	bw  *bufio.Writer
	mu  sync.Mutex // serialises writes
	enc *hpack.Encoder
	buf bytes.Buffer
	dec *hpack.Decoder
}

// Start serves every connection on 127.0.0.1 with script until the test
// ends, and returns the address. Each connection has a 10 s deadline.
func Start(t testing.TB, script func(c *Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	wstest.Serve(t, ln, func(nc net.Conn) {
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		script(NewConn(nc))
	})
	return ln.Addr().String()
}

// NewConn wraps an accepted connection.
func NewConn(nc net.Conn) *Conn {
	c := &Conn{NC: nc, bw: bufio.NewWriterSize(nc, 256<<10), dec: hpack.NewDecoder(4096, nil)}
	c.Fr = http2.NewFramer(c.bw, nc)
	c.Fr.SetMaxReadFrameSize(1 << 20)
	c.enc = hpack.NewEncoder(&c.buf)
	return c
}

// ReadPreface reads the client connection preface (RFC 9113 §3.4).
func (c *Conn) ReadPreface() error {
	b := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.NC, b); err != nil {
		return err
	}
	if string(b) != http2.ClientPreface {
		return fmt.Errorf("preface %q", b)
	}
	return nil
}

// Write runs fn with the Framer under the write lock, then flushes what
// it wrote.
func (c *Conn) Write(fn func(fr *http2.Framer) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := fn(c.Fr)
	if ferr := c.bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// Settings writes a SETTINGS frame.
func (c *Conn) Settings(s ...http2.Setting) error {
	return c.Write(func(fr *http2.Framer) error { return fr.WriteSettings(s...) })
}

// Block encodes fields ("name", "value", ...) as a header block.
func (c *Conn) Block(kv ...string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(c.buf.Bytes())
}

// Respond writes a HEADERS frame on stream 1 with :status and kv fields.
func (c *Conn) Respond(status string, endStream bool, kv ...string) error {
	block := c.Block(append([]string{":status", status}, kv...)...)
	return c.Write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true, EndStream: endStream})
	})
}

// Data writes a DATA frame on stream 1.
func (c *Conn) Data(p []byte, end bool) error {
	return c.Write(func(fr *http2.Framer) error { return fr.WriteData(1, end, p) })
}

// Request is what ReadRequest saw.
type Request struct {
	Fields   []handshake.H2Field
	Settings []http2.Setting // the client's SETTINGS
	// ConnWindow and StreamWindow are the windows the client granted for
	// the server's DATA by the end of the request (RFC 9113 §6.9).
	ConnWindow, StreamWindow int64
}

// Get returns the first value of name.
func (r *Request) Get(name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// ReadRequest reads frames until a complete header block on stream 1,
// acknowledging the client's SETTINGS.
func (c *Conn) ReadRequest() (*Request, error) {
	r := &Request{ConnWindow: 65535, StreamWindow: 65535}
	var block []byte
	for {
		f, err := c.Fr.ReadFrame()
		if err != nil {
			return r, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				f.ForeachSetting(func(s http2.Setting) error {
					r.Settings = append(r.Settings, s)
					if s.ID == http2.SettingInitialWindowSize {
						r.StreamWindow = int64(s.Val)
					}
					return nil
				})
				if err := c.Write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() }); err != nil {
					return r, err
				}
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				r.ConnWindow += int64(f.Increment)
			} else {
				r.StreamWindow += int64(f.Increment)
			}
		case *http2.HeadersFrame:
			block = append(block, f.HeaderBlockFragment()...)
			if f.HeadersEnded() {
				r.Fields, err = handshake.DecodeH2FieldsWith(c.dec, block)
				return r, err
			}
		case *http2.ContinuationFrame:
			block = append(block, f.HeaderBlockFragment()...)
			if f.HeadersEnded() {
				r.Fields, err = handshake.DecodeH2FieldsWith(c.dec, block)
				return r, err
			}
		}
	}
}

// Accept reads the preface, sends settings, and reads the request.
func (c *Conn) Accept(settings ...http2.Setting) (*Request, error) {
	if err := c.ReadPreface(); err != nil {
		return nil, err
	}
	if err := c.Settings(settings...); err != nil {
		return nil, err
	}
	return c.ReadRequest()
}

// ErrStreamEnded is returned by ReadData after END_STREAM.
var ErrStreamEnded = errors.New("stream 1 ended")

// ReadData returns the payload of the next DATA frame on stream 1 (a
// copy), answering PING and SETTINGS on the way; ErrStreamEnded after an
// empty END_STREAM frame.
func (c *Conn) ReadData() ([]byte, error) {
	for {
		f, err := c.Fr.ReadFrame()
		if err != nil {
			return nil, err
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			if len(f.Data()) == 0 && f.StreamEnded() {
				return nil, ErrStreamEnded
			}
			return bytes.Clone(f.Data()), nil
		case *http2.PingFrame:
			if !f.IsAck() {
				c.Write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.Write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
			}
		case *http2.RSTStreamFrame:
			return nil, fmt.Errorf("RST_STREAM %v", f.ErrCode)
		}
	}
}

// TextFrame is an unmasked WebSocket text frame (RFC 6455 §5.2) with a
// payload under 126 bytes.
func TextFrame(s string) []byte {
	return append([]byte{0x81, byte(len(s))}, s...)
}
