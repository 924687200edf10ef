package cmd_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/wsdbg/wsdbg/cmd"
)

// TestMainConcurrentRuns runs several commands at once in one process, as
// demo and the tests do. Under -race it fails if runs share mutable state
// (urfave/cli's package-level help flag is the known trap).
func TestMainConcurrentRuns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"wsdbg", "version"}, cmd.ExitOK, "wsdbg "},
		{[]string{"wsdbg", "inspect", "--help"}, cmd.ExitOK, "--expect-status"},
		{[]string{"wsdbg", "send", "-h"}, cmd.ExitOK, "--stdin-mode"},
		{[]string{"wsdbg", "--help"}, cmd.ExitOK, "COMMANDS:"},
		{[]string{"wsdbg", "inspect", "--no-such-flag"}, cmd.ExitUsage, ""},
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		for _, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out, errb bytes.Buffer
				code := cmd.Main(tc.args, &cmd.IO{Out: &out, Err: &errb})
				if code != tc.code {
					t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errb.String())
				}
				if !strings.Contains(out.String(), tc.want) {
					t.Errorf("%q: stdout lacks %q:\n%s", tc.args, tc.want, out.String())
				}
			}()
		}
	}
	wg.Wait()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"wsdbg", "nosuchcommand"},
		{"wsdbg", "version", "extra"},
		{"wsdbg", "inspect", "--timeout", "soon", "ws://127.0.0.1:1/"},
		{"wsdbg", "inspect"},
	} {
		var errb bytes.Buffer
		code := cmd.Main(args, &cmd.IO{Err: &errb})
		if code != cmd.ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, cmd.ExitUsage)
		}
		msg := errb.String()
		hint := strings.Contains(msg, "try ") || strings.Contains(msg, "usage: ") || strings.Contains(msg, "run ") || strings.Contains(msg, "write ")
		if !strings.HasPrefix(msg, "wsdbg: ") || !hint {
			t.Errorf("%q: stderr %q should say what is wrong and what to try", args, msg)
		}
	}
}
