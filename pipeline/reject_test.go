package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/sinks"
)

// Microsoft's own example value (chat-list-messages.md): the T is missing.
const badTime = "2021-03-1706:47:05.123Z"

// poisonWriter rejects, as a sink does a record that does not fit the
// table, every record with a "poison" member, and stays usable.
type poisonWriter struct{ sinks.RecordWriter }

func (w poisonWriter) Write(r sinks.Record) error {
	if bytes.Contains(r.JSON, []byte(`"poison"`)) {
		return fmt.Errorf("widgets: record (#0): %w", &sinks.InvalidRecordError{Field: "createdDateTime", Problem: "invalid timestamp"})
	}
	return w.RecordWriter.Write(r)
}

// poisonMem is memSink whose writers reject poisoned records; it keeps the
// manifests it was given.
type poisonMem struct {
	*memSink
	mu        sync.Mutex
	manifests map[string]sinks.Manifest // collection/dt → manifest
}

func (s *poisonMem) NewWriter(ctx context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	w, err := s.memSink.NewWriter(ctx, t, dt)
	return poisonWriter{w}, err
}

func (s *poisonMem) Commit(ctx context.Context, t sinks.Table, dt string, m sinks.Manifest) error {
	s.mu.Lock()
	if s.manifests == nil {
		s.manifests = map[string]sinks.Manifest{}
	}
	s.manifests[t.Collection+"/"+dt] = m
	s.mu.Unlock()
	return s.memSink.Commit(ctx, t, dt, m)
}

// poisonStaging is stagingSink (a Resumer) whose writers reject poisoned
// records; it keeps the manifests it was given.
type poisonStaging struct {
	*stagingSink
	manifests map[string]sinks.Manifest
}

func (s *poisonStaging) NewWriter(ctx context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	w, err := s.stagingSink.NewWriter(ctx, t, dt)
	return poisonWriter{w}, err
}

func (s *poisonStaging) Commit(ctx context.Context, t sinks.Table, dt string, m sinks.Manifest) error {
	s.manifests[t.Collection+"/"+dt] = m
	return s.stagingSink.Commit(ctx, t, dt, m)
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRun_RejectsBadRecordAndFinishesOwner: in the middle of a page, one
// record whose time the pipeline cannot read (u1) and one the sink refuses
// (u2) are counted with their reason in the ledger, the summary and the
// day's manifest, logged without their value, and not written; their
// owners and the run finish ok with every other record written.
func TestRun_RejectsBadRecordAndFinishesOwner(t *testing.T) {
	src := testSource()
	poisonAt := day.Add(5 * time.Hour).Format(time.RFC3339)
	src.records["u1"][4] = rec("u1-bad", badTime, "u1")
	src.records["u2"][4] = `{"id":"u2-bad","sentDateTime":"` + poisonAt + `","poison":"s3cr3t-value","from":{"user":{"id":"u2"}}}`
	w := Window{From: day, To: day.Add(7 * 24 * time.Hour)}
	sink := &poisonMem{memSink: &memSink{}}
	var logs syncBuffer
	c := Collection{Name: "messages", TimeField: "sentDateTime", Source: src, Sanitizer: upper{},
		Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}}
	job := &Job{Connector: "outlook-mail", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: w, RunID: "r1", Concurrency: 3, OwnerID: func(s string) string { return "p~" + s },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	s, err := Run(t.Context(), job)
	if err != nil {
		t.Fatalf("Run = %v, want nil (a rejected record is not a failure)", err)
	}
	if s.Status != StatusOK {
		t.Errorf("status %q, want ok", s.Status)
	}

	// Every other record is written, the bad ones are not.
	var written int
	for _, recs := range sink.all() {
		for _, r := range recs {
			written++
			if strings.Contains(r, "-bad") {
				t.Errorf("rejected record written: %s", r)
			}
		}
	}
	if want := 7*10 - 2; written != want || s.Records != int64(want) {
		t.Errorf("written %d, summary records %d, want %d", written, s.Records, want)
	}

	tsReason, sinkReason := "invalid timestamp in sentDateTime", "invalid timestamp in createdDateTime"
	cs := s.Collections[0]
	if cs.OK != 7 || cs.Failed != 0 || cs.Rejected != 2 || s.Rejected != 2 ||
		!cmp.Equal(cs.RejectedReasons, Reasons{tsReason: 1, sinkReason: 1}) {
		t.Errorf("collection summary %+v (run rejected %d), want 7 ok, 2 rejected", cs, s.Rejected)
	}
	var parts int
	for _, n := range cs.Partitions {
		parts += n
	}
	if parts != written {
		t.Errorf("partition counts add up to %d, want %d", parts, written)
	}
	for _, e := range s.Ledger.All() {
		want := Reasons(nil)
		switch e.Owner {
		case "p~u1":
			want = Reasons{tsReason: 1}
		case "p~u2":
			want = Reasons{sinkReason: 1}
		}
		if e.Status != StatusOK || e.Rejected != want.Total() || !cmp.Equal(e.RejectedReasons, want) {
			t.Errorf("ledger entry %+v, want ok with rejected %v", e, want)
		}
	}

	// The sink's rejection is in its day's manifest; the unreadable time
	// has no day.
	poisonDay := "messages/" + poisonAt[:10]
	for k, m := range sink.manifests {
		if k == poisonDay {
			if m.Rejected != 1 || !cmp.Equal(m.RejectedReasons, map[string]int64{sinkReason: 1}) {
				t.Errorf("manifest of %s: rejected %d %v, want 1 {%s: 1}", k, m.Rejected, m.RejectedReasons, sinkReason)
			}
		} else if m.Rejected != 0 || m.RejectedReasons != nil {
			t.Errorf("manifest of %s: rejected %d %v, want none", k, m.Rejected, m.RejectedReasons)
		}
	}
	if _, ok := sink.manifests[poisonDay]; !ok {
		t.Errorf("no manifest for %s", poisonDay)
	}

	var out bytes.Buffer
	if err := s.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rejected": 2`, `"rejected_reasons"`, `"rejected":1,"rejected_reasons":{"` + tsReason + `":1}`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary JSON lacks %s:\n%s", want, out.String())
		}
	}

	// Warnings name the field and the owner as the ledger holds it,
	// never the value or the record.
	l := logs.String()
	for _, want := range []string{`"field":"sentDateTime"`, `"field":"createdDateTime"`, `"owner":"p~u1"`, `"owner":"p~u2"`, `"collection":"messages"`} {
		if !strings.Contains(l, want) {
			t.Errorf("logs lack %s:\n%s", want, l)
		}
	}
	for _, leak := range []string{"1706", "s3cr3t", "u1-bad", "u2-bad"} {
		if strings.Contains(l, leak) || strings.Contains(out.String(), leak) {
			t.Errorf("logs or summary quote %q:\n%s", leak, l)
		}
	}
}

// failWriter fails every write as a bucket that refuses writes does.
type failWriter struct{ sinks.RecordWriter }

func (failWriter) Write(sinks.Record) error { return errors.New("bucket refuses writes") }

type failSink struct{ *memSink }

func (s failSink) NewWriter(ctx context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	w, err := s.memSink.NewWriter(ctx, t, dt)
	return failWriter{w}, err
}

// TestRun_SinkErrorStillFailsTheRun: a write error that is not about one
// record fails the run as before, and nothing is committed.
func TestRun_SinkErrorStillFailsTheRun(t *testing.T) {
	sink := failSink{&memSink{}}
	c := Collection{Name: "messages", TimeField: "sentDateTime", Source: testSource(), Sanitizer: upper{},
		Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}}
	job := &Job{Connector: "outlook-mail", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: Window{From: day, To: day.Add(7 * 24 * time.Hour)}, RunID: "r1", Concurrency: 3}
	s, err := Run(t.Context(), job)
	if err == nil || errors.Is(err, ErrPartial) || s.Status != "failed" || len(sink.committed) != 0 {
		t.Errorf("Run = %v, status %q, committed %v; want a failure, nothing committed", err, s.Status, sink.committed)
	}
}

// TestRun_RejectedCountsSurviveResume: owners restored from a checkpoint
// keep their rejected records in the ledger, the summary and the
// manifests, and owners read again are not counted twice.
func TestRun_RejectedCountsSurviveResume(t *testing.T) {
	poison := func(f *fakeSource, owner string) {
		f.records[owner][2] = fmt.Sprintf(`{"id":"%s-bad","sentDateTime":%q,"poison":1,"from":{"user":{"id":%q}},"chatId":"c"}`,
			owner, day.Add(time.Hour).Format(time.RFC3339), owner)
		f.records[owner][3] = rec(owner+"-badtime", badTime, owner)
	}
	source := func() *fakeSource {
		f := chatSource()
		poison(f, "u1") // done before the crash
		poison(f, "u5") // read by the resumed attempt
		return f
	}
	b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	cps := &memCheckpoints{cps: map[string]*Checkpoint{}}
	ctx, cancel := context.WithCancel(t.Context())
	src := &crashSource{fakeSource: source(), pages: map[string]int{}, crashAt: "u4", cancel: cancel}
	sink := &poisonStaging{stagingSink: newStagingSink(b), manifests: map[string]sinks.Manifest{}}
	job := checkpointJob(chatCollection(src), nil, cps)
	job.Sink, job.Committer = sink, sink
	if _, err := Run(ctx, job); !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: err = %v, want a cancel", err)
	}
	if cp := cps.cps["chat_messages"]; cp == nil || cp.Rejected[""]["invalid timestamp in sentDateTime"] != 1 {
		t.Fatalf("checkpoint after the crash: %+v, want u1's rejected records", cp)
	}

	src.crashAt, src.pages = "", map[string]int{}
	sink = &poisonStaging{stagingSink: newStagingSink(b), manifests: map[string]sinks.Manifest{}}
	job = checkpointJob(chatCollection(src), nil, cps)
	job.Sink, job.Committer = sink, sink
	s, err := Run(t.Context(), job)
	if err != nil || s.Status != StatusOK {
		t.Fatalf("resumed attempt: %v, status %q", err, s.Status)
	}
	both := Reasons{"invalid timestamp in sentDateTime": 1, "invalid timestamp in createdDateTime": 1}
	cs := s.Collections[0]
	if cs.FromCheckpoint != 4 || cs.Rejected != 4 || !cmp.Equal(cs.RejectedReasons, Reasons{"invalid timestamp in sentDateTime": 2, "invalid timestamp in createdDateTime": 2}) {
		t.Errorf("resumed summary %+v, want 4 from the checkpoint and 4 rejected", cs)
	}
	for _, e := range s.Ledger.All() {
		want := Reasons(nil)
		if e.Owner == "p~u1" || e.Owner == "p~u5" {
			want = both
		}
		if e.Status != StatusOK || !cmp.Equal(e.RejectedReasons, want) || e.Rejected != want.Total() {
			t.Errorf("ledger entry %+v, want ok with rejected %v", e, want)
		}
	}
	if m := sink.manifests["chat_messages/2026-11-26"]; m.Rejected != 2 || m.RejectedReasons["invalid timestamp in createdDateTime"] != 2 {
		t.Errorf("manifest of 2026-11-26: rejected %d %v, want 2", m.Rejected, m.RejectedReasons)
	}
}
