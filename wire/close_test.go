package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

func TestParseClose(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		payload  string
		code     wire.CloseCode
		hasCode  bool
		reason   string
		errCode  wire.CloseCode // 0: no error
		errMatch string
	}{
		{"empty", "", 0, false, "", 0, ""},
		{"1000", "\x03\xe8", 1000, true, "", 0, ""},
		{"1000 with reason", "\x03\xe8bye", 1000, true, "bye", 0, ""},
		{"3000", "\x0b\xb8", 3000, true, "", 0, ""},
		{"4999 utf-8 reason", "\x13\x87héllo €", 4999, true, "héllo €", 0, ""},
		{"1012 registered", "\x03\xf4", 1012, true, "", 0, ""},
		{"one byte", "\x03", 0, false, "", 1002, "1-byte payload 0x03"},
		{"0", "\x00\x00", 0, true, "", 1002, "close code 0 (invalid)"},
		{"999", "\x03\xe7", 999, true, "", 1002, "close code 999 (invalid)"},
		{"1004", "\x03\xec", 1004, true, "", 1002, "1004 (reserved)"},
		{"1005", "\x03\xed", 1005, true, "", 1002, "1005 (no status received)"},
		{"1006", "\x03\xee", 1006, true, "", 1002, "1006 (abnormal closure)"},
		{"1015", "\x03\xf7", 1015, true, "", 1002, "1015 (TLS handshake)"},
		{"1016", "\x03\xf8", 1016, true, "", 1002, "1016 (reserved)"},
		{"2999", "\x0b\xb7", 2999, true, "", 1002, "2999 (reserved)"},
		{"5000", "\x13\x88", 5000, true, "", 1002, "5000 (invalid)"},
		{"65535", "\xff\xff", 65535, true, "", 1002, "65535"},
		{"invalid utf-8 reason", "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 1000, true,
			"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 1007, "is not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, has, reason, err := wire.ParseClose([]byte(tc.payload))
			if code != tc.code || has != tc.hasCode || reason != tc.reason {
				t.Fatalf("ParseClose = %d %v %q, want %d %v %q", code, has, reason, tc.code, tc.hasCode, tc.reason)
			}
			if tc.errCode == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || pe.Code != tc.errCode {
				t.Fatalf("err = %v, want *ProtocolError with code %d", err, tc.errCode)
			}
			if !strings.Contains(pe.Reason, tc.errMatch) {
				t.Fatalf("reason %q does not contain %q", pe.Reason, tc.errMatch)
			}
		})
	}
}

func TestAppendCloseRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code   wire.CloseCode
		reason string
		want   string
	}{
		{0, "ignored", ""},
		{1000, "", "\x03\xe8"},
		{1001, "going", "\x03\xe9going"},
		{4000, "ünïcode", "\x0f\xa0ünïcode"},
	} {
		got := wire.AppendClose([]byte("x"), tc.code, tc.reason)
		if string(got) != "x"+tc.want {
			t.Errorf("AppendClose(%d, %q) = %q, want %q", tc.code, tc.reason, got, "x"+tc.want)
		}
		code, has, reason, err := wire.ParseClose(got[1:])
		if err != nil || code != tc.code || has != (tc.code != 0) || (has && reason != tc.reason) {
			t.Errorf("ParseClose(AppendClose(%d, %q)) = %d %v %q %v", tc.code, tc.reason, code, has, reason, err)
		}
	}
}

func TestCloseCodeNames(t *testing.T) {
	t.Parallel()
	for code, want := range map[wire.CloseCode]string{
		1000: "1000 (normal closure)", 1001: "1001 (going away)", 1002: "1002 (protocol error)",
		1003: "1003 (unsupported data)", 1005: "1005 (no status received)", 1006: "1006 (abnormal closure)",
		1007: "1007 (invalid frame payload data)", 1008: "1008 (policy violation)", 1009: "1009 (message too big)",
		1010: "1010 (mandatory extension)", 1011: "1011 (internal error)", 1012: "1012 (service restart)",
		1013: "1013 (try again later)", 1014: "1014 (bad gateway)", 1015: "1015 (TLS handshake)",
		3000: "3000 (registered)", 4000: "4000 (private use)", 2000: "2000 (reserved)", 10: "10 (invalid)",
	} {
		if got := code.String(); got != want {
			t.Errorf("CloseCode(%d).String() = %q, want %q", code, got, want)
		}
	}
}

func TestValidOnWire(t *testing.T) {
	t.Parallel()
	for c := 0; c <= 0xffff; c++ {
		code := wire.CloseCode(c)
		want := (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
		if code.ValidOnWire() != want {
			t.Fatalf("CloseCode(%d).ValidOnWire() = %v, want %v", c, !want, want)
		}
	}
}

func TestCloseError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    wire.CloseError
		want string
	}{
		{wire.CloseError{}, "peer closed the connection without a status code"},
		{wire.CloseError{Code: 1000, HasCode: true}, "peer closed the connection: 1000 (normal closure)"},
		{wire.CloseError{Code: 4001, HasCode: true, Reason: "bye\x1b"}, `peer closed the connection: 4001 (private use) "bye\x1b"`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
