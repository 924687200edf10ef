package handshake

import (
	"fmt"
	"strings"
)

// secretFields carry credentials: their values are redacted in every
// transcript, log, document and capture unless --show-secrets (SPEC §1.1).
var secretFields = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// IsSecret reports whether a field named name carries credentials whose
// value is redacted unless secrets are shown (ASCII case-insensitive).
func IsSecret(name string) bool {
	for _, s := range secretFields {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// RedactedLines returns the head's lines (start line first, each without
// its ending, not escaped) with the values of secret fields, and their
// folded continuations, replaced by "<redacted N bytes>" unless show. A
// line without a colon does not end a secret: what is folded after it is
// redacted too, since a value hidden by mistake costs less than a leak.
func (h *Head) RedactedLines(show bool) []string {
	lines := make([]string, 0, len(h.Fields)+1)
	lines = append(lines, h.StartLine)
	secret := false
	for i := range h.Fields {
		f := &h.Fields[i]
		switch {
		case f.Folded:
			if secret && !show {
				lines = append(lines, f.Raw[:len(f.Raw)-len(strings.TrimLeft(f.Raw, " \t"))]+redacted(len(strings.Trim(f.Raw, " \t"))))
				continue
			}
		case f.Name != "":
			secret = IsSecret(f.Name)
			if secret && !show {
				colon := strings.IndexByte(f.Raw, ':')
				rest := f.Raw[colon+1:]
				lead := len(rest) - len(strings.TrimLeft(rest, " \t"))
				n := len(strings.Trim(rest, " \t"))
				lines = append(lines, f.Raw[:colon+1+lead]+redacted(n))
				continue
			}
		}
		lines = append(lines, f.Raw)
	}
	return lines
}

func redacted(n int) string { return fmt.Sprintf("<redacted %d bytes>", n) }

// RedactedValue returns a field's value as wsdbg shows it: replaced by
// "<redacted N bytes>" when the field carries a secret, unless show.
func RedactedValue(name, value string, show bool) string {
	if !show && IsSecret(name) {
		return redacted(len(value))
	}
	return value
}

// RedactedRaw returns the head's bytes with secret values redacted unless
// show, line endings and any bytes after the head kept.
func (h *Head) RedactedRaw(show bool) string {
	if show || !hasSecret(h) {
		return string(h.Raw)
	}
	lines := h.RedactedLines(show)
	var b strings.Builder
	b.WriteString(lines[0])
	b.WriteString(h.StartEOL)
	for i := range h.Fields {
		b.WriteString(lines[i+1])
		b.WriteString(h.Fields[i].EOL)
	}
	b.WriteString(h.EndEOL)
	// Bytes after the head (a --request-file with a body) are kept.
	if n := headBytes(h); n < len(h.Raw) {
		b.Write(h.Raw[n:])
	}
	return b.String()
}

func hasSecret(h *Head) bool {
	for i := range h.Fields {
		if IsSecret(h.Fields[i].Name) {
			return true
		}
	}
	return false
}

// RedactedPairs returns the head's fields as [name, value] pairs in wire
// order, for JSON documents and captures, secret values redacted unless
// show. Folded continuation lines are part of their field's value; lines
// without a colon are left out (the raw head has them).
func (h *Head) RedactedPairs(show bool) [][2]string {
	out := make([][2]string, 0, len(h.Fields))
	for i := range h.Fields {
		f := &h.Fields[i]
		if f.Name == "" {
			continue
		}
		out = append(out, [2]string{f.Name, RedactedValue(f.Name, f.Value, show)})
	}
	return out
}
