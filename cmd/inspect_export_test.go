package cmd

import "sync"

// MainMu serialises runs of Main in tests. urfave/cli v2 keeps its help
// flag and help command in package variables that every run writes to, so
// two runs at once are a data race; tests that call Main hold MainMu.
var MainMu sync.Mutex
