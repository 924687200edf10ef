package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interleavedArgs moves a subcommand's options in front of its positional
// arguments, so that `wsdbg inspect URL --json` works as
// `wsdbg inspect --json URL` does (curl and wscat accept options anywhere;
// Go's flag package stops at the first positional argument). Whether an
// option consumes the next argument comes from the command's own flag
// definitions. A literal "--" ends the options: everything after it stays
// positional. An argument that starts with a single "-" but names none of
// the command's options is positional too (`wsdbg send URL -1` sends
// "-1"); an unknown "--name" stays an option so the parser reports it.
func interleavedArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Find the subcommand: the first argument that is not a global option.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		i++
	}
	if i >= len(args) {
		return args
	}
	c := app.Command(args[i])
	if c == nil {
		return args
	}
	takesValue := make(map[string]bool)
	for _, f := range c.Flags {
		tv := false
		if d, ok := f.(interface{ TakesValue() bool }); ok {
			tv = d.TakesValue()
		}
		names := f.Names()
		if r, ok := f.(*repeatFlag); ok && r.short != "" {
			names = append(names, r.short)
		}
		for _, n := range names {
			takesValue[n] = tv
		}
	}

	rest := args[i+1:]
	flags := make([]string, 0, len(rest))
	var positional []string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		tv, known := takesValue[name]
		if !known && !strings.HasPrefix(a, "--") {
			// "-1", "-x": not an option of this command, so a
			// positional argument (a message for send).
			positional = append(positional, a)
			continue
		}
		// Unknown --names stay options, for the parser to report.
		flags = append(flags, a)
		if tv && !hasValue && j+1 < len(rest) {
			j++
			flags = append(flags, rest[j])
		}
	}
	out := make([]string, 0, len(args)+1)
	out = append(out, args[:i+1]...)
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}
