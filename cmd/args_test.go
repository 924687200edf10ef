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
		{"wsdbg send ws://h/ -1 - --wat", "wsdbg send --wat -- ws://h/ -1 -"},
		{"wsdbg send ws://h/ x --wait", "wsdbg send --wait -- ws://h/ x"},
		{"wsdbg version", "wsdbg version"},
		{"wsdbg nosuch x --y", "wsdbg nosuch x --y"},
		{"wsdbg --help", "wsdbg --help"},
	} {
		got := interleavedArgs(app, strings.Fields(tc.in))
		if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.in, got, want)
		}
	}
}
