package repl

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// CheckNoLeaks is checkNoLeaks for the external test package.
var CheckNoLeaks = checkNoLeaks

// checkNoLeaks fails t if, after t and the cleanups it registered later
// have run, the goroutines do not settle back, within 5 seconds, to as many
// as there were when checkNoLeaks was called. The runtime's signal loop,
// started once per process, is not counted. Tests that use it must not be
// parallel.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	before, _ := goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		n, dump := goroutines()
		for n > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			n, dump = goroutines()
		}
		if n > before {
			t.Errorf("%d goroutines before the test, %d after:\n%s", before, n, strings.Join(dump, "\n\n"))
		}
	})
}

// goroutines counts the live goroutines other than the signal loop and
// returns their stacks.
func goroutines() (int, []string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "os/signal.loop") {
			continue
		}
		keep = append(keep, g)
	}
	return len(keep), keep
}
