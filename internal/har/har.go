// Package har writes HTTP Archive 1.2 files (SPEC §11) of WebSocket
// connections: one entry per connection with its opening handshake and
// timings, and Chrome's "_resourceType": "websocket" and
// "_webSocketMessages" extension, so that Chrome DevTools (Network panel,
// import) and other HAR viewers show the messages.
//
// Messages are not held in memory: each is encoded as it happens and
// appended to a spill file next to the destination; the entries keep only
// where their messages lie in it. Close writes the archive to a temporary
// file in the same directory and renames it into place, so that a reader
// never sees half a file.
//
// A Writer and its Entries are safe for concurrent use.
package har

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Opcodes of RFC 6455 §5.2 for Message; other values are written as they
// are.
const (
	OpText   = 1
	OpBinary = 2
)

// EntryInfo describes one WebSocket connection's opening handshake.
// Durations are -1 when the step did not happen (HAR 1.2 allows -1 for
// blocked, dns, connect and ssl; send, wait and receive are clamped at 0).
type EntryInfo struct {
	Started     time.Time
	URL         string // http:// or https:// form is not required: ws:// is kept, as Chrome does
	Method      string
	HTTPVersion string
	// RequestHeaders and ResponseHeaders are [name, value] pairs in wire
	// order, secrets already redacted by the caller.
	RequestHeaders  [][2]string
	RequestSize     int // bytes of the request head
	Status          int // 0 when no response came
	StatusText      string
	ResponseVersion string
	ResponseHeaders [][2]string
	ResponseSize    int // bytes of the response head

	DNS, Connect, SSL, Send, Wait time.Duration
	ServerIP                      string // address connected to (host:port or a socket path)
	Connection                    string // "" means the port of ServerIP
}

// Writer collects entries and writes the archive on Close.
type Writer struct {
	path    string
	creator string
	version string

	mu      sync.Mutex
	spill   *os.File
	sw      *bufio.Writer
	off     int64
	entries []*Entry
	closed  bool
	err     error
}

// Create prepares a HAR file at path, written by Close. It fails at once
// when the directory is not writable, so that a session does not run for
// nothing. creator and version name the program in log.creator.
func Create(path, creator, version string) (*Writer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, fmt.Errorf("--har %q names a directory; give a file name such as session.har", path)
	}
	f, err := os.CreateTemp(dir, "."+base+".*.spill")
	if err != nil {
		return nil, fmt.Errorf("--har %q: cannot write in %s: %v", path, dir, unwrapPath(err))
	}
	return &Writer{path: path, creator: creator, version: version, spill: f, sw: bufio.NewWriterSize(f, 64<<10)}, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Path returns the file Close writes.
func (w *Writer) Path() string { return w.path }

// Entry is one WebSocket connection in the archive.
type Entry struct {
	w       *Writer
	info    EntryInfo
	extents []extent // where the entry's encoded messages lie in the spill file
	n       int      // messages
	buf     []byte
}

type extent struct{ off, n int64 }

// Begin adds an entry for a connection whose handshake is described by
// info. Entries appear in the archive in the order Begin was called.
func (w *Writer) Begin(info EntryInfo) *Entry {
	e := &Entry{w: w, info: info}
	w.mu.Lock()
	if !w.closed {
		w.entries = append(w.entries, e)
	}
	w.mu.Unlock()
	return e
}

// Message records one message: send is true for a message the client
// sent, t is when it was seen, opcode its RFC 6455 opcode; data is the
// whole (decompressed) payload, not retained. A text message is stored as
// a string, anything else as base64, as Chrome does.
func (e *Entry) Message(send bool, t time.Time, opcode byte, data []byte) {
	w := e.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	b := e.buf[:0]
	if e.n > 0 {
		b = append(b, ',')
	}
	b = append(b, `{"type":"`...)
	if send {
		b = append(b, "send"...)
	} else {
		b = append(b, "receive"...)
	}
	b = append(b, `","time":`...)
	b = strconv.AppendFloat(b, epochSeconds(t), 'f', -1, 64)
	b = append(b, `,"opcode":`...)
	b = strconv.AppendInt(b, int64(opcode), 10)
	b = append(b, `,"data":`...)
	if opcode == OpText {
		s, _ := json.Marshal(string(data))
		b = append(b, s...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, data)
		b = append(b, '"')
	}
	b = append(b, '}')
	if _, err := w.sw.Write(b); err != nil {
		w.err = fmt.Errorf("write HAR spill file: %w", err)
		return
	}
	if k := len(e.extents); k > 0 && e.extents[k-1].off+e.extents[k-1].n == w.off {
		e.extents[k-1].n += int64(len(b))
	} else {
		e.extents = append(e.extents, extent{w.off, int64(len(b))})
	}
	w.off += int64(len(b))
	e.n++
	if cap(b) <= 64<<10 {
		e.buf = b[:0]
	} else {
		e.buf = nil
	}
}

// End marks the connection finished. Close includes unfinished entries
// too, with what they recorded so far.
func (e *Entry) End() {}

// epochSeconds is t as seconds since the epoch, microsecond precision.
func epochSeconds(t time.Time) float64 {
	us := t.UnixMicro()
	return float64(us/1e6) + float64(us%1e6)/1e6
}

// Close writes the archive: to a temporary file in the destination's
// directory, renamed into place. Later calls return the first result.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	defer os.Remove(w.spill.Name())
	defer w.spill.Close()
	if w.err != nil {
		return w.err
	}
	if err := w.sw.Flush(); err != nil {
		w.err = fmt.Errorf("write HAR spill file: %w", err)
		return w.err
	}
	dir, base := filepath.Split(w.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		w.err = fmt.Errorf("write --har %q: %v", w.path, unwrapPath(err))
		return w.err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	out := bufio.NewWriterSize(tmp, 64<<10)
	err = w.encode(out)
	if err == nil {
		err = out.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), w.path)
	}
	if err != nil {
		w.err = fmt.Errorf("write --har %q: %v", w.path, unwrapPath(err))
	}
	return w.err
}

// encode writes the whole archive (HAR 1.2, log object).
func (w *Writer) encode(out *bufio.Writer) error {
	creator, _ := json.Marshal(map[string]string{"name": w.creator, "version": w.version})
	out.WriteString(`{"log":{"version":"1.2","creator":`)
	out.Write(creator)
	out.WriteString(`,"pages":[],"entries":[`)
	for i, e := range w.entries {
		if i > 0 {
			out.WriteByte(',')
		}
		head, err := json.Marshal(e.document())
		if err != nil {
			return err
		}
		// The document ends with "_webSocketMessages":[]}: open the array
		// and copy the messages from the spill file.
		out.Write(head[:len(head)-2])
		for _, x := range e.extents {
			if _, err := io.Copy(out, io.NewSectionReader(w.spill, x.off, x.n)); err != nil {
				return fmt.Errorf("read HAR spill file: %w", err)
			}
		}
		out.WriteString("]}")
	}
	_, err := out.WriteString("]}}\n")
	return err
}

// document is the entry without its messages, fields in HAR 1.2 order.
func (e *Entry) document() *entryDoc {
	in := &e.info
	d := &entryDoc{
		StartedDateTime: in.Started.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Request: requestDoc{
			Method: in.Method, URL: in.URL, HTTPVersion: in.HTTPVersion,
			Cookies: []nv{}, Headers: pairs(in.RequestHeaders), QueryString: query(in.URL),
			HeadersSize: in.RequestSize, BodySize: 0,
		},
		Response: responseDoc{
			Status: in.Status, StatusText: in.StatusText, HTTPVersion: in.ResponseVersion,
			Cookies: []nv{}, Headers: pairs(in.ResponseHeaders), Content: content{Size: 0, MimeType: "x-unknown"},
			RedirectURL: "", HeadersSize: in.ResponseSize, BodySize: 0,
		},
		Cache:        struct{}{},
		ServerIP:     in.ServerIP,
		Connection:   in.Connection,
		ResourceType: "websocket",
		Messages:     []struct{}{},
	}
	if host, port, err := net.SplitHostPort(in.ServerIP); err == nil {
		// HAR 1.2: the IP address alone; Chrome puts the port in
		// "connection".
		d.ServerIP = host
		if d.Connection == "" {
			d.Connection = port
		}
	}
	if in.Status == 0 {
		d.Response.HTTPVersion = ""
		d.Response.HeadersSize = -1
	}
	if d.Request.HTTPVersion == "" {
		d.Request.HTTPVersion = "HTTP/1.1"
	}
	t := timings{Blocked: -1, DNS: msOrNA(in.DNS), Connect: msOrNA(in.Connect), SSL: msOrNA(in.SSL), Send: msOrZero(in.Send), Wait: msOrZero(in.Wait), Receive: 0}
	if t.Connect >= 0 && t.SSL > 0 {
		t.Connect += t.SSL // HAR 1.2: connect includes ssl
	}
	d.Timings = t
	d.Time = max(t.DNS, 0) + max(t.Connect, 0) + t.Send + t.Wait + t.Receive
	return d
}

func msOrNA(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return float64(d.Microseconds()) / 1000
}

func msOrZero(d time.Duration) float64 { return max(msOrNA(d), 0) }

func pairs(h [][2]string) []nv {
	out := make([]nv, 0, len(h))
	for _, p := range h {
		out = append(out, nv{p[0], p[1]})
	}
	return out
}

func query(raw string) []nv {
	out := []nv{}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return out
	}
	for _, kv := range splitQuery(u.RawQuery) {
		out = append(out, kv)
	}
	return out
}

// splitQuery keeps the query's order, which url.Values would lose.
func splitQuery(q string) []nv {
	var out []nv
	for q != "" {
		var part string
		part, q, _ = cut(q, '&')
		if part == "" {
			continue
		}
		k, v, _ := cut(part, '=')
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, nv{k, v})
	}
	return out
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

type nv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type entryDoc struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         requestDoc  `json:"request"`
	Response        responseDoc `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         timings     `json:"timings"`
	ServerIP        string      `json:"serverIPAddress,omitempty"`
	Connection      string      `json:"connection,omitempty"`
	ResourceType    string      `json:"_resourceType"`
	Messages        []struct{}  `json:"_webSocketMessages"` // must stay last: encode appends to it
}

type requestDoc struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	HTTPVersion string `json:"httpVersion"`
	Cookies     []nv   `json:"cookies"`
	Headers     []nv   `json:"headers"`
	QueryString []nv   `json:"queryString"`
	HeadersSize int    `json:"headersSize"`
	BodySize    int    `json:"bodySize"`
}

type responseDoc struct {
	Status      int     `json:"status"`
	StatusText  string  `json:"statusText"`
	HTTPVersion string  `json:"httpVersion"`
	Cookies     []nv    `json:"cookies"`
	Headers     []nv    `json:"headers"`
	Content     content `json:"content"`
	RedirectURL string  `json:"redirectURL"`
	HeadersSize int     `json:"headersSize"`
	BodySize    int     `json:"bodySize"`
}

type content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
}

type timings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}
