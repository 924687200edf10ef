package handshake

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Seed corpora live in testdata/fuzz/FuzzH2Fields and
// testdata/fuzz/FuzzH2Server; h2Seeds adds the frames a correct server
// sends, so that the fuzzer starts from a working conversation.

// FuzzH2Fields decodes arbitrary header blocks: never a panic, the decoded
// list within MaxH2HeaderList, and fields that survive a round trip through
// EncodeH2Fields.
func FuzzH2Fields(f *testing.F) {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	EncodeH2Fields(enc, []H2Field{{":status", "200"}, {"sec-websocket-protocol", "chat"}, {"date", "Wed, 02 Dec 2026"}})
	f.Add(bytes.Clone(b.Bytes()))
	f.Add([]byte{0x88})                   // indexed :status 200
	f.Add([]byte{0x3f, 0xe1, 0x1f, 0xbe}) // dynamic table size update
	f.Fuzz(func(t *testing.T, block []byte) {
		fields, err := DecodeH2Fields(block)
		size := 0
		for _, fl := range fields {
			size += len(fl.Name) + len(fl.Value) + 32
		}
		if size > MaxH2HeaderList {
			t.Fatalf("decoded %d bytes of fields, over MaxH2HeaderList", size)
		}
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := EncodeH2Fields(hpack.NewEncoder(&out), fields); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeH2Fields(out.Bytes())
		if err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		if len(again) != len(fields) {
			t.Fatalf("round trip: %d fields, then %d", len(fields), len(again))
		}
		for i := range again {
			if again[i] != fields[i] {
				t.Fatalf("round trip: field %d %q became %q", i, fields[i], again[i])
			}
		}
	})
}

// fuzzConn is a net.Conn whose peer sends in and then ends the stream;
// writes are discarded.
type fuzzConn struct {
	r *bytes.Reader
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	if c.r.Len() == 0 {
		return 0, io.EOF
	}
	return c.r.Read(p)
}
func (c *fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fuzzConn) Close() error                     { return nil }
func (c *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

// h2Seeds returns server byte streams: SETTINGS with ENABLE_CONNECT_PROTOCOL,
// the 200 HEADERS, then DATA carrying a WebSocket text frame, a PING and a
// WINDOW_UPDATE; and a few broken ones.
func h2Seeds() [][]byte {
	var seeds [][]byte
	build := func(fn func(fr *http2.Framer, block []byte)) {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		var hb bytes.Buffer
		EncodeH2Fields(hpack.NewEncoder(&hb), []H2Field{{":status", "200"}, {"sec-websocket-protocol", "chat"}})
		fn(fr, hb.Bytes())
		seeds = append(seeds, bytes.Clone(b.Bytes()))
	}
	ecp := http2.Setting{ID: settingEnableConnectProtocol, Val: 1}
	build(func(fr *http2.Framer, block []byte) {
		fr.WriteSettings(ecp, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		fr.WriteSettingsAck()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true})
		fr.WriteData(1, false, []byte{0x81, 0x02, 'h', 'i'})
		fr.WritePing(false, [8]byte{1, 2, 3})
		fr.WriteWindowUpdate(0, 1000)
		fr.WriteWindowUpdate(1, 1000)
		fr.WriteDataPadded(1, true, []byte{0x88, 0x02, 0x03, 0xe8}, []byte{0, 0, 0})
	})
	build(func(fr *http2.Framer, block []byte) {
		fr.WriteSettings(ecp)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:1]})
		fr.WriteContinuation(1, true, block[1:])
		fr.WriteRSTStream(1, http2.ErrCodeProtocol)
	})
	build(func(fr *http2.Framer, block []byte) {
		fr.WriteSettings(ecp)
		fr.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("calm"))
	})
	build(func(fr *http2.Framer, block []byte) {
		fr.WriteSettings()
	})
	seeds = append(seeds, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	return seeds
}

// FuzzH2Server runs the client side of an extended CONNECT against an
// arbitrary server byte stream, through the handshake, the reading
// goroutine and the stream's Read: never a panic or a hang, a class for
// every outcome, a diagnostic for every failure, and no more DATA buffered
// than the window wsdbg granted.
func FuzzH2Server(f *testing.F) {
	for _, s := range h2Seeds() {
		f.Add(s)
	}
	u, _ := url.Parse("ws://example.com/chat")
	o := &Options{Protocols: []string{"chat"}, Timeout: time.Second}
	fields, _ := BuildH2Fields(u, o)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newH2Conn(&fuzzConn{r: bytes.NewReader(data)}, 50*time.Millisecond)
		res := &Result{Request: h2Request(fields), HTTP2: true}
		if err := c.writePreface(); err != nil {
			t.Fatal(err)
		}
		cls, resp := c.handshake(context.Background(), res, fields, o)
		if len(res.Diagnostics) == 0 && cls != ClassOK {
			t.Fatalf("class %v without a diagnostic", cls)
		}
		if resp == nil || cls != ClassOK {
			return
		}
		done := make(chan struct{})
		go func() { c.readLoop(); close(done) }()
		s := &h2Stream{c}
		s.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 4096)
		total := 0
		for {
			n, err := s.Read(buf)
			total += n
			if err != nil {
				break
			}
		}
		<-done
		if total > len(data) {
			t.Fatalf("read %d bytes of DATA from %d bytes of input", total, len(data))
		}
		s.Close()
	})
}
