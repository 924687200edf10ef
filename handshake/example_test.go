package handshake_test

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/wsdbg/wsdbg/handshake"
)

func ExampleAcceptKey() {
	// The sample key of RFC 6455 §1.3.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleReadResponse() {
	// A 101 with a frame right behind it, as servers often send.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 101 Switching Protocols\r\n" +
		"upgrade: WebSocket\nConnection: Upgrade\r\n\r\n\x81\x02hi"))
	resp, err := handshake.ReadResponse(br)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range resp.Fields {
		fmt.Printf("%q %q %q\n", f.Name, f.Value, f.EOL)
	}
	v, _ := resp.Get("UPGRADE")
	fmt.Println(resp.Status, v, resp.BareLF, br.Buffered(), "bytes kept")
	// Output:
	// "upgrade" "WebSocket" "\n"
	// "Connection" "Upgrade" "\r\n"
	// 101 WebSocket true 4 bytes kept
}

func ExampleDiagnoseResponse() {
	req, _ := handshake.ReadRequest(bufio.NewReader(strings.NewReader("GET /chat HTTP/1.1\r\nHost: example.com\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")))
	resp, _ := handshake.ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")))
	for _, d := range handshake.DiagnoseResponse(req, resp, nil).Diagnostics {
		fmt.Printf("%s %s: %s (%s)\n", d.Severity.Marker(), d.ID, d.Message, d.RFC)
	}
	// Output:
	// ✓ accept-ok: Sec-WebSocket-Accept matches SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11) (RFC 6455 §4.2.2)
	// ✗ connection-missing: 101 without a Connection field; it must contain the token Upgrade (RFC 6455 §4.1)
	// ✗ protocol-not-offered: server selected "mqtt", which was not offered (offered: chat, superchat) (RFC 6455 §4.1)
}
