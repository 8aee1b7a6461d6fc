package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/sinks"
	"m365export/sources"
)

// spreadSource has records of each owner spread over six days in turn,
// so that every page (three records) touches three days: with a bound of
// one open writer, almost every record closes a writer.
func spreadSource() *fakeSource {
	f := &fakeSource{records: map[string][]string{}, pageSize: 3}
	for u := range 5 {
		o := fmt.Sprintf("u%d", u)
		f.owners = append(f.owners, o)
		for m := range 24 {
			ts := day.Add(time.Duration(m%6)*24*time.Hour + time.Duration(u*100+m)*time.Minute).Format(time.RFC3339)
			f.records[o] = append(f.records[o], rec(fmt.Sprintf("%s-m%d", o, m), ts, o))
		}
	}
	return f
}

var spreadWindow = Window{From: day, To: day.Add(6 * 24 * time.Hour)}

// countingSink is memSink that counts the writers it opened and the most
// open at once.
type countingSink struct {
	memSink
	mu            sync.Mutex
	open, maxOpen int
	opened        int
}

type countingWriter struct {
	*memWriter
	s *countingSink
}

func (s *countingSink) NewWriter(ctx context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	w, err := s.memSink.NewWriter(ctx, t, dt)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.open++
	s.opened++
	s.maxOpen = max(s.maxOpen, s.open)
	s.mu.Unlock()
	mw, _ := w.(*memWriter)
	return &countingWriter{memWriter: mw, s: s}, nil
}

func (w *countingWriter) Close() error {
	w.s.mu.Lock()
	w.s.open--
	w.s.mu.Unlock()
	return w.memWriter.Close()
}

func runBounded(t *testing.T, bound int) (*countingSink, *Summary) {
	t.Helper()
	sink := &countingSink{}
	c := Collection{Name: "messages", TimeField: "sentDateTime", Source: spreadSource(), Sanitizer: upper{},
		Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}}
	job := &Job{Connector: "outlook-mail", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: spreadWindow, RunID: "r1", Shards: 1, Concurrency: 3, MaxOpenWriters: bound,
		OwnerID: func(s string) string { return "p~" + s }}
	s, err := Run(t.Context(), job)
	if err != nil {
		t.Fatalf("Run with MaxOpenWriters %d: %v", bound, err)
	}
	return sink, s
}

// TestRun_WriterBoundKeepsOutputExact: bounding the open day writers (down
// to one, so that writers are closed and days opened again all the time)
// writes exactly what an unbounded run writes, with the same per-day
// counts, and never holds more writers open than the bound.
func TestRun_WriterBoundKeepsOutputExact(t *testing.T) {
	want, ws := runBounded(t, 0)
	if len(want.all()) != 6 || ws.Collections[0].Records != 120 {
		t.Fatalf("unbounded run wrote %d days, %d records; want 6 days, 120 records", len(want.all()), ws.Collections[0].Records)
	}
	for _, bound := range []int{1, 2} {
		got, gs := runBounded(t, bound)
		if d := cmp.Diff(want.all(), got.all()); d != "" {
			t.Errorf("MaxOpenWriters %d: records differ from the unbounded run (-want +got):\n%s", bound, d)
		}
		if d := cmp.Diff(ws.Collections[0].Partitions, gs.Collections[0].Partitions); d != "" {
			t.Errorf("MaxOpenWriters %d: per-day counts differ (-want +got):\n%s", bound, d)
		}
		if got.maxOpen > bound {
			t.Errorf("MaxOpenWriters %d: %d writers were open at once", bound, got.maxOpen)
		}
		if got.opened <= 6 {
			t.Errorf("MaxOpenWriters %d: %d writers opened for 6 days; the bound was never exercised", bound, got.opened)
		}
		if got.open != 0 {
			t.Errorf("MaxOpenWriters %d: %d writers left open", bound, got.open)
		}
	}
}

// crashMidOwner cancels the run when owner crashAt asks for its second
// page: the writers closed to keep within the bound have already staged
// files of that owner's first page, which no checkpoint names.
type crashMidOwner struct {
	*fakeSource
	crashAt string
	cancel  context.CancelFunc
}

func (c *crashMidOwner) Page(ctx context.Context, p, token string) (sources.Page, error) {
	if p == c.crashAt && token != "" {
		c.cancel()
		return sources.Page{}, ctx.Err()
	}
	return c.fakeSource.Page(ctx, p, token)
}

// TestRun_WriterBoundResumesExactly: with one open writer at most, a run
// that crashes in the middle of an owner and resumes from its checkpoint
// commits exactly what one uninterrupted, unbounded run commits: the
// files that closed writers staged before the checkpoint are adopted,
// and those staged after it are not.
func TestRun_WriterBoundResumesExactly(t *testing.T) {
	job := func(src sources.Source, b *bucket, cps CheckpointStore, bound int) *Job {
		j := checkpointJob(chatCollection(src), newStagingSink(b), cps)
		j.Window, j.MaxOpenWriters = spreadWindow, bound
		return j
	}
	truth := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	if _, err := Run(t.Context(), job(spreadSource(), truth, nil, 0)); err != nil {
		t.Fatal(err)
	}
	want := sortedValues(truth.committed)

	b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	cps := &memCheckpoints{cps: map[string]*Checkpoint{}}
	ctx, cancel := context.WithCancel(t.Context())
	src := &crashMidOwner{fakeSource: spreadSource(), crashAt: "u3", cancel: cancel}
	if _, err := Run(ctx, job(src, b, cps, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: err = %v, want a cancel", err)
	}
	cp := cps.cps["chat_messages"]
	if cp == nil || len(cp.Owners) != 3 || len(cp.Files) != 6 {
		t.Fatalf("checkpoint after the crash: %+v, want 3 owners done and files of 6 days", cp)
	}
	staged := 0
	for _, f := range cp.Files {
		staged += len(f)
	}
	if staged <= 6 {
		t.Fatalf("checkpoint names %d staged files for 6 days: the bound closed no writer", staged)
	}

	s, err := Run(t.Context(), job(&crashMidOwner{fakeSource: spreadSource()}, b, cps, 1))
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	if d := cmp.Diff(want, sortedValues(b.committed)); d != "" {
		t.Errorf("committed after resume differs from one uninterrupted run (-want +got):\n%s", d)
	}
	if s.Collections[0].FromCheckpoint != 3 || s.Collections[0].OK != 5 {
		t.Errorf("resumed summary %+v, want 3 owners from the checkpoint, 5 ok", s.Collections[0])
	}
}
