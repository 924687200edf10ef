package cmd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// completeBash sources the bash script and returns the candidates for the
// words of a command line (the last one being completed).
func completeBash(t *testing.T, script string, words ...string) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "wsdbg.bash")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	prog := "complete() { :; }; source " + f + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "; _wsdbg; printf '%s\\n' \"${COMPREPLY[@]}\""
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", prog)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// TestCompletionBash runs the bash script in bash: commands, a command's
// options, an option's values and the completion command's shells.
func TestCompletionBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is needed to check the bash completion script: %v", err)
	}
	code, script, errOut := runInspectMain(t, nil, false, "completion", "bash")
	if code != 0 || errOut != "" || !strings.Contains(script, "complete -o default -F _wsdbg wsdbg") {
		t.Fatalf("exit %d, stderr %q, script:\n%s", code, errOut, script)
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"wsdbg", "ins"}, "inspect"},
		{[]string{"wsdbg", "co"}, "completion connect"},
		{[]string{"wsdbg", "inspect", "--expect-s"}, "--expect-status"},
		{[]string{"wsdbg", "send", "--st"}, "--stdin-mode"},
		{[]string{"wsdbg", "send", "--color", ""}, "auto always never"},
		{[]string{"wsdbg", "send", "--binary-out", "b"}, "base64"},
		{[]string{"wsdbg", "completion", ""}, "bash zsh fish"},
		{[]string{"wsdbg", "help", "se"}, "send serve"},
		{[]string{"wsdbg", "serve", "--li"}, "--listen"},
	} {
		if got := strings.Join(completeBash(t, script, tc.words...), " "); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestCompletionScripts: the zsh and fish scripts name every command and
// every option of each, complete files for file options, and an unknown
// shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	_, zsh, _ := runInspectMain(t, nil, false, "completion", "zsh")
	_, fish, _ := runInspectMain(t, nil, false, "completion", "fish")
	if !strings.HasPrefix(zsh, "#compdef wsdbg\n") || !strings.HasSuffix(zsh, "_wsdbg \"$@\"\n") {
		t.Errorf("zsh script:\n%s", zsh)
	}
	for _, want := range []string{"'inspect:run the opening handshake only - print the exchange and diagnostics", "'*-H[add a request header]:value:'", "'--cacert[trust the CA certificates in this PEM FILE instead of the system", ":file:_files'", "'--color[", ":value:(auto always never)'", "'1:argument:(bash zsh fish)'"} {
		if !strings.Contains(zsh, want) {
			t.Errorf("zsh script lacks %q", want)
		}
	}
	for _, want := range []string{"complete -c wsdbg -n '__fish_use_subcommand' -a inspect -d ", "complete -c wsdbg -n '__fish_seen_subcommand_from send' -l header -s H -x -d 'add a request header'", "-l cacert -r -F", "-l color -x -a 'auto always never'", "-a 'bash zsh fish'"} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish script lacks %q", want)
		}
	}
	_, help, _ := runInspectMain(t, nil, false, "--help")
	_, list, _ := strings.Cut(help, "COMMANDS:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, line := range strings.Split(list, "\n") {
		name := strings.Fields(line)[0]
		if !strings.Contains(zsh, "'"+name+":") || !strings.Contains(fish, "-a "+name+" -d ") {
			t.Errorf("a script lacks command %q", name)
		}
	}
	for _, c := range []string{"inspect", "send", "connect", "serve"} {
		_, h, _ := runInspectMain(t, nil, false, c, "--help")
		for _, line := range strings.Split(h, "\n") {
			for _, w := range strings.Fields(line) {
				w = strings.TrimSuffix(w, ",")
				if strings.HasPrefix(w, "--") && len(w) > 2 && strings.HasPrefix(strings.TrimSpace(line), "-") && strings.Index(line, w) < 30 {
					if !strings.Contains(zsh, "'"+w+"[") && !strings.Contains(zsh, "'*"+w+"[") {
						t.Errorf("zsh script lacks %s %s", c, w)
					}
					if !strings.Contains(fish, "'__fish_seen_subcommand_from "+c+"' -l "+w[2:]+" ") {
						t.Errorf("fish script lacks %s %s", c, w)
					}
				}
			}
		}
	}
	if zshPath, err := exec.LookPath("zsh"); err == nil {
		f := filepath.Join(t.TempDir(), "_wsdbg")
		os.WriteFile(f, []byte(zsh), 0o600)
		if out, err := exec.Command(zshPath, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	}
	if code, _, errOut := runInspectMain(t, nil, false, "completion", "tcsh"); code != 2 || errOut != "wsdbg: completion: unknown shell \"tcsh\"; write wsdbg completion bash, zsh or fish\n" {
		t.Errorf("tcsh: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runInspectMain(t, nil, false, "completion"); code != 2 {
		t.Errorf("no shell: exit %d", code)
	}
}
