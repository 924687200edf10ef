package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli's default flag line repeats a repeatable flag's names in
// brackets ("--protocol NAME, -p NAME [ --protocol NAME, -p NAME ]") and
// appends "(default: false)" to every switch and "(default: 0s)" to
// durations that mean "none". wsdbg's help shows each flag once, with its
// default only when there is one worth reading. The stringer is set once,
// before any run, and only read afterwards.
func init() { cli.FlagStringer = flagLine }

// flagLine is one flag's line in --help: "-p, --protocol NAME\tusage
// (default: X)".
func flagLine(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	if r, ok := f.(*repeatFlag); ok {
		return flagNames([]string{r.name, r.short}, r.placeholder) + "\t" + r.usage
	}
	placeholder, usage := unquoteUsage(df.GetUsage())
	if df.TakesValue() && placeholder == "" {
		placeholder = "VALUE"
	}
	if !df.TakesValue() {
		placeholder = ""
	}
	if d := shownDefault(f, df); d != "" && !strings.Contains(usage, "(default") {
		usage += " (default: " + d + ")"
	}
	return flagNames(df.Names(), placeholder) + "\t" + usage
}

// shownDefault is the default a flag's help line names: "" for switches
// and for zero values, which mean "not set"; strings without quotes.
func shownDefault(f cli.Flag, df cli.DocGenerationFlag) string {
	switch f := baseFlag(f).(type) {
	case *cli.BoolFlag:
		return ""
	case *cli.StringFlag:
		if f.DefaultText != "" {
			return f.DefaultText
		}
		return f.Value
	case *cli.DurationFlag:
		if f.DefaultText == "" && f.Value == 0 {
			return ""
		}
	case *cli.IntFlag:
		if f.DefaultText == "" && f.Value == 0 {
			return ""
		}
	}
	return df.GetDefaultText()
}

// flagNames writes the short name first, then the long one with the
// placeholder: "-p, --protocol NAME".
func flagNames(names []string, placeholder string) string {
	var short, long []string
	for _, n := range names {
		switch {
		case n == "":
		case len(n) == 1:
			short = append(short, "-"+n)
		default:
			long = append(long, "--"+n)
		}
	}
	s := strings.Join(append(short, long...), ", ")
	if placeholder != "" {
		s += " " + placeholder
	}
	return s
}

// unquoteUsage takes the back-quoted placeholder out of a usage string, as
// urfave/cli does: "wait `DURATION` for replies" → DURATION, "wait
// DURATION for replies".
func unquoteUsage(usage string) (string, string) {
	start := strings.IndexByte(usage, '`')
	if start < 0 {
		return "", usage
	}
	end := strings.IndexByte(usage[start+1:], '`')
	if end < 0 {
		return "", usage
	}
	name := usage[start+1 : start+1+end]
	return name, usage[:start] + name + usage[start+1+end+1:]
}

// globalFlags are the options wsdbg takes before a command.
var globalFlags = map[string]bool{"-h": true, "--help": true, "-help": true, "-V": true, "--version": true, "-version": true}

// checkGlobal reports an option before the command that wsdbg does not
// have, in the words the commands use.
func checkGlobal(a string) error {
	name, _, _ := strings.Cut(a, "=")
	if globalFlags[name] {
		return nil
	}
	return usageErrorf("unknown flag %s; the options before a command are --help and --version (try 'wsdbg --help')", name)
}
