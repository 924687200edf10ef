//go:build race

package wire_test

// raceOn reports that the race detector is on: allocation counts are then
// not meaningful.
const raceOn = true
