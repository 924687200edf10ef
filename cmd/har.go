package cmd

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/har"
	"github.com/wsdbg/wsdbg/wire"
)

// harFlagUsage is the --har flag's help, shared by every command that has
// it.
const harFlagUsage = "write the handshake and every message to `FILE` as HAR 1.2 (open it in Chrome DevTools: Network panel, Import) when wsdbg exits"

// openHAR prepares the --har file; nil without --har. It fails before
// any connection when the file's directory is not writable.
func openHAR(path string) (*har.Writer, error) {
	if path == "" {
		return nil, nil
	}
	w, err := har.Create(path, "wsdbg", Version())
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	return w, nil
}

// closeHAR writes the --har file (SPEC §11); nil without one.
func closeHAR(w *har.Writer) error {
	if w == nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return exitf(ExitFailure, "%v; the capture is lost", err)
	}
	return nil
}

// withHAR runs a command with the --har file at path open in *w, and
// writes the file when the command ends, whatever its outcome (SPEC §11):
// the command's own error wins over a failure to write the file.
func withHAR(path string, w **har.Writer, run func() error) error {
	h, err := openHAR(path)
	if err != nil {
		return err
	}
	*w = h
	if h != nil {
		// A second Ctrl-C exits at once: the archive is written first,
		// with what was recorded until then.
		defer atAbort(func() error { return closeHAR(h) })()
	}
	err = run()
	if herr := closeHAR(h); herr != nil {
		if err == nil {
			return herr
		}
		return errors.Join(err, herr)
	}
	return err
}

// clientEntry records a client handshake (inspect, send, connect) in the
// --har file; nil without one.
func clientEntry(h *har.Writer, r *handshake.Result, now func() time.Time) *har.Entry {
	if h == nil || r == nil || r.Request == nil {
		return nil
	}
	doc := r.Document(0)
	if now == nil {
		now = time.Now
	}
	info := har.EntryInfo{
		Started:     now().Add(-max(r.Timing.Total, 0)),
		URL:         r.URL,
		Method:      r.Request.Method,
		HTTPVersion: r.Request.Proto,
		RequestSize: len(r.Request.Raw),
		DNS:         r.Timing.DNS, Connect: r.Timing.Connect, SSL: r.Timing.TLS, Wait: r.Timing.Response,
	}
	if doc.Request != nil {
		info.RequestHeaders = doc.Request.Headers
	}
	if resp := r.Response; resp != nil {
		info.Status, info.StatusText, info.ResponseVersion = resp.Status, resp.Reason, resp.Proto
		info.ResponseHeaders = doc.Response.Headers
		info.ResponseSize = len(resp.Raw)
	}
	if r.Conn != nil {
		info.ServerIP = r.Conn.RemoteAddr().String()
	}
	return h.Begin(info)
}

// tapConn feeds every byte read from and written to the connection to
// HAR streams.
type tapConn struct {
	net.Conn
	in, out *har.Stream
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Write(b[:n])
	return n, err
}

// Write records before it writes, so that a reply can never be recorded
// before the message it answers.
func (c *tapConn) Write(b []byte) (int, error) {
	c.out.Write(b)
	return c.Conn.Write(b)
}

// tapSession returns the connection and reader a session should use so
// that e records every message both ways: client says whether we are the
// client (our writes are then "send").
func tapSession(e *har.Entry, conn net.Conn, br *bufio.Reader, client bool, deflate *wire.DeflateParams, limit int64, now func() time.Time) (net.Conn, *bufio.Reader) {
	if e == nil {
		return conn, br
	}
	out := har.NewStream(e, client, deflate, client, limit, now)
	in := har.NewStream(e, !client, deflate, !client, limit, now)
	if n := br.Buffered(); n > 0 {
		// Frames that came with the 101: the session takes them from br
		// before it reads the connection.
		early, _ := br.Peek(n)
		in.Write(early)
	}
	return &tapConn{Conn: conn, in: in, out: out}, br
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// serverEntry records a client that serve upgraded; "send" is what the
// client sent (SPEC §11).
func (sc *serverConn) serverEntry(req *handshake.Request, reply *handshake.ServerReply) *har.Entry {
	h := sc.s.opts.har
	if h == nil {
		return nil
	}
	resp := responseHead(reply)
	show := sc.s.opts.ShowSecrets
	return h.Begin(har.EntryInfo{
		Started:         sc.start,
		URL:             strings.TrimSuffix(sc.s.url, "/") + req.Target,
		Method:          req.Method,
		HTTPVersion:     req.Proto,
		RequestHeaders:  req.Head.RedactedPairs(show),
		RequestSize:     len(req.Raw),
		Status:          resp.Status,
		StatusText:      resp.Reason,
		ResponseVersion: resp.Proto,
		ResponseHeaders: resp.Head.RedactedPairs(show),
		ResponseSize:    len(reply.Head),
		DNS:             -1, Connect: -1, SSL: -1,
		ServerIP:   sc.c.LocalAddr().String(),
		Connection: sc.c.RemoteAddr().String(),
	})
}
