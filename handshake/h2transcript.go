package handshake

import "bytes"

// appendH2Frames writes the frames of an HTTP/2 handshake from the
// from-th as SPEC §10 shows them: one per line ("> " written, "< " read),
// each header block's fields after the frame that ends it.
func (r *Result) appendH2Frames(b *bytes.Buffer, p Painter, from int) {
	for _, f := range r.H2Frames[min(from, len(r.H2Frames)):] {
		k, mark := KindResponse, "< "
		if f.Out {
			k, mark = KindRequest, "> "
		}
		if f.Type == "PREFACE" {
			transcriptLine(b, p, k, mark, "PRI * HTTP/2.0 (client connection preface, RFC 9113 §3.4)")
			continue
		}
		transcriptLine(b, p, k, mark, f.String())
		for _, fl := range f.Fields {
			transcriptLine(b, p, k, mark, fl.Name+": "+RedactedValue(fl.Name, fl.Value, r.shown))
		}
	}
}

// appendH2Tail writes what follows the frames: bytes that were not HTTP/2,
// the diagnostics, the later notes and the summary.
func (r *Result) appendH2Tail(b *bytes.Buffer, p Painter) {
	if r.Response == nil && len(r.Partial) > 0 {
		h := parseHead(string(r.Partial), r.Partial)
		for _, l := range h.RedactedLines(r.shown) {
			transcriptLine(b, p, KindResponse, "< ", l)
		}
	}
	r.appendDiagnostics(b, p)
	for _, n := range r.Later {
		transcriptLine(b, p, KindNote, "* ", n)
	}
	transcriptLine(b, p, KindNote, "* ", r.summary())
}

// h2 writes the notes and HTTP/2 frames of r not written yet, while the
// handshake runs.
func (l *Live) h2(r *Result) {
	if l == nil {
		return
	}
	r.appendNotes(&l.buf, l.p, l.notes)
	l.notes = len(r.Notes)
	r.appendH2Frames(&l.buf, l.p, r.h2Live)
	r.h2Live = len(r.H2Frames)
	l.flush()
}

// DocFrame is one HTTP/2 frame in the JSON document (SPEC §10).
type DocFrame struct {
	Dir    string      `json:"dir"` // "out" or "in"
	Type   string      `json:"type"`
	Flags  []string    `json:"flags"`
	Stream uint32      `json:"stream"`
	Length int         `json:"length"`
	Detail string      `json:"detail,omitempty"`
	Fields [][2]string `json:"fields,omitempty"`
}

// docFrames converts the handshake's frames for the JSON document.
func (r *Result) docFrames() []DocFrame {
	out := make([]DocFrame, 0, len(r.H2Frames))
	for _, f := range r.H2Frames {
		d := DocFrame{Dir: "in", Type: f.Type, Flags: f.Flags, Stream: f.Stream, Length: f.Length, Detail: f.Detail}
		if f.Out {
			d.Dir = "out"
		}
		if d.Flags == nil {
			d.Flags = []string{}
		}
		for _, fl := range f.Fields {
			d.Fields = append(d.Fields, [2]string{fl.Name, RedactedValue(fl.Name, fl.Value, r.shown)})
		}
		out = append(out, d)
	}
	return out
}
