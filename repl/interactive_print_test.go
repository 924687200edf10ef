package repl

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

func TestPrintMessageShortens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dir  wire.Direction
		m    wire.Message
		want string
	}{
		{"short text", wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("hi\x1b\n")}, "< hi\\x1b\\x0a\n"},
		{"cut on a rune boundary", wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte(strings.Repeat("a", shownText-1) + "éz")},
			"< " + strings.Repeat("a", shownText-1) + "… (4098 bytes; /save FILE writes the last message whole)\n"},
		{"sent text", wire.DirOut, wire.Message{Op: wire.OpText, Data: bytes.Repeat([]byte("b"), shownText+1)},
			"> " + strings.Repeat("b", shownText) + "… (4097 bytes)\n"},
		{"fragmented binary", wire.DirIn, wire.Message{Op: wire.OpBinary, Data: []byte{1, 2}, Frames: 2},
			"< binary, 2 bytes in 2 frames\n00000000  01 02" + strings.Repeat(" ", 45) + "|..|\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := NewPrinter(PrinterConfig{Out: &out})
			p.printMessage(tt.dir, tt.m)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("printMessage =\n%q\nwant\n%q", out.String(), tt.want)
			}
		})
	}
	// A big binary message shows 1 KiB as a dump, then its size.
	var out bytes.Buffer
	p := NewPrinter(PrinterConfig{Out: &out})
	p.printMessage(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: make([]byte, 10<<20)})
	p.Close()
	if got := strings.Count(out.String(), "\n"); got != 1+shownBinary/16+1 {
		t.Errorf("a 10 MiB binary message took %d lines, want %d", got, 1+shownBinary/16+1)
	}
	if !strings.HasSuffix(out.String(), "… (10485760 bytes; /save FILE writes the last message whole)\n") {
		t.Errorf("no size note at the end: %q", out.String()[max(0, out.Len()-100):])
	}
}

// BenchmarkReceivedHuge measures what a 10 MiB incoming text message costs
// the REPL: printing its first 4 KiB and keeping a copy for /save.
func BenchmarkReceivedHuge(b *testing.B) {
	p := NewPrinter(PrinterConfig{Out: io.Discard})
	defer p.Close()
	detach := p.attach(io.Discard)
	defer detach()
	r := &interactive{p: p}
	m := wire.Message{Op: wire.OpText, Data: bytes.Repeat([]byte("x"), 10<<20), Frames: 1}
	b.SetBytes(int64(len(m.Data)))
	b.ReportAllocs()
	for b.Loop() {
		r.received(m)
		p.Flush()
	}
}
