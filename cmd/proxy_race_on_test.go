//go:build race

package cmd_test

// raceEnabled: the race detector slows relaying about tenfold, so the
// largest messages are smaller under it.
const raceEnabled = true
