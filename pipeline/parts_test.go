package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/sinks"
	"m365export/sources"
)

// partsSource is spreadSource, with records at a part boundary and a
// second before it, as a sources.Narrower: Within serves each owner's
// records of [from-1s, to), as a gt/lt filter that starts a second early
// does, and counts the first requests. crashAt, if set, cancels the run
// when that owner asks for its second page of the part starting crashFrom.
type partsSource struct {
	*fakeSource
	mu        sync.Mutex
	firsts    int
	crashAt   string
	crashFrom time.Time
	cancel    context.CancelFunc
}

func newPartsSource() *partsSource {
	f := spreadSource()
	boundary := day.Add(2 * 24 * time.Hour)
	for _, o := range []string{"u0", "u3"} {
		f.records[o] = append(f.records[o],
			rec(o+"-at-boundary", boundary.Format(time.RFC3339), o),
			rec(o+"-just-before", boundary.Add(-time.Second).Format(time.RFC3339), o))
	}
	return &partsSource{fakeSource: f}
}

func (s *partsSource) Within(from, to time.Time) (sources.Source, bool) {
	return &partOf{s: s, from: from, to: to}, true
}

type partOf struct {
	s        *partsSource
	from, to time.Time
}

func (p *partOf) Partitions(ctx context.Context) ([]string, error) { return p.s.Partitions(ctx) }

func (p *partOf) Page(ctx context.Context, owner, token string) (sources.Page, error) {
	s := p.s
	if token == "" {
		s.mu.Lock()
		s.firsts++
		s.mu.Unlock()
	} else if s.cancel != nil && owner == s.crashAt && p.from.Equal(s.crashFrom) {
		s.cancel()
		return sources.Page{}, ctx.Err()
	}
	f := &fakeSource{owners: s.owners, records: map[string][]string{}, pageSize: s.pageSize}
	for _, r := range s.records[owner] {
		var v struct {
			T time.Time `json:"sentDateTime"`
		}
		if err := json.Unmarshal([]byte(r), &v); err != nil {
			return sources.Page{}, err
		}
		if !v.T.Before(p.from.Add(-time.Second)) && v.T.Before(p.to) {
			f.records[owner] = append(f.records[owner], r)
		}
	}
	return f.Page(ctx, owner, token)
}

// TestRun_PartsKeepOutputExact: a window of six days with a bound of two
// open writers is read in three parts of two days; it writes exactly what
// a run of the whole window writes (a record at a part's first instant is
// written once, one a second before it is not written twice), opens each
// day's writer once, and asks one first request per owner and part, also
// when every owner is read at once.
func TestRun_PartsKeepOutputExact(t *testing.T) {
	var logs bytes.Buffer
	run := func(src sources.Source, bound, concurrency int) (*countingSink, *Summary) {
		t.Helper()
		logs.Reset()
		sink := &countingSink{}
		c := Collection{Name: "messages", TimeField: "sentDateTime", Source: src, Sanitizer: upper{},
			Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}}
		job := &Job{Connector: "outlook-mail", Collections: []Collection{c}, Sink: sink, Committer: sink,
			Window: spreadWindow, RunID: "r1", Shards: 1, Concurrency: concurrency, MaxOpenWriters: bound,
			OwnerID: func(s string) string { return "p~" + s }, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		s, err := Run(t.Context(), job)
		if err != nil {
			t.Fatalf("Run with MaxOpenWriters %d: %v", bound, err)
		}
		return sink, s
	}
	want, ws := run(newPartsSource().fakeSource, 0, 3)
	if n := ws.Collections[0].Records; n != 124 {
		t.Fatalf("whole-window run wrote %d records, want 124", n)
	}
	src := newPartsSource()
	got, gs := run(src, 2, 3)
	if d := cmp.Diff(want.all(), got.all()); d != "" {
		t.Errorf("records read in parts differ from the whole window's (-want +got):\n%s", d)
	}
	if d := cmp.Diff(ws.Collections[0].Partitions, gs.Collections[0].Partitions); d != "" {
		t.Errorf("per-day counts differ (-want +got):\n%s", d)
	}
	if gs.Collections[0].OK != 5 || gs.Collections[0].Records != 124 {
		t.Errorf("summary %+v, want 5 owners ok and 124 records", gs.Collections[0])
	}
	if got.opened != 6 || got.maxOpen > 2 || got.open != 0 {
		t.Errorf("writers: %d opened (want 6, one a day), %d open at once (bound 2), %d left open", got.opened, got.maxOpen, got.open)
	}
	if src.firsts != 15 {
		t.Errorf("%d first requests, want 15 (5 owners × 3 parts)", src.firsts)
	}
	// A part's writers are closed when it is read, not evicted by the
	// next part's days (which then evicted each other).
	if !strings.Contains(logs.String(), "writers_closed_early=0 ") {
		t.Errorf("writers were closed early to make room, want none:\n%s", logs.String())
	}
	all := newPartsSource()
	got, _ = run(all, 2, 5)
	if d := cmp.Diff(want.all(), got.all()); d != "" {
		t.Errorf("5 owners read at once, in parts: records differ from the whole window's (-want +got):\n%s", d)
	}
	if all.firsts != 15 || got.opened != 6 || got.maxOpen > 2 {
		t.Errorf("5 owners read at once: %d first requests (want 15), %d writers opened (want 6), %d open at once (bound 2)", all.firsts, got.opened, got.maxOpen)
	}
}

// TestRun_PartsResumeExactly: a run read in parts that crashes in the
// middle of an owner's second part resumes from its checkpoint (owners
// saved with the part they reached) and commits exactly what one
// uninterrupted whole-window run commits, whatever the bound of the
// resumed attempt (other parts, or none).
func TestRun_PartsResumeExactly(t *testing.T) {
	job := func(src sources.Source, b *bucket, cps CheckpointStore, bound int) *Job {
		j := checkpointJob(chatCollection(src), newStagingSink(b), cps)
		j.Window, j.MaxOpenWriters = spreadWindow, bound
		return j
	}
	truth := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	ts, err := Run(t.Context(), job(newPartsSource().fakeSource, truth, nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := sortedValues(truth.committed)
	partEnd := day.Add(4 * 24 * time.Hour)

	for _, resumeBound := range []int{2, 4, 0} {
		b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
		cps := &memCheckpoints{cps: map[string]*Checkpoint{}}
		ctx, cancel := context.WithCancel(t.Context())
		src := newPartsSource()
		src.crashAt, src.crashFrom, src.cancel = "u3", day.Add(2*24*time.Hour), cancel
		if _, err := Run(ctx, job(src, b, cps, 2)); !errors.Is(err, context.Canceled) {
			t.Fatalf("first attempt: err = %v, want a cancel", err)
		}
		cancel()
		cp := cps.cps["chat_messages"]
		if cp == nil || len(cp.Owners) != 5 {
			t.Fatalf("checkpoint after the crash: %+v, want the 5 owners with the parts they reached", cp)
		}
		reached := map[time.Time]int{}
		for _, o := range cp.Owners {
			if o.Upto == nil {
				t.Fatalf("checkpoint owner %+v is not in the middle of its parts", o)
			}
			reached[*o.Upto]++
		}
		if d := cmp.Diff(map[time.Time]int{day.Add(2 * 24 * time.Hour): 2, partEnd: 3}, reached); d != "" {
			t.Fatalf("parts the owners reached (-want +got):\n%s", d)
		}

		s, err := Run(t.Context(), job(newPartsSource(), b, cps, resumeBound))
		if err != nil {
			t.Fatalf("resumed attempt, bound %d: %v", resumeBound, err)
		}
		if d := cmp.Diff(want, sortedValues(b.committed)); d != "" {
			t.Errorf("bound %d: committed after resume differs from one uninterrupted run (-want +got):\n%s", resumeBound, d)
		}
		c := s.Collections[0]
		if c.OK != 5 || c.Records != ts.Collections[0].Records || c.FromCheckpoint != 0 {
			t.Errorf("bound %d: resumed summary %+v, want 5 ok, %d records, no owner done from the checkpoint", resumeBound, c, ts.Collections[0].Records)
		}
	}
}
