// Package sourcetest is the conformance suite every sources.Source passes
// (STYLE.md §4): an implementation's test is one call to Run with a
// HarnessMaker that serves a known fixture.
//
// The suite checks that every record of a partition comes exactly once and
// in order across pages, that the last page has Next == "", that empty
// partitions work, that the same token gives the same page, that a cancelled
// context ends a read promptly with ctx's error, that permanent errors are
// classified (sources.ErrSkipOwner, ErrConfig, ErrResync), that every
// record is a JSON object, and that a throttled, faulty run returns the
// same records as a clean one.
package sourcetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"m365export/sources"
)

// Faults selects how a harness's server misbehaves.
type Faults struct {
	// Flaky answers a share of requests with 429 (with Retry-After), 5xx,
	// connection resets and truncated bodies; the source must still return
	// every record once.
	Flaky bool
	// Stall holds every request (or throttles it with a long Retry-After)
	// until the client gives up: only cancelling ends a read.
	Stall bool
}

// Harness serves one fixture to the suite.
type Harness interface {
	// MakeSource returns a Source over the fixture, served with faults f.
	// It returns an error wrapping errors.ErrUnsupported when the harness
	// cannot produce f (the test is then skipped, saying so).
	MakeSource(ctx context.Context, f Faults) (sources.Source, error)
	// Want returns the records of every readable partition in the order
	// the source must return them (a partition with none is empty). A
	// record is one element of a page's value[] array.
	Want(ctx context.Context) (map[string][]json.RawMessage, error)
	// Broken returns the partitions whose reading fails, each with the
	// error errors.Is must match (sources.ErrSkipOwner, …).
	Broken(ctx context.Context) (map[string]error, error)
	// Close releases the harness.
	Close()
}

// HarnessMaker makes a new harness for one test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// T is the part of *testing.T the checks use (the suite's own tests run
// them against a recorder to prove that each check can fail).
type T interface {
	Helper()
	Context() context.Context
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
}

// check is one conformance check.
type check struct {
	name string
	fn   func(T, Harness, Opt)
}

var checks = []check{
	{"Partitions", testPartitions},
	{"AllRecordsOnceInOrder", testAllRecords},
	{"EmptyPartition", testEmptyPartition},
	{"SameTokenSamePage", testSameToken},
	{"CancelledContext", testCancelled},
	{"CancelWhileStalled", testCancelStalled},
	{"ErrorsClassified", testErrorsClassified},
	{"FaultyRunSameRecords", testFaulty},
}

// Opt waives checks an implementation cannot meet; each waiver carries its
// reason.
type Opt struct {
	// NoEmptyPartition: the fixture has no empty partition, because…
	NoEmptyPartition string
	// NoBrokenPartition: no partition of this source can fail on its own
	// (e.g. one tenant-wide partition), because…
	NoBrokenPartition string
	// SinglePage: no partition spans several pages, because…
	SinglePage string
	// MaxPages bounds the pages of one partition (default 100,000), so a
	// source that never ends fails instead of hanging.
	MaxPages int
}

// cancelGuard is how long a cancelled read may take before the suite calls
// it hung. The contract is 1 s; the guard is looser so that a loaded CI
// machine does not fail the suite, which checks the error instead.
const cancelGuard = 5 * time.Second

// Run runs the suite.
func Run(t *testing.T, newHarness HarnessMaker, opt *Opt) {
	t.Helper()
	var o Opt
	if opt != nil {
		o = *opt
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 100_000
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			h, err := newHarness(t.Context(), t)
			if err != nil {
				t.Fatalf("new harness: %v", err)
			}
			defer h.Close()
			tc.fn(t, h, o)
		})
	}
}

func makeSource(t T, h Harness, f Faults) sources.Source {
	t.Helper()
	s, err := h.MakeSource(t.Context(), f)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("harness cannot serve %+v: %v", f, err)
	}
	if err != nil {
		t.Fatalf("MakeSource(%+v): %v", f, err)
	}
	return s
}

func want(t T, h Harness) map[string][]json.RawMessage {
	t.Helper()
	w, err := h.Want(t.Context())
	if err != nil {
		t.Fatalf("Want: %v", err)
	}
	if len(w) == 0 {
		t.Fatal("Want: the fixture has no readable partition")
	}
	return w
}

// pageRecords splits a page into its records and checks each is an object.
func pageRecords(pg sources.Page) ([]json.RawMessage, error) {
	var env struct {
		Value *[]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(pg.Body, &env); err != nil {
		return nil, fmt.Errorf("page body is not a JSON object: %w", err)
	}
	if env.Value == nil {
		return nil, errors.New("page has no value array")
	}
	for i, r := range *env.Value {
		if r = bytes.TrimSpace(r); len(r) == 0 || r[0] != '{' {
			return nil, fmt.Errorf("record %d is not a JSON object", i)
		}
	}
	return *env.Value, nil
}

// readAll reads partition p to its end and returns its records and pages.
func readAll(ctx context.Context, s sources.Source, p string, o Opt) ([]json.RawMessage, []sources.Page, error) {
	var recs []json.RawMessage
	var pages []sources.Page
	for pg, err := range sources.Pages(ctx, s, p, "") {
		if err != nil {
			return recs, pages, err
		}
		if pg.URL == "" {
			return recs, pages, fmt.Errorf("page %d has no URL", len(pages))
		}
		r, err := pageRecords(pg)
		if err != nil {
			return recs, pages, fmt.Errorf("page %d: %w", len(pages), err)
		}
		recs = append(recs, r...)
		pages = append(pages, pg)
		if len(pages) > o.MaxPages {
			return recs, pages, fmt.Errorf("more than %d pages: the last page never came", o.MaxPages)
		}
	}
	return recs, pages, nil
}

// canon re-encodes records so that equal JSON compares equal.
func canon(t T, recs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(recs))
	for i, r := range recs {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out[i] = string(b)
	}
	return out
}

func compare(t T, p string, got, wantRecs []json.RawMessage) {
	t.Helper()
	g, w := canon(t, got), canon(t, wantRecs)
	seen := make(map[string]int, len(g))
	for i, r := range g {
		if j, dup := seen[r]; dup {
			t.Errorf("partition %q: record %d repeats record %d", p, i, j)
			return
		}
		seen[r] = i
	}
	if !slices.Equal(g, w) {
		missing, extra := 0, 0
		ws := make(map[string]bool, len(w))
		for _, r := range w {
			ws[r] = true
			if _, ok := seen[r]; !ok {
				missing++
			}
		}
		for _, r := range g {
			if !ws[r] {
				extra++
			}
		}
		t.Errorf("partition %q: got %d records, want %d (%d missing, %d unexpected, order differs: %v)",
			p, len(g), len(w), missing, extra, missing == 0 && extra == 0)
	}
}

func testPartitions(t T, h Harness, _ Opt) {
	s := makeSource(t, h, Faults{})
	ps, err := s.Partitions(t.Context())
	if err != nil {
		t.Fatalf("Partitions: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p] {
			t.Errorf("Partitions lists %q twice", p)
		}
		seen[p] = true
	}
	for p := range want(t, h) {
		if !seen[p] {
			t.Errorf("Partitions lacks readable partition %q", p)
		}
	}
	broken, err := h.Broken(t.Context())
	if err != nil {
		t.Fatalf("Broken: %v", err)
	}
	for p := range broken {
		if !seen[p] {
			t.Errorf("Partitions lacks broken partition %q", p)
		}
	}
}

func testAllRecords(t T, h Harness, o Opt) {
	s := makeSource(t, h, Faults{})
	multi := false
	for p, w := range want(t, h) {
		got, pages, err := readAll(t.Context(), s, p, o)
		if err != nil {
			t.Errorf("partition %q: %v", p, err)
			continue
		}
		compare(t, p, got, w)
		for i, pg := range pages {
			if last := i == len(pages)-1; last != (pg.Next == "") {
				t.Errorf("partition %q page %d of %d: Next = %q", p, i, len(pages), pg.Next)
			}
		}
		if len(pages) > 1 {
			multi = true
		}
	}
	if !multi {
		if o.SinglePage != "" {
			return
		}
		t.Error("no partition has more than one page: paging is untested")
	}
}

func testEmptyPartition(t T, h Harness, o Opt) {
	s := makeSource(t, h, Faults{})
	n := 0
	for p, w := range want(t, h) {
		if len(w) > 0 {
			continue
		}
		n++
		got, pages, err := readAll(t.Context(), s, p, o)
		if err != nil {
			t.Errorf("empty partition %q: %v", p, err)
			continue
		}
		if len(got) != 0 || len(pages) == 0 {
			t.Errorf("empty partition %q: %d records on %d pages, want 0 records on at least one page", p, len(got), len(pages))
		}
	}
	if n == 0 {
		if o.NoEmptyPartition != "" {
			t.Skip(o.NoEmptyPartition)
		}
		t.Error("the fixture has no empty partition")
	}
}

func testSameToken(t T, h Harness, o Opt) {
	if o.SinglePage != "" {
		t.Skip(o.SinglePage)
	}
	s := makeSource(t, h, Faults{})
	for p, w := range want(t, h) {
		if len(w) == 0 {
			continue
		}
		_, pages, err := readAll(t.Context(), s, p, o)
		if err != nil {
			t.Fatalf("partition %q: %v", p, err)
		}
		if len(pages) < 2 {
			continue
		}
		tok := pages[0].Next
		again, err := s.Page(t.Context(), p, tok)
		if err != nil {
			t.Fatalf("Page(%q, second token) again: %v", p, err)
		}
		r1, _ := pageRecords(pages[1])
		r2, err := pageRecords(again)
		if err != nil {
			t.Fatalf("Page(%q) again: %v", p, err)
		}
		if !slices.Equal(canon(t, r1), canon(t, r2)) || again.Next != pages[1].Next {
			t.Errorf("Page(%q, token) twice: %d records then %d, Next %q then %q", p, len(r1), len(r2), pages[1].Next, again.Next)
		}
		return
	}
	t.Error("no partition has two pages")
}

func anyPartition(t T, h Harness) string {
	for p, w := range want(t, h) {
		if len(w) > 0 {
			return p
		}
	}
	for p := range want(t, h) {
		return p
	}
	return ""
}

func testCancelled(t T, h Harness, _ Opt) {
	s := makeSource(t, h, Faults{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Page(ctx, anyPartition(t, h), ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Page(cancelled ctx) = %v, want context.Canceled", err)
	}
}

func testCancelStalled(t T, h Harness, _ Opt) {
	s := makeSource(t, h, Faults{Stall: true})
	p := anyPartition(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Page(ctx, p, "")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the read start and stall
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Page on a stalled server, cancelled = %v, want context.Canceled", err)
		}
	case <-time.After(cancelGuard):
		t.Fatalf("Page on a stalled server did not return within %v of cancel", cancelGuard)
	}
}

func testErrorsClassified(t T, h Harness, o Opt) {
	broken, err := h.Broken(t.Context())
	if err != nil {
		t.Fatalf("Broken: %v", err)
	}
	if len(broken) == 0 {
		if o.NoBrokenPartition != "" {
			t.Skip(o.NoBrokenPartition)
		}
		t.Fatal("the fixture has no broken partition: classification is untested")
	}
	s := makeSource(t, h, Faults{})
	for p, target := range broken {
		_, _, err := readAll(t.Context(), s, p, o)
		if !errors.Is(err, target) {
			t.Errorf("reading broken partition %q = %v, want an error matching %v", p, err, target)
		}
	}
}

func testFaulty(t T, h Harness, o Opt) {
	s := makeSource(t, h, Faults{Flaky: true})
	for p, w := range want(t, h) {
		got, _, err := readAll(t.Context(), s, p, o)
		if err != nil {
			t.Errorf("faulty run, partition %q: %v", p, err)
			continue
		}
		compare(t, p, got, w)
	}
}
