package probe

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsdbg/wsdbg/handshake"
)

// check is one row of the table in checks.go.
type check struct {
	id    string
	group string // "handshake" or "frames"
	rfc   string
	// needs lists the checks whose findings this one uses; it starts
	// after they are done. A needed check that was not run leaves the
	// finding unknown, and the check says so.
	needs []string
	run   func(ctx context.Context, e *env, r *Report)
}

// env is what every check of a run shares. Checks read it; only the
// runner writes it, before the checks that read it start.
type env struct {
	base     *handshake.Options // the baseline request
	do       HandshakeFunc
	timeout  time.Duration
	now      func() time.Time
	rand     io.Reader         // safe for concurrent use
	baseline *handshake.Result // hs-baseline's exchange

	mu   sync.Mutex
	done map[string]*Report // final reports, by id
}

// report returns the final report of a needed check, nil if it did not run.
func (e *env) report(id string) *Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done[id]
}

// markDone records r as final for the checks that need it.
func (e *env) markDone(r *Report) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done[r.ID] = r
}

// IDs returns every check id in table order.
func IDs() []string {
	ids := make([]string, len(checks))
	for i, c := range checks {
		ids[i] = c.id
	}
	return ids
}

// Count returns how many checks a run with this --only and --skip
// reports, or the *UsageError Run would return.
func Count(only, skip []string) (int, error) {
	s, err := selectChecks(only, skip)
	return len(s), err
}

// selectChecks applies --only and --skip: --only runs the checks named and
// those they need; --skip leaves checks out (a check that needs one of
// them says so). hs-baseline always runs: every other check starts from it.
func selectChecks(only, skip []string) ([]*check, error) {
	known := make(map[string]*check, len(checks))
	for _, c := range checks {
		known[c.id] = c
	}
	for _, list := range [][]string{only, skip} {
		for _, id := range list {
			if known[id] == nil {
				return nil, &UsageError{fmt.Sprintf("no check %q; the checks are %s", id, strings.Join(IDs(), ", "))}
			}
		}
	}
	if slices.Contains(skip, "hs-baseline") {
		return nil, &UsageError{"hs-baseline cannot be skipped: every other check starts from its request"}
	}
	want := map[string]bool{"hs-baseline": true}
	if len(only) == 0 {
		for _, c := range checks {
			want[c.id] = true
		}
	} else {
		var add func(id string)
		add = func(id string) {
			if want[id] {
				return
			}
			want[id] = true
			for _, n := range known[id].needs {
				add(n)
			}
		}
		for _, id := range only {
			add(id)
		}
	}
	for _, id := range skip {
		delete(want, id)
	}
	var out []*check
	for _, c := range checks {
		if want[c.id] {
			out = append(out, c)
		}
	}
	return out, nil
}

// Run probes the server o.Handshake.URL points to. It returns an error
// only for unusable options (a *UsageError, or the handshake's
// *handshake.UsageError for a bad URL or -H); every outcome of the checks
// is in the Result.
func Run(ctx context.Context, o *Options) (*Result, error) {
	if o.Handshake == nil {
		return nil, &UsageError{"probe: no handshake options"}
	}
	if o.Handshake.RequestFile != "" {
		return nil, &UsageError{"--request-file cannot be used with probe: each check builds its own variant of the request; shape the baseline with -H, --omit, -p, -x and --origin instead"}
	}
	selected, err := selectChecks(o.Only, o.Skip)
	if err != nil {
		return nil, err
	}
	e := &env{
		base:    cloneOptions(o.Handshake),
		do:      o.Do,
		timeout: o.Timeout,
		now:     o.Handshake.Now,
		done:    make(map[string]*Report, len(selected)),
	}
	if e.do == nil {
		e.do = handshake.Do
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.now == nil {
		e.now = time.Now
	}
	src := o.Handshake.Rand
	if src == nil {
		src = rand.Reader
	}
	e.rand = &lockedReader{r: src}
	e.base.Rand, e.base.Now, e.base.Timeout = e.rand, e.now, e.timeout
	if e.base.CheckExtension == nil {
		e.base.CheckExtension = checkDeflate
	}
	conc := o.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}

	u, err := handshake.ParseURL(o.Handshake.URL)
	if err != nil {
		return nil, err
	}
	res := &Result{URL: u.Redacted(), Reports: make([]*Report, len(selected))}
	if o.Handshake.ShowSecrets {
		res.URL = u.String()
	}
	index := make(map[string]int, len(selected))
	for i, c := range selected {
		res.Reports[i] = &Report{ID: c.id, Group: c.group, RFC: c.rfc}
		index[c.id] = i
	}
	start := e.now()

	// The whole run is bounded even if a check misjudged its own deadline.
	ctx, cancel := context.WithTimeout(ctx, e.timeout*time.Duration(len(selected)+1))
	defer cancel()

	var (
		mu   sync.Mutex
		fin  = make([]bool, len(selected))
		next int
	)
	finish := func(i int) {
		mu.Lock()
		defer mu.Unlock()
		fin[i] = true
		for next < len(fin) && fin[next] {
			if o.OnReport != nil {
				o.OnReport(res.Reports[next])
			}
			next++
		}
	}

	// hs-baseline alone: if it fails, nothing else can be judged.
	bi := index["hs-baseline"]
	e.runOne(ctx, selected[bi], res.Reports[bi])
	base := res.Reports[bi]
	e.markDone(base)
	if base.Verdict != Pass {
		res.ExitCode = ExitFailed
		if e.baseline != nil {
			res.ExitCode = e.baseline.Class.ExitCode()
		}
		for i, r := range res.Reports {
			if i != bi {
				r.set(Skip, "every check starts from the baseline request", "not run: hs-baseline failed")
			}
		}
		for i := range selected {
			finish(i)
		}
		return res.total(e, start), nil
	}
	finish(bi)

	// The rest: checks without needs first, in table order, then the
	// others; each starts when a slot is free and its needs are done.
	order := make([]int, 0, len(selected))
	for pass := 0; pass < 2; pass++ {
		for i, c := range selected {
			if i != bi && (len(c.needs) > 0) == (pass == 1) {
				order = append(order, i)
			}
		}
	}
	doneCh := make([]chan struct{}, len(selected))
	for i := range doneCh {
		doneCh[i] = make(chan struct{})
	}
	close(doneCh[bi])
	slots := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, i := range order {
		for _, n := range selected[i].needs {
			if j, ok := index[n]; ok {
				<-doneCh[j]
			}
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runOne(ctx, selected[i], res.Reports[i])
			e.markDone(res.Reports[i])
			close(doneCh[i])
			<-slots
			finish(i)
		}()
	}
	wg.Wait()
	for _, r := range res.Reports {
		if r.Verdict == Fail {
			res.ExitCode = ExitFailed
		}
	}
	return res.total(e, start), nil
}

// runOne runs c within its own deadline.
func (e *env) runOne(ctx context.Context, c *check, r *Report) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	start := e.now()
	c.run(ctx, e, r)
	r.Elapsed = max(e.now().Sub(start), 0)
	if r.Message == "" {
		r.set(Skip, "", "no verdict (a bug in probe; please report it)")
	}
}

func (res *Result) total(e *env, start time.Time) *Result {
	for _, r := range res.Reports {
		res.Summary.add(r.Verdict)
	}
	res.Elapsed = max(e.now().Sub(start), 0)
	return res
}

// RFCOf returns the RFC section of check id, "" when it has none or there
// is no such check.
func RFCOf(id string) string {
	for _, c := range checks {
		if c.id == id {
			return c.rfc
		}
	}
	return ""
}
