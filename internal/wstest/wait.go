package wstest

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds or timeout passes, and fails the test
// with what it waited for when it does not. It is for conditions that no
// event announces (what a run has written so far, a count a server keeps):
// the test waits until the condition or the deadline, never a fixed time,
// so a slow machine makes it slower, not wrong.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Until(timeout, cond) {
		tb.Fatalf("waited %v for %s", timeout, what)
	}
}

// Until polls cond until it holds or timeout passes, and reports whether it
// held.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for step := time.Millisecond; ; step = min(2*step, 20*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(step)
	}
}
