package handshake_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

// TestCatalogMatchesSpec checks that the diagnostic ids of SPEC.md §4 (the
// §4.1 table and the §4.2 list) and §10 (HTTP/2) are exactly the
// Catalog's, with the same severities.
func TestCatalogMatchesSpec(t *testing.T) {
	t.Parallel()
	const specPath = "../../shared/SPEC.md"
	b, err := os.ReadFile(specPath)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent (the spec lives outside the repository); nothing to compare the Catalog with", specPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	spec := string(b)
	start := strings.Index(spec, "## 4. Diagnostics")
	end := strings.Index(spec, "## 5.")
	if start < 0 || end < start {
		t.Fatal("SPEC.md has no section 4")
	}
	sec := spec[start:end]
	respPart, reqPart, ok := strings.Cut(sec, "### 4.2")
	if !ok {
		t.Fatal("SPEC.md has no section 4.2")
	}
	cellRe := regexp.MustCompile("`([a-z][a-z0-9-]*)`")             // ids in a table's first column
	idRe := regexp.MustCompile("`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`") // hyphenated ids in prose
	want := map[string]string{}                                     // id → severity
	for _, line := range strings.Split(respPart, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 4 || !strings.Contains(cols[1], "`") {
			continue
		}
		sev := strings.TrimSpace(cols[2])
		for _, m := range cellRe.FindAllStringSubmatch(cols[1], -1) {
			want[m[1]] = sev
		}
	}
	for _, m := range idRe.FindAllStringSubmatch(reqPart, -1) {
		want[m[1]] = "warning" // "Warnings when the request itself breaks ..."
	}
	if len(want) < 30 {
		t.Fatalf("found only %d ids in SPEC.md §4; the parser is out of date", len(want))
	}
	// SPEC §10 (HTTP/2): the h2-* ids are errors, the request-h2-* ids
	// are request-side warnings like those of §4.2.
	h2Start := strings.Index(spec, "## 10.")
	h2End := strings.Index(spec, "## 11.")
	if h2Start < 0 || h2End < h2Start {
		t.Fatal("SPEC.md has no section 10")
	}
	n := len(want)
	for _, m := range regexp.MustCompile("`((?:request-)?h2-[a-z0-9-]+)`").FindAllStringSubmatch(spec[h2Start:h2End], -1) {
		if strings.HasPrefix(m[1], "request-") {
			want[m[1]] = "warning"
		} else {
			want[m[1]] = "error"
		}
	}
	if len(want)-n < 10 {
		t.Fatalf("found only %d ids in SPEC.md §10; the parser is out of date", len(want)-n)
	}
	got := map[string]string{}
	for _, e := range handshake.Catalog() {
		id := string(e.ID)
		if _, dup := got[id]; dup {
			t.Errorf("Catalog lists %s twice", e.ID)
		}
		got[id] = e.Severity.String()
		// The side comes from the section the id is listed in.
		wantSide := handshake.SideResponse
		if strings.Contains(reqPart, "`"+id+"`") || strings.HasPrefix(id, "request-h2-") {
			wantSide = handshake.SideRequest
		}
		if e.Side != wantSide {
			t.Errorf("%s: side %v, SPEC.md lists it on the %v side", e.ID, e.Side, wantSide)
		}
		if !strings.HasPrefix(e.RFC, "RFC ") || !strings.Contains(e.RFC, "§") {
			t.Errorf("%s: RFC %q is not a section reference", e.ID, e.RFC)
		}
	}
	for id, sev := range want {
		g, ok := got[id]
		switch {
		case !ok:
			t.Errorf("SPEC.md id %s is missing from the Catalog", id)
		case g != sev:
			t.Errorf("%s: Catalog severity %s, SPEC.md says %s", id, g, sev)
		}
	}
	// Ids wsdbg adds beyond SPEC §4, documented in README.md.
	beyondSpec := map[string]bool{"connect-failed": true, "h2-protocol": true}
	for id := range got {
		if _, ok := want[id]; !ok && !beyondSpec[id] {
			t.Errorf("Catalog id %s is not in SPEC.md §4", id)
		}
	}
}

// TestCatalogMeanings: what an id means for the outcome is in the
// catalogue, and Catalog hands out a copy that cannot change it.
func TestCatalogMeanings(t *testing.T) {
	t.Parallel()
	for _, e := range handshake.Catalog() {
		if want := strings.HasPrefix(string(e.ID), "expect-"); e.Expectation() != want {
			t.Errorf("%s: Expectation() = %v, want %v", e.ID, e.Expectation(), want)
		}
		// RFC 6455 §4.2.1 (and RFC 9112 §3.2 for Host) make these requests
		// invalid; a bare LF is tolerated (RFC 9112 §2.2).
		want := e.Side == handshake.SideRequest && e.ID != "request-bare-lf"
		if e.Refuses() != want {
			t.Errorf("%s: Refuses() = %v, want %v", e.ID, e.Refuses(), want)
		}
	}
	c := handshake.Catalog()
	c[0].Severity = handshake.SevError
	if e, _ := handshake.Lookup(c[0].ID); e.Severity == handshake.SevError {
		t.Errorf("changing the copy changed the catalogue entry of %s", c[0].ID)
	}
	if e := handshake.ID("no-such-id").Entry(); e.ID != "" {
		t.Errorf("Entry of an unknown id = %+v", e)
	}
}

func TestDiag(t *testing.T) {
	t.Parallel()
	d := handshake.Diag("accept-mismatch", "got %q", "x")
	if d.ID != "accept-mismatch" || d.Severity != handshake.SevError || d.RFC != "RFC 6455 §4.1" || d.Message != `got "x"` {
		t.Errorf("Diag = %+v", d)
	}
	if d := handshake.Diag("tls-insecure", "100%% unverified"); d.Message != "100% unverified" || d.Severity != handshake.SevWarning {
		t.Errorf("Diag without args = %+v", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("Diag with an unknown id did not panic")
		}
	}()
	handshake.Diag("no-such-id", "x")
}

func TestSeverityStrings(t *testing.T) {
	t.Parallel()
	got := []string{}
	for s := handshake.SevOK; s <= handshake.SevError; s++ {
		got = append(got, s.String()+s.Marker())
	}
	if want := []string{"ok✓", "infoi", "warning!", "error✗"}; !slices.Equal(got, want) {
		t.Errorf("severities = %q, want %q", got, want)
	}
}
