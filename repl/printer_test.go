package repl_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/internal/wstest"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

var fixedTime = time.Date(2026, 11, 21, 13, 4, 5, 123456789, time.UTC)

func fixedNow() time.Time { return fixedTime }

func TestPrinterText(t *testing.T) {
	t.Parallel()
	data := []byte("hi\x1b[31m\x00\xff")
	bin := []byte("Hello, binary world\x00\x01")
	tests := []struct {
		name string
		cfg  repl.PrinterConfig
		run  func(p *repl.Printer)
		out  string
		log  string
	}{
		{
			name: "raw text into a pipe",
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: data})
			},
			out: string(data) + "\n",
		},
		{
			name: "escaped text on a terminal",
			cfg:  repl.PrinterConfig{Escape: true},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: data})
			},
			out: `hi\x1b[31m\x00\xff` + "\n",
		},
		{
			name: "REPL markers and sent messages",
			cfg:  repl.PrinterConfig{InMarker: "< ", OutMarker: "> ", ShowSent: true},
			run: func(p *repl.Printer) {
				p.Message(wire.DirOut, wire.Message{Op: wire.OpText, Data: []byte("ping?")})
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("pong!")})
			},
			out: "> ping?\n< pong!\n",
		},
		{
			name: "sent messages hidden by default",
			run: func(p *repl.Printer) {
				p.Message(wire.DirOut, wire.Message{Op: wire.OpText, Data: []byte("x")})
			},
			out: "",
		},
		{
			name: "binary raw",
			cfg:  repl.PrinterConfig{Binary: repl.BinaryRaw},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: bin})
				p.Message(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: []byte{1}})
			},
			out: string(bin) + "\x01",
		},
		{
			name: "binary base64",
			cfg:  repl.PrinterConfig{Binary: repl.BinaryBase64},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: bin})
			},
			out: base64.StdEncoding.EncodeToString(bin) + "\n",
		},
		{
			name: "binary hex dump",
			cfg:  repl.PrinterConfig{Binary: repl.BinaryHex},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: bin})
			},
			out: "binary, 21 bytes\n" +
				"00000000  48 65 6c 6c 6f 2c 20 62  69 6e 61 72 79 20 77 6f  |Hello, binary wo|\n" +
				"00000010  72 6c 64 00 01                                    |rld..|\n",
		},
		{
			name: "timestamps",
			cfg:  repl.PrinterConfig{Timestamps: true, Now: fixedNow},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("a")})
				p.Control(wire.DirIn, wire.OpPing, []byte("p"))
			},
			out: "13:04:05.123456 a\n",
			log: "13:04:05.123456 < ping \"p\"\n",
		},
		{
			name: "control, close and frame lines",
			cfg:  repl.PrinterConfig{Verbose: true},
			run: func(p *repl.Printer) {
				p.Control(wire.DirIn, wire.OpPing, []byte("\x1b]0;x"))
				p.Control(wire.DirOut, wire.OpPong, nil)
				p.CloseFrame(wire.DirIn, 4000, true, "bye\x07")
				p.CloseFrame(wire.DirOut, 0, false, "")
				p.Frame(wire.DirIn, wire.Header{Fin: true, Rsv1: true, Op: wire.OpText, Length: 5}, nil)
				p.Note("note")
			},
			log: "< ping \"\\x1b]0;x\"\n> pong\n< close 4000 (private use) \"bye\\x07\"\n> close (no status code)\n" +
				"< frame FIN=1 RSV=100 op=text(0x1) mask=0 len=5 compressed\n* note\n",
		},
		{
			name: "frame lines need verbose",
			run: func(p *repl.Printer) {
				p.Frame(wire.DirIn, wire.Header{Fin: true, Op: wire.OpText, Length: 5}, nil)
			},
		},
		{
			name: "hidden data",
			cfg:  repl.PrinterConfig{HideData: true},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("a")})
			},
		},
		{
			name: "painted markers",
			cfg: repl.PrinterConfig{InMarker: "< ", Paint: func(k repl.Kind, s string) string {
				return fmt.Sprintf("[%d]%s", k, s)
			}},
			run: func(p *repl.Printer) {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("a")})
				p.Note("n")
			},
			out: "[0]< a\n",
			log: "[6]* n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, log wstest.Buffer
			cfg := tt.cfg
			cfg.Out, cfg.Log = &out, &log
			p := repl.NewPrinter(cfg)
			tt.run(p)
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.out {
				t.Errorf("out:\n got %q\nwant %q", got, tt.out)
			}
			if got := log.String(); got != tt.log {
				t.Errorf("log:\n got %q\nwant %q", got, tt.log)
			}
		})
	}
}

func TestPrinterQuietKeepsErrors(t *testing.T) {
	t.Parallel()
	var out, errw wstest.Buffer
	p := repl.NewPrinter(repl.PrinterConfig{Out: &out, Err: &errw})
	p.Control(wire.DirIn, wire.OpPing, nil)
	p.Note("dropped")
	p.Error("it broke", 6)
	p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("kept")})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := errw.String(), "wsdbg: it broke\n"; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
	if got, want := out.String(), "kept\n"; got != want {
		t.Errorf("out = %q, want %q", got, want)
	}
}

// event is the union of the NDJSON event fields of SPEC §3.2.
type event struct {
	Event      string          `json:"event"`
	Dir        string          `json:"dir"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Size       *int            `json:"size"`
	Compressed *bool           `json:"compressed"`
	Frames     *int            `json:"frames"`
	Time       string          `json:"time"`
	Code       json.RawMessage `json:"code"`
	Reason     *string         `json:"reason"`
	Message    string          `json:"message"`
	ExitCode   *int            `json:"exit_code"`
	Handshake  json.RawMessage `json:"handshake"`
	Length     *int64          `json:"length"`
}

func decodeEvents(t *testing.T, s string) []event {
	t.Helper()
	var evs []event
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var e event
		if err := dec.Decode(&e); err != nil {
			// frame events carry more fields; decode them leniently.
			if err2 := json.Unmarshal([]byte(line), &e); err2 != nil || e.Event != "frame" {
				t.Fatalf("line %d %q: %v", i+1, line, err)
			}
		}
		evs = append(evs, e)
	}
	return evs
}

func TestPrinterJSON(t *testing.T) {
	t.Parallel()
	var out, errw wstest.Buffer
	p := repl.NewPrinter(repl.PrinterConfig{Out: &out, Log: &errw, Err: &errw, JSON: true, Verbose: true, Now: fixedNow})
	text := "héllo \"q\" \\ \n\t\x01 \u2028 <&>"
	if err := p.Handshake(map[string]any{"url": "ws://x/", "ok": true}); err != nil {
		t.Fatal(err)
	}
	p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte(text), Compressed: true, Frames: 3})
	p.Message(wire.DirOut, wire.Message{Op: wire.OpBinary, Data: []byte{0, 1, 2, 255}, Frames: 1})
	p.Control(wire.DirIn, wire.OpPing, []byte("pp"))
	p.Control(wire.DirOut, wire.OpPong, nil)
	p.CloseFrame(wire.DirIn, 1001, true, "gone")
	p.CloseFrame(wire.DirOut, 0, false, "")
	p.Frame(wire.DirIn, wire.Header{Fin: true, Op: wire.OpBinary, Length: 4}, nil)
	p.Note("not in JSON")
	p.Error("the server broke the protocol", 6)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := errw.String(), "wsdbg: the server broke the protocol\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	evs := decodeEvents(t, out.String())
	if len(evs) != 9 {
		t.Fatalf("got %d events, want 9:\n%s", len(evs), out.String())
	}
	wantTime := fixedTime.Format(time.RFC3339Nano)

	hs := evs[0]
	var doc map[string]any
	if hs.Event != "handshake" || json.Unmarshal(hs.Handshake, &doc) != nil || doc["url"] != "ws://x/" || doc["ok"] != true {
		t.Errorf("handshake event = %+v", hs)
	}

	m := evs[1]
	var gotText string
	if err := json.Unmarshal(m.Data, &gotText); err != nil {
		t.Fatal(err)
	}
	if m.Event != "message" || m.Dir != "in" || m.Type != "text" || gotText != text || *m.Size != len(text) ||
		!*m.Compressed || *m.Frames != 3 || m.Time != wantTime {
		t.Errorf("text message event = %+v (data %q)", m, gotText)
	}

	b := evs[2]
	var b64 string
	if err := json.Unmarshal(b.Data, &b64); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.Equal(raw, []byte{0, 1, 2, 255}) {
		t.Errorf("binary data = %q (%v)", b64, err)
	}
	if b.Event != "message" || b.Dir != "out" || b.Type != "binary" || *b.Size != 4 || *b.Compressed || *b.Frames != 1 || b.Time != wantTime {
		t.Errorf("binary message event = %+v", b)
	}

	for i, want := range []struct{ ev, dir, data string }{{"ping", "in", "cHA="}, {"pong", "out", ""}} {
		e := evs[3+i]
		var d string
		_ = json.Unmarshal(e.Data, &d)
		if e.Event != want.ev || e.Dir != want.dir || d != want.data || e.Time != wantTime {
			t.Errorf("control event %d = %+v", i, e)
		}
	}

	c := evs[5]
	if c.Event != "close" || c.Dir != "in" || string(c.Code) != "1001" || *c.Reason != "gone" || c.Time != wantTime {
		t.Errorf("close event = %+v", c)
	}
	c = evs[6]
	if c.Event != "close" || c.Dir != "out" || string(c.Code) != "null" || *c.Reason != "" {
		t.Errorf("close event without code = %+v", c)
	}
	if f := evs[7]; f.Event != "frame" || f.Dir != "in" || *f.Length != 4 {
		t.Errorf("frame event = %+v", f)
	}
	e := evs[8]
	if e.Event != "error" || e.Message != "the server broke the protocol" || *e.ExitCode != 6 {
		t.Errorf("error event = %+v", e)
	}
}

// TestPrinterConcurrent prints from many goroutines into a slow writer with
// a small pending limit: every event must come out whole, each goroutine's
// in order, and writes must be batched.
func TestPrinterConcurrent(t *testing.T) {
	t.Parallel()
	var out wstest.Buffer
	slow := writerFunc(func(b []byte) (int, error) {
		time.Sleep(50 * time.Microsecond)
		return out.Write(b)
	})
	p := repl.NewPrinter(repl.PrinterConfig{Out: slow, MaxPending: 512})
	const workers, each = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: fmt.Appendf(nil, "w%d-%05d", w, i)})
			}
			p.Flush()
		}()
	}
	wg.Wait()
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != workers*each {
		t.Fatalf("got %d lines, want %d", len(lines), workers*each)
	}
	next := make([]int, workers)
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "w%d-%05d", &w, &i); err != nil || w >= workers || i != next[w] {
			t.Fatalf("line %q out of order or torn (want w%d-%05d)", l, w, next[w])
		}
		next[w]++
	}
	if n := out.Writes(); n >= workers*each/2 {
		t.Errorf("%d writes for %d events: output is not batched", n, workers*each)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPrinterSharedWriterKeepsOrder(t *testing.T) {
	t.Parallel()
	var out wstest.Buffer
	p := repl.NewPrinter(repl.PrinterConfig{Out: &out, Log: &out, InMarker: "< "})
	for i := range 100 {
		p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte{byte('a' + i%26)}})
		p.Control(wire.DirIn, wire.OpPing, nil)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i, l := range lines {
		want := "< ping"
		if i%2 == 0 {
			want = "< " + string(rune('a'+(i/2)%26))
		}
		if l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
}

func TestPrinterWriteError(t *testing.T) {
	t.Parallel()
	p := repl.NewPrinter(repl.PrinterConfig{Out: writerFunc(func([]byte) (int, error) { return 0, io.ErrClosedPipe })})
	p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte("x")})
	if err := p.Close(); err == nil || !strings.Contains(err.Error(), "closed pipe") {
		t.Errorf("Close = %v, want the write error", err)
	}
}

func TestParseBinaryFormat(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"raw", "hex", "base64"} {
		f, err := repl.ParseBinaryFormat(s)
		if err != nil || f.String() != s {
			t.Errorf("ParseBinaryFormat(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := repl.ParseBinaryFormat("octal"); err == nil || !strings.Contains(err.Error(), `"octal"`) {
		t.Errorf("ParseBinaryFormat(octal) error = %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// BenchmarkPrinterText measures formatting and batching one text message.
// The output is thrown away by a writer that is not io.Discard, which the
// printer would recognise and not format for at all.
func BenchmarkPrinterText(b *testing.B) {
	sink := writerFunc(func(b []byte) (int, error) { return len(b), nil })
	for _, json := range []bool{false, true} {
		b.Run(fmt.Sprintf("json=%v", json), func(b *testing.B) {
			p := repl.NewPrinter(repl.PrinterConfig{Out: sink, JSON: json})
			m := wire.Message{Op: wire.OpText, Data: bytes.Repeat([]byte("x"), 1024), Frames: 1}
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				p.Message(wire.DirIn, m)
			}
			_ = p.Close()
		})
	}
}

// TestPrinterLargeMessages covers large payloads, which raw output writes
// from the caller's buffer: order is kept and the buffer may be reused as
// soon as Message returns.
func TestPrinterLargeMessages(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	for _, cfg := range []repl.PrinterConfig{{}, {Escape: true}, {Binary: repl.BinaryBase64}} {
		var out wstest.Buffer
		cfg.Out = &out
		p := repl.NewPrinter(cfg)
		buf := bytes.Clone(big)
		var want bytes.Buffer
		for i := range 4 {
			p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: []byte(fmt.Sprint("small ", i))})
			fmt.Fprintf(&want, "small %d\n", i)
			p.Message(wire.DirIn, wire.Message{Op: wire.OpText, Data: buf})
			want.Write(big)
			want.WriteByte('\n')
			p.Message(wire.DirIn, wire.Message{Op: wire.OpBinary, Data: buf})
			if cfg.Binary == repl.BinaryBase64 {
				want.WriteString(base64.StdEncoding.EncodeToString(big) + "\n")
			} else {
				want.Write(big)
			}
			for j := range buf {
				buf[j] = 'X' // the caller reuses its buffer
			}
			copy(buf, big)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want.String() {
			t.Errorf("%+v: output differs (%d bytes, want %d)", cfg, len(out.String()), want.Len())
		}
	}
}
