package probe_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/internal/probe"
)

// TestChecksMatchSpec checks that the check table has the ids of SPEC.md
// §8, in its order, each with the RFC section the spec gives.
func TestChecksMatchSpec(t *testing.T) {
	t.Parallel()
	spec, err := os.ReadFile("../../../shared/SPEC.md")
	if err != nil {
		t.Fatalf("read the spec: %v", err)
	}
	s := string(spec)
	start := strings.Index(s, "\n## 8. probe")
	end := strings.Index(s, "\n## 9.")
	if start < 0 || end < start {
		t.Fatal("SPEC.md has no section 8")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|.*\\| ([^|]+) \\|$")
	var ids, rfcs []string
	for _, m := range row.FindAllStringSubmatch(s[start:end], -1) {
		ids = append(ids, m[1])
		rfc := strings.TrimSpace(m[2])
		if rfc == "—" {
			rfc = ""
		}
		parts := strings.Split(rfc, ", ")
		for i, p := range parts {
			if p != "" && p[0] >= '0' && p[0] <= '9' {
				parts[i] = "RFC " + p
			}
		}
		rfcs = append(rfcs, strings.Join(parts, ", "))
	}
	if len(ids) < 30 {
		t.Fatalf("found only %d checks in SPEC.md §8; the parser is out of date", len(ids))
	}
	got := probe.IDs()
	if strings.Join(got, " ") != strings.Join(ids, " ") {
		t.Fatalf("check ids differ from SPEC.md §8:\n got %v\nwant %v", got, ids)
	}
	for i, id := range ids {
		if r := probe.RFCOf(id); r != rfcs[i] {
			t.Errorf("%s: RFC %q, SPEC.md says %q", id, r, rfcs[i])
		}
	}
}
