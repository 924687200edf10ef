package handshake

import (
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendEscaped appends s to dst so that it is safe to print on a terminal:
// control bytes (C0, including ESC), DEL, C1 controls and bytes that are not
// valid UTF-8 become \xNN; a tab becomes \t; other invisible runes (format
// characters such as bidirectional overrides, line and paragraph separators)
// become \uNNNN. Printable UTF-8 and the backslash are kept as they are.
func AppendEscaped(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r >= 0x80 && r < 0xa0:
			for _, b := range s[i : i+size] {
				dst = append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&0xf])
			}
		case !unicode.IsGraphic(r):
			if r > 0xffff {
				dst = append(dst, '\\', 'U', hexDigits[r>>28&0xf], hexDigits[r>>24&0xf], hexDigits[r>>20&0xf], hexDigits[r>>16&0xf])
			} else {
				dst = append(dst, '\\', 'u')
			}
			dst = append(dst, hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// escapeString returns AppendEscaped of b as a string.
func escapeString[T string | []byte](b T) string {
	return string(AppendEscaped(nil, []byte(b)))
}
