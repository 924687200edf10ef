package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// memConn is a net.Conn over a byte slice (reads) and a buffer (writes),
// for driving one relay without sockets.
type memConn struct {
	r io.Reader
	w bytes.Buffer
}

func (c *memConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *memConn) Write(b []byte) (int, error)      { return c.w.Write(b) }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
func (c *memConn) CloseWrite() error                { return nil }

// RelayBytes runs the relay of one direction over input, as sent by the
// client (fromClient) or the server, printing every event into log, and
// returns what reached the other side.
func RelayBytes(input []byte, fromClient, deflate, strict, verbose, json bool, log io.Writer) []byte {
	u, _ := url.Parse("ws://127.0.0.1:1/")
	s := New(Options{Upstream: u, Strict: strict, MaxMessageSize: 1 << 20})
	src, dst, other := &memConn{r: bytes.NewReader(input)}, &memConn{}, &memConn{r: bytes.NewReader(nil)}
	p := &pair{s: s, client: other, id: 1, start: time.Now()}
	p.upstream = dst
	pr := repl.NewPrinter(repl.PrinterConfig{Out: log, Log: log, JSON: json, Escape: true, Binary: repl.BinaryHex, Verbose: verbose, ShowSent: true})
	r := &relay{p: p, side: sideServer, other: sideClient, dir: wire.DirIn, pre: bufio.NewReaderSize(src, 4096), srcConn: src, dst: dst,
		role: wire.RoleClient, printer: pr, keep: true, hold: strict}
	o := &relay{p: p, side: sideClient, other: sideServer, dir: wire.DirOut, pre: bufio.NewReader(other), srcConn: other, dst: other, role: wire.RoleServer, mask: true}
	if fromClient {
		r.side, r.other, r.dir, r.role, r.mask = sideClient, sideServer, wire.DirOut, wire.RoleServer, true
		o.side, o.other, o.dir, o.role, o.mask = sideServer, sideClient, wire.DirIn, wire.RoleClient, false
	}
	p.relays = [2]*relay{r, o}
	if deflate {
		prm := wire.DeflateParams{}
		r.rsv1OK = true
		role := wire.RoleClient
		if fromClient {
			role = wire.RoleServer
		}
		r.msg.dec = wire.NewDecompressor(prm, role)
	}
	r.run()
	p.stopGrace()
	pr.Close()
	return dst.w.Bytes()
}
