package repl

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestAppendJSONString checks the hand-written JSON escaper against
// encoding/json (with its HTML escaping undone) on random strings.
func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "é", "\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀", "<", ">", "&", " "}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		var s []byte
		for range r.IntN(12) {
			s = append(s, alphabet[r.IntN(len(alphabet))]...)
		}
		got := appendJSONString(nil, s)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(string(s)); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d %q: got %s, want %s", i, s, got, want)
		}
	}
}

func TestAppendJSONStringNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 256)
	s := []byte("plain ascii text with \"quotes\" and é")
	if n := testing.AllocsPerRun(100, func() { _ = appendJSONString(buf[:0], s) }); n != 0 {
		t.Errorf("appendJSONString allocates %v times", n)
	}
}

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 messages"}, {1, "1 message"}, {2, "2 messages"}} {
		if got := plural(tc.n, "message", "messages"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
