package cmd

import "github.com/wsdbg/wsdbg/internal/har"

// openHAR prepares the --har file; nil without --har. It fails before
// any connection when the file's directory is not writable.
func openHAR(path string) (*har.Writer, error) {
	if path == "" {
		return nil, nil
	}
	w, err := har.Create(path, "wsdbg", Version())
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	return w, nil
}

// closeHAR writes the --har file (SPEC §11); nil without one.
func closeHAR(w *har.Writer) error {
	if w == nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return exitf(ExitFailure, "%v; the session's capture is lost", err)
	}
	return nil
}
