package wstest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Update is the -update flag of every test binary that imports this
// package: golden files are rewritten with what the tests produce instead
// of being compared. Run it after an intended change of output and review
// the diff before committing.
var Update = flag.Bool("update", false, "rewrite the golden files with the output the tests produce")

// Golden compares got with the file at path, or writes it (and its folder)
// with -update. A difference is a test error that shows both sides.
func Golden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (go test -run '^%s$' -update creates it)", err, topName(tb))
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (go test -run '^%s$' -update rewrites it, after checking):\n--- got\n%s\n--- want\n%s",
			path, topName(tb), got, want)
	}
}

// topName is the name of tb's top-level test, the part -run matches first.
func topName(tb testing.TB) string {
	name := tb.Name()
	if i := bytes.IndexByte([]byte(name), '/'); i >= 0 {
		name = name[:i]
	}
	return name
}
