package wire_test

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// frameBytes decodes an annotated frame description, in the spirit of the
// tables in RFC 6455 §5.2. Segments are separated by "|":
//
//	1 000 0001     bits, spaces ignored; a whole number of bytes
//	'Hello'        literal bytes
//	'a'*300        a literal repeated
//	x:37fa213d     hex bytes
//
// e.g. "1 000 0001 | 0 0000101 | 'Hello'" is an unmasked final text frame
// carrying "Hello".
func frameBytes(s string) []byte {
	b, err := parseFrameBytes(s)
	if err != nil {
		panic(fmt.Sprintf("frame description %q: %v", s, err))
	}
	return b
}

var repeatRE = regexp.MustCompile(`^'(.*)'\*(\d+)$`)

func parseFrameBytes(s string) ([]byte, error) {
	var out []byte
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, seg := range strings.Split(s, "|") {
		seg = strings.TrimSpace(seg)
		switch {
		case repeatRE.MatchString(seg):
			m := repeatRE.FindStringSubmatch(seg)
			n, _ := strconv.Atoi(m[2])
			out = append(out, strings.Repeat(m[1], n)...)
		case strings.HasPrefix(seg, "'") && strings.HasSuffix(seg, "'") && len(seg) >= 2:
			out = append(out, seg[1:len(seg)-1]...)
		case strings.HasPrefix(seg, "x:"):
			h, err := hex.DecodeString(strings.ReplaceAll(seg[2:], " ", ""))
			if err != nil {
				return nil, err
			}
			out = append(out, h...)
		default:
			bits := strings.ReplaceAll(seg, " ", "")
			if len(bits)%8 != 0 {
				return nil, fmt.Errorf("segment %q has %d bits, not a whole number of bytes", seg, len(bits))
			}
			for i := 0; i < len(bits); i += 8 {
				v, err := strconv.ParseUint(bits[i:i+8], 2, 8)
				if err != nil {
					return nil, fmt.Errorf("segment %q: %v", seg, err)
				}
				out = append(out, byte(v))
			}
		}
	}
	return out, nil
}
