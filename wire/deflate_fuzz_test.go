package wire_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

// FuzzDeflateParams: parsing never panics, what parses formats to an element
// that parses to the same parameters, and a response AcceptDeflate chooses
// passes CheckDeflateResponse. Seeds: testdata/fuzz/FuzzDeflateParams.
func FuzzDeflateParams(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
		`permessage-deflate; server_max_window_bits="12"`,
		"permessage-deflate; foo=bar; foo",
		"permessage-deflate ;\tclient_max_window_bits = 08",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := wire.ParseDeflate(s)
		if err == nil {
			formatted := p.String()
			again, err := wire.ParseDeflate(formatted)
			if err != nil {
				t.Fatalf("ParseDeflate(%q) = %+v, but its String %q does not parse: %v", s, p, formatted, err)
			}
			if again != p || again.String() != formatted {
				t.Fatalf("ParseDeflate(%q) = %+v, ParseDeflate(%q) = %+v", s, p, formatted, again)
			}
		}
		wire.CheckDeflateResponse([]string{s}, s)
		wire.CheckDeflateResponse([]string{wire.DeflateOffer()}, s)
		if resp, ok := wire.AcceptDeflate([]string{s}); ok {
			if err != nil {
				t.Fatalf("AcceptDeflate accepted %q, which ParseDeflate rejects: %v", s, err)
			}
			if _, problems := wire.CheckDeflateResponse([]string{s}, resp.String()); problems != nil {
				t.Fatalf("AcceptDeflate(%q) = %q, which CheckDeflateResponse rejects: %q", s, resp, problems)
			}
		}
	})
}

// FuzzDeflateInflate: arbitrary input to the decompressor, in frames, never
// panics nor appends or allocates past the limit; what it accepts,
// compress/flate inflates to the same bytes. The input is inflated twice,
// so the second message has the first as its context. Seeds:
// testdata/fuzz/FuzzDeflateInflate.
func FuzzDeflateInflate(f *testing.F) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write([]byte("hello hello hello, permessage-deflate"))
	fw.Flush()
	f.Add(buf.Bytes()[:buf.Len()-4], uint8(1), uint16(100), false)
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint8(2), uint16(3), true) // "Hello", RFC 7692 §7.2.3.1
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00}, uint8(3), uint16(5), false)
	f.Add([]byte{0x06}, uint8(1), uint16(0), false)
	f.Fuzz(func(t *testing.T, data []byte, nframes uint8, limit uint16, noCtx bool) {
		lim := int64(limit % 2048)
		p := wire.DeflateParams{ServerNoContextTakeover: noCtx}
		d := wire.NewDecompressor(p, wire.RoleClient)
		rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(nframes)))
		var hist []byte
		for msg := range 2 {
			frames := split(rng, data, 1+int(nframes%4))
			out, err := inflate(d, nil, frames, lim)
			if int64(len(out)) > lim || int64(cap(out)) > lim {
				t.Fatalf("message %d: %d bytes out (capacity %d), limit %d", msg, len(out), cap(out), lim)
			}
			if err != nil {
				if !errors.Is(err, wire.ErrMessageTooBig) && !errors.Is(err, wire.ErrCorruptDeflate) {
					t.Fatalf("message %d: error %v wraps neither ErrMessageTooBig nor ErrCorruptDeflate", msg, err)
				}
				return
			}
			var dict []byte
			if !noCtx {
				dict = hist
			}
			ref := flate.NewReaderDict(bytes.NewReader(append(bytes.Clone(data), wire.InflateTail...)), dict)
			want, rerr := io.ReadAll(io.LimitReader(ref, lim+1))
			if rerr != nil || !bytes.Equal(out, want) {
				t.Fatalf("message %d: inflated %d bytes %q, compress/flate gives %d bytes %q (%v)", msg, len(out), out, len(want), want, rerr)
			}
			hist = append(hist, out...)
		}
	})
}
