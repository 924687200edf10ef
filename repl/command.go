package repl

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/wsdbg/wsdbg/wire"
)

// CommandKind says what a REPL line asks for.
type CommandKind uint8

// The kinds of REPL command, SPEC §5.
const (
	CmdNone       CommandKind = iota // empty line: nothing to do
	CmdText                          // a plain line or /text: one text message
	CmdBinary                        // /binary HEX: one binary message
	CmdBinaryFile                    // /binary @FILE: the file as one binary message
	CmdPing                          // /ping [TEXT]
	CmdPong                          // /pong [TEXT]
	CmdClose                         // /close [CODE [REASON]]
	CmdFrag                          // /frag N TEXT: one text message in N frames
	CmdRaw                           // /raw HEX: bytes written to the socket as they are
	CmdVerbose                       // /verbose on|off
	CmdSave                          // /save FILE: the last incoming data message
	CmdHelp                          // /help
	CmdQuit                          // /quit: close 1000 and wait for the server's close
)

// MaxFrags bounds N in /frag N TEXT. Frames may be empty, so N may exceed
// the length of TEXT (RFC 6455 §5.4 allows empty fragments).
const MaxFrags = 1000

// Command is one parsed REPL line. Which fields are set depends on Kind.
type Command struct {
	Kind CommandKind
	// Data is the payload: message data for CmdText, CmdBinary and
	// CmdFrag, the control payload for CmdPing, CmdPong and CmdClose (code
	// and reason already encoded), the bytes for CmdRaw.
	Data []byte
	// Path is the file of /binary @FILE and /save FILE.
	Path string
	// Frames is N of /frag.
	Frames int
	// Code and Reason are the arguments of /close; HasCode is false for a
	// /close without arguments, which sends 1000.
	Code    wire.CloseCode
	HasCode bool
	Reason  string
	// On is the argument of /verbose.
	On bool
	// Warnings are sent anyway, since this is a debugger, but deserve a
	// line: a close code RFC 6455 §7.4 forbids on the wire, a control
	// payload over 125 bytes (RFC 6455 §5.5).
	Warnings []string
}

// commandInfo describes one slash command for /help and completion.
type commandInfo struct {
	name, args, help string
}

// commands lists the slash commands in the order /help shows them.
var commands = []commandInfo{
	{"/text", "TEXT", "send TEXT as a text message, even if it starts with /"},
	{"/binary", "HEX | @FILE", "send a binary message: hex bytes (spaces allowed) or a file's contents"},
	{"/ping", "[TEXT]", "send a ping control frame"},
	{"/pong", "[TEXT]", "send an unsolicited pong control frame"},
	{"/close", "[CODE [REASON]]", "start the close handshake (default 1000); any code is sent, with a warning when RFC 6455 forbids it"},
	{"/frag", "N TEXT", fmt.Sprintf("send TEXT as one text message in N frames (1..%d)", MaxFrags)},
	{"/raw", "HEX", "write these bytes to the socket as they are, no framing or masking"},
	{"/verbose", "on|off", "show frame headers (FIN, RSV, opcode, mask, length)"},
	{"/save", "FILE", "write the last incoming message, whole, to FILE"},
	{"/help", "", "list the commands"},
	{"/quit", "", "close with 1000 and wait for the server's close (also Ctrl-D)"},
}

// HelpText returns the /help listing, one command per line.
func HelpText() string {
	var b strings.Builder
	for _, c := range commands {
		usage := c.name
		if c.args != "" {
			usage += " " + c.args
		}
		fmt.Fprintf(&b, "  %-26s %s\n", usage, c.help)
	}
	b.WriteString("  a line without a leading / is sent as a text message; Ctrl-C clears the line, or closes on an empty line\n")
	return b.String()
}

// ParseCommand turns one REPL line into a Command. It does no I/O: a
// /binary @FILE names the file, the caller reads it. An error is one line
// meant for the user; the session goes on.
func ParseCommand(line string) (Command, error) {
	if line == "" {
		return Command{Kind: CmdNone}, nil
	}
	if line[0] != '/' {
		return Command{Kind: CmdText, Data: []byte(line)}, nil
	}
	name, arg, hasArg := strings.Cut(line, " ")
	switch name {
	case "/text":
		return Command{Kind: CmdText, Data: []byte(arg)}, nil
	case "/binary":
		if strings.HasPrefix(arg, "@") {
			path := arg[1:]
			if path == "" {
				return Command{}, fmt.Errorf("/binary @FILE: no file name after @; try /binary @payload.bin")
			}
			return Command{Kind: CmdBinaryFile, Path: path}, nil
		}
		b, err := parseHex(arg)
		if err != nil {
			return Command{}, fmt.Errorf("/binary: %w; try /binary 48 65 6c 6c 6f or /binary @FILE", err)
		}
		return Command{Kind: CmdBinary, Data: b}, nil
	case "/ping", "/pong":
		c := Command{Kind: CmdPing, Data: []byte(arg)}
		if name == "/pong" {
			c.Kind = CmdPong
		}
		c.Warnings = controlWarnings(name, len(c.Data))
		return c, nil
	case "/close":
		return parseClose(arg)
	case "/frag":
		return parseFrag(arg, hasArg)
	case "/raw":
		b, err := parseHex(arg)
		if err != nil {
			return Command{}, fmt.Errorf("/raw: %w; try /raw 81 05 48 65 6c 6c 6f", err)
		}
		if len(b) == 0 {
			return Command{}, fmt.Errorf("/raw: no bytes given; try /raw 89 00 (an unmasked empty ping)")
		}
		return Command{Kind: CmdRaw, Data: b}, nil
	case "/verbose":
		switch strings.TrimSpace(arg) {
		case "on":
			return Command{Kind: CmdVerbose, On: true}, nil
		case "off":
			return Command{Kind: CmdVerbose, On: false}, nil
		}
		return Command{}, fmt.Errorf("/verbose: want on or off, got %q", arg)
	case "/save":
		path := strings.TrimSpace(arg)
		if path == "" {
			return Command{}, fmt.Errorf("/save: no file name; try /save message.bin")
		}
		return Command{Kind: CmdSave, Path: path}, nil
	case "/help", "/?":
		return Command{Kind: CmdHelp}, nil
	case "/quit", "/exit":
		return Command{Kind: CmdQuit}, nil
	}
	return Command{}, fmt.Errorf("unknown command %q; /help lists the commands, and /text before a line sends it as text", name)
}

// parseClose parses the arguments of /close [CODE [REASON]] and encodes the
// close payload (RFC 6455 §5.5.1: a 2-byte code in network order, then the
// reason). The payload is built here rather than by the wire package so
// that codes RFC 6455 §7.4 forbids (0, 999, 1005, 5000) reach the wire as
// typed.
func parseClose(arg string) (Command, error) {
	c := Command{Kind: CmdClose}
	codeText, reason, _ := strings.Cut(strings.TrimLeft(arg, " "), " ")
	if codeText == "" {
		c.Code, c.HasCode = wire.CloseNormal, false
		c.Data = binary.BigEndian.AppendUint16(nil, uint16(wire.CloseNormal))
		return c, nil
	}
	n, err := strconv.ParseUint(codeText, 10, 16)
	if err != nil {
		return Command{}, fmt.Errorf("/close: code %q is not a number in 0..65535; try /close 1000 bye", codeText)
	}
	c.Code, c.HasCode, c.Reason = wire.CloseCode(n), true, reason
	c.Data = binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(n))
	c.Data = append(c.Data, reason...)
	if !c.Code.ValidOnWire() {
		c.Warnings = append(c.Warnings, fmt.Sprintf("close code %d must not be sent on the wire (RFC 6455 §7.4.1); sending it anyway", n))
	}
	c.Warnings = append(c.Warnings, controlWarnings("/close", len(c.Data))...)
	return c, nil
}

// parseFrag parses /frag N TEXT.
func parseFrag(arg string, hasArg bool) (Command, error) {
	nText, text, _ := strings.Cut(arg, " ")
	if !hasArg || nText == "" {
		return Command{}, fmt.Errorf("/frag: want a frame count and the text; try /frag 3 hello world")
	}
	n, err := strconv.Atoi(nText)
	if err != nil {
		return Command{}, fmt.Errorf("/frag: frame count %q is not a number; try /frag 3 hello world", nText)
	}
	if n < 1 || n > MaxFrags {
		return Command{}, fmt.Errorf("/frag: frame count %d out of range 1..%d", n, MaxFrags)
	}
	return Command{Kind: CmdFrag, Frames: n, Data: []byte(text)}, nil
}

// controlWarnings warns about a control payload over 125 bytes, which RFC
// 6455 §5.5 forbids; it is sent anyway.
func controlWarnings(name string, n int) []string {
	if n <= wire.MaxControlPayload {
		return nil
	}
	return []string{fmt.Sprintf("%s payload is %d bytes, over the 125 RFC 6455 §5.5 allows for control frames; sending it anyway", name, n)}
}

// parseHex decodes hex bytes; spaces, colons and a 0x prefix per group are
// allowed as separators ("de ad be ef", "de:ad", "0xdead").
func parseHex(s string) ([]byte, error) {
	var digits []byte
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' || r == ',' }) {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "0x"), "0X")
		digits = append(digits, f...)
	}
	if len(digits)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits in %q", s)
	}
	b := make([]byte, len(digits)/2)
	if _, err := hex.Decode(b, digits); err != nil {
		if e, ok := err.(hex.InvalidByteError); ok {
			return nil, fmt.Errorf("%q is not a hex digit in %q", rune(e), s)
		}
		return nil, fmt.Errorf("decode hex %q: %w", s, err)
	}
	return b, nil
}
