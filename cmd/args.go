package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// interleavedArgs moves a subcommand's options in front of its positional
// arguments, so that `wsdbg inspect URL --json` works as
// `wsdbg inspect --json URL` does (curl and wscat accept options anywhere;
// Go's flag package stops at the first positional argument). Whether an
// option consumes the next argument comes from the command's own flag
// definitions. A literal "--" ends the options: everything after it stays
// positional.
//
// It also checks what Go's flag package would misread or report tersely,
// so that each mistake gets one sentence naming the flag as it was typed
// and what to type instead (a usage error, exit 2, before anything is
// sent):
//   - an option that takes a value but ends the line, or is followed by
//     "--" (`wsdbg send URL hi -p` would otherwise send the protocol "--");
//   - an option the command does not have, short or long (`-z` would
//     otherwise become a message or a host name); a lone "-" and negative
//     numbers such as "-1" stay positional, and anything goes after "--";
//   - a value the flag cannot take: a duration without a unit, a count that
//     is not a number, a size such as 1.5k.
func interleavedArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	// Find the subcommand: the first argument that is not a global option.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if err := checkGlobal(args[i]); err != nil {
			return nil, err
		}
		i++
	}
	if i >= len(args) {
		return args, nil
	}
	c := app.Command(args[i])
	if c == nil || c.Name == "help" || c.Name == "completion" {
		return args, nil
	}
	flags := make(map[string]cli.Flag)
	for _, f := range c.Flags {
		names := f.Names()
		if r, ok := f.(*repeatFlag); ok && r.short != "" {
			names = append(names, r.short)
		}
		for _, n := range names {
			flags[n] = f
		}
	}
	hint := fmt.Sprintf("try 'wsdbg %s --help'", c.Name)

	rest := args[i+1:]
	opts := make([]string, 0, len(rest))
	var positional []string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || isNegativeNumber(a) {
			positional = append(positional, a)
			continue
		}
		typed, value, hasValue := strings.Cut(a, "=")
		name := strings.TrimLeft(typed, "-")
		f, known := flags[name]
		if !known || len(typed)-len(name) > 2 {
			return nil, usageErrorf("unknown flag %s; %s%s", typed, hint, unknownFlagTip(c.Name, a))
		}
		opts = append(opts, a)
		if !takesValue(f) {
			if hasValue {
				if _, err := strconv.ParseBool(value); err != nil {
					return nil, usageErrorf("%s takes no value, got %q; write %s alone (or %s=false)", typed, value, typed, typed)
				}
			}
			continue
		}
		if !hasValue {
			if j+1 >= len(rest) || rest[j+1] == "--" {
				return nil, usageErrorf("flag needs an argument: %s; write it like %s %s", typed, typed, exampleValue(f))
			}
			j++
			value = rest[j]
			opts = append(opts, value)
		}
		if err := checkValue(f, typed, hasValue, value); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(args)+1)
	out = append(out, args[:i+1]...)
	out = append(out, opts...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out, nil
}

// isNegativeNumber reports whether a looks like "-1" or "-2.5": a message
// or value, never an option.
func isNegativeNumber(a string) bool {
	_, err := strconv.ParseFloat(a, 64)
	return err == nil
}

// unknownFlagTip is the end of the "unknown flag" sentence: how to send the
// argument as text, for the commands that take messages.
func unknownFlagTip(command, arg string) string {
	if command != "send" {
		return ""
	}
	return fmt.Sprintf("; to send %q as a message, put it after --: wsdbg send URL -- %s", arg, arg)
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(interface{ TakesValue() bool })
	return ok && d.TakesValue()
}

// exampleValue is a good value for f, shown in usage errors.
func exampleValue(f cli.Flag) string {
	name := f.Names()[0]
	if ex, ok := flagExamples[name]; ok {
		return ex
	}
	switch baseFlag(f).(type) {
	case *cli.DurationFlag:
		return "5s"
	case *cli.IntFlag:
		return "2"
	}
	if r, ok := f.(*repeatFlag); ok && r.placeholder != "" {
		return r.placeholder
	}
	return "VALUE"
}

// flagExamples are the examples usage errors give, by flag name.
var flagExamples = map[string]string{
	"header":           `"X-Token: abc"`,
	"omit":             "Origin",
	"protocol":         "chat",
	"extension":        `"permessage-deflate; client_max_window_bits"`,
	"ws-version":       "13",
	"key":              "dGhlIHNhbXBsZSBub25jZQ==",
	"origin":           "http://127.0.0.1:8080",
	"request-file":     "request.http",
	"cacert":           "ca.pem",
	"cert":             "client.pem",
	"cert-key":         "client-key.pem",
	"sni":              "example.com",
	"proxy":            "http://127.0.0.1:3128",
	"unix":             "/run/app.sock",
	"connect-to":       "127.0.0.1:8080",
	"color":            "never",
	"binary-out":       "hex",
	"max-message-size": "16MiB",
	"expect-status":    "101",
	"expect-protocol":  "chat",
	"expect-extension": "permessage-deflate",
	"expect":           "hello",
	"count":            "2",
	"file":             "message.bin",
	"stdin-mode":       "whole",
	"history":          "~/.wsdbg_history",
	"listen":           "127.0.0.1:8080",
	"tls-cert":         "cert.pem",
	"tls-key":          "key.pem",
	"message":          "hello",
	"wait":             "2s",
	"timeout":          "5s",
	"ping-interval":    "30s",
	"close-timeout":    "2s",
	"head-timeout":     "10s",
	"write-timeout":    "10s",
	"idle-timeout":     "60s",
}

// positiveDurations are the duration flags for which 0 means nothing
// sensible (the others take 0 as "off").
var positiveDurations = map[string]bool{"timeout": true, "close-timeout": true, "head-timeout": true, "write-timeout": true}

// checkValue checks a value the way the flag will parse it, so that a bad
// one is reported with the flag as typed and an example instead of Go's
// "invalid value ... parse error". joined says the value came as
// --flag=value.
func checkValue(f cli.Flag, typed string, joined bool, v string) error {
	as := typed + " " + v
	if joined {
		as = typed + "=" + v
	}
	good := func(ex string) string {
		if joined {
			return typed + "=" + ex
		}
		return typed + " " + ex
	}
	name := f.Names()[0]
	switch baseFlag(f).(type) {
	case *cli.DurationFlag:
		d, err := time.ParseDuration(v)
		if err != nil {
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				return usageErrorf("%s: a duration needs a unit (ms, s, m, h); write %s", as, good(v+"s"))
			}
			return usageErrorf("%s: %q is not a duration; write it with a unit, e.g. %s or %s", as, v, good("5s"), good("500ms"))
		}
		switch {
		case d <= 0 && positiveDurations[name]:
			return usageErrorf("%s: the duration must be more than 0; write e.g. %s", as, good(exampleValue(f)))
		case d < 0:
			return usageErrorf("%s: the duration must not be negative (0 turns it off); write e.g. %s", as, good(exampleValue(f)))
		}
	case *cli.IntFlag:
		n, err := strconv.ParseInt(v, 0, strconv.IntSize)
		if err != nil {
			return usageErrorf("%s: %q is not a whole number; write e.g. %s", as, v, good(exampleValue(f)))
		}
		if n < 0 && name == "count" {
			return usageErrorf("%s: the number of replies to wait for cannot be negative; write e.g. %s", as, good(exampleValue(f)))
		}
	}
	if sf, ok := baseFlag(f).(*cli.StringFlag); ok && sf.Name == "wait" {
		// connect's --wait: a duration, 0 or inf (SPEC §1.4).
		if _, err := parseLineWait(v); err != nil {
			if d, derr := time.ParseDuration(v); derr == nil && d < 0 {
				return usageErrorf("%s: the wait cannot be negative; write e.g. %s, or %s to close at once, or %s to listen until the server closes", as, good("2s"), good("0"), good("inf"))
			}
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				return usageErrorf("%s: a duration needs a unit (ms, s, m, h); write %s, or %s to close at once, or %s to listen until the server closes", as, good(v+"s"), good("0"), good("inf"))
			}
			return usageErrorf("%s: %q is not a duration; write it with a unit, e.g. %s or %s, or %s to close at once, or %s to listen until the server closes", as, v, good("2s"), good("500ms"), good("0"), good("inf"))
		}
	}
	if f.Names()[0] == "max-message-size" {
		if _, err := parseSize(v); err != nil {
			var se *sizeError
			if errors.As(err, &se) {
				return usageErrorf("%s: %v; write %s", as, err, good(se.example))
			}
			return usageErrorf("%s: %v; write e.g. %s, %s or %s", as, err, good("1k"), good("16MiB"), good("1048576"))
		}
	}
	return nil
}
