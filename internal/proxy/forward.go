package proxy

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/wsdbg/wsdbg/handshake"
)

// Rewrite says how the client's request head is changed on its way
// upstream (SPEC §9).
type Rewrite struct {
	// Host is the Host value sent upstream; "" keeps the client's
	// (--keep-host).
	Host string
	// Target replaces the request target; "" keeps the client's.
	Target string
	// Headers are -H "Name: value" fields: the first -H of a name the
	// client sent replaces the client's first line of that name in place
	// (its other lines of that name are dropped); later -H of the same name
	// follow it; names the client did not send are added at the end.
	Headers []string
	// Omit drops every line with one of these names (--omit).
	Omit []string
}

// Change is one difference between the client's head and the forwarded
// one, for the log.
type Change struct{ Was, Now string }

// TargetFor returns the request target to send upstream: the client's,
// unless the upstream URL has a path other than "/" (SPEC §9), in which
// case the upstream's path and query.
func TargetFor(up *url.URL) string {
	if up.Path == "" || up.Path == "/" {
		if up.RawQuery == "" {
			return ""
		}
	}
	return handshake.RequestTarget(up)
}

// ForwardHead returns the bytes of req's head as sent upstream: every line
// in the client's order with its own line ending, except what rw changes,
// and what changed.
func ForwardHead(req *handshake.Request, rw Rewrite) ([]byte, []Change, error) {
	type add struct{ name, value string }
	var adds []add
	for _, h := range rw.Headers {
		name, value, err := handshake.ParseHeader(h)
		if err != nil {
			return nil, nil, err
		}
		adds = append(adds, add{name, value})
	}
	eol := req.StartEOL
	if eol == "" {
		eol = "\r\n"
	}
	var changes []Change
	var b strings.Builder
	b.Grow(len(req.Raw) + 64)

	start := req.StartLine
	if rw.Target != "" && req.Target != rw.Target {
		start = req.Method + " " + rw.Target + " " + req.Proto
		changes = append(changes, Change{req.StartLine, start})
	}
	b.WriteString(start)
	b.WriteString(eol)

	omitted := func(name string) bool {
		for _, o := range rw.Omit {
			if strings.EqualFold(o, name) {
				return true
			}
		}
		return false
	}
	userFor := func(name string) []add {
		var out []add
		for _, a := range adds {
			if strings.EqualFold(a.name, name) {
				out = append(out, a)
			}
		}
		return out
	}
	used := make(map[string]bool) // lower-case names whose -H are placed
	hostDone := rw.Host == ""
	if !hostDone && req.Count("Host") == 0 && !omitted("Host") && len(userFor("Host")) == 0 {
		// A request without Host still gets the upstream's (RFC 9112 §3.2).
		b.WriteString("Host: " + rw.Host + eol)
		changes = append(changes, Change{"", "Host: " + rw.Host})
		hostDone = true
	}
	dropping := false // the current field is dropped, with its folded lines
	for _, f := range req.Fields {
		if f.Folded {
			if !dropping {
				b.WriteString(f.Raw + f.EOL)
			}
			continue
		}
		dropping = false
		if f.Name != "" {
			key := strings.ToLower(f.Name)
			switch user := userFor(f.Name); {
			case omitted(f.Name):
				dropping = true
				changes = append(changes, Change{f.Raw, ""})
				continue
			case len(user) > 0:
				dropping = true
				if used[key] {
					changes = append(changes, Change{f.Raw, ""})
					continue
				}
				used[key] = true
				for i, a := range user {
					line := a.name + ": " + a.value
					was := ""
					if i == 0 {
						was = f.Raw
					}
					b.WriteString(line + f.EOL)
					changes = append(changes, Change{was, line})
				}
				if key == "host" {
					hostDone = true
				}
				continue
			case key == "host" && !hostDone:
				hostDone = true
				if f.Value != rw.Host {
					line := f.Raw[:strings.IndexByte(f.Raw, ':')+1] + " " + rw.Host
					b.WriteString(line + f.EOL)
					changes = append(changes, Change{f.Raw, line})
					dropping = true
					continue
				}
			}
		}
		b.WriteString(f.Raw + f.EOL)
	}
	for _, a := range adds {
		if key := strings.ToLower(a.name); !used[key] {
			line := a.name + ": " + a.value
			b.WriteString(line + eol)
			changes = append(changes, Change{"", line})
		}
	}
	end := req.EndEOL
	if end == "" {
		end = eol
	}
	b.WriteString(end)
	return []byte(b.String()), changes, nil
}

// describe formats a change for the log.
func (c Change) describe() string {
	switch {
	case c.Was == "":
		return fmt.Sprintf("added %q", c.Now)
	case c.Now == "":
		return fmt.Sprintf("dropped %q", c.Was)
	}
	return fmt.Sprintf("%q instead of %q", c.Now, c.Was)
}
