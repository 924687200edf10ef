package repl_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/repl"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 126)
	tests := []struct {
		line     string
		want     repl.Command
		warnings []string // substrings, one per expected warning
	}{
		{line: "", want: repl.Command{Kind: repl.CmdNone}},
		{line: "hello", want: repl.Command{Kind: repl.CmdText, Data: []byte("hello")}},
		{line: " leading space kept ", want: repl.Command{Kind: repl.CmdText, Data: []byte(" leading space kept ")}},
		{line: "\x1b[31m", want: repl.Command{Kind: repl.CmdText, Data: []byte("\x1b[31m")}},
		{line: "/text /etc/passwd", want: repl.Command{Kind: repl.CmdText, Data: []byte("/etc/passwd")}},
		{line: "/text  two spaces", want: repl.Command{Kind: repl.CmdText, Data: []byte(" two spaces")}},
		{line: "/text", want: repl.Command{Kind: repl.CmdText, Data: []byte{}}},
		{line: "/binary deadbeef", want: repl.Command{Kind: repl.CmdBinary, Data: []byte{0xde, 0xad, 0xbe, 0xef}}},
		{line: "/binary de ad:BE,0xef", want: repl.Command{Kind: repl.CmdBinary, Data: []byte{0xde, 0xad, 0xbe, 0xef}}},
		{line: "/binary", want: repl.Command{Kind: repl.CmdBinary, Data: []byte{}}},
		{line: "/binary @payload.bin", want: repl.Command{Kind: repl.CmdBinaryFile, Path: "payload.bin"}},
		{line: "/binary @dir with space/f", want: repl.Command{Kind: repl.CmdBinaryFile, Path: "dir with space/f"}},
		{line: "/ping", want: repl.Command{Kind: repl.CmdPing, Data: []byte{}}},
		{line: "/ping are you there", want: repl.Command{Kind: repl.CmdPing, Data: []byte("are you there")}},
		{line: "/pong x", want: repl.Command{Kind: repl.CmdPong, Data: []byte("x")}},
		{line: "/ping " + long, want: repl.Command{Kind: repl.CmdPing, Data: []byte(long)}, warnings: []string{"126 bytes, over the 125"}},
		{line: "/pong " + long[:125], want: repl.Command{Kind: repl.CmdPong, Data: []byte(long[:125])}},
		{line: "/close", want: repl.Command{Kind: repl.CmdClose, Code: 1000, Data: []byte{0x03, 0xe8}}},
		{line: "/close 1000", want: repl.Command{Kind: repl.CmdClose, Code: 1000, HasCode: true, Data: []byte{0x03, 0xe8}}},
		{line: "/close 4000 going home", want: repl.Command{Kind: repl.CmdClose, Code: 4000, HasCode: true, Reason: "going home", Data: append([]byte{0x0f, 0xa0}, "going home"...)}},
		{line: "/close 1005", want: repl.Command{Kind: repl.CmdClose, Code: 1005, HasCode: true, Data: []byte{0x03, 0xed}}, warnings: []string{"close code 1005 must not be sent"}},
		{line: "/close 999", want: repl.Command{Kind: repl.CmdClose, Code: 999, HasCode: true, Data: []byte{0x03, 0xe7}}, warnings: []string{"close code 999"}},
		{line: "/close 5000", want: repl.Command{Kind: repl.CmdClose, Code: 5000, HasCode: true, Data: []byte{0x13, 0x88}}, warnings: []string{"close code 5000"}},
		{line: "/close 0", want: repl.Command{Kind: repl.CmdClose, Code: 0, HasCode: true, Data: []byte{0, 0}}, warnings: []string{"close code 0"}},
		{line: "/close 1000 " + long[:124], want: repl.Command{Kind: repl.CmdClose, Code: 1000, HasCode: true, Reason: long[:124], Data: append([]byte{0x03, 0xe8}, long[:124]...)}, warnings: []string{"126 bytes"}},
		{line: "/close 1006 " + long, want: repl.Command{Kind: repl.CmdClose, Code: 1006, HasCode: true, Reason: long, Data: append([]byte{0x03, 0xee}, long...)}, warnings: []string{"close code 1006", "128 bytes"}},
		{line: "/frag 3 hello world", want: repl.Command{Kind: repl.CmdFrag, Frames: 3, Data: []byte("hello world")}},
		{line: "/frag 1 x", want: repl.Command{Kind: repl.CmdFrag, Frames: 1, Data: []byte("x")}},
		{line: "/frag 5 ab", want: repl.Command{Kind: repl.CmdFrag, Frames: 5, Data: []byte("ab")}},
		{line: "/frag 2", want: repl.Command{Kind: repl.CmdFrag, Frames: 2, Data: []byte{}}},
		{line: "/raw 81 05 48 65 6c 6c 6f", want: repl.Command{Kind: repl.CmdRaw, Data: []byte("\x81\x05Hello")}},
		{line: "/raw 0x8900", want: repl.Command{Kind: repl.CmdRaw, Data: []byte{0x89, 0x00}}},
		{line: "/verbose on", want: repl.Command{Kind: repl.CmdVerbose, On: true}},
		{line: "/verbose off", want: repl.Command{Kind: repl.CmdVerbose, On: false}},
		{line: "/save out.bin", want: repl.Command{Kind: repl.CmdSave, Path: "out.bin"}},
		{line: "/help", want: repl.Command{Kind: repl.CmdHelp}},
		{line: "/quit", want: repl.Command{Kind: repl.CmdQuit}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := repl.ParseCommand(tt.line)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.line, err)
			}
			if got.Kind != tt.want.Kind || !bytes.Equal(got.Data, tt.want.Data) || got.Path != tt.want.Path ||
				got.Frames != tt.want.Frames || got.Code != tt.want.Code || got.HasCode != tt.want.HasCode ||
				got.Reason != tt.want.Reason || got.On != tt.want.On {
				t.Errorf("ParseCommand(%q) =\n %+v, want\n %+v", tt.line, got, tt.want)
			}
			if (got.Data == nil) != (tt.want.Data == nil) {
				t.Errorf("ParseCommand(%q).Data nil = %v, want %v", tt.line, got.Data == nil, tt.want.Data == nil)
			}
			if len(got.Warnings) != len(tt.warnings) {
				t.Fatalf("ParseCommand(%q) warnings = %q, want %d matching %q", tt.line, got.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(got.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got.Warnings[i], w)
				}
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want string // substring of the error
	}{
		{"/nope", `unknown command "/nope"`},
		{"/TEXT x", `unknown command "/TEXT"`},
		{"/binary zz", `'z' is not a hex digit`},
		{"/binary abc", "odd number of hex digits"},
		{"/binary @", "no file name"},
		{"/raw", "no bytes given"},
		{"/raw 8", "odd number"},
		{"/raw 0xg0", "not a hex digit"},
		{"/close abc", `code "abc" is not a number`},
		{"/close 65536", `code "65536" is not a number in 0..65535`},
		{"/close -1", `code "-1"`},
		{"/frag", "want a frame count"},
		{"/frag x hi", `frame count "x" is not a number`},
		{"/frag 0 hi", "frame count 0 out of range 1..1000"},
		{"/frag 1001 hi", "out of range"},
		{"/frag -2 hi", "out of range"},
		{"/verbose", "want on or off"},
		{"/verbose yes", `got "yes"`},
		{"/save", "no file name"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := repl.ParseCommand(tt.line)
			if err == nil {
				t.Fatalf("ParseCommand(%q) = %+v, want an error containing %q", tt.line, got, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("ParseCommand(%q) error = %q, want it to contain %q", tt.line, msg, tt.want)
			}
			if strings.Contains(msg, "\n") || msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error %q should be one line", msg)
			}
		})
	}
}

func TestHelpTextListsEveryCommand(t *testing.T) {
	t.Parallel()
	help := repl.HelpText()
	for _, name := range []string{"/text", "/binary", "/ping", "/pong", "/close", "/frag", "/raw", "/verbose", "/save", "/help", "/quit"} {
		if !strings.Contains(help, "  "+name) {
			t.Errorf("HelpText() does not list %s:\n%s", name, help)
		}
		if _, err := repl.ParseCommand(name); err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s is listed by /help but ParseCommand does not know it", name)
		}
	}
}

// FuzzParseCommand checks that no line makes the parser panic, that
// errors are one line, and that what it decodes round-trips.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"hello", "/text /x", "/binary de ad", "/binary @f", "/raw 81 00", "/close 1000 bye", "/close 70000", "/frag 3 abc", "/ping \xff", "/verbose on", "/save f", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := repl.ParseCommand(line)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error for %q is not one line: %q", line, err)
			}
			return
		}
		switch c.Kind {
		case repl.CmdText:
			if !strings.HasPrefix(line, "/") && string(c.Data) != line {
				t.Fatalf("plain line %q sent as %q", line, c.Data)
			}
		case repl.CmdBinary, repl.CmdRaw:
			name := "/binary "
			if c.Kind == repl.CmdRaw {
				name = "/raw "
			}
			again, err := repl.ParseCommand(name + fmt.Sprintf("% x", c.Data))
			if err != nil || !bytes.Equal(again.Data, c.Data) {
				t.Fatalf("%q decoded to % x, which does not round-trip: % x, %v", line, c.Data, again.Data, err)
			}
		case repl.CmdClose:
			if len(c.Data) < 2 || binary.BigEndian.Uint16(c.Data) != uint16(c.Code) || string(c.Data[2:]) != c.Reason {
				t.Fatalf("/close payload % x does not hold code %d and reason %q", c.Data, c.Code, c.Reason)
			}
		case repl.CmdFrag:
			if c.Frames < 1 || c.Frames > repl.MaxFrags {
				t.Fatalf("frame count %d out of range", c.Frames)
			}
		}
	})
}
