package wire_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"

	"github.com/wsdbg/wsdbg/wire"
)

// A client and a server exchanging a message and closing, over an
// in-memory connection whose opening handshake is assumed done.
func ExampleConn() {
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	server := wire.NewConn(bufio.NewReader(sc), sc, wire.Config{Role: wire.RoleServer})
	go func() {
		for {
			m, err := server.Read()
			if err != nil {
				return
			}
			switch m.Op {
			case wire.OpText, wire.OpBinary:
				server.WriteMessage(m.Op, bytes.ToUpper(m.Data))
			case wire.OpClose:
				server.WriteClose(m.CloseCode, "bye")
				return
			}
		}
	}()

	client := wire.NewConn(bufio.NewReader(cc), cc, wire.Config{Role: wire.RoleClient})
	client.WriteFragmented(wire.OpText, []byte("hello, frames"), 3)
	m, err := client.Read()
	fmt.Printf("%v %q %v\n", m.Op, m.Data, err)
	ce, err := client.CloseHandshake(wire.CloseNormal, "", nil)
	fmt.Println(ce, err)
	// Output:
	// text "HELLO, FRAMES" <nil>
	// peer closed the connection: 1000 (normal closure) "bye" <nil>
}

// Decoding one frame header and checking it for the client role.
func ExampleReadHeader() {
	// A masked text frame, as only a client may send (RFC 6455 §5.7).
	raw := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h, err := wire.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	fmt.Println(h, err)
	fmt.Println(wire.CheckHeader(h, wire.RoleClient, false, false))
	// Output:
	// FIN=1 RSV=000 op=text(0x1) mask=1 key=37fa213d len=5 <nil>
	// protocol error (close 1002): masked text frame from the server (key 37fa213d); servers must not mask (RFC 6455 §5.1)
}

func ExampleParseClose() {
	code, hasCode, reason, err := wire.ParseClose([]byte("\x03\xe9server restarting"))
	fmt.Println(code, hasCode, strings.ToUpper(reason), err)
	_, _, _, err = wire.ParseClose([]byte("\x03\xed"))
	fmt.Println(err)
	// Output:
	// 1001 (going away) true SERVER RESTARTING <nil>
	// protocol error (close 1002): close code 1005 (no status received) is not allowed in a close frame
}
