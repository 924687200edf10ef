package probe_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
	"github.com/wsdbg/wsdbg/internal/probe"
)

// correct is what a server that follows the RFCs, echoes, speaks "chat"
// and accepts permessage-deflate gets: PASS except the checks whose
// outcome is a fact rather than a judgement.
var correct = map[string]probe.Verdict{
	"hs-deflate": probe.Info,
	"hs-origin":  probe.Info,
	"fr-echo":    probe.Info,
	"fr-large":   probe.Info,
}

// expect returns the verdict of every check: correct's, PASS for the rest,
// then the changes.
func expect(changes map[string]probe.Verdict) map[string]probe.Verdict {
	want := map[string]probe.Verdict{}
	for _, id := range probe.IDs() {
		want[id] = probe.Pass
	}
	for id, v := range correct {
		want[id] = v
	}
	for id, v := range changes {
		want[id] = v
	}
	return want
}

// allSkipped is the outcome of a failed hs-baseline.
func allSkipped() map[string]probe.Verdict {
	want := map[string]probe.Verdict{}
	for _, id := range probe.IDs() {
		want[id] = probe.Skip
	}
	want["hs-baseline"] = probe.Fail
	return want
}

const testTimeout = 3 * time.Second

// runProbe probes url with -p chat and returns the result, failing the test
// if any check took longer than its deadline (with scheduling slack).
func runProbe(t *testing.T, url string, mod func(*probe.Options)) *probe.Result {
	t.Helper()
	o := &probe.Options{
		Handshake: &handshake.Options{URL: url, Protocols: []string{"chat"}},
		Timeout:   testTimeout,
	}
	if mod != nil {
		mod(o)
	}
	start := time.Now()
	res, err := probe.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range res.Reports {
		if r.Elapsed > o.Timeout+time.Second {
			t.Errorf("%s took %s, more than its deadline %s", r.ID, r.Elapsed, o.Timeout)
		}
		if len(r.Exchange) > 80 {
			t.Errorf("%s recorded %d exchange lines; the record must stay bounded", r.ID, len(r.Exchange))
		}
	}
	if el := time.Since(start); el > 8*o.Timeout+2*time.Second {
		t.Errorf("the whole run took %s", el)
	}
	return res
}

// compare fails the test for every check whose verdict is not want's.
func compare(t *testing.T, res *probe.Result, want map[string]probe.Verdict) {
	t.Helper()
	got := map[string]*probe.Report{}
	for _, r := range res.Reports {
		got[r.ID] = r
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := got[id]
		if r == nil {
			t.Errorf("%s: no report", id)
			continue
		}
		if r.Verdict != want[id] {
			t.Errorf("%s: %s, want %s: %s", id, r.Verdict, want[id], r.Text())
		}
	}
	if len(res.Reports) != len(want) {
		t.Errorf("%d reports, want %d", len(res.Reports), len(want))
	}
}

// TestBrokenServers runs probe against a correct peer and against one
// peer per fault: each fault gives exactly the expected verdict for the
// check it breaks and the correct server's verdict everywhere else, with
// each check within its deadline.
func TestBrokenServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		peer peer
		want map[string]probe.Verdict
		code int
	}{
		{"correct", peer{}, expect(nil), 0},
		{"upgrades without a key", peer{upgradeWithoutKey: true}, expect(map[string]probe.Verdict{"hs-key-missing": probe.Fail}), 9},
		{"version 8 refused without a list", peer{version8NoList: true}, expect(map[string]probe.Verdict{"hs-version-unsupported": probe.Fail}), 9},
		{"accepts an extension nobody offered", peer{acceptUnoffered: true}, expect(map[string]probe.Verdict{"hs-extension-unknown": probe.Fail}), 9},
		{"bad deflate parameters", peer{badDeflateParams: true}, expect(map[string]probe.Verdict{"hs-deflate": probe.Fail, "fr-deflate": probe.Skip}), 9},
		{"echoes an unmasked frame", peer{echoUnmasked: true}, expect(map[string]probe.Verdict{"fr-unmasked": probe.Fail}), 9},
		{"ignores a 126-byte ping", peer{ignoreLongPing: true}, expect(map[string]probe.Verdict{"fr-control-long": probe.Fail}), 9},
		{"closes 1000 on invalid UTF-8", peer{utf8Close1000: true}, expect(map[string]probe.Verdict{"fr-utf8": probe.Warn}), 0},
		{"keeps the connection open", peer{keepOpen: true}, expect(map[string]probe.Verdict{"fr-close": probe.Warn}), 0},
		{"floods pings", peer{floodPings: true}, expect(nil), 0},
		{"never answers", peer{neverAnswer: true}, allSkipped(), 3},
		{"answers garbage", peer{garbage: true}, allSkipped(), 3},
		{"sends a 1 GiB frame header", peer{hugeFrame: true}, expect(map[string]probe.Verdict{
			"fr-ping": probe.Fail, "fr-ping-between-fragments": probe.Fail, "fr-close": probe.Fail,
			"fr-unmasked": probe.Fail, "fr-rsv": probe.Fail, "fr-opcode": probe.Fail, "fr-control-long": probe.Fail,
			"fr-control-fragmented": probe.Fail, "fr-continuation": probe.Fail, "fr-utf8": probe.Fail,
			"fr-close-code": probe.Fail, "fr-close-short": probe.Fail,
			"fr-large": probe.Skip, "fr-deflate": probe.Skip,
		}), 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.peer
			p.protocols = []string{"chat"}
			res := runProbe(t, p.start(t), nil)
			compare(t, res, tt.want)
			if res.ExitCode != tt.code {
				t.Errorf("exit code %d, want %d", res.ExitCode, tt.code)
			}
			if t.Failed() {
				var b strings.Builder
				probe.WriteText(&b, res, nil, true, 4, testTimeout)
				t.Log("\n" + b.String())
			}
		})
	}
}

// TestSelection checks --only (with the checks it needs) and --skip.
func TestSelection(t *testing.T) {
	t.Parallel()
	p := &peer{protocols: []string{"chat"}}
	url := p.start(t)
	res := runProbe(t, url, func(o *probe.Options) { o.Only = []string{"fr-large"}; o.Concurrency = 1 })
	compare(t, res, map[string]probe.Verdict{"hs-baseline": probe.Pass, "fr-echo": probe.Info, "fr-large": probe.Info})
	res = runProbe(t, url, func(o *probe.Options) { o.Only = []string{"fr-large", "fr-ping"}; o.Skip = []string{"fr-echo"} })
	compare(t, res, map[string]probe.Verdict{"hs-baseline": probe.Pass, "fr-ping": probe.Pass, "fr-large": probe.Skip})
	for _, bad := range []probe.Options{{Only: []string{"fr-nope"}}, {Skip: []string{"hs-baseline"}}} {
		bad.Handshake = &handshake.Options{URL: url}
		if _, err := probe.Run(context.Background(), &bad); err == nil {
			t.Errorf("only %q skip %q: no error", bad.Only, bad.Skip)
		}
	}
}

// TestHandshakeSeam checks that the checks run over whatever handshake
// function they are given, as an HTTP/2 transport would plug in.
func TestHandshakeSeam(t *testing.T) {
	t.Parallel()
	p := &peer{protocols: []string{"chat"}}
	url := p.start(t)
	var calls int
	var mu = make(chan struct{}, 1)
	res := runProbe(t, url, func(o *probe.Options) {
		o.Do = func(ctx context.Context, ho *handshake.Options) (*handshake.Result, error) {
			mu <- struct{}{}
			calls++
			<-mu
			return handshake.Do(ctx, ho)
		}
	})
	compare(t, res, expect(nil))
	if want := len(probe.IDs()); calls < want {
		t.Errorf("%d handshakes through Options.Do, want at least %d", calls, want)
	}
	_ = fmt.Sprint()
}
