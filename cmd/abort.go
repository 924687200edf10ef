package cmd

import (
	"fmt"
	"io"
	"sync"
)

// aborts holds what must still happen when a second Ctrl-C ends the
// process at once (SPEC §7): the exit is process-wide, so the list is too.
var aborts struct {
	sync.Mutex
	next int
	fs   map[int]func() error
}

// atAbort registers f to run before a second Ctrl-C exits, so that what
// must survive the exit (the --har file, SPEC §11) is written first. The
// returned function unregisters f.
func atAbort(f func() error) (remove func()) {
	aborts.Lock()
	defer aborts.Unlock()
	if aborts.fs == nil {
		aborts.fs = make(map[int]func() error)
	}
	id := aborts.next
	aborts.next++
	aborts.fs[id] = f
	return func() {
		aborts.Lock()
		delete(aborts.fs, id)
		aborts.Unlock()
	}
}

// runAborts runs what atAbort registered and reports failures on w.
func runAborts(w io.Writer) {
	aborts.Lock()
	fs := make([]func() error, 0, len(aborts.fs))
	for _, f := range aborts.fs {
		fs = append(fs, f)
	}
	aborts.Unlock()
	for _, f := range fs {
		if err := f(); err != nil {
			fmt.Fprintf(w, "wsdbg: %v\n", err)
		}
	}
}
