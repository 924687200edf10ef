// Package cmd is wsdbg's command line: it parses flags into option structs,
// joins the handshake and wire packages, decides about color and terminals,
// and maps every outcome to an exit code (SPEC §7).
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// A commandFunc builds one subcommand for a run.
type commandFunc func(o *IO) *cli.Command

var registry []commandFunc

// register adds a subcommand; each command file calls it from init.
func register(f commandFunc) { registry = append(registry, f) }

// Main runs wsdbg with args (args[0] is the program name) and returns the
// exit code. The first SIGINT or SIGTERM cancels the run, so a session
// closes with 1000 and waits for the server's close; a second one ends the
// process at once.
func Main(args []string, o *IO) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default action for the next signal
	}()
	return MainContext(ctx, args, o)
}

// MainContext is Main with a context that cancels the run.
func MainContext(ctx context.Context, args []string, o *IO) int {
	o.fill()
	app := newApp(o)
	err := app.RunContext(ctx, interleavedArgs(app, args))
	if err == nil {
		return ExitOK
	}
	code := exitCodeOf(err)
	var ee *ExitError
	if !(errors.As(err, &ee) && ee.Quiet) {
		fmt.Fprintf(o.Err, "wsdbg: %s\n", err)
	}
	return code
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
		HideHelp:             true,
		Flags:                []cli.Flag{newHelpFlag()},
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {},
		OnUsageError:         onUsageError,
		CommandNotFound: func(c *cli.Context, name string) {
			// Reported through the returned error by Before; see below.
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
	app.Action = func(c *cli.Context) error {
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

func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	hint := "try 'wsdbg --help'"
	if c != nil && c.Command != nil && c.Command.Name != "" {
		hint = fmt.Sprintf("try 'wsdbg %s --help'", c.Command.Name)
	}
	return usageErrorf("%s; %s", err, hint)
}
