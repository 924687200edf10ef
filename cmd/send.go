package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/wire"
)

func init() { register(newSendCommand) }

// defaultReplyWait is how long send waits for replies after the last
// message when neither --count nor --wait says otherwise (SPEC §1.3).
const defaultReplyWait = time.Second

// countReplyWait bounds the wait for --count replies when --wait is not
// given (SPEC §1.3), so that a CI job never hangs on a missing reply.
const countReplyWait = 10 * time.Second

// maxWholeStdin bounds --stdin-mode whole, which holds stdin in memory.
const maxWholeStdin = 1 << 30

// sendOptions are the options of one `wsdbg send` run.
type sendOptions struct {
	sessionOptions
	Messages  []string      // MESSAGE arguments
	File      string        // --file: one more message, the file's bytes
	Binary    bool          // --binary
	StdinMode string        // --stdin-mode lines|whole
	Count     int           // --count, raised to len(Expect)
	Wait      time.Duration // --wait; 0 with WaitSet false: the default
	WaitSet   bool
	Expect    []string // --expect, in order
}

func newSendCommand(o *IO) *cli.Command {
	flags := append(handshakeFlags(), sessionFlags()...)
	flags = append(flags,
		&cli.BoolFlag{Name: "binary", Usage: "send binary messages instead of text"},
		&cli.StringFlag{Name: "file", Usage: "send the bytes of `FILE` as one message (after any MESSAGE arguments)", TakesFile: true},
		&cli.StringFlag{Name: "stdin-mode", Usage: "without MESSAGE or --file, read stdin as `MODE`: lines (one message per line) or whole (one message)", Value: "lines"},
		&cli.IntFlag{Name: "count", Usage: "wait for `N` incoming messages (exit 7 if --wait ends first)"},
		&cli.DurationFlag{Name: "wait", Usage: "wait `DURATION` for replies (default: until --count replies but at most 10s, else 1s after the last send)"},
		listFlag("expect", "", "TEXT", "fail with exit code 7 unless the replies equal these texts, in order; repeatable"),
	)
	return &cli.Command{
		Name:      "send",
		Usage:     "handshake, send messages, print the replies, close, exit",
		UsageText: "wsdbg send [options] URL [MESSAGE...]",
		Description: "Sends each MESSAGE (or --file, or each line of stdin) as one message, prints every\n" +
			"received message on stdout (text one per line), closes with 1000 and waits for the\n" +
			"server's close. The transcript and diagnostics go to stderr.\n\n" +
			"Exit codes: 0 ok; 1 connection dropped or I/O error; 2 usage; 3 no response; 4 refused;\n" +
			"5 bad 101; 6 protocol violation by the server; 7 --expect/--count not met;\n" +
			"8 the server closed with a code other than 1000/1001; 130 a second Ctrl-C ended wsdbg at once.\n\n" +
			"Examples:\n" +
			"  wsdbg send ws://127.0.0.1:8080/ hello --expect hello\n" +
			"  printf 'a\\nb\\n' | wsdbg send -q ws://127.0.0.1:8080/ --count 2\n" +
			"  wsdbg send --json ws://127.0.0.1:8080/ '{\"op\":\"ping\"}'",
		Flags: flags,
		Action: func(c *cli.Context) error {
			opts, err := sendFromFlags(c, o)
			if err != nil {
				return err
			}
			return withHAR(opts.HAR, &opts.har, func() error { return runSend(c.Context, o, opts) })
		},
	}
}

// sendFromFlags reads the send flags and arguments.
func sendFromFlags(c *cli.Context, o *IO) (*sendOptions, error) {
	args := c.Args().Slice()
	s, err := sessionFromFlags(c, o)
	if err != nil {
		return nil, err
	}
	opts := &sendOptions{
		sessionOptions: *s,
		Messages:       args[min(1, len(args)):],
		File:           c.String("file"),
		Binary:         c.Bool("binary"),
		StdinMode:      c.String("stdin-mode"),
		Count:          c.Int("count"),
		Wait:           c.Duration("wait"),
		WaitSet:        c.IsSet("wait"),
		Expect:         listOf(c, "expect"),
	}
	switch opts.StdinMode {
	case "lines", "whole":
	default:
		return nil, usageErrorf("--stdin-mode %q: use lines or whole", opts.StdinMode)
	}
	if opts.Count < 0 {
		return nil, usageErrorf("--count %d is negative; give the number of replies to wait for", opts.Count)
	}
	if opts.Wait < 0 {
		return nil, usageErrorf("--wait %v is negative; give a duration such as 2s", opts.Wait)
	}
	if c.IsSet("count") && len(opts.Expect) > opts.Count {
		return nil, usageErrorf("--count %d is less than the %d --expect values; drop --count or raise it", opts.Count, len(opts.Expect))
	}
	opts.Count = max(opts.Count, len(opts.Expect))
	if !opts.Binary {
		for i, m := range opts.Messages {
			if !isUTF8(m) {
				return nil, usageErrorf("MESSAGE %d %q is not valid UTF-8, which a text message must be (RFC 6455 §5.6); add --binary", i+1, m)
			}
		}
	}
	return opts, nil
}

func isUTF8(s string) bool { return utf8.ValidString(s) }

// replies records the data messages received, for --count and --expect.
type replies struct {
	mu     sync.Mutex
	n      int
	keep   int      // how many to keep for --expect
	got    [][]byte // the first keep replies
	target int
	reach  chan struct{} // closed when n reaches target
	// timedOut: the wait ended on its deadline, not on the count or the
	// end of the session.
	timedOut bool
}

func (r *replies) add(m wire.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if len(r.got) < r.keep {
		r.got = append(r.got, bytes.Clone(m.Data))
	}
	if r.n == r.target {
		close(r.reach)
	}
}

func (r *replies) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// runSend runs `wsdbg send`: handshake, send, wait for replies, close.
func runSend(ctx context.Context, o *IO, opts *sendOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	rep := &replies{keep: len(opts.Expect), target: opts.Count, reach: make(chan struct{})}
	if rep.target == 0 {
		close(rep.reach)
	}
	p := newSessionPrinter(o, &opts.sessionOptions, false, true)
	s, _, err := openSession(ctx, o, &opts.sessionOptions, p, rep.add)
	if err != nil {
		return err
	}
	s.Start(ctx)

	op := wire.OpText
	if opts.Binary {
		op = wire.OpBinary
	}
	sendErr := func() error {
		for _, m := range opts.Messages {
			if err := s.Queue(op, []byte(m)); err != nil {
				return err
			}
		}
		if opts.File != "" {
			data, err := os.ReadFile(opts.File)
			if err != nil {
				return exitf(ExitFailure, "read --file: %v; check the path and permissions", err)
			}
			if op == wire.OpText && !isUTF8(string(data)) {
				return exitf(ExitFailure, "--file %q is not valid UTF-8, which a text message must be (RFC 6455 §5.6); add --binary", opts.File)
			}
			if err := s.Queue(op, data); err != nil {
				return err
			}
		}
		if len(opts.Messages) > 0 || opts.File != "" {
			return s.Flush()
		}
		if opts.StdinMode == "whole" {
			data, err := io.ReadAll(io.LimitReader(o.In, maxWholeStdin+1))
			if err != nil {
				return exitf(ExitFailure, "read stdin: %v", err)
			}
			if len(data) > maxWholeStdin {
				return exitf(ExitFailure, "stdin is over %d bytes, too much for one message with --stdin-mode whole; send it in lines, or with --file", maxWholeStdin)
			}
			if op == wire.OpText && !isUTF8(string(data)) {
				return exitf(ExitFailure, "stdin is not valid UTF-8, which a text message must be (RFC 6455 §5.6); add --binary")
			}
			return s.Send(op, data)
		}
		_, err := s.SendLines(o.In, op)
		return err
	}()

	if sendErr == nil {
		waitReplies(s.Done(), rep, opts)
	}
	_ = s.Close(wire.CloseNormal, "")
	err = s.Wait()
	if err == nil && sendErr != nil && !isCloseSent(sendErr) {
		err = sendErr
	}
	if err == nil {
		err = checkReplies(rep, opts)
	}
	return finishSession(p, err)
}

// isCloseSent reports a send refused because the session was closing: the
// session's own outcome tells why.
func isCloseSent(err error) bool { return errors.Is(err, wire.ErrCloseSent) }

// waitReplies waits, after the last send, as SPEC §1.3 says: until --count
// replies (bounded by --wait when given, else by 10s), for --wait, or 1s;
// and never past
// the end of the session.
func waitReplies(done <-chan struct{}, rep *replies, opts *sendOptions) {
	var timeout <-chan time.Time
	switch {
	case opts.WaitSet:
		t := time.NewTimer(opts.Wait)
		defer t.Stop()
		timeout = t.C
	case opts.Count == 0:
		t := time.NewTimer(defaultReplyWait)
		defer t.Stop()
		timeout = t.C
	default:
		t := time.NewTimer(countReplyWait)
		defer t.Stop()
		timeout = t.C
	}
	reach := rep.reach
	if opts.Count == 0 {
		reach = nil // wait the whole duration
	}
	select {
	case <-reach:
	case <-timeout:
		rep.mu.Lock()
		rep.timedOut = true
		rep.mu.Unlock()
	case <-done:
	}
}

// checkReplies returns an *expectationError for an unmet --count or
// --expect.
func checkReplies(rep *replies, opts *sendOptions) error {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	within := "before the connection closed"
	switch {
	case opts.WaitSet:
		within = fmt.Sprintf("within --wait %v", opts.Wait)
	case rep.timedOut:
		within = fmt.Sprintf("within %v (the limit without --wait)", countReplyWait)
	}
	for i, want := range opts.Expect {
		if i >= len(rep.got) {
			return &expectationError{fmt.Sprintf("expected %s (--expect), got %d %s; reply %d should have been %q", plural(len(opts.Expect), "reply", "replies"), rep.n, within, i+1, want)}
		}
		if got := rep.got[i]; string(got) != want {
			return &expectationError{fmt.Sprintf("reply %d is %q, expected %q (--expect)", i+1, got, want)}
		}
	}
	if rep.n < opts.Count {
		return &expectationError{fmt.Sprintf("expected %s (--count), got %d %s; raise --wait or check what the server sends", plural(opts.Count, "reply", "replies"), rep.n, within)}
	}
	return nil
}
