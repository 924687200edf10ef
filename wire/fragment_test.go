package wire_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wsdbg/wsdbg/wire"
)

var invalidAt = regexp.MustCompile(`invalid UTF-8 .* at byte (\d+)`)

// readLog reads data until an error and records every message, every
// frame OnFrame saw and the final error, so that two ways of feeding the
// same bytes can be compared.
func readLog(in io.Reader, role wire.Role, limit int64) string {
	var log strings.Builder
	cfg := wire.Config{Role: role, MaxMessageSize: limit, OnFrame: func(d wire.Direction, h wire.Header, p []byte) {
		fmt.Fprintf(&log, "frame fin=%v op=%v len=%d got=%q\n", h.Fin, h.Op, h.Length, describe(h.Op, p))
	}}
	c := wire.NewConn(bufio.NewReader(in), io.Discard, cfg)
	for range 10000 {
		m, err := c.Read()
		if err != nil {
			// Text fails at its first invalid byte: the frame reported
			// then holds what had arrived and the error quotes what
			// followed the byte, both of which depend on buffering; the
			// position does not.
			if m := invalidAt.FindStringSubmatch(err.Error()); m != nil {
				s := strings.TrimSuffix(log.String(), "\n")
				if i := strings.LastIndexByte(s, '\n'); strings.HasPrefix(s[i+1:], "frame") {
					log.Reset()
					log.WriteString(s[:i+1])
				}
				fmt.Fprintf(&log, "error invalid UTF-8 at byte %s\n", m[1])
				break
			}
			fmt.Fprintf(&log, "error %v\n", err)
			break
		}
		fmt.Fprintf(&log, "message %q frames=%d\n", describe(m.Op, m.Data), m.Frames)
	}
	return log.String()
}

// TestFragmentsAnyBuffering reads messages in many fragments of random
// sizes (7-bit and 16-bit lengths, text cut inside UTF-8 sequences, pings
// between fragments, some invalid text, some over the limit, some with a
// reserved bit or a non-minimal length) once with the whole input
// buffered and once a byte at a time: whether frames are taken from the
// read buffer in one pass or one by one, the messages, the frames
// reported and the error must be the same.
func TestFragmentsAnyBuffering(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(12, 12))
	for i := range 200 {
		for _, role := range roles {
			var frames []pf
			for range 1 + rng.IntN(4) {
				op := wire.OpText
				if rng.IntN(2) == 0 {
					op = wire.OpBinary
				}
				msg := strings.Repeat("aκόσμε€𝄞", 1+rng.IntN(300))
				if rng.IntN(10) == 0 {
					b := []byte(msg)
					b[rng.IntN(len(b))] = 0xff
					msg = string(b)
				}
				for len(msg) > 0 {
					n := min(len(msg), 1+rng.IntN(200))
					if rng.IntN(8) == 0 {
						n = 0
					}
					f := frag(op, msg[:n])
					msg = msg[n:]
					op = wire.OpContinuation
					if len(msg) == 0 {
						f.h.Fin = true
					}
					switch rng.IntN(60) {
					case 0:
						f.h.Rsv2 = true
					case 1:
						f.h.NonMinimal = true
					}
					frames = append(frames, f)
					if rng.IntN(20) == 0 {
						frames = append(frames, fin(wire.OpPing, "p"))
					}
				}
			}
			in := encode(role, frames...)
			limit := int64(1 << 20)
			if i%5 == 0 {
				limit = int64(1 + rng.IntN(3000))
			}
			whole := readLog(bytes.NewReader(in), role, limit)
			bytewise := readLog(iotest.OneByteReader(bytes.NewReader(in)), role, limit)
			if whole != bytewise {
				t.Fatalf("case %d, %v: read whole:\n%s\nread a byte at a time:\n%s", i, role, whole, bytewise)
			}
			if !strings.Contains(whole, "message") && !strings.Contains(whole, "error") {
				t.Fatalf("case %d: nothing read:\n%s", i, whole)
			}
		}
	}
}
