package wire_test

import (
	"strings"
	"testing"

	"github.com/wsdbg/wsdbg/wire"
)

func TestParseDeflateValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want wire.DeflateParams
		str  string // String() of the result
	}{
		{"permessage-deflate", wire.DeflateParams{}, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits",
			wire.DeflateParams{ClientMaxWindowBits: -1}, "permessage-deflate; client_max_window_bits"},
		{"permessage-deflate;client_max_window_bits=10",
			wire.DeflateParams{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=10"},
		{"permessage-deflate ;\tserver_no_context_takeover ; client_no_context_takeover",
			wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"  permessage-deflate; server_max_window_bits = 8  ",
			wire.DeflateParams{ServerMaxWindowBits: 8}, "permessage-deflate; server_max_window_bits=8"},
		{`permessage-deflate; server_max_window_bits="15"`,
			wire.DeflateParams{ServerMaxWindowBits: 15}, "permessage-deflate; server_max_window_bits=15"},
		{`permessage-deflate; client_max_window_bits="1\2"`,
			wire.DeflateParams{ClientMaxWindowBits: 12}, "permessage-deflate; client_max_window_bits=12"},
		{"PerMessage-Deflate; server_max_window_bits=9",
			wire.DeflateParams{ServerMaxWindowBits: 9}, "permessage-deflate; server_max_window_bits=9"},
		{"permessage-deflate; client_max_window_bits=15; server_max_window_bits=10; client_no_context_takeover; server_no_context_takeover",
			wire.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 15},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=15"},
	}
	for _, tt := range tests {
		got, err := wire.ParseDeflate(tt.in)
		if err != nil {
			t.Errorf("ParseDeflate(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDeflate(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseDeflate(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		again, err := wire.ParseDeflate(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q: ParseDeflate(%q) = %+v, %v; want %+v", tt.in, got.String(), again, err, got)
		}
	}
}

func TestParseDeflateInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string // substrings of the error, naming the values
	}{
		{"permessage-deflate; foo", []string{`unknown parameter "foo"`}},
		{"permessage-deflate; foo=bar", []string{`unknown parameter "foo=bar"`}},
		{"permessage-deflate; Server_No_Context_Takeover", []string{`unknown parameter "Server_No_Context_Takeover"`}},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
			[]string{`"server_no_context_takeover" is repeated`}},
		{"permessage-deflate; client_max_window_bits; client_max_window_bits=10",
			[]string{`"client_max_window_bits" is repeated`}},
		{"permessage-deflate; server_no_context_takeover=1", []string{`"server_no_context_takeover" takes no value, got "server_no_context_takeover=1"`}},
		{"permessage-deflate; client_no_context_takeover=true", []string{`got "client_no_context_takeover=true"`}},
		{"permessage-deflate; server_max_window_bits", []string{`"server_max_window_bits" needs a value from 8 to 15`}},
		{"permessage-deflate; server_max_window_bits=16", []string{`server_max_window_bits value "16" is outside 8..15`}},
		{"permessage-deflate; server_max_window_bits=7", []string{`server_max_window_bits value "7" is outside 8..15`}},
		{"permessage-deflate; client_max_window_bits=0", []string{`client_max_window_bits value "0" is outside 8..15`}},
		{"permessage-deflate; client_max_window_bits=100", []string{`client_max_window_bits value "100" is outside 8..15`}},
		{"permessage-deflate; client_max_window_bits=08", []string{`client_max_window_bits value "08" has a leading zero`}},
		{"permessage-deflate; server_max_window_bits=abc", []string{`server_max_window_bits value "abc" is not a number`}},
		{"permessage-deflate; server_max_window_bits=1x", []string{`server_max_window_bits value "1x" is not a number`}},
		{"permessage-deflate; server_max_window_bits=-9", []string{`server_max_window_bits value "-9" is not a number`}},
		{`permessage-deflate; server_max_window_bits="16"`, []string{`server_max_window_bits value "\"16\"" is outside 8..15`}},
		{`permessage-deflate; server_max_window_bits="1 0"`, []string{`quoted value "1 0" of parameter "server_max_window_bits" is not a token`}},
		{`permessage-deflate; server_max_window_bits="10`, []string{`quoted string "10 is not closed`}},
		{`permessage-deflate; server_max_window_bits="1\`, []string{`lone backslash`}},
		{"permessage-deflate; server_max_window_bits=", []string{`parameter "server_max_window_bits" has "=" but no value`}},
		{"x-webkit-deflate-frame", []string{`extension "x-webkit-deflate-frame" is not permessage-deflate`}},
		{"", []string{`does not start with an extension name`}},
		{"; server_no_context_takeover", []string{`does not start with an extension name`}},
		{"permessage-deflate;", []string{`ends with ";" but no parameter follows`}},
		{"permessage-deflate; ; x", []string{`expected a parameter name at byte 20`, `found ";"`}},
		{"permessage-deflate server_no_context_takeover", []string{`unexpected "s" at byte 19`}},
		{"permessage-deflate, permessage-deflate", []string{`unexpected "," at byte 18`}},
		{"permessage-deflate; foo; server_max_window_bits=99",
			[]string{`unknown parameter "foo"`, `server_max_window_bits value "99" is outside 8..15`}},
	}
	for _, tt := range tests {
		_, err := wire.ParseDeflate(tt.in)
		if err == nil {
			t.Errorf("ParseDeflate(%q): no error, want one containing %q", tt.in, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "parse permessage-deflate element ") {
			t.Errorf("ParseDeflate(%q) error %q does not name the operation", tt.in, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("ParseDeflate(%q) error %q does not contain %q", tt.in, msg, w)
			}
		}
	}
}

func TestDeflateParamsStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, snt := range []bool{false, true} {
		for _, cnt := range []bool{false, true} {
			for _, sb := range []int{0, 8, 12, 15} {
				for _, cb := range []int{-1, 0, 9, 15} {
					p := wire.DeflateParams{ServerNoContextTakeover: snt, ClientNoContextTakeover: cnt,
						ServerMaxWindowBits: sb, ClientMaxWindowBits: cb}
					got, err := wire.ParseDeflate(p.String())
					if err != nil || got != p {
						t.Errorf("ParseDeflate(%q) = %+v, %v; want %+v", p.String(), got, err, p)
					}
				}
			}
		}
	}
}

func TestDeflateOffer(t *testing.T) {
	t.Parallel()
	if got, want := wire.DeflateOffer(), "permessage-deflate; client_max_window_bits"; got != want {
		t.Fatalf("DeflateOffer() = %q, want %q", got, want)
	}
	p, err := wire.ParseDeflate(wire.DeflateOffer())
	if err != nil || p != (wire.DeflateParams{ClientMaxWindowBits: -1}) {
		t.Fatalf("ParseDeflate(DeflateOffer()) = %+v, %v", p, err)
	}
}

func TestCheckDeflateResponse(t *testing.T) {
	t.Parallel()
	offer := wire.DeflateOffer()
	tests := []struct {
		name     string
		offers   []string
		response string
		want     wire.DeflateParams // params in force
		problems []string           // one substring per expected sentence, in order
	}{
		{name: "plain", offers: []string{offer}, response: "permessage-deflate"},
		{name: "client window granted", offers: []string{offer}, response: "permessage-deflate; client_max_window_bits=10",
			want: wire.DeflateParams{ClientMaxWindowBits: 10}},
		{name: "server window unsolicited (§7.1.2.1 allows)", offers: []string{offer}, response: "permessage-deflate; server_max_window_bits=9",
			want: wire.DeflateParams{ServerMaxWindowBits: 9}},
		{name: "server_no_context_takeover unsolicited (§7.1.1.1 allows)", offers: []string{"permessage-deflate"},
			response: "permessage-deflate; server_no_context_takeover", want: wire.DeflateParams{ServerNoContextTakeover: true}},
		{name: "client_no_context_takeover unsolicited (§7.1.1.2 allows)", offers: []string{"permessage-deflate"},
			response: "permessage-deflate; client_no_context_takeover", want: wire.DeflateParams{ClientNoContextTakeover: true}},
		{name: "client_no_context_takeover promised in offer", offers: []string{"permessage-deflate; client_no_context_takeover"},
			response: "permessage-deflate", want: wire.DeflateParams{ClientNoContextTakeover: true}},
		{name: "offered client window in force", offers: []string{"permessage-deflate; client_max_window_bits=10"},
			response: "permessage-deflate", want: wire.DeflateParams{ClientMaxWindowBits: 10}},
		{name: "smaller client window", offers: []string{"permessage-deflate; client_max_window_bits=10"},
			response: "permessage-deflate; client_max_window_bits=9", want: wire.DeflateParams{ClientMaxWindowBits: 9}},
		{name: "smaller server window", offers: []string{"permessage-deflate; server_max_window_bits=10"},
			response: "permessage-deflate; server_max_window_bits=8", want: wire.DeflateParams{ServerMaxWindowBits: 8}},
		{name: "server_no_context_takeover granted", offers: []string{"permessage-deflate; server_no_context_takeover"},
			response: "permessage-deflate; server_no_context_takeover", want: wire.DeflateParams{ServerNoContextTakeover: true}},

		{name: "unknown parameter", offers: []string{offer}, response: "permessage-deflate; mux=1",
			problems: []string{`unknown parameter "mux=1"`}},
		{name: "repeated parameter", offers: []string{offer}, response: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
			want: wire.DeflateParams{ServerNoContextTakeover: true}, problems: []string{`parameter "server_no_context_takeover" is repeated`}},
		{name: "value on no_context_takeover", offers: []string{offer}, response: "permessage-deflate; client_no_context_takeover=yes",
			problems: []string{`got "client_no_context_takeover=yes"`}},
		{name: "server window above 15", offers: []string{offer}, response: "permessage-deflate; server_max_window_bits=16",
			problems: []string{`server_max_window_bits value "16" is outside 8..15`}},
		{name: "client window below 8", offers: []string{offer}, response: "permessage-deflate; client_max_window_bits=7",
			problems: []string{`client_max_window_bits value "7" is outside 8..15`}},
		{name: "window not a number", offers: []string{offer}, response: "permessage-deflate; server_max_window_bits=big",
			problems: []string{`server_max_window_bits value "big" is not a number from 8 to 15`}},
		{name: "server window without value", offers: []string{offer}, response: "permessage-deflate; server_max_window_bits",
			problems: []string{`"server_max_window_bits" needs a value`}},
		{name: "client window without value in response", offers: []string{offer}, response: "permessage-deflate; client_max_window_bits",
			problems: []string{`"client_max_window_bits" has no value; in a response it needs a value from 8 to 15`}},
		{name: "client window not offered", offers: []string{"permessage-deflate"}, response: "permessage-deflate; client_max_window_bits=10",
			want:     wire.DeflateParams{ClientMaxWindowBits: 10},
			problems: []string{`client_max_window_bits=10 in the response, but the offer "permessage-deflate" does not include client_max_window_bits`}},
		{name: "client window larger than offered", offers: []string{"permessage-deflate; client_max_window_bits=10"},
			response: "permessage-deflate; client_max_window_bits=12", want: wire.DeflateParams{ClientMaxWindowBits: 12},
			problems: []string{`client_max_window_bits=12 in the response is larger than the 10 offered`}},
		{name: "server window larger than offered", offers: []string{"permessage-deflate; server_max_window_bits=10"},
			response: "permessage-deflate; server_max_window_bits=11", want: wire.DeflateParams{ServerMaxWindowBits: 11},
			problems: []string{`server_max_window_bits=11 in the response is larger than the 10 offered`}},
		{name: "server window request ignored", offers: []string{"permessage-deflate; server_max_window_bits=10"},
			response: "permessage-deflate",
			problems: []string{`limits server_max_window_bits to 10 but the response does not include server_max_window_bits`}},
		{name: "server_no_context_takeover request ignored", offers: []string{"permessage-deflate; server_no_context_takeover"},
			response: "permessage-deflate",
			problems: []string{`asks for server_no_context_takeover but the response does not include it`}},
		{name: "second offer accepted", offers: []string{"permessage-deflate; server_max_window_bits=10", "permessage-deflate"},
			response: "permessage-deflate; server_max_window_bits=12", want: wire.DeflateParams{ServerMaxWindowBits: 12}},
		{name: "second offer's promise in force", offers: []string{"permessage-deflate; server_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
			response: "permessage-deflate", want: wire.DeflateParams{ClientNoContextTakeover: true}},
		{name: "other extensions ignored", offers: []string{"x-webkit-deflate-frame", offer},
			response: "permessage-deflate; client_max_window_bits=15", want: wire.DeflateParams{ClientMaxWindowBits: 15}},
		{name: "no offer matches", offers: []string{"permessage-deflate; server_no_context_takeover", "permessage-deflate; server_max_window_bits=9; server_no_context_takeover"},
			response: "permessage-deflate; server_max_window_bits=10",
			want:     wire.DeflateParams{ServerMaxWindowBits: 10},
			problems: []string{`asks for server_no_context_takeover but the response does not include it (RFC 7692 §7.1.1.1); the response matches none of the 2 offers`}},
		{name: "not offered", offers: []string{"x-webkit-deflate-frame"}, response: "permessage-deflate",
			problems: []string{`the response accepts permessage-deflate, which the client did not offer`}},
		{name: "no offers", offers: nil, response: "permessage-deflate",
			problems: []string{`which the client did not offer`}},
		{name: "malformed", offers: []string{"permessage-deflate; server_no_context_takeover"}, response: "permessage-deflate; ; server_no_context_takeover",
			problems: []string{`expected a parameter name at byte 20`}},
		{name: "other extension", offers: []string{"permessage-deflate; server_max_window_bits=10"}, response: "deflate-stream",
			problems: []string{`extension "deflate-stream" is not permessage-deflate`}},
		{name: "several problems", offers: []string{"permessage-deflate"},
			response: "permessage-deflate; x=1; server_max_window_bits=20; client_max_window_bits=9",
			want:     wire.DeflateParams{ClientMaxWindowBits: 9},
			problems: []string{`unknown parameter "x=1"`, `server_max_window_bits value "20" is outside 8..15`, `client_max_window_bits=9 in the response, but the offer`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, problems := wire.CheckDeflateResponse(tt.offers, tt.response)
			if got != tt.want {
				t.Errorf("params = %+v, want %+v", got, tt.want)
			}
			if len(tt.problems) == 0 {
				if problems != nil {
					t.Errorf("problems = %q, want nil", problems)
				}
				return
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d matching %q", problems, len(tt.problems), tt.problems)
			}
			for i, w := range tt.problems {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
				}
			}
		})
	}
}

func TestAcceptDeflate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		offers []string
		want   string // response element; "" = declined
	}{
		{"chrome", []string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate"},
		{"firefox", []string{"permessage-deflate"}, "permessage-deflate"},
		{"gorilla client", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"client window value", []string{"permessage-deflate; client_max_window_bits=9"}, "permessage-deflate"},
		{"server window requested", []string{"permessage-deflate; server_max_window_bits=10; client_max_window_bits"},
			"permessage-deflate; server_max_window_bits=10"},
		{"smallest server window", []string{"permessage-deflate; server_max_window_bits=8"}, "permessage-deflate; server_max_window_bits=8"},
		{"first of several", []string{"permessage-deflate; server_no_context_takeover; client_max_window_bits", "permessage-deflate"},
			"permessage-deflate; server_no_context_takeover"},
		{"first valid of several", []string{
			"permessage-deflate; server_max_window_bits=20",
			"permessage-deflate; mux",
			"permessage-deflate; client_max_window_bits; client_max_window_bits",
			"permessage-deflate; server_max_window_bits=9; server_no_context_takeover",
			"permessage-deflate",
		}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"},
		{"other extensions skipped", []string{"x-webkit-deflate-frame", "permessage-deflate; client_max_window_bits"}, "permessage-deflate"},
		{"none valid", []string{"permessage-deflate; server_max_window_bits", "permessage-deflate; foo"}, ""},
		{"malformed", []string{"permessage-deflate;;"}, ""},
		{"no offers", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, ok := wire.AcceptDeflate(tt.offers)
			if tt.want == "" {
				if ok {
					t.Fatalf("AcceptDeflate(%q) = %q, true; want declined", tt.offers, resp)
				}
				return
			}
			if !ok {
				t.Fatalf("AcceptDeflate(%q) declined, want %q", tt.offers, tt.want)
			}
			if resp.String() != tt.want {
				t.Errorf("AcceptDeflate(%q) = %q, want %q", tt.offers, resp, tt.want)
			}
			// What the server answers, the client must find valid.
			if _, problems := wire.CheckDeflateResponse(tt.offers, resp.String()); problems != nil {
				t.Errorf("CheckDeflateResponse of the accepted response %q: %q", resp, problems)
			}
		})
	}
}
