package handshake_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// Seed corpora live in testdata/fuzz/FuzzReadResponse and
// testdata/fuzz/FuzzReadRequest.

// checkHead asserts the properties every head read must have: within the
// cap, parts reassembling Raw, Raw a prefix of the input and every byte
// after it still readable from br.
func checkHead(t *testing.T, data []byte, h *handshake.Head, br *bufio.Reader) {
	t.Helper()
	if len(h.Raw) > handshake.MaxHeadSize {
		t.Fatalf("head of %d bytes, over MaxHeadSize", len(h.Raw))
	}
	if got := reassemble(h); got != string(h.Raw) {
		t.Fatalf("parts reassemble to %q, Raw is %q", got, h.Raw)
	}
	if !bytes.HasPrefix(data, h.Raw) {
		t.Fatalf("Raw %q is not a prefix of the input", h.Raw)
	}
	rest, _ := io.ReadAll(br)
	if !bytes.Equal(rest, data[len(h.Raw):]) {
		t.Fatalf("bytes after the head: %q, want %q", rest, data[len(h.Raw):])
	}
	for _, f := range h.Fields {
		if f.EOL != "\r\n" && f.EOL != "\n" {
			t.Fatalf("field %q has line ending %q", f.Raw, f.EOL)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(rfcResponse))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		r, err := handshake.ReadResponse(br)
		// A small buffer moves lines across refills; the result must not
		// change.
		small := bufio.NewReaderSize(bytes.NewReader(data), 16+len(data)%48)
		r2, err2 := handshake.ReadResponse(small)
		if (err == nil) != (err2 == nil) || (err == nil && !bytes.Equal(r.Raw, r2.Raw)) {
			t.Fatalf("4096-byte buffer: %v; small buffer: %v", err, err2)
		}
		if err != nil {
			if r != nil {
				t.Fatal("a response and an error")
			}
			return
		}
		checkHead(t, data, &r.Head, br)
		// Diagnosing anything must not panic either.
		req := mustParse(rfcRequest)
		handshake.DiagnoseResponse(req, r, &handshake.Options{CheckExtension: func([]string, string) []string { return nil }})

		hr, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
		if herr != nil || r.Status == 0 {
			return
		}
		if hr.StatusCode != r.Status || hr.Proto != r.Proto {
			t.Fatalf("status line %q: net/http says %q %d, ReadResponse says %q %d", r.StartLine, hr.Proto, hr.StatusCode, r.Proto, r.Status)
		}
	})
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(rfcRequest))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		r, err := handshake.ReadRequest(br)
		if err != nil {
			if r != nil {
				t.Fatal("a request and an error")
			}
			return
		}
		checkHead(t, data, &r.Head, br)
		handshake.DiagnoseRequest(r)

		hr, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if herr != nil {
			return
		}
		if hr.Method != r.Method || hr.RequestURI != r.Target || hr.Proto != r.Proto {
			t.Fatalf("request line %q: net/http says %q %q %q, ReadRequest says %q %q %q", r.StartLine, hr.Method, hr.RequestURI, hr.Proto, r.Method, r.Target, r.Proto)
		}
	})
}

// mustParse parses a request head known to be good.
func mustParse(s string) *handshake.Request {
	r, err := handshake.ReadRequest(bufio.NewReader(bytes.NewReader([]byte(s))))
	if err != nil {
		panic(err)
	}
	return r
}
