package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"m365export/sinks"
	"m365export/sources"
)

// blockingSource serves owner pages until the run is cancelled: the third
// page request cancels the run and every page then waits for it.
type blockingSource struct {
	*fakeSource
	cancel context.CancelFunc
	calls  atomic.Int64
}

func (b *blockingSource) Page(ctx context.Context, p, token string) (sources.Page, error) {
	if b.calls.Add(1) == 3 {
		b.cancel()
	}
	if b.calls.Load() >= 3 {
		<-ctx.Done()
		return sources.Page{}, ctx.Err()
	}
	return b.fakeSource.Page(ctx, p, token)
}

// TestRun_CancelledRunCommitsNothingAndLedgersEveryOwner: a run cancelled
// mid-collection (SIGTERM) stops taking owners, commits nothing, and its
// ledger still has one entry per owner: those not read to the end are
// "cancelled".
func TestRun_CancelledRunCommitsNothingAndLedgersEveryOwner(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := &blockingSource{fakeSource: testSource(), cancel: cancel}
	src.pageSize = 100 // one page an owner
	sink := &memSink{}
	job := &Job{Connector: "outlook-mail", Sink: sink, Committer: sink, RunID: "r1", Concurrency: 2,
		Window:      Window{From: day, To: day.Add(72 * time.Hour)},
		OwnerID:     func(s string) string { return "p~" + s },
		Collections: []Collection{{Name: "messages", TimeField: "sentDateTime", Source: src, Sanitizer: upper{}, Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}}},
	}
	s, err := Run(ctx, job)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(sink.committed) != 0 {
		t.Errorf("committed %v after a cancel", sink.committed)
	}
	if s.Status != "failed" || s.Ledger.Len() != len(src.owners) {
		t.Fatalf("status %q, %d ledger entries, want failed with %d", s.Status, s.Ledger.Len(), len(src.owners))
	}
	counts := map[string]int{}
	for i, e := range s.Ledger.All() {
		if e.Collection != "messages" || e.Owner != "p~"+src.owners[i] {
			t.Errorf("ledger entry %d: %+v", i, e)
		}
		counts[e.Status]++
	}
	if counts[StatusOK] != 2 || counts[StatusCancelled] != len(src.owners)-2 {
		t.Errorf("statuses %v: want 2 ok and the rest cancelled", counts)
	}
	if int(src.calls.Load()) > 2+job.Concurrency {
		t.Errorf("%d page requests: owners were still taken after the cancel", src.calls.Load())
	}
}
