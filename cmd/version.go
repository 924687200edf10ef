package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

func init() { register(newVersionCommand) }

// Version returns the module version wsdbg was built from: the tag for
// `go install github.com/wsdbg/wsdbg@vX.Y.Z`, "(devel)" for a local build.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

func newVersionCommand(o *IO) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of wsdbg and the Go toolchain it was built with",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("version takes no arguments, got %q; run 'wsdbg version' alone", c.Args().First())
			}
			return printVersion(o)
		},
	}
}

// printVersion prints the line of `wsdbg version` and `wsdbg --version`.
func printVersion(o *IO) error {
	_, err := fmt.Fprintf(o.Out, "wsdbg %s %s %s/%s\n", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// UserAgent is the User-Agent wsdbg sends by default (SPEC §1.1):
// wsdbg/VERSION, with a local build's "(devel)" written as "devel" since
// parentheses do not belong in a product token (RFC 9110 §10.1.5).
func UserAgent() string {
	return "wsdbg/" + strings.Trim(Version(), "()")
}
