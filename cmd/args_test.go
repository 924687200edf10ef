package cmd

import (
	"reflect"
	"strings"
	"testing"
)

func TestInterleavedArgs(t *testing.T) {
	app := newApp(&IO{})
	for _, tc := range []struct{ in, want string }{
		{"wsdbg inspect ws://h/ --json", "wsdbg inspect --json -- ws://h/"},
		{"wsdbg inspect ws://h/ -p chat --expect-protocol chat", "wsdbg inspect -p chat --expect-protocol chat -- ws://h/"},
		{"wsdbg inspect -H X:1 ws://h/ --timeout=2s", "wsdbg inspect -H X:1 --timeout=2s -- ws://h/"},
		{"wsdbg send ws://h/ a -q b --count 2", "wsdbg send -q --count 2 -- ws://h/ a b"},
		{"wsdbg send ws://h/ -- -1 --json", "wsdbg send -- ws://h/ -1 --json"},
		{"wsdbg inspect --json", "wsdbg inspect --json"},
		{"wsdbg send ws://h/ -1 - -2.5", "wsdbg send -- ws://h/ -1 - -2.5"},
		{"wsdbg send ws://h/ --count -0", "wsdbg send --count -0 -- ws://h/"},
		{"wsdbg send ws://h/ -- -z", "wsdbg send -- ws://h/ -z"},
		{"wsdbg version", "wsdbg version"},
		{"wsdbg nosuch x --y", "wsdbg nosuch x --y"},
		{"wsdbg --help", "wsdbg --help"},
		{"wsdbg --version", "wsdbg --version"},
	} {
		got, err := interleavedArgs(app, strings.Fields(tc.in))
		if want := strings.Fields(tc.want); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q (%v)\nwant %q", tc.in, got, err, want)
		}
	}
}

// TestInterleavedArgsErrors: a value flag at the end (or before --) is
// missing its value instead of taking "--"; an option the command lacks is
// an error, not a message or a host; a bad value names the flag as typed
// and shows a good one. Exact messages, since they are what users read.
func TestInterleavedArgsErrors(t *testing.T) {
	app := newApp(&IO{})
	for _, tc := range []struct{ in, want string }{
		{"wsdbg send ws://h/ hello -p", "flag needs an argument: -p; write it like -p chat"},
		{"wsdbg send ws://h/ hello --expect", "flag needs an argument: --expect; write it like --expect hello"},
		{"wsdbg inspect ws://h/ --origin -- x", "flag needs an argument: --origin; write it like --origin http://127.0.0.1:8080"},
		{"wsdbg inspect ws://h/ --timeout", "flag needs an argument: --timeout; write it like --timeout 5s"},
		{"wsdbg send -q ws://h/ hi -z", `unknown flag -z; try 'wsdbg send --help'; to send "-z" as a message, put it after --: wsdbg send URL -- -z`},
		{"wsdbg send -q -z ws://h/ hi", `unknown flag -z; try 'wsdbg send --help'; to send "-z" as a message, put it after --: wsdbg send URL -- -z`},
		{"wsdbg inspect -z ws://h/", "unknown flag -z; try 'wsdbg inspect --help'"},
		{"wsdbg inspect --frobnicate=1 ws://h/", "unknown flag --frobnicate; try 'wsdbg inspect --help'"},
		{"wsdbg -z inspect ws://h/", "unknown flag -z; the options before a command are --help and --version (try 'wsdbg --help')"},
		{"wsdbg inspect ws://h/ --timeout 5", "--timeout 5: a duration needs a unit (ms, s, m, h); write --timeout 5s"},
		{"wsdbg inspect ws://h/ -timeout=5", "-timeout=5: a duration needs a unit (ms, s, m, h); write -timeout=5s"},
		{"wsdbg inspect ws://h/ --timeout soon", `--timeout soon: "soon" is not a duration; write it with a unit, e.g. --timeout 5s or --timeout 500ms`},
		{"wsdbg send ws://h/ --count abc", `--count abc: "abc" is not a whole number; write e.g. --count 2`},
		{"wsdbg inspect ws://h/ --expect-status 1O1", `--expect-status 1O1: "1O1" is not a whole number; write e.g. --expect-status 101`},
		{"wsdbg send ws://h/ --max-message-size 1.5k", "--max-message-size 1.5k: a size is a whole number of bytes (1.5k is 1536 bytes); write --max-message-size 1536"},
		{"wsdbg send ws://h/ --max-message-size 12XB", `--max-message-size 12XB: unknown unit "XB"; the units are k, M and G (or KiB, MiB, GiB); write e.g. --max-message-size 1k, --max-message-size 16MiB or --max-message-size 1048576`},
		{"wsdbg serve --max-message-size lots", "--max-message-size lots: not a size in bytes; write e.g. --max-message-size 1k, --max-message-size 16MiB or --max-message-size 1048576"},
		{"wsdbg serve --idle-timeout 30", "--idle-timeout 30: a duration needs a unit (ms, s, m, h); write --idle-timeout 30s"},
		{"wsdbg inspect ws://h/ -timeout 0s", "-timeout 0s: the duration must be more than 0; write e.g. -timeout 5s"},
		{"wsdbg send ws://h/ --close-timeout=0", "--close-timeout=0: the duration must be more than 0; write e.g. --close-timeout=2s"},
		{"wsdbg connect ws://h/ --ping-interval -1s", "--ping-interval -1s: the duration must not be negative (0 turns it off); write e.g. --ping-interval 30s"},
		{"wsdbg send ws://h/ --count -1", "--count -1: the number of replies to wait for cannot be negative; write e.g. --count 2"},
		{"wsdbg inspect ws://h/ --json=maybe", `--json takes no value, got "maybe"; write --json alone (or --json=false)`},
	} {
		_, err := interleavedArgs(app, strings.Fields(tc.in))
		if err == nil || err.Error() != tc.want || exitCodeOf(err) != ExitUsage {
			t.Errorf("%s:\n got %v (exit %d)\nwant %s", tc.in, err, exitCodeOf(err), tc.want)
		}
	}
}

func TestPlural(t *testing.T) {
	if got := plural(1, "reply", "replies") + ", " + plural(2, "reply", "replies") + ", " + plural(int64(0), "line", "lines"); got != "1 reply, 2 replies, 0 lines" {
		t.Errorf("got %q", got)
	}
}
