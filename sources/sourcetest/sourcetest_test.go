package sourcetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"m365export/sources"
)

// defect makes memSource break one rule of the contract.
type defect int

const (
	sound          defect = iota
	dupRecord             // the second page repeats a record of the first
	dropLastPage          // the last page never comes
	unstableToken         // a token gives a different page the second time
	misreportsStop        // a cancelled stalled read returns its own error
	misclassifies         // a broken owner's error is not classified
	flakyLoses            // a faulty run drops a record
	scalarRecord          // a record is not a JSON object
	noEmpty               // the fixture has no empty partition
	tenantWide            // not a defect: one partition "" of one page, nothing broken
)

// memSource is an in-memory Source: partition → pages of records.
type memSource struct {
	pages  map[string][][]json.RawMessage
	broken map[string]error
	f      Faults
	d      defect
	mu     sync.Mutex
	calls  map[string]int
}

func (m *memSource) Partitions(context.Context) ([]string, error) {
	var ps []string
	for p := range m.pages {
		ps = append(ps, p)
	}
	for p := range m.broken {
		ps = append(ps, p)
	}
	return ps, nil
}

func (m *memSource) Page(ctx context.Context, p, token string) (sources.Page, error) {
	if err := ctx.Err(); err != nil {
		return sources.Page{}, fmt.Errorf("page: %w", err)
	}
	if m.f.Stall {
		<-ctx.Done()
		if m.d == misreportsStop {
			return sources.Page{}, errors.New("timed out")
		}
		return sources.Page{}, fmt.Errorf("page: %w", ctx.Err())
	}
	if err, ok := m.broken[p]; ok {
		if m.d == misclassifies {
			return sources.Page{}, errors.New("forbidden")
		}
		return sources.Page{}, fmt.Errorf("page: %w", err)
	}
	i := 0
	if token != "" {
		var err error
		if i, err = strconv.Atoi(strings.TrimPrefix(token, p+"#")); err != nil {
			return sources.Page{}, err
		}
	}
	pages := m.pages[p]
	if m.d == dropLastPage && len(pages) > 1 {
		pages = pages[:len(pages)-1]
	}
	recs := pages[i]
	m.mu.Lock()
	m.calls[token]++
	n := m.calls[token]
	m.mu.Unlock()
	switch {
	case m.d == dupRecord && i == 1:
		recs = append([]json.RawMessage{pages[0][0]}, recs...)
	case m.d == unstableToken && n > 1 && len(recs) > 0:
		recs = recs[1:]
	case m.d == flakyLoses && m.f.Flaky && len(recs) > 0:
		recs = recs[1:]
	case m.d == scalarRecord && i == 0:
		recs = append([]json.RawMessage{json.RawMessage(`42`)}, recs...)
	}
	if recs == nil {
		recs = []json.RawMessage{}
	}
	body, _ := json.Marshal(map[string]any{"value": recs})
	pg := sources.Page{URL: "mem://" + p + "/" + strconv.Itoa(i), Body: body}
	if i+1 < len(pages) {
		pg.Next = p + "#" + strconv.Itoa(i+1)
	}
	return pg, nil
}

type memHarness struct {
	d     defect
	pages map[string][][]json.RawMessage
}

func newMemHarness(d defect) HarnessMaker {
	return func(context.Context, *testing.T) (Harness, error) {
		h := &memHarness{d: d, pages: map[string][][]json.RawMessage{}}
		if d == tenantWide {
			h.pages[""] = [][]json.RawMessage{{json.RawMessage(`{"id":"a"}`), json.RawMessage(`{"id":"b"}`)}}
			return h, nil
		}
		for u := range 4 {
			p := "owner-" + strconv.Itoa(u)
			n := u * 3 // owner-0 has no records
			if d == noEmpty {
				n++
			}
			var pages [][]json.RawMessage
			for i := 0; i < n || len(pages) == 0; i += 2 {
				var pg []json.RawMessage
				for j := i; j < min(i+2, n); j++ {
					pg = append(pg, json.RawMessage(fmt.Sprintf(`{"id":"%s-%d","n":%d}`, p, j, j)))
				}
				pages = append(pages, pg)
			}
			h.pages[p] = pages
		}
		return h, nil
	}
}

func (h *memHarness) MakeSource(ctx context.Context, f Faults) (sources.Source, error) {
	broken, _ := h.Broken(ctx)
	return &memSource{pages: h.pages, broken: broken, f: f, d: h.d, calls: map[string]int{}}, nil
}

func (h *memHarness) Want(context.Context) (map[string][]json.RawMessage, error) {
	w := map[string][]json.RawMessage{}
	for p, pages := range h.pages {
		w[p] = []json.RawMessage{}
		for _, pg := range pages {
			w[p] = append(w[p], pg...)
		}
	}
	return w, nil
}

func (h *memHarness) Broken(context.Context) (map[string]error, error) {
	if h.d == tenantWide {
		return map[string]error{}, nil
	}
	return map[string]error{"gone": sources.ErrSkipOwner, "stale": sources.ErrResync}, nil
}

func (h *memHarness) Close() {}

func TestRun_SoundSourcePasses(t *testing.T) {
	Run(t, newMemHarness(sound), nil)
}

func TestRun_WaiversWithReasons(t *testing.T) {
	Run(t, newMemHarness(tenantWide), &Opt{
		NoEmptyPartition:  "one tenant-wide partition",
		NoBrokenPartition: "one tenant-wide partition cannot fail on its own",
		SinglePage:        "two records fit one page",
	})
}

// recorder is a T that records failures instead of failing the test.
type recorder struct {
	t               *testing.T // the test whose context the checks get
	failed, skipped bool
	msgs            []string
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.t.Context() }
func (r *recorder) Error(a ...any)           { r.failed = true; r.msgs = append(r.msgs, fmt.Sprint(a...)) }
func (r *recorder) Errorf(f string, a ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatal(a ...any)            { r.Error(a...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); runtime.Goexit() }
func (r *recorder) Skip(...any)               { r.skipped = true; runtime.Goexit() }
func (r *recorder) Skipf(string, ...any)      { r.skipped = true; runtime.Goexit() }

// TestChecks_CatchDefects proves each check can fail: a source with the
// defect it looks for fails it.
func TestChecks_CatchDefects(t *testing.T) {
	byName := map[string]func(T, Harness, Opt){}
	for _, c := range checks {
		byName[c.name] = c.fn
	}
	for _, tc := range []struct {
		d     defect
		check string
	}{
		{dupRecord, "AllRecordsOnceInOrder"},
		{dropLastPage, "AllRecordsOnceInOrder"},
		{unstableToken, "SameTokenSamePage"},
		{misreportsStop, "CancelWhileStalled"},
		{misclassifies, "ErrorsClassified"},
		{flakyLoses, "FaultyRunSameRecords"},
		{scalarRecord, "AllRecordsOnceInOrder"},
		{noEmpty, "EmptyPartition"},
	} {
		h, _ := newMemHarness(tc.d)(t.Context(), t)
		r := &recorder{t: t}
		var wg sync.WaitGroup
		wg.Go(func() { byName[tc.check](r, h, Opt{MaxPages: 100}) })
		wg.Wait()
		if !r.failed {
			t.Errorf("check %s passed a source with defect %d", tc.check, tc.d)
		}
		// The same check passes a sound source.
		h, _ = newMemHarness(sound)(t.Context(), t)
		r = &recorder{t: t}
		wg.Go(func() { byName[tc.check](r, h, Opt{MaxPages: 100}) })
		wg.Wait()
		if r.failed {
			t.Errorf("check %s failed a sound source: %v", tc.check, r.msgs)
		}
	}
}
