package handshake_test

import (
	"errors"
	"io"
	"testing"

	"github.com/wsdbg/wsdbg/handshake"
)

func TestErrorTexts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&handshake.NotHTTPError{What: "binary data", First: []byte{0, 1}}, `not HTTP: binary data (first bytes "\x00\x01")`},
		{&handshake.HeadTooLargeError{N: 70000}, "head larger than 65536 bytes (70000 bytes read without the blank line that ends it)"},
		{&handshake.IncompleteError{N: 3, Err: io.ErrUnexpectedEOF}, "incomplete head after 3 bytes: unexpected EOF"},
		{&handshake.DialError{Stage: "dns", Err: errors.New(`host "x" not found`)}, `dns: host "x" not found`},
		{&handshake.UsageError{Op: "parse URL", Err: errors.New("no host")}, "parse URL: no host"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	inner := io.ErrUnexpectedEOF
	for _, err := range []error{&handshake.IncompleteError{Err: inner}, &handshake.DialError{Err: inner}, &handshake.UsageError{Err: inner}} {
		if !errors.Is(err, inner) {
			t.Errorf("%T does not unwrap", err)
		}
	}
}

func TestClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c    handshake.Class
		name string
		code int
	}{
		{handshake.ClassOK, "ok", 0},
		{handshake.ClassNoResponse, "no-response", 3},
		{handshake.ClassRefused, "refused", 4},
		{handshake.ClassBadHandshake, "bad-handshake", 5},
		{handshake.ClassExpect, "expect", 7},
	}
	for _, tt := range tests {
		if tt.c.String() != tt.name || tt.c.ExitCode() != tt.code {
			t.Errorf("class %d: %q exit %d, want %q exit %d", tt.c, tt.c, tt.c.ExitCode(), tt.name, tt.code)
		}
	}
	kinds := map[handshake.Kind]string{handshake.KindRequest: "request", handshake.KindID: "id"}
	for k, want := range kinds {
		if k.String() != want {
			t.Errorf("Kind %d = %q, want %q", k, k, want)
		}
	}
	for s, k := range map[handshake.Severity]handshake.Kind{handshake.SevOK: handshake.KindOK, handshake.SevInfo: handshake.KindInfo, handshake.SevWarning: handshake.KindWarning, handshake.SevError: handshake.KindError} {
		if s.Kind() != k {
			t.Errorf("%v.Kind() = %v, want %v", s, s.Kind(), k)
		}
	}
}
