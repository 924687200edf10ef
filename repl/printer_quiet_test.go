package repl_test

import (
	"bytes"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// TestPrinterFormatsNothingUnseen checks that events going to a dropped
// stream (nil or io.Discard, as under -q, --echo and serve -q) are never
// formatted: with timestamps on, formatting an event reads the clock, so
// the clock must not be read at all. The same events to a real writer do
// read it, which shows the probe works.
func TestPrinterFormatsNothingUnseen(t *testing.T) {
	t.Parallel()
	big := wire.Message{Op: wire.OpBinary, Data: make([]byte, 1<<20), Frames: 1}
	for _, tc := range []struct {
		name    string
		cfg     repl.PrinterConfig
		formats bool
	}{
		{"discard", repl.PrinterConfig{Out: io.Discard, Log: io.Discard, Binary: repl.BinaryHex, Verbose: true}, false},
		{"nil log, discard out", repl.PrinterConfig{Out: io.Discard, Binary: repl.BinaryHex, Verbose: true}, false},
		{"json to discard", repl.PrinterConfig{Out: io.Discard, JSON: true, Verbose: true}, false},
		{"shown", repl.PrinterConfig{Out: new(bytes.Buffer), Log: new(bytes.Buffer), Binary: repl.BinaryHex, Verbose: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads atomic.Int64
			cfg := tc.cfg
			cfg.Timestamps = true
			cfg.Now = func() time.Time { reads.Add(1); return fixedTime }
			p := repl.NewPrinter(cfg)
			for _, dir := range []wire.Direction{wire.DirIn, wire.DirOut} {
				p.Message(dir, big)
				p.Message(dir, wire.Message{Op: wire.OpText, Data: []byte("text"), Frames: 1})
				p.Control(dir, wire.OpPing, []byte("p"))
				p.CloseFrame(dir, wire.CloseNormal, true, "bye")
				p.Frame(dir, wire.Header{Fin: true, Op: wire.OpText, Length: 4}, []byte("text"))
			}
			p.Note("note")
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if got := reads.Load(); (got > 0) != tc.formats {
				t.Fatalf("the clock was read %d times formatting events; want formatting: %v", got, tc.formats)
			}
			if out, ok := tc.cfg.Out.(*bytes.Buffer); ok && out.Len() < len(big.Data) {
				t.Fatalf("shown output has %d bytes, want the hex dump of %d bytes", out.Len(), len(big.Data))
			}
		})
	}
}
