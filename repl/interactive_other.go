//go:build !unix

package repl

import "io"

// terminal is a stand-in where raw mode and window size are not available
// through readline's Unix helpers; readline runs with its defaults there.
type terminal struct{}

func newTerminal(io.Reader, io.Writer) *terminal { return &terminal{} }

func (t *terminal) makeRaw() error { return nil }

func (t *terminal) restore() error { return nil }

func (t *terminal) width() int { return 80 }

func (t *terminal) onResize(func()) (stop func()) { return func() {} }

// RestoreTerminals does nothing where the REPL does not switch terminals
// to raw mode itself.
func RestoreTerminals() {}
