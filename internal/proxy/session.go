package proxy

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/repl"
	"github.com/wsdbg/wsdbg/wire"
)

// session relays frames in both directions after a 101 until both
// directions have ended, then prints the close summary.
func (p *pair) session(br, ubr *bufio.Reader, up net.Conn, fwdReq *handshake.Request, resp *handshake.Response) {
	o := &p.s.opts
	var deflate *wire.DeflateParams
	var deflateExt string
	fs := handshake.DiagnoseResponse(fwdReq, resp, nil)
	for _, e := range fs.Negotiated.Extensions {
		if prm, err := wire.ParseDeflate(e); err == nil {
			deflate, deflateExt = &prm, e
			break
		}
	}
	var printer *repl.Printer
	if p.log != nil {
		printer = repl.NewPrinter(repl.PrinterConfig{
			Out:        p.log,
			Log:        p.log,
			JSON:       o.JSON,
			Escape:     true, // the log shows network bytes: always escaped (SPEC §2)
			Binary:     repl.BinaryHex,
			Verbose:    o.Verbose,
			InMarker:   "< ",
			OutMarker:  "> ",
			ShowSent:   true,
			Paint:      o.Events,
			Now:        o.Now,
			JSONFields: `"conn":` + strconv.FormatInt(p.id, 10) + `,`,
			DirNames:   [2]string{wire.DirIn: sideServer, wire.DirOut: sideClient},
			MaxPending: 32 << 10,
		})
	}
	keep := printer != nil || o.Strict || p.entry != nil
	// The handshake readers hand over any bytes that came with the heads;
	// the relays read the sockets themselves from then on.
	c2s := &relay{p: p, side: sideClient, other: sideServer, dir: wire.DirOut, pre: br, srcConn: p.client, dst: up,
		role: wire.RoleServer, mask: true, rsv1OK: deflate != nil, printer: printer, keep: keep, hold: o.Strict}
	s2c := &relay{p: p, side: sideServer, other: sideClient, dir: wire.DirIn, pre: ubr, srcConn: up, dst: p.client,
		role: wire.RoleClient, rsv1OK: deflate != nil, printer: printer, keep: keep, hold: o.Strict}
	if deflate != nil && keep {
		c2s.msg.dec = wire.NewDecompressor(*deflate, wire.RoleServer)
		s2c.msg.dec = wire.NewDecompressor(*deflate, wire.RoleClient)
	}
	p.mu.Lock()
	p.relays = [2]*relay{c2s, s2c}
	leaving := p.leaving
	p.mu.Unlock()
	if printer != nil {
		neg := "no extension"
		if deflate != nil {
			neg = fmt.Sprintf("extension %q, inflated per direction for display", deflateExt)
		}
		if fs.Negotiated.Protocol != "" {
			neg = fmt.Sprintf("subprotocol %q, ", fs.Negotiated.Protocol) + neg
		}
		printer.Note("Relaying frames: " + neg)
	}
	if leaving {
		p.goAway()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s2c.run()
	}()
	c2s.run()
	<-done
	p.stopGrace()
	p.client.Close()
	up.Close()
	p.summary(c2s, s2c, printer)
	if printer != nil {
		printer.Close()
	}
	p.finishHAR()
}

// otherRelay returns the relay of the other direction.
func (p *pair) otherRelay(r *relay) *relay {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.relays[0] == r {
		return p.relays[1]
	}
	return p.relays[0]
}

// sawClose records the first close frame.
func (p *pair) sawClose(side string) {
	p.mu.Lock()
	if p.first == "" {
		p.first = side
	}
	p.mu.Unlock()
}

// closeBoth asks each relay to send a close frame: toClient to the
// client, toServer to the server; both connections are dropped after
// CloseGrace if the close handshakes do not finish.
func (p *pair) closeBoth(toClient wire.CloseCode, clientReason string, toServer wire.CloseCode, serverReason string) {
	p.mu.Lock()
	c2s, s2c := p.relays[0], p.relays[1]
	if p.first == "" {
		p.first = "proxy"
	}
	p.mu.Unlock()
	if c2s == nil {
		return
	}
	s2c.requestClose(toClient, clientReason)
	c2s.requestClose(toServer, serverReason)
	p.startGrace()
}

// startGrace starts the timer that drops both connections once a closing
// pair has had CloseGrace to finish.
func (p *pair) startGrace() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.grace == nil {
		p.grace = time.AfterFunc(CloseGrace, p.drop)
	}
}

func (p *pair) stopGrace() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.grace != nil {
		p.grace.Stop()
	}
}

// drop closes both connections at once.
func (p *pair) drop() {
	p.dropped.Store(true)
	p.mu.Lock()
	up := p.upstream
	p.mu.Unlock()
	p.client.Close()
	if up != nil {
		up.Close()
	}
}

// report prints a protocol violation by r's side.
func (r *relay) report(pe *wire.ProtocolError, what string) {
	text := fmt.Sprintf("%s broke RFC 6455 (close code %v): %s; %s", r.side, pe.Code, pe.Reason, what)
	r.line(handshake.KindError, "✗", text, "violation", pe.Code)
}

func (r *relay) warn(text string) { r.line(handshake.KindWarning, "!", text, "warning", 0) }
func (r *relay) fail(text string) { r.line(handshake.KindError, "✗", text, "error", 0) }

// line prints a diagnostic line of the relay phase, or its NDJSON event.
func (r *relay) line(k handshake.Kind, marker, text, event string, code wire.CloseCode) {
	if r.printer == nil {
		return
	}
	b := newBlock(r.p.s.opts.Paint)
	if k == handshake.KindError {
		b.fail(text)
	} else {
		b.warn(text)
	}
	j := fmt.Sprintf(`{"event":%q,"conn":%d,"dir":%q,"message":%s`, event, r.p.id, r.side, jsonString(text))
	if code != 0 {
		j += `,"close_code":` + strconv.Itoa(int(code))
	}
	j += `,"time":"` + r.p.s.opts.now().Format(time.RFC3339Nano) + "\"}\n"
	r.printer.Block(b.b.Bytes(), []byte(j))
}

// summary prints who closed first, with which codes, and what went each
// way (SPEC §9).
func (p *pair) summary(c2s, s2c *relay, printer *repl.Printer) {
	if printer == nil {
		return
	}
	o := &p.s.opts
	dur := o.now().Sub(p.start)
	p.mu.Lock()
	first := p.first
	p.mu.Unlock()
	closeOf := func(r *relay) string {
		if !r.closeSent {
			return "no close frame"
		}
		if !r.closeHas {
			return "close (no status code)"
		}
		if r.closeReason != "" {
			return fmt.Sprintf("close %v %q", r.closeCode, r.closeReason)
		}
		return fmt.Sprintf("close %v", r.closeCode)
	}
	var who string
	switch first {
	case sideClient, sideServer:
		who = first + " closed first"
	case "proxy":
		who = "the proxy closed first"
	default:
		who = "no close handshake"
	}
	text := fmt.Sprintf("Closed after %s: %s; client: %s, %s, %d bytes sent; server: %s, %s, %d bytes sent; %s; %s",
		ms(dur), who, closeOf(c2s), plural(c2s.messages, "message"), c2s.wireBytes, closeOf(s2c), plural(s2c.messages, "message"), s2c.wireBytes, c2s.ended, s2c.ended)
	b := newBlock(o.Paint)
	b.note(text)
	jc := func(r *relay) string {
		if !r.closeSent {
			return "null"
		}
		code := "null"
		if r.closeHas {
			code = strconv.Itoa(int(r.closeCode))
		}
		return `{"code":` + code + `,"reason":` + jsonString(r.closeReason) + `}`
	}
	firstJSON := "null"
	if first != "" {
		firstJSON = strconv.Quote(first)
	}
	j := fmt.Sprintf(`{"event":"summary","conn":%d,"first_close":%s,"client":{"close":%s,"messages":%d,"frames":%d,"bytes":%d,"ended":%s},"server":{"close":%s,"messages":%d,"frames":%d,"bytes":%d,"ended":%s},"duration_ms":%.3f,"time":"%s"}`+"\n",
		p.id, firstJSON, jc(c2s), c2s.messages, c2s.frames, c2s.wireBytes, jsonString(c2s.ended),
		jc(s2c), s2c.messages, s2c.frames, s2c.wireBytes, jsonString(s2c.ended),
		float64(dur)/float64(time.Millisecond), o.now().Format(time.RFC3339Nano))
	printer.Block(b.b.Bytes(), []byte(j))
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var _ atomic.Bool
