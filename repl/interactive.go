package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/wire"
)

// InteractiveConfig configures the REPL of `wsdbg connect` on a terminal
// (SPEC §5).
type InteractiveConfig struct {
	// In is the terminal the user types on; Out is the terminal events and
	// the prompt are written to; Err receives the editor's own complaints
	// (an unusable history file). The caller has checked that In is a
	// terminal: the REPL puts it in raw mode while a line is edited and
	// restores it before returning.
	In  io.ReadCloser
	Out io.Writer
	Err io.Writer
	// HistoryFile is loaded at the start and each entered line is appended
	// (the file is created with mode 0600); "" keeps no history. cmd passes
	// --history FILE or ~/.wsdbg_history.
	HistoryFile string
	// Host names the peer in the prompt ("ws 127.0.0.1:8080> "); ""
	// means the connection's remote address.
	Host string
	// Scheme is the prompt's first word: "ws", or "wss" over TLS; ""
	// means "ws".
	Scheme string
	// Quiet leaves out the "connected" note (-q).
	Quiet bool
	// Messages are sent as text messages, each shown as typed, right after
	// the session starts (-m).
	Messages []string
	// OnInterrupt, if set, is called when Ctrl-C on an empty line starts
	// the close: the terminal is in raw mode, so no SIGINT was raised, and
	// cmd counts this as the first Ctrl-C.
	OnInterrupt func()
	// Editor replaces the terminal line editor; In and Out are then not
	// used. Tests script the user with it.
	Editor Editor
}

// Interactive runs the REPL over s: it starts s, reads lines from the
// terminal and sends them (a plain line as a text message, a slash command
// as described by /help), while every event is printed above the prompt
// without disturbing the line being typed. Ctrl-D, /quit, or Ctrl-C on an
// empty line close with 1000 and wait, bounded by the session's close
// timeout, for the peer's close; Ctrl-C on a partial line clears it.
//
// s must not have been started: Interactive starts it. It returns when
// the session has ended — after our close, when the peer closed, or when
// the connection failed — with the terminal restored and Session.Wait's
// error, which cmd maps to an exit code (SPEC §7). The session's printer
// is borrowed: its output goes through the editor while the REPL runs.
func Interactive(ctx context.Context, s *Session, cfg InteractiveConfig) error {
	if s.startedAlready() {
		return errors.New("start interactive session: the session is already running; Interactive starts it itself")
	}
	host := cfg.Host
	if host == "" {
		host = "peer"
		if a := s.NetConn().RemoteAddr(); a != nil {
			host = a.String()
		}
	}
	// The Host header is whatever the user sent: escape it like network text.
	host = string(handshake.AppendEscaped(nil, []byte(host)))
	scheme := cfg.Scheme
	if scheme == "" {
		scheme = "ws"
	}
	r := &interactive{s: s, p: s.Printer(), host: host, scheme: scheme, onInterrupt: cfg.OnInterrupt}
	ed := cfg.Editor
	if ed == nil {
		if cfg.In == nil || cfg.Out == nil {
			return errors.New("start interactive session: no terminal given (InteractiveConfig.In and Out are required without an Editor)")
		}
		errOut := cfg.Err
		if errOut == nil {
			errOut = io.Discard
		}
		rl, err := newReadlineEditor(cfg.In, cfg.Out, errOut, r.prompt(false), cfg.HistoryFile)
		if err != nil {
			s.Abort()
			return err
		}
		ed = rl
	} else {
		ed.SetPrompt(r.prompt(false))
	}
	r.ed = ed
	r.scr = newScreen(ed.Stdout())
	detach := r.p.attach(r.scr)
	s.onMessage(r.received)
	// The note goes first: messages that arrived with the 101 (early data)
	// are printed as soon as the session starts.
	if !cfg.Quiet {
		r.p.Note(fmt.Sprintf("connected to %s: type a message, /help for commands, Ctrl-D to close", host))
	}
	s.Start(ctx)
	for _, m := range cfg.Messages {
		r.send(wire.OpText, []byte(m), 1)
	}
	r.p.Flush()

	readErr := r.loop()

	// Show everything the session printed, then put the terminal back.
	err := s.Wait()
	_ = r.p.Sync()
	_ = r.scr.Sync()
	_ = ed.Close()
	detach()
	_ = r.scr.Close()
	if err == nil && readErr != nil {
		err = readErr
	}
	return err
}

// interactive is the state of one REPL.
type interactive struct {
	s      *Session
	p      *Printer
	ed     Editor
	scr    *screen
	host   string
	scheme string // "ws" or "wss", the prompt's first word

	onInterrupt func() // InteractiveConfig.OnInterrupt

	mu   sync.Mutex
	last wire.Message // the last incoming data message, for /save
}

// prompt shows the state of the connection.
func (r *interactive) prompt(closing bool) string {
	if closing {
		return r.p.paint(KindNote, r.scheme+" "+r.host+" (closing)>") + " "
	}
	return r.p.paint(KindNote, r.scheme+" "+r.host+">") + " "
}

// received is called by the session's reading goroutine for every data
// message: it prints it shortened and keeps a copy for /save.
func (r *interactive) received(m wire.Message) {
	r.p.printMessage(wire.DirIn, m)
	r.mu.Lock()
	data := r.last.Data[:0]
	if cap(data) > 1<<20 && cap(data) > 4*len(m.Data) {
		data = nil // let a huge buffer go
	}
	r.last = m
	r.last.Data = append(data, m.Data...)
	r.mu.Unlock()
}

type lineResult struct {
	line string
	err  error
}

// loop reads and runs lines until the session ends or the user closes it.
// It returns an error only when the terminal failed.
func (r *interactive) loop() error {
	lines := make(chan lineResult, 1)
	next := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range next {
			l, err := r.ed.ReadLine()
			lines <- lineResult{l, err}
		}
	}()
	defer func() {
		close(next)
		// Draw what the session printed above the prompt, then erase the
		// prompt and end a pending ReadLine.
		_ = r.p.Sync()
		_ = r.scr.Sync()
		_ = r.ed.Close()
		wg.Wait()
	}()

	for {
		r.p.Flush()
		select {
		case next <- struct{}{}:
		case <-r.s.Done():
			return nil
		}
		var res lineResult
		select {
		case res = <-lines:
		case <-r.s.Done():
			return nil
		}
		select {
		case <-r.s.Done():
			return nil // the line came too late for this session
		default:
		}
		switch {
		case res.err == nil:
			if r.run(res.line) {
				return nil
			}
		case errors.Is(res.err, ErrInterrupt):
			if res.line == "" {
				if r.onInterrupt != nil {
					r.onInterrupt()
				}
				r.closeNormal()
				return nil
			}
			// Ctrl-C on a partial line: readline has cleared it.
		case errors.Is(res.err, io.EOF):
			r.closeNormal()
			return nil
		default:
			r.closeNormal()
			return fmt.Errorf("read terminal: %w", res.err)
		}
	}
}

// closeNormal starts the closing handshake with 1000 (Ctrl-D, /quit).
func (r *interactive) closeNormal() {
	r.ed.SetPrompt(r.prompt(true))
	if err := r.s.Close(wire.CloseNormal, ""); err != nil {
		r.p.Error(err.Error(), 0)
	}
	r.p.Flush()
}

// run executes one line and reports whether the REPL is done.
func (r *interactive) run(line string) (quit bool) {
	cmd, err := ParseCommand(line)
	if err != nil {
		r.p.Error(err.Error(), 0)
		return false
	}
	for _, w := range cmd.Warnings {
		r.p.printText(KindError, "! "+w)
	}
	switch cmd.Kind {
	case CmdNone:
	case CmdText:
		r.send(wire.OpText, cmd.Data, 1)
	case CmdBinary:
		r.send(wire.OpBinary, cmd.Data, 1)
	case CmdBinaryFile:
		data, err := os.ReadFile(cmd.Path)
		if err != nil {
			r.p.Error(fmt.Sprintf("/binary: read %q: %v", cmd.Path, unwrapPathError(err)), 0)
			return false
		}
		r.send(wire.OpBinary, data, 1)
	case CmdFrag:
		r.send(wire.OpText, cmd.Data, cmd.Frames)
	case CmdPing, CmdPong:
		op := wire.OpPing
		if cmd.Kind == CmdPong {
			op = wire.OpPong
		}
		if err := r.s.SendControl(op, cmd.Data); err != nil {
			r.p.Error(err.Error(), 0)
		}
	case CmdClose:
		r.ed.SetPrompt(r.prompt(true))
		var err error
		if cmd.Code != 0 && len(cmd.Reason) <= wire.MaxControlPayload-2 && !r.s.closeSentAlready() {
			err = r.s.Close(cmd.Code, cmd.Reason)
		} else {
			err = r.s.closePayload(cmd.Data, cmd.Code, cmd.Reason)
		}
		if err != nil {
			r.p.Error(err.Error(), 0)
		}
	case CmdRaw:
		// Printed first, so that a reply is never shown before it.
		r.p.printRaw(cmd.Data)
		if err := r.s.WriteRaw(cmd.Data); err != nil {
			r.p.Error(fmt.Sprintf("/raw: the bytes above were not written: %v", err), 0)
			return false
		}
	case CmdVerbose:
		r.p.SetVerbose(cmd.On)
		if cmd.On {
			r.p.Note("frame detail on")
		} else {
			r.p.Note("frame detail off")
		}
	case CmdSave:
		r.save(cmd.Path)
	case CmdHelp:
		r.p.printText(KindNote, HelpText())
	case CmdQuit:
		r.closeNormal()
		return true
	}
	return false
}

// send sends one data message in frames frames and prints it. It prints
// first, so that a reply is never shown before the message it answers.
func (r *interactive) send(op wire.Opcode, data []byte, frames int) {
	if r.s.closeSentAlready() {
		r.p.Error("not sent: a close frame was already sent, and RFC 6455 §5.5.1 allows no data after it; /raw can still write bytes", 0)
		return
	}
	r.p.printMessage(wire.DirOut, wire.Message{Op: op, Data: data, Frames: frames})
	var err error
	if frames > 1 {
		err = r.s.SendFragmented(op, data, frames)
	} else {
		err = r.s.Send(op, data)
	}
	if err != nil {
		r.p.Error(fmt.Sprintf("the message above was not sent: %v", err), 0)
	}
}

// save writes the last incoming data message to path.
func (r *interactive) save(path string) {
	r.mu.Lock()
	m := r.last
	data := append([]byte(nil), m.Data...)
	r.mu.Unlock()
	if m.Op == 0 {
		r.p.Error("/save: no message has arrived yet", 0)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		r.p.Error(fmt.Sprintf("/save: write %q: %v", path, unwrapPathError(err)), 0)
		return
	}
	r.p.Note(fmt.Sprintf("saved the last message (%s, %d bytes) to %s", m.Op, len(data), path))
}

// unwrapPathError drops the *os.PathError wrapping whose text repeats the
// path the caller already quotes.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
