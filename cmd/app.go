// Package cmd is wsdbg's command line: it parses flags into option structs,
// joins the handshake and wire packages, decides about color and terminals,
// and maps every outcome to an exit code (SPEC §7).
package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/wsdbg/wsdbg/repl"
)

// A commandFunc builds one subcommand for a run.
type commandFunc func(o *IO) *cli.Command

var registry []commandFunc

// register adds a subcommand; each command file calls it from init.
func register(f commandFunc) { registry = append(registry, f) }

// Main runs wsdbg with args (args[0] is the program name) and returns the
// exit code. The first SIGINT or SIGTERM cancels the run, so a session
// closes with 1000 and waits for the server's close; a second one ends the
// process at once with exit code 130, after putting the terminal back
// and writing the --har file (SPEC §7, §11). The signals stay caught after
// the first: restoring their default action would not do when wsdbg was
// started with SIGINT ignored, as a shell starts the background jobs of a
// script, and the second Ctrl-C would then be lost.
func Main(args []string, o *IO) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	first := make(chan struct{})
	var once sync.Once
	o.interrupt = func() { once.Do(func() { close(first) }) }
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sigs:
		case <-first: // the REPL's Ctrl-C, read as a key in raw mode
		case <-done:
			return
		}
		cancel()
		select {
		case <-sigs:
		case <-done:
			return
		}
		repl.RestoreTerminals()
		runAborts(o.Err)
		os.Exit(ExitInterrupted)
	}()
	return MainContext(ctx, args, o)
}

// MainContext is Main with a context that cancels the run.
func MainContext(ctx context.Context, args []string, o *IO) int {
	o.fill()
	app := newApp(o)
	arranged, err := interleavedArgs(app, args)
	if err == nil {
		cacheFlagNames(app, arranged)
		err = app.RunContext(ctx, arranged)
	}
	if err == nil {
		return ExitOK
	}
	code := exitCodeOf(err)
	var ee *ExitError
	if !(errors.As(err, &ee) && ee.Quiet) {
		fmt.Fprintf(o.Err, "wsdbg: %s\n", err)
		if code == ExitUsage {
			writeJSONUsageError(o, app, args, err)
		}
	}
	return code
}

// writeJSONUsageError puts a usage error on stdout too when the command
// line asked for --json, so that a program reading stdout learns why there
// is nothing else: inspect's document (SPEC §3.1) with ok false, exit_code
// 2 and error, or an NDJSON error event (SPEC §3.2) for the commands that
// stream events.
func writeJSONUsageError(o *IO, app *cli.App, args []string, err error) {
	var c *cli.Command
	var url any
	wantJSON := false
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if c == nil {
			if !strings.HasPrefix(a, "-") {
				if c = app.Command(a); c == nil {
					return
				}
			}
			continue
		}
		switch a {
		case "--json", "-json", "--json=true", "-json=true":
			wantJSON = true
		}
	}
	if c == nil || !wantJSON {
		return
	}
	switch c.Name {
	case "inspect", "probe":
		if arranged, aerr := interleavedArgs(app, args); aerr == nil {
			for i, a := range arranged {
				if a == "--" && i+1 < len(arranged) {
					url = arranged[i+1]
					break
				}
			}
		}
		_ = writeJSON(o.Out, struct {
			URL      any    `json:"url"`
			OK       bool   `json:"ok"`
			ExitCode int    `json:"exit_code"`
			Error    string `json:"error"`
		}{url, false, ExitUsage, err.Error()})
	default:
		enc := json.NewEncoder(o.Out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(struct {
			Event    string `json:"event"`
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		}{"error", err.Error(), ExitUsage})
	}
}

func newApp(o *IO) *cli.App {
	app := &cli.App{
		Name:            "wsdbg",
		Usage:           "WebSocket client and handshake debugger",
		UsageText:       "wsdbg COMMAND [options] URL ...",
		Description:     "Crafts any WebSocket upgrade request, prints the exchange as it crossed the wire with diagnostics, and then lets you use the connection.",
		Reader:          o.In,
		Writer:          o.Out,
		ErrWriter:       o.Err,
		HideHelpCommand: true,
		// urfave/cli's package-level HelpFlag is written to by every run
		// that applies it, which races when several runs share a process
		// (demo, tests). Each run gets its own help flag instead; the
		// library still finds it by name and prints the help.
		HideHelp: true,
		Flags: withNames([]cli.Flag{newHelpFlag(),
			&cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print the version (as 'wsdbg version' does)"}}),
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         onUsageError,
		CommandNotFound: func(c *cli.Context, name string) {
			// The app's Action reports an unknown command as a usage
			// error (exit 2), with the list of commands.
		},
	}
	for _, f := range registry {
		c := f(o)
		c.OnUsageError = onUsageError
		c.HideHelp = true
		c.Flags = append(c.Flags, newHelpFlag())
		app.Commands = append(app.Commands, c)
	}
	sort.Slice(app.Commands, func(i, j int) bool { return app.Commands[i].Name < app.Commands[j].Name })
	names := make([]string, 0, len(app.Commands))
	for _, c := range app.Commands {
		names = append(names, c.Name)
	}
	app.Commands = append(app.Commands, newHelpCommand(names))
	app.Action = func(c *cli.Context) error {
		if c.Bool("version") && c.NArg() == 0 {
			return printVersion(o)
		}
		if c.NArg() == 0 {
			_ = cli.ShowAppHelp(c)
			return &ExitError{Code: ExitUsage, Err: errors.New("no command given"), Quiet: true}
		}
		return usageErrorf("unknown command %q; the commands are %s (try 'wsdbg --help')", c.Args().First(), strings.Join(names, ", "))
	}
	return app
}

// newHelpFlag returns a fresh -h/--help flag for one run.
func newHelpFlag() cli.Flag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}
}

// newHelpCommand is `wsdbg help [COMMAND]`: the same text as --help.
func newHelpCommand(names []string) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or one command's options: wsdbg help COMMAND",
		UsageText: "wsdbg help [COMMAND]",
		Action: func(c *cli.Context) error {
			switch c.NArg() {
			case 0:
				return cli.ShowAppHelp(c)
			case 1:
				name := c.Args().First()
				if c.App.Command(name) == nil {
					return usageErrorf("no command %q; the commands are %s (try 'wsdbg help')", name, strings.Join(names, ", "))
				}
				// The same text as `wsdbg COMMAND --help`, from the same code.
				return c.App.RunContext(c.Context, []string{c.App.Name, name, "--help"})
			}
			return usageErrorf("help takes one command name, got %d arguments; e.g. wsdbg help send", c.NArg())
		},
	}
}

func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	hint := "try 'wsdbg --help'"
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		hint = fmt.Sprintf("try 'wsdbg %s --help'", c.Command.Name)
	}
	return usageErrorf("%s; %s", err, hint)
}
