package cmd

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// IO is everything a run of wsdbg touches outside the process: the standard
// streams and whether each is a terminal, the environment, the clock, the
// random source and the network dialer. Tests fill one with buffers, a fake
// clock, a counting random source and loopback dialers; main uses System.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer

	InTTY, OutTTY, ErrTTY bool

	// LookupEnv reads the environment (proxy variables, NO_COLOR, HOME).
	LookupEnv func(key string) (string, bool)
	// Now is the clock used for timing and timestamps.
	Now func() time.Time
	// Rand supplies Sec-WebSocket-Key bytes and frame mask keys.
	Rand io.Reader
	// Dial opens network connections (TCP and Unix).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// interrupt, set by Main, counts a Ctrl-C that did not arrive as a
	// signal (the REPL reads it as a key) as the first one, so that the
	// next SIGINT ends the process at once. nil outside Main.
	interrupt func()
}

// System returns the IO of the running process.
func System() *IO {
	d := &net.Dialer{}
	return &IO{
		In:        os.Stdin,
		Out:       os.Stdout,
		Err:       os.Stderr,
		InTTY:     isTerminal(os.Stdin),
		OutTTY:    isTerminal(os.Stdout),
		ErrTTY:    isTerminal(os.Stderr),
		LookupEnv: os.LookupEnv,
		Now:       time.Now,
		Rand:      rand.Reader,
		Dial:      d.DialContext,
	}
}

func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// getenv returns the value of key, or "" when it is unset.
func (o *IO) getenv(key string) string {
	if o.LookupEnv == nil {
		return ""
	}
	v, _ := o.LookupEnv(key)
	return v
}

// useColor decides whether output to a stream is colored: --color wins;
// otherwise a non-empty NO_COLOR disables color (no-color.org); otherwise
// color only on a terminal.
func (o *IO) useColor(mode string, tty bool) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if o.getenv("NO_COLOR") != "" {
		return false
	}
	return tty
}

// fill supplies defaults for the fields a caller left nil.
func (o *IO) fill() {
	if o.In == nil {
		o.In = eofReader{}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.LookupEnv == nil {
		o.LookupEnv = func(string) (string, bool) { return "", false }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Dial == nil {
		d := &net.Dialer{}
		o.Dial = d.DialContext
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
