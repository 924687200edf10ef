package cmd_test

import (
	"strings"
	"testing"
)

// emptyVersion426 is a one-line server answer that once crashed inspect and
// send: a Sec-WebSocket-Version field with no tokens in a 426.
const emptyVersion426 = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version:\r\nContent-Length: 0\r\n\r\n"

// TestEmptyVersionList: inspect and send against a server that answers
// emptyVersion426 exit 4 with status-not-101 and a version-unsupported
// diagnostic that says the list was empty, and neither panics.
func TestEmptyVersionList(t *testing.T) {
	t.Parallel()
	addr, _ := startInspectPeer(t, fixedReply(emptyVersion426))
	for _, args := range [][]string{
		{"inspect", "ws://" + addr + "/"},
		{"send", "ws://" + addr + "/", "hello"},
		{"inspect", "--json", "ws://" + addr + "/"},
	} {
		code, out, errOut := runInspectMain(t, nil, false, args...)
		all := out + errOut
		if code != 4 {
			t.Errorf("wsdbg %q: exit %d, want 4\n%s", args, code, all)
		}
		for _, want := range []string{"status-not-101", "version-unsupported", "an empty list"} {
			if !strings.Contains(all, want) {
				t.Errorf("wsdbg %q: output lacks %q\n%s", args, want, all)
			}
		}
		if strings.Contains(all, "panic") {
			t.Errorf("wsdbg %q panicked:\n%s", args, all)
		}
	}
}
