package repl

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// completer completes REPL lines on Tab: the slash command names, on/off
// after /verbose, and file paths after /binary @ and /save.
type completer struct {
	// readDir lists a directory; os.ReadDir unless a test says otherwise.
	readDir func(dir string) ([]os.DirEntry, error)
}

// Do implements readline.AutoCompleter: it returns the candidate suffixes
// for the text before pos and how many runes of it they share.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	if pos > len(line) {
		pos = len(line)
	}
	head := string(line[:pos])
	if !strings.HasPrefix(head, "/") {
		return nil, 0
	}
	name, arg, hasArg := strings.Cut(head, " ")
	if !hasArg {
		var out [][]rune
		for _, cmd := range commands {
			if strings.HasPrefix(cmd.name, name) {
				suffix := cmd.name[len(name):]
				if cmd.args != "" {
					suffix += " "
				}
				out = append(out, []rune(suffix))
			}
		}
		return out, len([]rune(name))
	}
	switch name {
	case "/verbose":
		return complete(arg, []string{"on", "off"})
	case "/binary":
		if strings.HasPrefix(arg, "@") {
			return c.completePath(arg[1:])
		}
	case "/save":
		return c.completePath(arg)
	}
	return nil, 0
}

// complete offers the words that extend prefix.
func complete(prefix string, words []string) ([][]rune, int) {
	var out [][]rune
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, []rune(w[len(prefix):]))
		}
	}
	return out, len([]rune(prefix))
}

// completePath offers the directory entries that extend the last element
// of p; directories get a trailing slash. Hidden entries are offered only
// when the element starts with a dot, as shells do.
func (c completer) completePath(p string) ([][]rune, int) {
	dir, base := filepath.Split(p)
	listDir := dir
	if listDir == "" {
		listDir = "."
	}
	readDir := c.readDir
	if readDir == nil {
		readDir = os.ReadDir
	}
	entries, err := readDir(listDir)
	if err != nil {
		return nil, 0
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, base) || (strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		if e.IsDir() {
			n += string(filepath.Separator)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([][]rune, len(names))
	for i, n := range names {
		out[i] = []rune(n[len(base):])
	}
	return out, len([]rune(base))
}
