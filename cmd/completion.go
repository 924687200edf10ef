package cmd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

func init() { register(newCompletionCommand) }

// completionShells are the shells `wsdbg completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

func newCompletionCommand(o *IO) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: wsdbg completion bash|zsh|fish",
		UsageText: "wsdbg completion bash|zsh|fish",
		Description: "Prints a script that completes wsdbg's commands, options and option values.\n\n" +
			"  bash: source <(wsdbg completion bash)       (or save it in ~/.local/share/bash-completion/completions/wsdbg)\n" +
			"  zsh:  wsdbg completion zsh > \"${fpath[1]}/_wsdbg\"   (then start a new shell)\n" +
			"  fish: wsdbg completion fish > ~/.config/fish/completions/wsdbg.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("completion takes one shell name, got %d arguments; write wsdbg completion bash, zsh or fish", c.NArg())
			}
			cmds := completionCommands(c.App)
			var script string
			switch shell := c.Args().First(); shell {
			case "bash":
				script = bashCompletion(cmds)
			case "zsh":
				script = zshCompletion(cmds)
			case "fish":
				script = fishCompletion(cmds)
			default:
				return usageErrorf("completion: unknown shell %q; write wsdbg completion bash, zsh or fish", shell)
			}
			_, err := fmt.Fprint(o.Out, script)
			return err
		},
	}
}

// compFlag is one option as the completion scripts see it.
type compFlag struct {
	long, short string
	usage       string
	value       bool     // takes a value
	file        bool     // the value is a file name
	choices     []string // the value is one of these
}

type compCommand struct {
	name, usage string
	flags       []compFlag
	args        []string // words for the positional arguments (help, completion)
}

// valueChoices are the values of the options that take one of a few words.
var valueChoices = map[string][]string{
	"color":      {"auto", "always", "never"},
	"binary-out": {"raw", "hex", "base64"},
	"stdin-mode": {"lines", "whole"},
}

// completionCommands lists the commands and their options from the app's
// own definitions, so the scripts never drift from the flags.
func completionCommands(app *cli.App) []compCommand {
	var out []compCommand
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		c := app.Command(name)
		cc := compCommand{name: c.Name, usage: c.Usage}
		switch c.Name {
		case "help":
			cc.args = names
		case "completion":
			cc.args = completionShells
		}
		for _, f := range c.Flags {
			cc.flags = append(cc.flags, compFlagOf(f))
		}
		out = append(out, cc)
	}
	return out
}

func compFlagOf(f cli.Flag) compFlag {
	var cf compFlag
	names := f.Names()
	if r, ok := f.(*repeatFlag); ok && r.short != "" {
		names = append(names, r.short)
	}
	for _, n := range names {
		if len(n) == 1 {
			cf.short = n
		} else if cf.long == "" {
			cf.long = n
		}
	}
	cf.value = takesValue(f)
	if df, ok := f.(cli.DocGenerationFlag); ok {
		_, cf.usage = unquoteUsage(df.GetUsage())
	}
	if r, ok := f.(*repeatFlag); ok {
		cf.usage = r.usage
	}
	if tf, ok := f.(interface{ IsTakesFile() bool }); ok {
		cf.file = tf.IsTakesFile()
	}
	if sf, ok := baseFlag(f).(*cli.StringFlag); ok && sf.TakesFile {
		cf.file = true
	}
	cf.choices = valueChoices[cf.long]
	return cf
}

// shortUsage is the first clause of a usage text, for the one-line
// descriptions shells show next to a candidate.
func shortUsage(s string) string {
	for _, sep := range []string{"; ", " ("} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	s = strings.TrimSpace(s)
	if len(s) > 70 {
		s = strings.TrimSpace(s[:67]) + "..."
	}
	return s
}

func bashCompletion(cmds []compCommand) string {
	var b strings.Builder
	b.WriteString(`# bash completion for wsdbg. Load it with: source <(wsdbg completion bash)
_wsdbg() {
    local cur prev cmd opts
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    cmd="${COMP_WORDS[1]}"
    if [[ ${COMP_CWORD} -eq 1 ]]; then
        COMPREPLY=($(compgen -W "`)
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	b.WriteString(strings.Join(names, " ") + ` --help --version" -- "$cur"))
        return
    fi
    case "$prev" in
`)
	files, choices := valueFlags(cmds)
	if len(files) > 0 {
		b.WriteString("    " + strings.Join(files, "|") + ")\n        COMPREPLY=($(compgen -f -- \"$cur\"))\n        return ;;\n")
	}
	for _, ch := range choices {
		fmt.Fprintf(&b, "    %s)\n        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return ;;\n", ch[0], ch[1])
	}
	b.WriteString("    esac\n    case \"$cmd\" in\n")
	for _, c := range cmds {
		var words []string
		for _, f := range c.flags {
			words = append(words, "--"+f.long)
			if f.short != "" {
				words = append(words, "-"+f.short)
			}
		}
		fmt.Fprintf(&b, "    %s)\n        opts=%q", c.name, strings.Join(words, " "))
		if len(c.args) > 0 {
			fmt.Fprintf(&b, "\n        if [[ \"$cur\" != -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi", strings.Join(c.args, " "))
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString(`    *) return ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}
complete -o default -F _wsdbg wsdbg
`)
	return b.String()
}

// valueFlags returns the bash case patterns of the options whose value is
// a file, and of those whose value is one of a few words.
func valueFlags(cmds []compCommand) (files []string, choices [][2]string) {
	seenFile, seenChoice := map[string]bool{}, map[string]bool{}
	for _, c := range cmds {
		for _, f := range c.flags {
			pat := "--" + f.long
			if f.short != "" {
				pat += "|-" + f.short
			}
			switch {
			case f.file && !seenFile[pat]:
				seenFile[pat] = true
				files = append(files, pat)
			case len(f.choices) > 0 && !seenChoice[pat]:
				seenChoice[pat] = true
				choices = append(choices, [2]string{pat, strings.Join(f.choices, " ")})
			}
		}
	}
	sort.Strings(files)
	sort.Slice(choices, func(i, j int) bool { return choices[i][0] < choices[j][0] })
	return files, choices
}

// zshQuote escapes text for a zsh _arguments or _describe description.
func zshQuote(s string) string {
	r := strings.NewReplacer(`'`, `'\''`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

func zshCompletion(cmds []compCommand) string {
	var b strings.Builder
	b.WriteString("#compdef wsdbg\n# zsh completion for wsdbg. Save it as _wsdbg in a directory of $fpath.\n\n_wsdbg() {\n    local -a commands\n    commands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "        '%s:%s'\n", c.name, zshQuote(strings.ReplaceAll(shortUsage(c.usage), ":", " -")))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n        _describe -t commands 'wsdbg command' commands\n        _arguments '--help[show help]' '--version[print the version]'\n        return\n    fi\n    local cmd=$words[2]\n    shift words\n    (( CURRENT-- ))\n    case $cmd in\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n        _arguments -s \\\n", c.name)
		for _, f := range c.flags {
			desc := zshQuote(shortUsage(f.usage))
			action := ""
			if f.value {
				action = ":value:"
				switch {
				case f.file:
					action = ":file:_files"
				case len(f.choices) > 0:
					action = ":value:(" + strings.Join(f.choices, " ") + ")"
				}
			}
			rep := ""
			if strings.Contains(f.usage, "repeatable") {
				rep = "*"
			}
			if f.short != "" {
				fmt.Fprintf(&b, "            '%s-%s[%s]%s' \\\n", rep, f.short, desc, action)
			}
			fmt.Fprintf(&b, "            '%s--%s[%s]%s' \\\n", rep, f.long, desc, action)
		}
		switch {
		case len(c.args) > 0:
			fmt.Fprintf(&b, "            '1:argument:(%s)'\n", strings.Join(c.args, " "))
		default:
			b.WriteString("            '*:argument:'\n")
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString("    esac\n}\n\n_wsdbg \"$@\"\n")
	return b.String()
}

// fishQuote quotes text for fish's single-quoted strings.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func fishCompletion(cmds []compCommand) string {
	var b strings.Builder
	b.WriteString("# fish completion for wsdbg. Save it as ~/.config/fish/completions/wsdbg.fish\ncomplete -c wsdbg -f\n")
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c wsdbg -n '__fish_use_subcommand' -a %s -d %s\n", c.name, fishQuote(shortUsage(c.usage)))
	}
	b.WriteString("complete -c wsdbg -n '__fish_use_subcommand' -l help -s h -d 'show help'\n")
	b.WriteString("complete -c wsdbg -n '__fish_use_subcommand' -l version -s V -d 'print the version'\n")
	for _, c := range cmds {
		cond := fmt.Sprintf("'__fish_seen_subcommand_from %s'", c.name)
		if len(c.args) > 0 {
			fmt.Fprintf(&b, "complete -c wsdbg -n %s -a %s\n", cond, fishQuote(strings.Join(c.args, " ")))
		}
		for _, f := range c.flags {
			fmt.Fprintf(&b, "complete -c wsdbg -n %s -l %s", cond, f.long)
			if f.short != "" {
				fmt.Fprintf(&b, " -s %s", f.short)
			}
			switch {
			case f.file:
				b.WriteString(" -r -F")
			case len(f.choices) > 0:
				fmt.Fprintf(&b, " -x -a %s", fishQuote(strings.Join(f.choices, " ")))
			case f.value:
				b.WriteString(" -x")
			}
			fmt.Fprintf(&b, " -d %s\n", fishQuote(shortUsage(f.usage)))
		}
	}
	return b.String()
}
