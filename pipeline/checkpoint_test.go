package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/sinks"
	"m365export/sources"
)

// bucket is what outlives a process: staged files and committed
// partitions.
type bucket struct {
	mu        sync.Mutex
	files     map[string][]string // staged name → records
	committed map[string][]string // collection/dt → records
	seq       int
}

// stagingSink stages each closed writer's records as one file in the
// bucket, adopts staged files of an earlier process, and promotes what it
// staged or adopted at Commit (like parquetsink).
type stagingSink struct {
	b      *bucket
	mu     sync.Mutex
	staged map[string][]string // collection/dt → names
}

func newStagingSink(b *bucket) *stagingSink { return &stagingSink{b: b, staged: map[string][]string{}} }

type stagingWriter struct {
	bufWriter
	s *stagingSink
}

func (s *stagingSink) NewWriter(_ context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	return &stagingWriter{bufWriter: bufWriter{key: t.Collection + "/" + dt}, s: s}, nil
}

func (w *stagingWriter) Close() error {
	w.s.b.mu.Lock()
	name := fmt.Sprintf("%s/part-%d", w.key, w.s.b.seq)
	w.s.b.seq++
	w.s.b.files[name] = w.buf
	w.s.b.mu.Unlock()
	w.s.mu.Lock()
	w.s.staged[w.key] = append(w.s.staged[w.key], name)
	w.s.mu.Unlock()
	return nil
}

func (s *stagingSink) Staged(t sinks.Table, dt string) []sinks.StagedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinks.StagedFile
	for _, n := range s.staged[t.Collection+"/"+dt] {
		out = append(out, sinks.StagedFile{Key: n, Name: n})
	}
	return out
}

func (s *stagingSink) Adopt(_ context.Context, t sinks.Table, dt string, files []sinks.StagedFile) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, f := range files {
		if _, ok := s.b.files[f.Key]; !ok {
			return fmt.Errorf("staged file %s is missing", f.Key)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		s.staged[t.Collection+"/"+dt] = append(s.staged[t.Collection+"/"+dt], f.Key)
	}
	return nil
}

func (s *stagingSink) Commit(_ context.Context, t sinks.Table, dt string, _ sinks.Manifest) error {
	k := t.Collection + "/" + dt
	s.mu.Lock()
	names := s.staged[k]
	delete(s.staged, k)
	s.mu.Unlock()
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	var recs []string
	for _, n := range names {
		recs = append(recs, s.b.files[n]...)
		delete(s.b.files, n)
	}
	s.b.committed[k] = recs
	return nil
}

// memCheckpoints is a CheckpointStore in memory.
type memCheckpoints struct {
	mu    sync.Mutex
	cps   map[string]*Checkpoint
	saves int
}

func (m *memCheckpoints) LoadCheckpoint(_ context.Context, c string) (*Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cps[c], nil
}

func (m *memCheckpoints) SaveCheckpoint(_ context.Context, cp *Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cps[cp.Collection] = cp
	m.saves++
	return nil
}

func (m *memCheckpoints) DeleteCheckpoint(_ context.Context, c string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cps, c)
	return nil
}

// crashSource counts page requests per owner and, while crashAt is set,
// cancels the run when that owner is first asked for a page (a crash in
// the middle of the collection).
type crashSource struct {
	*fakeSource
	mu      sync.Mutex
	pages   map[string]int
	crashAt string
	cancel  context.CancelFunc
}

func (c *crashSource) Page(ctx context.Context, p, token string) (sources.Page, error) {
	c.mu.Lock()
	c.pages[p]++
	crash := p == c.crashAt
	c.mu.Unlock()
	if crash {
		c.cancel()
		return sources.Page{}, ctx.Err()
	}
	return c.fakeSource.Page(ctx, p, token)
}

// chatSource is testSource plus one message from an outside sender that
// every owner reads (as getAllMessages returns a chat's message once per
// participant): it must be written once, across a crash too.
func chatSource() *fakeSource {
	f := testSource()
	for _, o := range f.owners {
		f.records[o] = append(f.records[o], rec("ext-1", day.Add(time.Hour).Format(time.RFC3339), "outsider"))
	}
	return f
}

func chatCollection(src sources.Source) Collection {
	return Collection{Name: "chat_messages", TimeField: "sentDateTime", SenderField: "from.user.id", DedupeKey: []string{"chatId", "id"},
		Source: src, Sanitizer: upper{}, Table: sinks.Table{Connector: "msft-teams", Collection: "chat_messages"}}
}

func checkpointJob(c Collection, sink *stagingSink, cps CheckpointStore) *Job {
	return &Job{Connector: "msft-teams", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: Window{From: day, To: day.Add(72 * time.Hour)}, RunID: "r1", Concurrency: 1,
		OwnerID:     func(s string) string { return "p~" + s },
		Checkpoints: cps, CheckpointEvery: time.Nanosecond}
}

// groundTruth is what one uninterrupted run commits.
func groundTruth(t *testing.T) map[string][]string {
	t.Helper()
	b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	if _, err := Run(t.Context(), checkpointJob(chatCollection(chatSource()), newStagingSink(b), nil)); err != nil {
		t.Fatal(err)
	}
	return sortedValues(b.committed)
}

func sortedValues(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		v = slices.Clone(v)
		sort.Strings(v)
		out[k] = v
	}
	return out
}

// TestRun_ResumesFromCheckpointRedoingOnlyUnfinishedOwners: a run that
// crashes in the middle of a collection leaves staged files and a
// checkpoint; the next attempt adopts the files, reads only the owners the
// checkpoint does not name, and commits exactly what one uninterrupted run
// commits (no record lost, none twice, the outsider's message once).
func TestRun_ResumesFromCheckpointRedoingOnlyUnfinishedOwners(t *testing.T) {
	want := groundTruth(t)
	b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
	cps := &memCheckpoints{cps: map[string]*Checkpoint{}}

	ctx, cancel := context.WithCancel(t.Context())
	src := &crashSource{fakeSource: chatSource(), pages: map[string]int{}, crashAt: "u4", cancel: cancel}
	_, err := Run(ctx, checkpointJob(chatCollection(src), newStagingSink(b), cps))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: err = %v, want a cancel", err)
	}
	if len(b.committed) != 0 {
		t.Fatalf("first attempt committed %v", b.committed)
	}
	cp := cps.cps["chat_messages"]
	if cp == nil || len(cp.Owners) != 4 {
		t.Fatalf("checkpoint after the crash: %+v, want 4 owners done", cp)
	}
	for _, o := range cp.Owners {
		if slices.Contains(src.owners, o.Key) || len(o.Key) != 16 {
			t.Errorf("checkpoint names an owner in the clear: %q", o.Key)
		}
	}
	if len(cp.Seen) != 1 {
		t.Errorf("checkpoint has %d dedupe keys, want 1 (the outsider's message)", len(cp.Seen))
	}

	src.crashAt, src.pages = "", map[string]int{}
	s, err := Run(t.Context(), checkpointJob(chatCollection(src), newStagingSink(b), cps))
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	var read []string
	for o := range src.pages {
		read = append(read, o)
	}
	sort.Strings(read)
	if d := cmp.Diff([]string{"u4", "u5", "u6"}, read); d != "" {
		t.Errorf("owners read by the resumed attempt (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, sortedValues(b.committed)); d != "" {
		t.Errorf("committed after resume differs from one uninterrupted run (-want +got):\n%s", d)
	}
	if len(b.files) != 0 {
		t.Errorf("staged files left after the commit: %v", b.files)
	}
	if cps.cps["chat_messages"] != nil {
		t.Error("the checkpoint outlived the collection's commit")
	}
	if s.Ledger.Len() != 7 || s.Collections[0].OK != 7 || s.Collections[0].Records != int64(len(want["chat_messages/2026-11-26"])+len(want["chat_messages/2026-11-27"])+len(want["chat_messages/2026-11-28"])) {
		t.Errorf("resumed summary: %d ledger entries, %+v", s.Ledger.Len(), s.Collections[0])
	}
	if s.Collections[0].FromCheckpoint != 4 {
		t.Errorf("FromCheckpoint = %d, want 4", s.Collections[0].FromCheckpoint)
	}
	for _, e := range s.Ledger.All() {
		if e.Status != StatusOK || e.Records == 0 || !strings.HasPrefix(e.Owner, "p~u") {
			t.Errorf("ledger entry %+v, want ok with records and a pseudonymized owner", e)
		}
	}
}

// TestRun_CheckpointOfAnotherRunOrGoneFilesIsIgnored: a checkpoint of
// another run id is not used, and one whose staged files were already
// promoted (a commit the state did not record) makes the run read every
// owner afresh; either way the result is exact.
func TestRun_CheckpointOfAnotherRunOrGoneFilesIsIgnored(t *testing.T) {
	want := groundTruth(t)
	for _, tc := range []struct {
		name string
		cp   Checkpoint
	}{
		{"other run", Checkpoint{RunID: "r0", Collection: "chat_messages", From: day, To: day.Add(72 * time.Hour),
			Owners: []OwnerProgress{{Key: OwnerKey("u0"), Status: StatusOK, Records: 11}}}},
		{"files gone", Checkpoint{RunID: "r1", Collection: "chat_messages", From: day, To: day.Add(72 * time.Hour),
			Owners: []OwnerProgress{{Key: OwnerKey("u0"), Status: StatusOK, Records: 11}},
			Files:  map[string][]sinks.StagedFile{"2026-11-26": {{Key: "gone", Name: "gone"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &bucket{files: map[string][]string{}, committed: map[string][]string{}}
			cps := &memCheckpoints{cps: map[string]*Checkpoint{"chat_messages": &tc.cp}}
			src := &crashSource{fakeSource: chatSource(), pages: map[string]int{}}
			if _, err := Run(t.Context(), checkpointJob(chatCollection(src), newStagingSink(b), cps)); err != nil {
				t.Fatal(err)
			}
			if src.pages["u0"] == 0 {
				t.Error("owner u0 was not read")
			}
			if d := cmp.Diff(want, sortedValues(b.committed)); d != "" {
				t.Errorf("committed (-want +got):\n%s", d)
			}
		})
	}
}

// TestRun_NoCheckpointWithoutResumer: a sink that cannot adopt staged
// files gets no checkpoints (its writers are closed once, at the end).
func TestRun_NoCheckpointWithoutResumer(t *testing.T) {
	cps := &memCheckpoints{cps: map[string]*Checkpoint{}}
	sink := &memSink{}
	c := chatCollection(chatSource())
	job := &Job{Connector: "msft-teams", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: Window{From: day, To: day.Add(72 * time.Hour)}, RunID: "r1", Concurrency: 1,
		Checkpoints: cps, CheckpointEvery: time.Nanosecond}
	if _, err := Run(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if cps.saves != 0 {
		t.Errorf("%d checkpoints saved for a sink without Staged/Adopt", cps.saves)
	}
}
