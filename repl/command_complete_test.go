package repl

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCompleter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"payload.bin", "payload.txt", "other", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "pdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	sep := string(filepath.Separator)
	tests := []struct {
		line    string
		pos     int // -1: end of line
		want    []string
		wantLen int
	}{
		{"/", -1, []string{"text ", "binary ", "ping ", "pong ", "close ", "frag ", "raw ", "verbose ", "save ", "help", "quit"}, 1},
		{"/p", -1, []string{"ing ", "ong "}, 2},
		{"/he", -1, []string{"lp"}, 3},
		{"/quit", -1, []string{""}, 5},
		{"/x", -1, nil, 2},
		{"hello", -1, nil, 0},
		{"/verbose o", -1, []string{"n", "ff"}, 1},
		{"/verbose of", -1, []string{"f"}, 2},
		{"/binary @" + dir + sep + "pay", -1, []string{"load.bin", "load.txt"}, 3},
		{"/binary @" + dir + sep + "p", -1, []string{"ayload.bin", "ayload.txt", "dir" + sep}, 1},
		{"/binary @" + dir + sep, -1, []string{"other", "payload.bin", "payload.txt", "pdir" + sep}, 0},
		{"/binary @" + dir + sep + ".h", -1, []string{"idden"}, 2},
		{"/save " + dir + sep + "o", -1, []string{"ther"}, 1},
		{"/binary de", -1, nil, 0},
		{"/binary @" + dir + sep + "nothing-here", -1, nil, 12},
		{"/binary @/does/not/exist/x", -1, nil, 0},
		{"/pi and more", 3, []string{"ng "}, 3}, // cursor after "/pi"
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			line := []rune(tt.line)
			pos := tt.pos
			if pos < 0 {
				pos = len(line)
			}
			got, n := completer{}.Do(line, pos)
			var gotS []string
			for _, r := range got {
				gotS = append(gotS, string(r))
			}
			if !reflect.DeepEqual(gotS, tt.want) || (len(tt.want) > 0 && n != tt.wantLen) {
				t.Errorf("Do(%q, %d) = %q, %d; want %q, %d", tt.line, pos, gotS, n, tt.want, tt.wantLen)
			}
		})
	}
}
