package handshake

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
)

func TestNoProxyMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		noProxy, host, port string
		want                bool
	}{
		{"", "example.com", "80", false},
		{"*", "example.com", "80", true},
		{"*", "127.0.0.1", "80", true},
		{"example.com", "example.com", "80", true},
		{"example.com", "EXAMPLE.com", "80", true},
		{"Example.COM", "example.com", "80", true},
		{"example.com", "www.example.com", "443", true},
		{"example.com", "badexample.com", "80", false},
		{"example.com", "example.com.", "80", true},
		{".example.com", "www.example.com", "80", true},
		{".example.com", "example.com", "80", false},
		{"*.example.com", "a.b.example.com", "80", true},
		{"*.example.com", "example.com", "80", false},
		{"example.com:8080", "example.com", "8080", true},
		{"example.com:8080", "example.com", "80", false},
		{"a.test, example.com ,b.test", "example.com", "80", true},
		{"a.test,,b.test", "example.com", "80", false},
		{"10.1.2.3", "10.1.2.3", "80", true},
		{"10.1.2.3", "10.1.2.4", "80", false},
		{"10.1.2.3:9000", "10.1.2.3", "80", false},
		{"10.0.0.0/8", "10.200.1.1", "80", true},
		{"10.0.0.0/8", "11.0.0.1", "80", false},
		{"10.0.0.0/8", "ten.example", "80", false},
		{"::1", "::1", "80", true},
		{"[::1]", "[::1]", "80", true},
		{"[::1]:80", "::1", "80", true},
		{"fd00::/8", "fd12::1", "443", true},
		// Loopback is not special (curl's rule, unlike Go's httpproxy).
		{"", "localhost", "80", false},
		{"", "127.0.0.1", "80", false},
		{"localhost", "127.0.0.1", "80", false},
		{"localhost", "localhost", "80", true},
		{"127.0.0.1", "localhost", "80", false},
	}
	for _, tt := range tests {
		if got := noProxyMatch(tt.noProxy, tt.host, tt.port); got != tt.want {
			t.Errorf("noProxyMatch(%q, %q, %q) = %v; want %v", tt.noProxy, tt.host, tt.port, got, tt.want)
		}
	}
}

func TestParseProxyURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		hostPort string // proxyHostPort of the result; "" → error
		errHas   string
	}{
		{"http://127.0.0.1:3128", "127.0.0.1:3128", ""},
		{"127.0.0.1:3128", "127.0.0.1:3128", ""},
		{"proxy.example", "proxy.example:80", ""},
		{"HTTPS://proxy.example", "proxy.example:443", ""},
		{"socks5://[::1]", "[::1]:1080", ""},
		{"socks5h://u:p@h:1", "h:1", ""},
		{"http://u:p@h:8080/", "h:8080", ""},
		{"ftp://h:21", "", `scheme "ftp"`},
		{"http://", "", "no host"},
		{"http://h:99999", "", `port "99999"`},
		{"http://h:1/path", "", "path"},
		{"http://h:1 x", "", "not a URL"},
	}
	for _, tt := range tests {
		u, err := ParseProxyURL(tt.in)
		if tt.hostPort == "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), tt.in) {
				t.Errorf("ParseProxyURL(%q) error %v; want one naming the value and %q", tt.in, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseProxyURL(%q): %v", tt.in, err)
			continue
		}
		if got := proxyHostPort(u); got != tt.hostPort {
			t.Errorf("ParseProxyURL(%q) → %q; want %q", tt.in, got, tt.hostPort)
		}
	}
}

func TestEscapeNote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain text ü", "plain text ü"},
		{"a\x1b[31mb", `a\x1b[31mb`},
		{"tab\there", `tab\x09here`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"c1\u0085", `c1\xc2\x85`},
		{"del\x7f", `del\x7f`},
	}
	for _, tt := range tests {
		if got := escapeNote(tt.in); got != tt.want {
			t.Errorf("escapeNote(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseProxyURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:3128", "127.0.0.1:3128", "socks5://u:p@[::1]", "https://h", "ftp://h", "http://h:1/p", "http://%zz", "h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseProxyURL(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Errorf("error %q does not name the value %q", err, s)
			}
			return
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			t.Errorf("accepted scheme %q", u.Scheme)
		}
		host, port, err := net.SplitHostPort(proxyHostPort(u))
		if err != nil || host == "" || port == "" {
			t.Errorf("proxyHostPort(%q) = %q: %v", s, proxyHostPort(u), err)
		}
	})
}

var plainName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*$`)

func FuzzNoProxyMatch(f *testing.F) {
	f.Add("example.com, .test,10.0.0.0/8,[::1]:80", "www.example.com", "80")
	f.Add("*", "h", "1")
	f.Add("::1", "[::1]", "443")
	f.Fuzz(func(t *testing.T, noProxy, host, port string) {
		got := noProxyMatch(noProxy, host, port)
		if strings.Trim(host, "[].") != "" && !noProxyMatch("*", host, port) {
			t.Errorf("* does not match %q", host)
		}
		if got && strings.TrimSpace(noProxy) == "" {
			t.Errorf("empty NO_PROXY matches %q", host)
		}
		if h := strings.ToLower(host); plainName.MatchString(h) {
			if !noProxyMatch(h, host, port) {
				t.Errorf("%q does not match itself", h)
			}
			if net.ParseIP(h) == nil && !noProxyMatch(h, "sub."+host, port) {
				t.Errorf("%q does not match sub.%s", h, host)
			}
			if noProxyMatch(h, "x"+host, port) {
				t.Errorf("%q matches x%s", h, host)
			}
		}
	})
}

func BenchmarkNoProxyMatch(b *testing.B) {
	const list = "localhost, 127.0.0.0/8, ::1, .internal.example, example.com:8080, 10.0.0.0/8, *.corp.test"
	b.ReportAllocs()
	for b.Loop() {
		noProxyMatch(list, "api.service.corp.test", "443")
	}
}
