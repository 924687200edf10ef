package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sync"

	"github.com/fatih/color"

	"github.com/wsdbg/wsdbg/handshake"
)

// palette is the color of each kind of transcript text (SPEC §2): green ok,
// cyan info, yellow warning, red error, bold ids; notes dim; request lines
// blue and response lines magenta, so the two directions stand apart.
var palette = map[handshake.Kind][]color.Attribute{
	handshake.KindRequest:  {color.FgBlue},
	handshake.KindResponse: {color.FgMagenta},
	handshake.KindNote:     {color.Faint},
	handshake.KindOK:       {color.FgGreen},
	handshake.KindInfo:     {color.FgCyan},
	handshake.KindWarning:  {color.FgYellow},
	handshake.KindError:    {color.FgRed, color.Bold},
	handshake.KindID:       {color.Bold},
}

// painter returns the Painter for output to a stream that is a terminal or
// not (tty), under --color mode: nil when there is no color (see useColor),
// so that the transcript is plain.
func (o *IO) painter(mode string, tty bool) handshake.Painter {
	if !o.useColor(mode, tty) {
		return nil
	}
	return paintFunc(palette)
}

// paintFunc returns a function that colors text by its kind as palette
// says; kinds without a color, and empty text, are returned as they are.
// Each *color.Color has color enabled on itself, so fatih/color's
// package-wide NoColor is never read or changed.
func paintFunc[K comparable](palette map[K][]color.Attribute) func(K, string) string {
	colors := make(map[K]*color.Color, len(palette))
	for k, attrs := range palette {
		c := color.New(attrs...)
		c.EnableColor()
		colors[k] = c
	}
	return func(k K, s string) string {
		c, ok := colors[k]
		if !ok || s == "" {
			return s
		}
		return c.Sprint(s)
	}
}

// writeJSON writes v as one indented JSON document followed by a newline.
// Arrays of scalars, such as the [name, value] header pairs, stay on one
// line. HTML characters are not escaped: the output is for terminals and jq.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	sep := arraySep()
	out := scalarArray().ReplaceAllFunc(buf.Bytes(), func(m []byte) []byte {
		inner := bytes.TrimSpace(m[1 : len(m)-1])
		return append(append([]byte{'['}, sep.ReplaceAll(inner, []byte(", "))...), ']')
	})
	_, err := w.Write(out)
	return err
}

// jsonScalar matches one JSON string, number, true, false or null.
const jsonScalar = `(?:"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)`

// The expressions are compiled on first use, not when the program starts:
// most runs print no JSON, and every run pays for what init does.
var (
	// scalarArray matches an indented array whose elements are all scalars.
	scalarArray = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\[\n\s*` + jsonScalar + `(?:,\n\s*` + jsonScalar + `)*\n\s*\]`)
	})
	// arraySep matches the separator between elements of such an array.
	arraySep = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`,\n\s*`) })
)

// plural returns "1 reply" or "2 replies".
func plural[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
