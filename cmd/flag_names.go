package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli looks flags up by name many times in a run. Every
// Context.IsSet of a flag that was not given scans the command's flags,
// and before every action the library asks that of each name of each flag
// (runFlagActions), which is quadratic in the number of flags. Each
// look-up calls Names(), and the library's Names() runs a regular
// expression over every name (cli.FlagNames cuts what follows a comma or
// a space, a help for flags written the v1 way). With the forty-odd flags
// of connect that was some 2,000 regexp replacements and as many
// allocations before the first byte went out: half of the CPU time of a
// whole `wsdbg inspect` run. The flags are therefore wrapped with their
// names worked out once; everything else is the library's own flag,
// reached through the embedded pointer. Code that switches on a flag's
// type looks at baseFlag(f).

type boolFlag struct {
	*cli.BoolFlag
	names []string
}

type stringFlag struct {
	*cli.StringFlag
	names []string
}

type durationFlag struct {
	*cli.DurationFlag
	names []string
}

type intFlag struct {
	*cli.IntFlag
	names []string
}

type stringSliceFlag struct {
	*cli.StringSliceFlag
	names []string
}

func (f *boolFlag) Names() []string        { return f.names }
func (f *stringFlag) Names() []string      { return f.names }
func (f *durationFlag) Names() []string    { return f.names }
func (f *intFlag) Names() []string         { return f.names }
func (f *stringSliceFlag) Names() []string { return f.names }

func (f *boolFlag) base() cli.Flag        { return f.BoolFlag }
func (f *stringFlag) base() cli.Flag      { return f.StringFlag }
func (f *durationFlag) base() cli.Flag    { return f.DurationFlag }
func (f *intFlag) base() cli.Flag         { return f.IntFlag }
func (f *stringSliceFlag) base() cli.Flag { return f.StringSliceFlag }

// cacheFlagNames wraps the flags of the command args run (see withNames);
// the other commands' flags are not looked up in this run.
func cacheFlagNames(app *cli.App, args []string) {
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			continue // the options before a command take no value
		}
		if c := app.Command(a); c != nil {
			c.Flags = withNames(c.Flags)
		}
		return
	}
}

// baseFlag returns the library flag f stands for (f itself when it is not
// wrapped).
func baseFlag(f cli.Flag) cli.Flag {
	if w, ok := f.(interface{ base() cli.Flag }); ok {
		return w.base()
	}
	return f
}

// withNames wraps each library flag of flags with its names, in place,
// and returns flags. Other flags (repeatFlag) are left as they are.
func withNames(flags []cli.Flag) []cli.Flag {
	for i, f := range flags {
		switch f := f.(type) {
		case *cli.BoolFlag:
			flags[i] = &boolFlag{f, namesOf(f.Name, f.Aliases)}
		case *cli.StringFlag:
			flags[i] = &stringFlag{f, namesOf(f.Name, f.Aliases)}
		case *cli.DurationFlag:
			flags[i] = &durationFlag{f, namesOf(f.Name, f.Aliases)}
		case *cli.IntFlag:
			flags[i] = &intFlag{f, namesOf(f.Name, f.Aliases)}
		case *cli.StringSliceFlag:
			flags[i] = &stringSliceFlag{f, namesOf(f.Name, f.Aliases)}
		}
	}
	return flags
}

// namesOf is cli.FlagNames without the regular expression for names
// that need none (no comma, no space): the same result.
func namesOf(name string, aliases []string) []string {
	if strings.ContainsAny(name, ", ") {
		return cli.FlagNames(name, aliases)
	}
	for _, a := range aliases {
		if strings.ContainsAny(a, ", ") {
			return cli.FlagNames(name, aliases)
		}
	}
	return append([]string{name}, aliases...)
}
