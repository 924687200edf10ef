package cmd

import (
	"context"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestCachedFlagNames checks that every flag of every command, once
// wrapped, has the names urfave/cli gives it, and that the wrapper still
// is the library's flag where wsdbg looks at the type.
func TestCachedFlagNames(t *testing.T) {
	app := newApp(&IO{})
	wrapped := 0
	for _, c := range app.Commands {
		orig := append([]cli.Flag(nil), c.Flags...)
		withNames(c.Flags)
		for i, f := range c.Flags {
			if got, want := f.Names(), orig[i].Names(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: flag %v has names %q, want %q", c.Name, orig[i], got, want)
			}
			if baseFlag(f) != orig[i] {
				t.Errorf("%s: baseFlag(%q) is %T, want the flag it wraps", c.Name, f.Names()[0], baseFlag(f))
			}
			if f != orig[i] {
				wrapped++
			}
		}
	}
	if wrapped < 50 {
		t.Errorf("%d flags wrapped; the commands have more library flags than that", wrapped)
	}
	if got, want := namesOf("a, b", nil), cli.FlagNames("a, b", nil); !reflect.DeepEqual(got, want) {
		t.Errorf("namesOf(%q) = %q, want %q as cli.FlagNames", "a, b", got, want)
	}
}

// TestCachedFlagNamesLookups runs a command whose flags are wrapped and
// reads them back the ways the commands do: by long and short name, set
// and not set.
func TestCachedFlagNamesLookups(t *testing.T) {
	var got struct {
		protoSet, quietSet, timeoutSet bool
		proto                          []string
		quiet                          bool
	}
	app := &cli.App{Name: "x", Commands: []*cli.Command{{
		Name: "run",
		Flags: withNames([]cli.Flag{
			&cli.StringSliceFlag{Name: "protocol", Aliases: []string{"p"}},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}},
			&cli.DurationFlag{Name: "timeout"},
		}),
		Action: func(c *cli.Context) error {
			got.protoSet, got.quietSet, got.timeoutSet = c.IsSet("protocol"), c.IsSet("q"), c.IsSet("timeout")
			got.proto, got.quiet = c.StringSlice("p"), c.Bool("quiet")
			return nil
		},
	}}}
	if err := app.RunContext(context.Background(), []string{"x", "run", "-p", "a", "-p", "b", "-q"}); err != nil {
		t.Fatal(err)
	}
	if !got.protoSet || !got.quietSet || got.timeoutSet || !reflect.DeepEqual(got.proto, []string{"a", "b"}) || !got.quiet {
		t.Errorf("got %+v; want protocol and quiet set, timeout not, protocol [a b]", got)
	}
}
