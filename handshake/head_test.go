package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
)

// rfcResponse is the server handshake of RFC 6455 §1.3.
const rfcResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
	"Sec-WebSocket-Protocol: chat\r\n" +
	"\r\n"

// rfcRequest is the client handshake of RFC 6455 §1.3.
const rfcRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Origin: http://example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

// reassemble joins a head's parts; it must equal Raw.
func reassemble(h *handshake.Head) string {
	var b strings.Builder
	b.WriteString(h.StartLine + h.StartEOL)
	for _, f := range h.Fields {
		b.WriteString(f.Raw + f.EOL)
	}
	b.WriteString(h.EndEOL)
	return b.String()
}

func TestReadResponseKeepsEveryByte(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		proto  string
		status int
		reason string
		fields [][2]string // name, value
		bareLF bool
		rest   string
	}{
		{
			name: "rfc example", in: rfcResponse + "\x81\x05hello",
			proto: "HTTP/1.1", status: 101, reason: "Switching Protocols",
			fields: [][2]string{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, {"Sec-WebSocket-Protocol", "chat"}},
			rest:   "\x81\x05hello",
		},
		{
			name: "bare LF", in: "HTTP/1.1 101 OK\nupgrade:WebSocket\r\nCONNECTION:   upgrade  \n\nrest",
			proto: "HTTP/1.1", status: 101, reason: "OK",
			fields: [][2]string{{"upgrade", "WebSocket"}, {"CONNECTION", "upgrade"}},
			bareLF: true, rest: "rest",
		},
		{
			name: "duplicates and order kept", in: "HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\nX-A: 4\r\n\r\n",
			proto: "HTTP/1.1", status: 200, reason: "OK",
			fields: [][2]string{{"X-A", "1"}, {"x-a", "2"}, {"X-B", "3"}, {"X-A", "4"}},
		},
		{
			name: "no reason", in: "HTTP/1.0 426\r\n\r\n", proto: "HTTP/1.0", status: 426,
		},
		{
			name: "malformed status", in: "HTTP/1.1 1O1 Switching\r\nA: b\r\n\r\n", proto: "HTTP/1.1", status: 0, reason: "1O1 Switching",
			fields: [][2]string{{"A", "b"}},
		},
		{
			name: "obsolete folding", in: "HTTP/1.1 101 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\nNext: x\r\n\r\n",
			proto: "HTTP/1.1", status: 101, reason: "OK",
			fields: [][2]string{{"X-Long", "one two three"}, {"", "two"}, {"", "three"}, {"Next", "x"}},
		},
		{
			name: "missing colon", in: "HTTP/1.1 101 OK\r\nthis line has no colon\r\nA: b\r\n\r\n",
			proto: "HTTP/1.1", status: 101, reason: "OK",
			fields: [][2]string{{"", ""}, {"A", "b"}},
		},
		{
			name: "empty value and colons in value", in: "HTTP/1.1 101 OK\r\nEmpty:\r\nLocation: http://x:1/a\r\n\r\n",
			proto: "HTTP/1.1", status: 101, reason: "OK",
			fields: [][2]string{{"Empty", ""}, {"Location", "http://x:1/a"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReader(strings.NewReader(tt.in))
			r, err := handshake.ReadResponse(br)
			if err != nil {
				t.Fatalf("ReadResponse: %v", err)
			}
			if r.Proto != tt.proto || r.Status != tt.status || r.Reason != tt.reason {
				t.Errorf("status line = %q %d %q, want %q %d %q", r.Proto, r.Status, r.Reason, tt.proto, tt.status, tt.reason)
			}
			var got [][2]string
			for _, f := range r.Fields {
				got = append(got, [2]string{f.Name, f.Value})
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields = %q, want %q", got, tt.fields)
			}
			if r.BareLF != tt.bareLF {
				t.Errorf("BareLF = %v, want %v", r.BareLF, tt.bareLF)
			}
			if s := reassemble(&r.Head); s != string(r.Raw) {
				t.Errorf("parts reassemble to %q, Raw is %q", s, r.Raw)
			}
			if want := tt.in[:len(tt.in)-len(tt.rest)]; string(r.Raw) != want {
				t.Errorf("Raw = %q, want %q", r.Raw, want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.rest {
				t.Errorf("bytes left in the reader = %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestFieldFlags(t *testing.T) {
	t.Parallel()
	in := "HTTP/1.1 101 OK\r\nA: 1\r\n folded\r\nno colon\r\n\r\n"
	r, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Fields[1].Folded || r.Fields[1].Raw != " folded" {
		t.Errorf("field 1 = %+v, want a folded line", r.Fields[1])
	}
	if !r.Fields[2].NoColon || r.Fields[2].Raw != "no colon" {
		t.Errorf("field 2 = %+v, want a line without colon", r.Fields[2])
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	in := "HTTP/1.1 101 OK\r\nConnection: keep-alive\r\nconnection: Upgrade, , x\r\nSec-WebSocket-Extensions: a; p=\"x,y\", b\r\n\r\n"
	r, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Get("CONNECTION"); !ok || v != "keep-alive" {
		t.Errorf("Get = %q, %v; want the first value", v, ok)
	}
	if _, ok := r.Get("Upgrade"); ok {
		t.Error("Get(Upgrade) found a field that is not there")
	}
	if vs := r.Values("connection"); !reflect.DeepEqual(vs, []string{"keep-alive", "Upgrade, , x"}) {
		t.Errorf("Values = %q", vs)
	}
	if ts := r.Tokens("Connection"); !reflect.DeepEqual(ts, []string{"keep-alive", "Upgrade", "x"}) {
		t.Errorf("Tokens = %q", ts)
	}
	if ts := r.Tokens("sec-websocket-extensions"); !reflect.DeepEqual(ts, []string{`a; p="x,y"`, "b"}) {
		t.Errorf("Tokens with a quoted comma = %q", ts)
	}
	if !r.HasToken("Connection", "upgrade") || r.HasToken("Connection", "close") {
		t.Error("HasToken is wrong")
	}
}

func TestReadRequest(t *testing.T) {
	t.Parallel()
	br := bufio.NewReader(strings.NewReader(rfcRequest + "\x81"))
	r, err := handshake.ReadRequest(br)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.Target != "/chat" || r.Proto != "HTTP/1.1" {
		t.Errorf("request line = %q %q %q", r.Method, r.Target, r.Proto)
	}
	if string(r.Raw) != rfcRequest || reassemble(&r.Head) != rfcRequest {
		t.Errorf("Raw = %q", r.Raw)
	}
	if b, _ := br.ReadByte(); b != 0x81 {
		t.Errorf("byte after the head = %#x, want 0x81", b)
	}
}

// TestReadOneByteAtATime reads heads delivered one byte per Read.
func TestReadOneByteAtATime(t *testing.T) {
	t.Parallel()
	br := bufio.NewReader(iotest.OneByteReader(strings.NewReader(rfcResponse + "XY")))
	r, err := handshake.ReadResponse(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Raw) != rfcResponse {
		t.Errorf("Raw = %q", r.Raw)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "XY" {
		t.Errorf("rest = %q", rest)
	}
	br = bufio.NewReader(iotest.OneByteReader(strings.NewReader(rfcRequest)))
	q, err := handshake.ReadRequest(br)
	if err != nil || string(q.Raw) != rfcRequest {
		t.Fatalf("ReadRequest = %v, %v", q, err)
	}
}

// TestReadOneByteWrites has a loopback peer write the head one byte per
// Write, with pauses, so the reader sees many short reads.
func TestReadOneByteWrites(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for i := 0; i < len(rfcResponse); i++ {
			c.Write([]byte{rfcResponse[i]})
			if i%16 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		c.Write([]byte("\x81\x00"))
		drain(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	r, err := handshake.ReadResponse(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Raw) != rfcResponse || r.Status != 101 {
		t.Errorf("Raw = %q", r.Raw)
	}
	var rest [2]byte
	if _, err := io.ReadFull(br, rest[:]); err != nil || rest != [2]byte{0x81, 0} {
		t.Errorf("early bytes = %q, %v", rest, err)
	}
}

func TestHeadTooLarge(t *testing.T) {
	t.Parallel()
	big := "HTTP/1.1 101 OK\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	_, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(big)))
	var tl *handshake.HeadTooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want *HeadTooLargeError", err)
	}
	if tl.N <= handshake.MaxHeadSize || tl.N > handshake.MaxHeadSize+8192 {
		t.Errorf("N = %d, want just over %d", tl.N, handshake.MaxHeadSize)
	}
	// Many short lines too.
	many := "GET / HTTP/1.1\r\n" + strings.Repeat("X-Field: value\r\n", 5000) + "\r\n"
	if _, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(many))); !errors.As(err, &tl) {
		t.Fatalf("many lines: err = %v, want *HeadTooLargeError", err)
	}
	// Exactly at the cap is fine.
	head := "HTTP/1.1 101 OK\r\nX: "
	exact := head + strings.Repeat("b", handshake.MaxHeadSize-len(head)-4) + "\r\n\r\n"
	r, err := handshake.ReadResponse(bufio.NewReaderSize(strings.NewReader(exact+"tail"), 4096))
	if err != nil || len(r.Raw) != handshake.MaxHeadSize {
		t.Fatalf("head of exactly MaxHeadSize: len %d, err %v", len(r.Raw), err)
	}
}

func TestNotHTTP(t *testing.T) {
	t.Parallel()
	clientHello := []byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03}
	tlsAlert := []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46}
	settings := []byte{0x00, 0x00, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x64}
	goaway := []byte{0x00, 0x00, 0x08, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name     string
		in       []byte
		response bool
		want     string // substring of What
	}{
		{"TLS alert to a ws:// client", tlsAlert, true, "use wss://"},
		{"TLS ClientHello to a plain server", clientHello, false, "TLS record (handshake)"},
		{"HTTP/2 SETTINGS frame", settings, true, "HTTP/2 SETTINGS frame"},
		{"HTTP/2 GOAWAY frame", goaway, true, "HTTP/2 GOAWAY frame"},
		{"HTTP/2 preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), false, "HTTP/2 connection preface"},
		{"binary garbage", []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, true, "binary data"},
		{"a frame without a handshake", []byte("\x81\x05hello"), true, "WebSocket text frame without an HTTP response"},
		{"a close frame", []byte("\x88\x02\x03\xe8"), true, "WebSocket close frame"},
		{"SSH banner", []byte("SSH-2.0-OpenSSH_9.6\r\n"), true, "text that is not an HTTP status line"},
		{"garbage request", []byte("\x01\x02\x03hello"), false, "binary data"},
		{"text request", []byte("hello world\r\n\r\n"), false, "not an HTTP request line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			br := bufio.NewReader(bytes.NewReader(tt.in))
			var err error
			if tt.response {
				_, err = handshake.ReadResponse(br)
			} else {
				_, err = handshake.ReadRequest(br)
			}
			var nh *handshake.NotHTTPError
			if !errors.As(err, &nh) {
				t.Fatalf("err = %v, want *NotHTTPError", err)
			}
			if !strings.Contains(nh.What, tt.want) {
				t.Errorf("What = %q, want it to mention %q", nh.What, tt.want)
			}
			if !bytes.HasPrefix(tt.in, nh.First) || len(nh.First) == 0 {
				t.Errorf("First = %q, not a prefix of the input", nh.First)
			}
		})
	}
}

func TestIncomplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		n  int
	}{
		{"", 0},
		{"HT", 2},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", 54},
	}
	for _, tt := range tests {
		_, err := handshake.ReadResponse(bufio.NewReader(strings.NewReader(tt.in)))
		var ie *handshake.IncompleteError
		if !errors.As(err, &ie) {
			t.Fatalf("%q: err = %v, want *IncompleteError", tt.in, err)
		}
		if ie.N != tt.n {
			t.Errorf("%q: N = %d, want %d", tt.in, ie.N, tt.n)
		}
		if tt.n > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err %v does not wrap io.ErrUnexpectedEOF", tt.in, err)
		}
	}
}

// TestIncompleteTimeout: a peer that sends part of a head and stops; the
// read deadline ends the wait and the error counts the bytes.
func TestIncompleteTimeout(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go b.Write([]byte("HTTP/1.1 101 Switching"))
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := handshake.ReadResponse(bufio.NewReader(a))
	var ie *handshake.IncompleteError
	if !errors.As(err, &ie) || ie.N != 22 {
		t.Fatalf("err = %v, want *IncompleteError with N 22", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err %v does not unwrap to a timeout", err)
	}
}

// TestSmallBuffers reads heads through readers with tiny buffers, so that
// lines, line endings and the blank line straddle buffer refills, and
// checks the result matches a read through a large buffer.
func TestSmallBuffers(t *testing.T) {
	t.Parallel()
	inputs := []string{
		rfcResponse + "\x81\x02hi",
		strings.ReplaceAll(rfcResponse, "\r\n", "\n") + "tail",
		"HTTP/1.1 101 OK\r\nX-Long: " + strings.Repeat("v", 300) + "\r\n" + " folded\r\n\r\n\r\nafter",
		"HTTP/1.1 200 OK\r\n\r",
	}
	for _, in := range inputs {
		ref, refErr := handshake.ReadResponse(bufio.NewReaderSize(strings.NewReader(in), 4096))
		for size := 16; size <= 80; size++ {
			for _, one := range []bool{false, true} {
				var r io.Reader = strings.NewReader(in)
				if one {
					r = iotest.OneByteReader(r)
				}
				br := bufio.NewReaderSize(r, size)
				got, err := handshake.ReadResponse(br)
				if (err == nil) != (refErr == nil) {
					t.Fatalf("size %d: err %v, with a large buffer %v", size, err, refErr)
				}
				if err != nil {
					continue
				}
				if string(got.Raw) != string(ref.Raw) || len(got.Fields) != len(ref.Fields) || reassemble(&got.Head) != string(got.Raw) {
					t.Fatalf("size %d: Raw %q, want %q", size, got.Raw, ref.Raw)
				}
				rest, _ := io.ReadAll(br)
				if string(rest) != in[len(ref.Raw):] {
					t.Fatalf("size %d: rest %q, want %q", size, rest, in[len(ref.Raw):])
				}
			}
		}
	}
}
