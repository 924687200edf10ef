package cmd

import (
	"github.com/fatih/color"

	"github.com/wsdbg/wsdbg/repl"
)

// eventColor returns a *color.Color whose enabling is decided here, never by
// fatih/color's globals.
func eventColor(on bool, attrs ...color.Attribute) *color.Color {
	c := color.New(attrs...)
	if on {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c
}

// eventPainter colors session events in the server log, in the palette of
// the transcript (output.go): received green, sent cyan; nil when color is
// off.
func eventPainter(on bool) func(repl.Kind, string) string {
	if !on {
		return nil
	}
	colors := map[repl.Kind]*color.Color{
		repl.KindIn:      eventColor(true, color.FgGreen),
		repl.KindOut:     eventColor(true, color.FgCyan),
		repl.KindControl: eventColor(true, color.FgBlue),
		repl.KindClose:   eventColor(true, color.FgYellow),
		repl.KindFrame:   eventColor(true, color.Faint),
		repl.KindError:   eventColor(true, color.FgRed),
		repl.KindNote:    eventColor(true, color.Faint),
	}
	return func(k repl.Kind, s string) string {
		if c, ok := colors[k]; ok {
			return c.Sprint(s)
		}
		return s
	}
}
