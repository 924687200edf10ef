package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxHeadSize caps a request or response head, blank line included.
const MaxHeadSize = 64 << 10

// Field is one header line as it crossed the wire. Name and Value are as
// spelled (Value without surrounding spaces and tabs); Raw is the whole line
// without its line ending, and EOL is that ending: "\r\n", or "\n" for a bare
// LF (tolerated, RFC 9112 §2.2).
//
// A line that starts with a space or tab continues the previous field
// (obsolete line folding, RFC 9112 §5.2): it is kept as its own Field with
// Folded set and an empty Name, and its text is appended, after one space, to
// the Value of the field it continues. A line without a colon is kept with
// NoColon set and an empty Name.
type Field struct {
	Name, Value string
	Raw         string
	EOL         string
	Folded      bool
	NoColon     bool
}

// Head is a start line plus the ordered header fields, keeping every byte:
// StartLine + StartEOL + each Field's Raw + EOL + EndEOL == string(Raw).
type Head struct {
	Raw       []byte // every byte of the head, including the blank line
	StartLine string
	StartEOL  string
	Fields    []Field
	EndEOL    string // ending of the blank line that closes the head
	BareLF    bool   // some line ended with a bare LF
}

// Get returns the value of the first field named name (ASCII
// case-insensitive) and whether there was one.
func (h *Head) Get(name string) (string, bool) {
	for i := range h.Fields {
		f := &h.Fields[i]
		if nameIs(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns the values of every field named name, in wire order.
func (h *Head) Values(name string) []string {
	var vs []string
	for i := range h.Fields {
		f := &h.Fields[i]
		if nameIs(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Count returns how many fields are named name.
func (h *Head) Count(name string) int {
	n := 0
	for i := range h.Fields {
		if f := &h.Fields[i]; nameIs(f.Name, name) {
			n++
		}
	}
	return n
}

// Tokens returns the comma-separated elements of every field named name, in
// order, trimmed, empty elements dropped (RFC 9110 §5.6.1). Commas inside
// quoted strings do not split.
func (h *Head) Tokens(name string) []string {
	var out []string
	h.forTokens(name, func(t string) bool {
		out = append(out, t)
		return true
	})
	return out
}

// HasToken reports whether some element of the fields named name equals
// token, ASCII case-insensitively.
func (h *Head) HasToken(name, token string) bool {
	found := false
	h.forTokens(name, func(t string) bool {
		found = strings.EqualFold(t, token)
		return !found
	})
	return found
}

// lookup returns the value of the first field named name and how many
// fields have that name, without allocating.
func (h *Head) lookup(name string) (first string, n int) {
	for i := range h.Fields {
		f := &h.Fields[i]
		if nameIs(f.Name, name) {
			if n == 0 {
				first = f.Value
			}
			n++
		}
	}
	return first, n
}

// forTokens calls fn with each list element of the fields named name, in
// order, until fn returns false.
func (h *Head) forTokens(name string, fn func(string) bool) {
	for i := range h.Fields {
		f := &h.Fields[i]
		if nameIs(f.Name, name) {
			if !forList(f.Value, fn) {
				return
			}
		}
	}
}

// forList calls fn with each element of a comma-separated list (RFC 9110
// §5.6.1): trimmed, empty elements skipped, commas inside quoted strings
// kept. It returns false when fn did.
func forList(v string, fn func(string) bool) bool {
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if t := strings.Trim(v[start:i], " \t"); t != "" && !fn(t) {
				return false
			}
			start = i + 1
		}
	}
	if start < len(v) {
		if t := strings.Trim(v[start:], " \t"); t != "" && !fn(t) {
			return false
		}
	}
	return true
}

// NotHTTPError reports that the peer's first bytes are not an HTTP/1.x
// message. What says what they look like; First holds up to 32 of them.
type NotHTTPError struct {
	What  string
	First []byte
}

func (e *NotHTTPError) Error() string {
	return fmt.Sprintf("not HTTP: %s (first bytes %q)", e.What, e.First)
}

// HeadTooLargeError reports a head longer than MaxHeadSize; N bytes were
// read without finding its end.
type HeadTooLargeError struct{ N int }

func (e *HeadTooLargeError) Error() string {
	return fmt.Sprintf("head larger than %d bytes (%d bytes read without the blank line that ends it)", MaxHeadSize, e.N)
}

// IncompleteError reports that the stream ended, failed or timed out after
// N bytes, before the blank line that ends the head. Err is the read error.
type IncompleteError struct {
	N   int
	Err error
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("incomplete head after %d bytes: %v", e.N, e.Err)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// readHead consumes exactly one head from br: every line up to and including
// the first empty line after the start line. Bytes after it stay buffered.
// The head is returned as a string (one copy) for slicing.
func readHead(br *bufio.Reader) (string, error) {
	var acc []byte // head bytes already discarded from br (long heads only)
	lineStart := 0 // start of the current line in the window
	partial := 0   // bytes of the current line that are in acc
	scan := 0      // next window offset to look for '\n' from
	lines := 0     // complete lines so far
	want := 1
	for {
		win, err := br.Peek(want)
		for scan < len(win) {
			i := bytes.IndexByte(win[scan:], '\n')
			if i < 0 {
				scan = len(win)
				break
			}
			nl := scan + i
			n := partial + nl - lineStart // line length without '\n'
			empty := n == 0
			if n == 1 {
				if nl > lineStart {
					empty = win[nl-1] == '\r'
				} else {
					empty = acc[len(acc)-1] == '\r'
				}
			}
			lines++
			scan, lineStart, partial = nl+1, nl+1, 0
			if empty && lines > 1 {
				if len(acc)+scan > MaxHeadSize {
					return "", &HeadTooLargeError{N: len(acc) + scan}
				}
				var s string
				if acc == nil {
					s = string(win[:scan])
				} else {
					s = string(append(acc, win[:scan]...))
				}
				br.Discard(scan)
				return s, nil
			}
		}
		if len(acc)+len(win) > MaxHeadSize {
			return "", &HeadTooLargeError{N: len(acc) + len(win)}
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = nil
			} else {
				if err == io.EOF && len(acc)+len(win) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return "", &IncompleteError{N: len(acc) + len(win), Err: err}
			}
		}
		if len(win) == br.Size() || err != nil {
			// The window is full: move it to acc and keep reading.
			acc = append(acc, win...)
			partial += len(win) - lineStart
			br.Discard(len(win))
			lineStart, scan = 0, 0
			want = 1
			continue
		}
		want = len(win) + 1
		if b := br.Buffered(); b >= want {
			want = b
		}
	}
}

// parseHead splits a head into start line and fields. s must be the output
// of readHead or any text; an unterminated last line is kept as a field.
func parseHead(s string, raw []byte) Head {
	h := Head{Raw: raw}
	n := strings.Count(s, "\n")
	if n > 1 {
		h.Fields = make([]Field, 0, n-1)
	}
	first := true
	for len(s) > 0 {
		line, eol, rest := cutLine(s)
		s = rest
		if eol == "\n" {
			h.BareLF = true
		}
		if first {
			h.StartLine, h.StartEOL = line, eol
			first = false
			continue
		}
		if line == "" && eol != "" {
			h.EndEOL = eol
			break
		}
		h.Fields = append(h.Fields, parseField(line, eol, h.Fields))
	}
	return h
}

// cutLine returns the first line of s without its ending, the ending, and
// the rest.
func cutLine(s string) (line, eol, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, "", ""
	}
	if i > 0 && s[i-1] == '\r' {
		return s[:i-1], s[i-1 : i+1], s[i+1:]
	}
	return s[:i], s[i : i+1], s[i+1:]
}

func parseField(line, eol string, prev []Field) Field {
	f := Field{Raw: line, EOL: eol}
	if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(prev) > 0 {
		f.Folded = true
		f.Value = strings.Trim(line, " \t")
		// Attach to the last real field (RFC 9112 §5.2: replace with SP).
		for i := len(prev) - 1; i >= 0; i-- {
			if p := &prev[i]; p.Name != "" {
				if f.Value != "" {
					if p.Value == "" {
						p.Value = f.Value
					} else {
						p.Value = p.Value + " " + f.Value
					}
				}
				break
			}
		}
		return f
	}
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		f.NoColon = true
		return f
	}
	f.Name = strings.TrimRight(name, " \t")
	f.Value = strings.Trim(value, " \t")
	return f
}

// nameIs reports whether a field name equals name, ASCII
// case-insensitively (RFC 9110 §5.1); an empty name matches nothing.
func nameIs(a, name string) bool {
	if len(a) != len(name) || a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], name[i]
		if c == d {
			continue
		}
		if c|0x20 != d|0x20 || c|0x20 < 'a' || c|0x20 > 'z' {
			return false
		}
	}
	return true
}
