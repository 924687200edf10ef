package wstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// TerminalSafe returns an error naming the first byte of out that must not
// reach a terminal: a C0 control other than newline (ESC included), DEL, a
// C1 control (U+0080–U+009F) or invalid UTF-8. wsdbg escapes every byte from
// the network before printing it (SPEC §2), so with color off nothing of
// this kind may appear in its output, whatever the peer sent.
func TerminalSafe(out []byte) error {
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("invalid UTF-8 at byte %d: %q", i, context(out, i))
		case r == '\n':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return fmt.Errorf("control character %U at byte %d: %q", r, i, context(out, i))
		}
		i += size
	}
	return nil
}

// JSONLines returns an error unless every non-empty line of out is one
// valid JSON value.
func JSONLines(out []byte) error {
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !json.Valid(line) {
			return fmt.Errorf("line %d is not valid JSON: %q", i+1, line)
		}
	}
	return nil
}

// ExitCodes are the exit codes of SPEC §7.
var ExitCodes = map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 130: true}

func context(b []byte, i int) []byte {
	lo, hi := max(0, i-20), min(len(b), i+20)
	return b[lo:hi]
}
