// Command wsdbg is a WebSocket client and handshake debugger.
//
// See README.md for usage; the commands live in package cmd.
package main

import (
	"os"

	"github.com/wsdbg/wsdbg/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args, cmd.System()))
}
