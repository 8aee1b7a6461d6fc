package parquetsink_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sinks/sinktest"
)

const resumeDay = "2024-03-01"

// smallFiles rolls a file every few dozen records.
var smallFiles = &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 4 << 10}

func newMemSink(t *testing.T, b *blob.Bucket) *parquetsink.Sink {
	t.Helper()
	s, err := parquetsink.New(b, smallFiles)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func memBucket(t *testing.T) *blob.Bucket {
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { b.Close() })
	return b
}

// stage writes recs into the resume test's partition, without Commit.
func stage(t *testing.T, s *parquetsink.Sink, tbl sinks.Table, recs []sinks.Record) {
	t.Helper()
	sinktest.Stage(t, s, tbl, resumeDay, recs)
}

// commit commits the partition and returns its manifest.
func commit(t *testing.T, s *parquetsink.Sink, b *blob.Bucket, tbl sinks.Table) sinks.Manifest {
	t.Helper()
	if err := s.Commit(t.Context(), tbl, resumeDay, sinks.Manifest{RunID: "run-1", Shards: 2}); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	dir := fmt.Sprintf("%s/%s/dt=%s/", tbl.Connector, tbl.Collection, resumeDay)
	data, err := b.ReadAll(t.Context(), dir+fmt.Sprintf("_manifest-%d.json", tbl.Shard))
	if err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	var m sinks.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readParts reads the rows of every part of the table's partition, by id.
func readParts(t *testing.T, b *blob.Bucket, tbl sinks.Table) []sinktest.Row {
	t.Helper()
	dir := fmt.Sprintf("%s/%s/dt=%s/", tbl.Connector, tbl.Collection, resumeDay)
	var rows []sinktest.Row
	for _, k := range listKeys(t, b, dir) {
		if !strings.HasSuffix(k, ".parquet") {
			continue
		}
		data, err := b.ReadAll(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		r, err := sinktest.ReadArrow(t.Context(), tbl.Schema, data)
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		rows = append(rows, r...)
	}
	sortByID(rows)
	return rows
}

func expected(t *testing.T, tbl sinks.Table, recs []sinks.Record) []sinktest.Row {
	t.Helper()
	var rows []sinktest.Row
	for _, r := range recs {
		row, err := sinktest.Expect(tbl.Schema, r)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	sortByID(rows)
	return rows
}

func sortByID(rows []sinktest.Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := rows[i]["id"].(string)
		b, _ := rows[j]["id"].(string)
		return a < b
	})
}

func listKeys(t *testing.T, b *blob.Bucket, prefix string) []string {
	t.Helper()
	var out []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(t.Context())
		if err != nil {
			break
		}
		out = append(out, obj.Key)
	}
	return out
}

func stagingPrefix(tbl sinks.Table) string {
	return fmt.Sprintf("%s/_staging/%s/dt=%s/", tbl.Connector, tbl.Collection, resumeDay)
}

// TestStaged_SeqOrderAndJSON: Staged lists a partition's files by seq
// (part-0-10 after part-0-9), nil when there are none, and a StagedFile
// survives the JSON a checkpoint stores it in.
func TestStaged_SeqOrderAndJSON(t *testing.T) {
	s := newMemSink(t, memBucket(t))
	tbl := sinktest.Table
	if got := s.Staged(tbl, resumeDay); got != nil {
		t.Errorf("Staged before any writer = %v, want nil", got)
	}
	stage(t, s, tbl, sinktest.Records(0, 600, "run-1"))
	got := s.Staged(tbl, resumeDay)
	if len(got) < 11 {
		t.Fatalf("Staged = %d files, want more than 10", len(got))
	}
	for i, f := range got {
		if want := fmt.Sprintf("part-0-%d.parquet", i); f.Name != want {
			t.Errorf("Staged[%d] = %s, want %s", i, f.Name, want)
		}
	}
	data, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"key":`, `"name":`, `"rows":`, `"bytes":`, `"sha256":`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("StagedFile JSON %s lacks %s", data, key)
		}
	}
	var back sinks.StagedFile
	if err := json.Unmarshal(data, &back); err != nil || back != got[0] {
		t.Errorf("StagedFile JSON round trip = %+v, %v; want %+v", back, err, got[0])
	}
	if got := s.Staged(tbl, "not-a-day"); got != nil {
		t.Errorf("Staged(invalid partition) = %v, want nil", got)
	}
}

// TestAdopt_RefusesForeignFiles: Adopt takes only this shard's staged
// files of this partition, under their own part name, once each, present
// and of the recorded size; the error names the file, and a refused call
// adopts nothing.
func TestAdopt_RefusesForeignFiles(t *testing.T) {
	b := memBucket(t)
	tbl := sinktest.Table
	tbl1 := tbl
	tbl1.Shard = 1
	crashed := newMemSink(t, b)
	stage(t, crashed, tbl, sinktest.Records(0, 100, "run-1"))
	stage(t, crashed, tbl1, sinktest.Records(100, 10, "run-1"))
	files := crashed.Staged(tbl, resumeDay)
	if len(files) < 3 {
		t.Fatalf("Staged = %d files, want several", len(files))
	}
	other := crashed.Staged(tbl1, resumeDay)[0]
	f0 := files[0]
	with := func(edit func(*sinks.StagedFile)) []sinks.StagedFile {
		fs := append([]sinks.StagedFile(nil), files...)
		edit(&fs[len(fs)-1])
		return fs
	}
	cases := []struct {
		name  string
		files []sinks.StagedFile
		want  string // the error names it
	}{
		{"missing", with(func(f *sinks.StagedFile) { f.Key = strings.Replace(f.Key, ".tmp", "x.tmp", 1) }), "x.tmp"},
		{"size", with(func(f *sinks.StagedFile) { f.Bytes-- }), files[len(files)-1].Key},
		{"other shard", append(files[:1:1], other), other.Key},
		{"other shard's name", with(func(f *sinks.StagedFile) { f.Name = "part-1-9.parquet" }), "part-1-9.parquet"},
		{"key of another name", with(func(f *sinks.StagedFile) { f.Name = f0.Name }), files[len(files)-1].Key},
		{"duplicate", append(files[:1:1], f0), f0.Key},
		{"other partition", with(func(f *sinks.StagedFile) { f.Key = strings.Replace(f.Key, "dt="+resumeDay, "dt=2024-03-02", 1) }), "dt=2024-03-02"},
		{"outside staging", with(func(f *sinks.StagedFile) { f.Key = "test-conn/widgets/dt=" + resumeDay + "/" + f.Name }), "test-conn/widgets/dt=" + resumeDay + "/"},
		{"nested", with(func(f *sinks.StagedFile) { f.Key = stagingPrefix(tbl) + "x/" + f.Name + ".tmp" }), "x/"},
		{"not a part name", with(func(f *sinks.StagedFile) { f.Name = "part-0-01.parquet" }), "part-0-01.parquet"},
		{"not staged", with(func(f *sinks.StagedFile) { f.Key = strings.TrimSuffix(f.Key, ".tmp") }), strings.TrimSuffix(files[len(files)-1].Key, ".tmp")},
	}
	s := newMemSink(t, b)
	for _, c := range cases {
		err := s.Adopt(t.Context(), tbl, resumeDay, c.files)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Adopt = %v, want an error naming %q", c.name, err, c.want)
		}
		if got := s.Staged(tbl, resumeDay); got != nil {
			t.Fatalf("%s: a refused Adopt left %d files adopted", c.name, len(got))
		}
	}
	// A file this Sink staged itself, or adopted before, is not adopted
	// again.
	if err := s.Adopt(t.Context(), tbl, resumeDay, files[:1]); err != nil {
		t.Fatalf("Adopt = %v", err)
	}
	if err := s.Adopt(t.Context(), tbl, resumeDay, files[:2]); err == nil || !strings.Contains(err.Error(), f0.Name) {
		t.Errorf("Adopt of an adopted file = %v, want an error naming %s", err, f0.Name)
	}
	if got := s.Staged(tbl, resumeDay); len(got) != 1 {
		t.Errorf("Staged after a refused second Adopt = %d files, want 1", len(got))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Adopt(t.Context(), tbl, resumeDay, files[1:2]); err == nil {
		t.Error("Adopt on a closed Sink succeeded")
	}
}

// TestAdopt_NewWritersSkipAdoptedSeqs: after adopting files with gaps in
// their seqs (0 and 2 of 0..2), a new writer starts past the highest, and
// Commit promotes exactly the adopted and the new files.
func TestAdopt_NewWritersSkipAdoptedSeqs(t *testing.T) {
	b := memBucket(t)
	tbl := sinktest.Table
	crashed := newMemSink(t, b)
	stage(t, crashed, tbl, sinktest.Records(0, 100, "run-1"))
	files := crashed.Staged(tbl, resumeDay)
	if len(files) < 3 {
		t.Fatalf("Staged = %d files, want at least 3", len(files))
	}
	adopt := []sinks.StagedFile{files[0], files[2]}
	s := newMemSink(t, b)
	if err := s.Adopt(t.Context(), tbl, resumeDay, adopt); err != nil {
		t.Fatalf("Adopt = %v", err)
	}
	stage(t, s, tbl, sinktest.Records(1000, 10, "run-1"))
	got := s.Staged(tbl, resumeDay)
	if len(got) != 3 || got[2].Name != "part-0-3.parquet" {
		t.Fatalf("Staged = %+v, want the adopted part-0-0, part-0-2 and a new part-0-3", got)
	}
	m := commit(t, s, b, tbl)
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff([]string{"part-0-0.parquet", "part-0-2.parquet", "part-0-3.parquet"}, names); diff != "" {
		t.Errorf("manifest files (-want +got):\n%s", diff)
	}
	want := append(append([]sinks.Record(nil), sinktest.Records(0, int(files[0].Rows), "run-1")...),
		sinktest.Records(int(files[0].Rows+files[1].Rows), int(files[2].Rows), "run-1")...)
	want = append(want, sinktest.Records(1000, 10, "run-1")...)
	if diff := cmp.Diff(expected(t, tbl, want), readParts(t, b, tbl)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if left := listKeys(t, b, stagingPrefix(tbl)); len(left) != 0 {
		t.Errorf("staged objects after Commit: %v (part-0-1 was not adopted and must go too)", left)
	}
}

// TestAdopt_AfterTwoCrashes: a resumed process that crashes again
// checkpoints adopted and own files alike; the third process adopts both
// runs' files (two tokens) and commits exactly the union.
func TestAdopt_AfterTwoCrashes(t *testing.T) {
	b := memBucket(t)
	tbl := sinktest.Table
	a := newMemSink(t, b)
	stage(t, a, tbl, sinktest.Records(0, 60, "run-1"))
	cpA := a.Staged(tbl, resumeDay)
	stage(t, a, tbl, sinktest.Records(60, 40, "run-1")) // lost

	bs := newMemSink(t, b)
	if err := bs.Adopt(t.Context(), tbl, resumeDay, cpA); err != nil {
		t.Fatalf("Adopt(A) = %v", err)
	}
	stage(t, bs, tbl, sinktest.Records(60, 50, "run-1"))
	cpB := bs.Staged(tbl, resumeDay)
	stage(t, bs, tbl, sinktest.Records(110, 40, "run-1")) // lost

	c := newMemSink(t, b)
	if err := c.Adopt(t.Context(), tbl, resumeDay, cpB); err != nil {
		t.Fatalf("Adopt(B) = %v", err)
	}
	stage(t, c, tbl, sinktest.Records(110, 30, "run-1"))
	tokens := map[string]bool{}
	for _, f := range c.Staged(tbl, resumeDay) {
		tokens[strings.Split(f.Key[strings.LastIndexByte(f.Key, '/')+1:], ".")[1]] = true
	}
	if len(tokens) != 3 {
		t.Errorf("the commit's files come from %d runs, want 3", len(tokens))
	}
	m := commit(t, c, b, tbl)
	if m.Rows != 140 {
		t.Errorf("manifest rows = %d, want 140", m.Rows)
	}
	for i, f := range m.Files {
		if want := fmt.Sprintf("part-0-%d.parquet", i); f.Name != want {
			t.Errorf("manifest file %d = %s, want %s", i, f.Name, want)
		}
	}
	if diff := cmp.Diff(expected(t, tbl, sinktest.Records(0, 140, "run-1")), readParts(t, b, tbl)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if left := listKeys(t, b, stagingPrefix(tbl)); len(left) != 0 {
		t.Errorf("staged objects after Commit: %v", left)
	}
}

// TestAdopt_NothingAndAfterCommit: adopting no file changes nothing (a
// committed partition stays committed, so a second Commit is still
// refused), and Staged after Commit is nil.
func TestAdopt_NothingAndAfterCommit(t *testing.T) {
	b := memBucket(t)
	tbl := sinktest.Table
	s := newMemSink(t, b)
	stage(t, s, tbl, sinktest.Records(0, 10, "run-1"))
	commit(t, s, b, tbl)
	if got := s.Staged(tbl, resumeDay); got != nil {
		t.Errorf("Staged after Commit = %v, want nil", got)
	}
	if err := s.Adopt(t.Context(), tbl, resumeDay, nil); err != nil {
		t.Errorf("Adopt(nil) = %v", err)
	}
	if err := s.Commit(t.Context(), tbl, resumeDay, sinks.Manifest{RunID: "run-1", Shards: 2}); err == nil {
		t.Error("second Commit after Adopt(nil) succeeded: it would empty the partition")
	}
	if got := readParts(t, b, tbl); len(got) != 10 {
		t.Errorf("rows after the refused Commit = %d, want 10", len(got))
	}
}

// TestDiscard_DeletesAllButKept: Discard deletes the partition's staged
// files other than those kept (a checkpoint names them) and forgets them,
// so that Staged and the Commit that follows see only the kept ones.
func TestDiscard_DeletesAllButKept(t *testing.T) {
	b := memBucket(t)
	s := newMemSink(t, b)
	tbl := sinktest.Table
	stage(t, s, tbl, sinktest.Records(0, 600, "run-1"))
	all := s.Staged(tbl, resumeDay)
	if len(all) < 3 {
		t.Fatalf("staged %d files, want several", len(all))
	}
	keep := all[:1]
	if err := s.Discard(t.Context(), tbl, resumeDay, keep); err != nil {
		t.Fatalf("Discard = %v", err)
	}
	if d := cmp.Diff(keep, s.Staged(tbl, resumeDay)); d != "" {
		t.Errorf("Staged after Discard (-want +got):\n%s", d)
	}
	if got := listKeys(t, b, stagingPrefix(tbl)); len(got) != 1 || got[0] != keep[0].Key {
		t.Errorf("staging holds %v after Discard, want only %s", got, keep[0].Key)
	}
	m := commit(t, s, b, tbl)
	if len(m.Files) != 1 || m.Files[0].Rows != keep[0].Rows {
		t.Errorf("commit after Discard names %+v, want the kept file only", m.Files)
	}
}
