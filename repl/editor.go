package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chzyer/readline"
)

// Editor is the line editor of the REPL. The REPL calls ReadLine from one
// goroutine at a time and writes events through Stdout from another.
type Editor interface {
	// ReadLine shows the prompt and returns the next line the user
	// entered. It returns io.EOF on Ctrl-D or at the end of input, and
	// ErrInterrupt with the partial line on Ctrl-C.
	ReadLine() (string, error)
	// Stdout returns a writer whose output appears above the line being
	// typed; the prompt and the partial line are redrawn after each Write.
	Stdout() io.Writer
	// SetPrompt changes the prompt shown by the next redraw.
	SetPrompt(prompt string)
	// Close restores the terminal and makes a pending ReadLine return.
	Close() error
}

// ErrInterrupt is returned by Editor.ReadLine when the user pressed Ctrl-C.
var ErrInterrupt = errors.New("interrupt")

// historyLimit is how many lines of the history file are loaded.
const historyLimit = 500

// readlineEditor is the Editor on a real terminal, built on
// github.com/chzyer/readline from the injected streams.
type readlineEditor struct {
	rl      *readline.Instance
	above   *aboveWriter
	in      *cancelReader
	term    *terminal
	history *os.File // nil without a history file
	last    string   // the last line written to the history
	stop    func()   // stops watching the window size
	once    sync.Once
	closing atomic.Bool

	mu      sync.Mutex
	reading chan struct{} // closed when the pending ReadLine returns; nil when none is pending
}

// newReadlineEditor builds the terminal editor over in and out. It must
// only be called when in is a terminal: readline puts it in raw mode for
// each line. historyFile, when not empty, is loaded and appended to
// (created with mode 0600, since lines may hold tokens).
func newReadlineEditor(in io.Reader, out, errOut io.Writer, prompt, historyFile string) (*readlineEditor, error) {
	e := &readlineEditor{in: newCancelReader(in), term: newTerminal(in, out)}
	cfg := &readline.Config{
		Prompt:                 prompt,
		Stdin:                  e.in,
		Stdout:                 out,
		Stderr:                 errOut,
		AutoComplete:           completer{},
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n", // "\n" means no "^D": readline only ends the line
		HistoryLimit:           historyLimit,
		FuncIsTerminal:         func() bool { return true },
		FuncMakeRaw:            e.term.makeRaw,
		FuncExitRaw:            e.term.restore,
		FuncGetWidth:           e.term.width,
		FuncOnWidthChanged:     func(f func()) { e.stop = e.term.onResize(f) },
		FuncFilterInputRune:    filterInputRune,
		DisableAutoSaveHistory: false,
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		e.in.Close()
		return nil, fmt.Errorf("start line editor: %w", err)
	}
	e.rl = rl
	e.above = &aboveWriter{e: e, wrapped: rl.Stdout(), raw: out}
	if historyFile != "" {
		if err := e.openHistory(historyFile); err != nil {
			fmt.Fprintf(errOut, "wsdbg: %v; history is not saved this session\n", err)
		}
	}
	return e, nil
}

// filterInputRune drops Ctrl-Z: readline would suspend the process group
// in raw mode, leaving the open connection unanswered.
func filterInputRune(r rune) (rune, bool) {
	if r == readline.CharCtrlZ {
		return r, false
	}
	return r, true
}

// openHistory loads the last lines of path into readline's memory and
// keeps the file open for appending. readline's own history file support
// is not used because it creates the file world-readable and offers no way
// to close it safely while a line is being read.
func (e *readlineEditor) openHistory(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open history file %q: %w", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > historyLimit {
		lines = lines[len(lines)-historyLimit:]
	}
	for _, l := range lines {
		_ = e.rl.SaveHistory(l) // in memory only: Config.HistoryFile is empty
	}
	if len(lines) > 0 {
		e.last = lines[len(lines)-1]
	}
	e.history = f
	return nil
}

// ReadLine implements Editor.
func (e *readlineEditor) ReadLine() (string, error) {
	e.mu.Lock()
	if e.closing.Load() {
		e.mu.Unlock()
		return "", io.EOF
	}
	done := make(chan struct{})
	e.reading = done
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.reading = nil
		e.mu.Unlock()
		close(done)
	}()
	line, err := e.rl.Readline()
	switch {
	case e.closing.Load():
		// A line cut short by Close is not the user's. When Close came
		// as Readline was starting, readline erased its prompt before it
		// drew it: erase it here, under the lock plain writes take.
		e.mu.Lock()
		_, _ = io.WriteString(e.above.raw, "\r\x1b[2K")
		e.mu.Unlock()
		return "", io.EOF
	case errors.Is(err, readline.ErrInterrupt):
		return line, ErrInterrupt
	case err != nil:
		return line, err
	}
	e.remember(line)
	return line, nil
}

// remember appends a line to the history file, skipping blank lines and
// repeats as readline's in-memory history does.
func (e *readlineEditor) remember(line string) {
	l := strings.TrimSpace(line)
	if e.history == nil || l == "" || l == e.last || strings.ContainsAny(line, "\r\n") {
		return
	}
	e.last = l
	_, _ = io.WriteString(e.history, line+"\n")
}

// Stdout implements Editor: see aboveWriter.
func (e *readlineEditor) Stdout() io.Writer { return e.above }

// promptWait bounds how long a write waits for readline to start reading
// keys after it began a line (see aboveWriter); it normally takes
// microseconds.
const promptWait = 100 * time.Millisecond

// aboveWriter puts output above the prompt, in order, whatever the REPL is
// doing. readline's own writer redraws the prompt after a write only once
// its key reader is running: Readline draws the prompt first and starts
// the key reader after, so a write in between landed after the prompt
// ("ws host> * connected ...") and left the cursor on an empty line with
// no prompt. So:
//
//   - while a ReadLine is pending, a write waits until readline reads keys
//     and then goes through readline's writer, which erases the prompt and
//     the line being typed, writes, and draws them again;
//   - while none is pending, no prompt is on the screen (readline ended the
//     line with a newline, or erased it): the write goes to the terminal as
//     it is, holding the editor's lock so that no ReadLine draws a prompt
//     in the middle of it. The first such write after one through readline
//     first erases the cursor's line, where readline may have drawn a
//     prompt just as the line ended;
//   - once Close has begun, readline is erasing its prompt and may no
//     longer redraw it: each write erases the cursor's line and goes to the
//     terminal as it is, so that no prompt is drawn again below the output.
//
// The REPL's screen is its only caller, one Write at a time.
type aboveWriter struct {
	e       *readlineEditor
	wrapped io.Writer // readline's: erase the prompt, write, redraw it
	raw     io.Writer // the terminal
	drew    bool      // the last Write went through wrapped
}

func (a *aboveWriter) Write(p []byte) (int, error) {
	deadline := time.Now().Add(promptWait)
	for {
		a.e.mu.Lock()
		if closing := a.e.closing.Load(); a.e.reading == nil || closing {
			n, err := a.writeRaw(p, closing)
			a.e.mu.Unlock()
			return n, err
		}
		a.e.mu.Unlock()
		if a.e.rl.Terminal.IsReading() || time.Now().After(deadline) {
			a.drew = true
			return a.wrapped.Write(p)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func (a *aboveWriter) writeRaw(p []byte, closing bool) (int, error) {
	if a.drew || closing {
		a.drew = false
		if _, err := io.WriteString(a.raw, "\r\x1b[2K"); err != nil {
			return 0, err
		}
	}
	return a.raw.Write(p)
}

// SetPrompt implements Editor.
func (e *readlineEditor) SetPrompt(prompt string) { e.rl.SetPrompt(prompt) }

// Close implements Editor. The order matters: ending the input first lets
// readline's reader goroutines finish, so nothing is left blocked; the
// terminal is restored last.
func (e *readlineEditor) Close() error {
	var err error
	e.once.Do(func() {
		e.mu.Lock()
		e.closing.Store(true)
		pending := e.reading
		e.mu.Unlock()
		if pending != nil {
			// Empty the line being typed, so that readline, at the end of
			// input, erases the prompt instead of entering the line.
			e.rl.Operation.SetBuffer("")
		}
		e.in.Close()
		// Instance.Close is not used: its Operation.Close can race with
		// readline's key loop and leave it blocked for ever. Closing the
		// terminal ends the key loop, which then ends the operation loop
		// through the end of input.
		err = e.rl.Terminal.Close()
		if pending != nil {
			select {
			case <-pending:
			case <-time.After(time.Second):
			}
		}
		if e.stop != nil {
			e.stop()
		}
		if e.history != nil {
			if cerr := e.history.Close(); err == nil {
				err = cerr
			}
		}
		if rerr := e.term.restore(); err == nil {
			err = rerr
		}
	})
	return err
}

// cancelReader reads from r in its own goroutine so that Close can end a
// pending Read at once. A terminal read cannot be interrupted portably: the
// goroutine stays blocked in r.Read until the next key press or the end of
// the process unless r supports read deadlines.
type cancelReader struct {
	r      io.Reader
	chunks chan chunk
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex // serializes Read
	rest   []byte
	err    error
}

type chunk struct {
	b   []byte
	err error
}

func newCancelReader(r io.Reader) *cancelReader {
	c := &cancelReader{r: r, chunks: make(chan chunk), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *cancelReader) loop() {
	for {
		buf := make([]byte, 512)
		n, err := c.r.Read(buf)
		select {
		case c.chunks <- chunk{buf[:n], err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns buffered input, or waits for more or for Close (io.EOF).
func (c *cancelReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.rest) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		select {
		case ch := <-c.chunks:
			c.rest, c.err = ch.b, ch.err
		case <-c.done:
			return 0, io.EOF
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// Close makes pending and later Reads return io.EOF. It does not close r,
// which belongs to the caller, but sets a past read deadline when r
// supports one so that the reading goroutine ends too.
func (c *cancelReader) Close() error {
	c.once.Do(func() {
		close(c.done)
		if d, ok := c.r.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(time.Unix(1, 0))
		}
	})
	return nil
}
