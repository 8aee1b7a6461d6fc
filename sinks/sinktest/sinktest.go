// Package sinktest is the conformance suite of the Parquet sink: one call
// per storage backend (memblob, fileblob, S3 through gofakes3, GCS through
// fake-gcs-server) runs every case against a fresh bucket:
//
//	func TestConformance(t *testing.T) { sinktest.Run(t, newHarness) }
//
// Every round trip reads the committed files back with Apache Arrow's
// Parquet implementation (pqarrow), not with the library that wrote them,
// and compares rows as canonical JSON with what encoding/json makes of the
// input.
package sinktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"gocloud.dev/blob"

	"m365export/sinks"
	"m365export/sinks/parquetsink"
)

// Harness gives the suite a fresh, empty bucket of one backend.
type Harness interface {
	// Bucket is the bucket under test; the suite writes through it and
	// inspects it. The harness closes it.
	Bucket() *blob.Bucket
	// Close releases the bucket and any server behind it. The bucket may
	// be closed already (a case that wraps it in blob.PrefixedBucket closes
	// it through the wrapper).
	Close()
}

// HarnessMaker makes a Harness for one test case.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// Run runs every conformance case.
func Run(t *testing.T, newHarness HarnessMaker) {
	cases := []struct {
		name string
		fn   func(*testing.T, *blob.Bucket)
	}{
		{"RoundTrip", testRoundTrip},
		{"ZeroRecords", testZeroRecords},
		{"CancelLeavesNoObject", testCancel},
		{"CloseErrorSurfaces", testCloseError},
		{"OddKeys", testOddKeys},
		{"ConcurrentWriters", testConcurrent},
		{"RerunIdempotent", testRerun},
		{"AdoptAfterCrash", testAdopt},
		{"SeveralShards", testShards},
		{"RowGroups", testRowGroups},
		{"SharedBufferBudget", testBufferBudget},
		{"RollsFiles", testRolling},
		{"FailedRunKeepsCommitted", testFailedRun},
		{"InvalidRecord", testInvalidRecord},
		{"RejectedRecordKeepsWriter", testRejectedKeepsWriter},
		{"Compat", testCompat},
		{"LargeFile", testLargeFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := newHarness(t.Context(), t)
			if err != nil {
				t.Fatalf("harness: %v", err)
			}
			defer h.Close()
			c.fn(t, h.Bucket())
		})
	}
}

// Table is the suite's table on shard 0.
var Table = sinks.Table{Connector: "test-conn", Collection: "widgets", Schema: Schema}

var (
	runAt  = time.Date(2024, 3, 2, 1, 2, 3, 456789123, time.UTC)
	window = sinks.Window{From: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}
)

// Records makes n records [first, first+n) of the suite's data.
func Records(first, n int, runID string) []sinks.Record {
	out := make([]sinks.Record, n)
	for i := range out {
		out[i] = sinks.Record{JSON: RecordJSON(first + i), Owner: fmt.Sprintf("p~owner%d", (first+i)%3), RunID: runID, ExportedAt: runAt}
	}
	return out
}

func newSink(t *testing.T, b *blob.Bucket, opts *parquetsink.Options) *parquetsink.Sink {
	t.Helper()
	s, err := parquetsink.New(b, opts)
	if err != nil {
		t.Fatalf("parquetsink.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func manifest(runID string, shards int) sinks.Manifest {
	return sinks.Manifest{RunID: runID, Window: window, Shards: shards, RulesHash: "rules-sha", SaltFingerprint: "salt-fp", ExporterVersion: "test"}
}

// writePartition writes recs into one partition with one writer, closes
// it and commits.
func writePartition(t *testing.T, s *parquetsink.Sink, tbl sinks.Table, dt string, recs []sinks.Record, m sinks.Manifest) {
	t.Helper()
	Stage(t, s, tbl, dt, recs)
	if err := s.Commit(t.Context(), tbl, dt, m); err != nil {
		t.Fatalf("Commit(%s, %s) = %v", tbl.Collection, dt, err)
	}
}

// Stage writes recs into partition dt with one writer of s and closes it,
// without Commit: the files stay staged.
func Stage(t *testing.T, s *parquetsink.Sink, tbl sinks.Table, dt string, recs []sinks.Record) {
	t.Helper()
	w, err := s.NewWriter(t.Context(), tbl, dt)
	if err != nil {
		t.Fatalf("NewWriter(%s, %s) = %v", tbl.Collection, dt, err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write = %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// keys lists every object in the bucket.
func keys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var out []string
	it := b.List(nil)
	for {
		obj, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		out = append(out, obj.Key)
	}
	sort.Strings(out)
	return out
}

func partDir(tbl sinks.Table, dt string) string {
	return tbl.Connector + "/" + tbl.Collection + "/dt=" + dt + "/"
}

// parquetKeys lists what a glob reader of {collection}/*/*.parquet sees.
func parquetKeys(t *testing.T, b *blob.Bucket, tbl sinks.Table) []string {
	var out []string
	prefix := tbl.Connector + "/" + tbl.Collection + "/"
	for _, k := range keys(t, b) {
		rest, ok := strings.CutPrefix(k, prefix)
		if ok && strings.Count(rest, "/") == 1 && strings.HasSuffix(rest, ".parquet") {
			out = append(out, k)
		}
	}
	return out
}

// readManifest reads a shard's manifest of 2024-03-01, the only day whose
// manifests the cases inspect.
func readManifest(t *testing.T, b *blob.Bucket, tbl sinks.Table, shard int) sinks.Manifest {
	t.Helper()
	data, err := b.ReadAll(t.Context(), fmt.Sprintf("%s_manifest-%d.json", partDir(tbl, "2024-03-01"), shard))
	if err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	var m sinks.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	return m
}

// readRows reads every part a glob reader sees, checks each file's bytes
// against its manifest entry, and returns the rows sorted by id.
func readRows(t *testing.T, b *blob.Bucket, tbl sinks.Table) []Row {
	t.Helper()
	ctx := t.Context()
	manifests := map[string]sinks.ManifestFile{}
	for _, k := range keys(t, b) {
		if strings.Contains(k, "/_manifest-") {
			data, err := b.ReadAll(ctx, k)
			if err != nil {
				t.Fatalf("read %s: %v", k, err)
			}
			var m sinks.Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("decode %s: %v", k, err)
			}
			dir := k[:strings.LastIndexByte(k, '/')+1]
			for _, f := range m.Files {
				manifests[dir+f.Name] = f
			}
		}
	}
	var rows []Row
	for _, k := range parquetKeys(t, b, tbl) {
		data, err := b.ReadAll(ctx, k)
		if err != nil {
			t.Fatalf("read %s: %v", k, err)
		}
		mf, ok := manifests[k]
		if !ok {
			t.Errorf("%s: no manifest names it", k)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != mf.SHA256 || int64(len(data)) != mf.Bytes {
			t.Errorf("%s: %d bytes sha256 %s, manifest says %d bytes %s", k, len(data), got, mf.Bytes, mf.SHA256)
		}
		r, err := ReadArrow(ctx, tbl.Schema, data)
		if err != nil {
			t.Fatalf("arrow read %s: %v", k, err)
		}
		if int64(len(r)) != mf.Rows {
			t.Errorf("%s: %d rows, manifest says %d", k, len(r), mf.Rows)
		}
		rows = append(rows, r...)
	}
	sortRows(rows)
	return rows
}

func sortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := rows[i]["id"].(string)
		b, _ := rows[j]["id"].(string)
		return a < b
	})
}

func expectRows(t *testing.T, tbl sinks.Table, recs []sinks.Record) []Row {
	t.Helper()
	var rows []Row
	for _, r := range recs {
		row, err := Expect(tbl.Schema, r)
		if err != nil {
			t.Fatalf("expect %s: %v", r.JSON, err)
		}
		rows = append(rows, row)
	}
	sortRows(rows)
	return rows
}

func checkRows(t *testing.T, b *blob.Bucket, tbl sinks.Table, recs []sinks.Record) {
	t.Helper()
	want := expectRows(t, tbl, recs)
	got := readRows(t, b, tbl)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows read back (-want +got):\n%s", diff)
	}
}

func testRoundTrip(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, &parquetsink.Options{RowGroupRows: 64})
	recs := Records(0, 300, "run-1")
	writePartition(t, s, Table, "2024-03-01", recs, manifest("run-1", 1))
	checkRows(t, b, Table, recs)
	m := readManifest(t, b, Table, 0)
	if m.RunID != "run-1" || m.Rows != 300 || len(m.Files) != 1 || m.Files[0].Name != "part-0-0.parquet" ||
		m.Shards != 1 || m.SchemaVersion != 1 || m.Partition != "dt=2024-03-01" || m.Collection != "widgets" ||
		m.RulesHash != "rules-sha" || m.SaltFingerprint != "salt-fp" || m.ExporterVersion != "test" || !m.Window.From.Equal(window.From) {
		t.Errorf("manifest = %+v", m)
	}
	want := []string{"test-conn/widgets/dt=2024-03-01/_manifest-0.json", "test-conn/widgets/dt=2024-03-01/part-0-0.parquet"}
	if diff := cmp.Diff(want, keys(t, b)); diff != "" {
		t.Errorf("objects after commit (-want +got):\n%s", diff)
	}
	// A second Commit with no writer in between would empty the
	// partition: it is refused and changes nothing.
	if err := s.Commit(t.Context(), Table, "2024-03-01", manifest("run-1", 1)); err == nil {
		t.Errorf("second Commit = nil, want an error")
	}
	checkRows(t, b, Table, recs)
	// Commit while a writer is open is refused too.
	w, err := s.NewWriter(t.Context(), Table, "2024-03-02")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(t.Context(), Table, "2024-03-02", manifest("run-1", 1)); err == nil {
		t.Errorf("Commit with an open writer = nil, want an error")
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close of an empty writer = %v", err)
	}
}

func testZeroRecords(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, nil)
	writePartition(t, s, Table, "2024-03-01", Records(0, 20, "run-1"), manifest("run-1", 1))
	writePartition(t, s, Table, "2024-03-01", nil, manifest("run-2", 1))
	if got := parquetKeys(t, b, Table); len(got) != 0 {
		t.Errorf("parts after an empty re-run = %v, want none", got)
	}
	m := readManifest(t, b, Table, 0)
	if m.RunID != "run-2" || m.Rows != 0 || len(m.Files) != 0 {
		t.Errorf("manifest = %+v, want run-2 with no files", m)
	}
}

func testCancel(t *testing.T, b *blob.Bucket) {
	// Small files so that some are complete (staged) before the cancel.
	s := newSink(t, b, &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 2 << 10})
	ctx, cancel := context.WithCancel(t.Context())
	w, err := s.NewWriter(ctx, Table, "2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Records(0, 200, "run-1") {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write = %v", err)
		}
	}
	cancel()
	if err := w.Write(Records(500, 1, "run-1")[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel = %v, want context.Canceled", err)
	}
	if err := w.Close(); err == nil {
		t.Errorf("Close after cancel = nil, want an error")
	}
	if got := keys(t, b); len(got) != 0 {
		t.Errorf("objects after a cancelled writer = %v, want none", got)
	}
	if _, err := s.NewWriter(ctx, Table, "2024-03-01"); !errors.Is(err, context.Canceled) {
		t.Errorf("NewWriter(cancelled ctx) = %v, want context.Canceled", err)
	}
}

func testCloseError(t *testing.T, b *blob.Bucket) {
	boom := errors.New("injected upload failure")
	s := newSink(t, b, &parquetsink.Options{BeforeWrite: func(func(any) bool) error { return boom }})
	w, err := s.NewWriter(t.Context(), Table, "2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for _, r := range Records(0, 50, "run-1") {
		if werr = w.Write(r); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if cerr == nil {
		t.Fatalf("Close = nil (Write = %v), want the upload error", werr)
	}
	if !errors.Is(cerr, boom) && !errors.Is(werr, boom) {
		t.Errorf("Write = %v, Close = %v; want one to wrap %v", werr, cerr, boom)
	}
	if got := keys(t, b); len(got) != 0 {
		t.Errorf("objects after a failed upload = %v, want none", got)
	}
}

func testOddKeys(t *testing.T, b *blob.Bucket) {
	const prefix = "odd prefix ü/a+b=c&d %41/"
	// PrefixedBucket takes b over; the harness's Close of b then fails as
	// closed already, which it ignores.
	pb := blob.PrefixedBucket(b, prefix)
	t.Cleanup(func() { pb.Close() })
	s := newSink(t, pb, nil)
	tbl := Table
	tbl.Connector, tbl.Collection = "odd-conn_1", "weird_name-2"
	recs := Records(0, 30, "run-1")
	writePartition(t, s, tbl, "dt=2024-02-29", recs, manifest("run-1", 1))
	got := keys(t, pb)
	want := []string{"odd-conn_1/weird_name-2/dt=2024-02-29/_manifest-0.json", "odd-conn_1/weird_name-2/dt=2024-02-29/part-0-0.parquet"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	checkRows(t, pb, tbl, recs)
	for _, bad := range []sinks.Table{{Connector: "../x", Collection: "c", Schema: Schema}, {Connector: "c", Collection: "a/b", Schema: Schema}} {
		if _, err := s.NewWriter(t.Context(), bad, "2024-01-01"); !errors.Is(err, sinks.ErrConfig) {
			t.Errorf("NewWriter(%q, %q) = %v, want ErrConfig", bad.Connector, bad.Collection, err)
		}
	}
	for _, p := range []string{"2024-13-01", "2024-01-01/..", "x", ""} {
		if _, err := s.NewWriter(t.Context(), Table, p); !errors.Is(err, sinks.ErrConfig) {
			t.Errorf("NewWriter(partition %q) = %v, want ErrConfig", p, err)
		}
	}
}

func testConcurrent(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, &parquetsink.Options{RowGroupRows: 32})
	days := []string{"2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"}
	tables := []sinks.Table{Table, {Connector: Table.Connector, Collection: "gadgets", Schema: Schema}}
	var wg sync.WaitGroup
	errs := make(chan error, len(days)*len(tables))
	for ti, tbl := range tables {
		for di, dt := range days {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := t.Context()
				w, err := s.NewWriter(ctx, tbl, dt)
				if err != nil {
					errs <- err
					return
				}
				for _, r := range Records((ti*4+di)*1000, 100, "run-1") {
					if err := w.Write(r); err != nil {
						errs <- err
						return
					}
				}
				if err := w.Close(); err != nil {
					errs <- err
					return
				}
				errs <- s.Commit(ctx, tbl, dt, manifest("run-1", 1))
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent writer: %v", err)
		}
	}
	for ti, tbl := range tables {
		var recs []sinks.Record
		for di := range days {
			recs = append(recs, Records((ti*4+di)*1000, 100, "run-1")...)
		}
		checkRows(t, b, tbl, recs)
	}
}

func testRerun(t *testing.T, b *blob.Bucket) {
	opts := &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 4 << 10}
	s1 := newSink(t, b, opts)
	writePartition(t, s1, Table, "2024-03-01", Records(0, 200, "run-1"), manifest("run-1", 1))
	if n := len(parquetKeys(t, b, Table)); n < 3 {
		t.Fatalf("first run wrote %d parts, want several", n)
	}
	// The same window again, same records: exactly one copy of each.
	s2 := newSink(t, b, opts)
	recs := Records(0, 200, "run-2")
	writePartition(t, s2, Table, "2024-03-01", recs, manifest("run-2", 1))
	checkRows(t, b, Table, recs)
	// And again with fewer records: fewer parts, no leftovers.
	s3 := newSink(t, b, opts)
	recs = Records(0, 20, "run-3")
	writePartition(t, s3, Table, "2024-03-01", recs, manifest("run-3", 1))
	checkRows(t, b, Table, recs)
	if got := parquetKeys(t, b, Table); len(got) != 1 || !strings.HasSuffix(got[0], "/part-0-0.parquet") {
		t.Errorf("parts after the small re-run = %v, want only part-0-0", got)
	}
	for _, k := range keys(t, b) {
		if strings.Contains(k, "_staging") {
			t.Errorf("staged object left after commit: %s", k)
		}
	}
}

func testShards(t *testing.T, b *blob.Bucket) {
	const dt = "2024-03-01"
	var all []sinks.Record
	for shard := 0; shard < 3; shard++ {
		s := newSink(t, b, &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 4 << 10})
		tbl := Table
		tbl.Shard = shard
		recs := Records(shard*1000, 60, "run-1")
		all = append(all, recs...)
		writePartition(t, s, tbl, dt, recs, manifest("run-1", 3))
	}
	checkRows(t, b, Table, all)
	for shard := 0; shard < 3; shard++ {
		if m := readManifest(t, b, Table, shard); m.Shard != shard || m.Shards != 3 || m.Rows != 60 {
			t.Errorf("manifest of shard %d = %+v", shard, m)
		}
	}
	// Re-run shard 1 alone: shards 0 and 2 keep their files.
	s := newSink(t, b, nil)
	tbl := Table
	tbl.Shard = 1
	rerun := Records(1000, 60, "run-2")
	writePartition(t, s, tbl, dt, rerun, manifest("run-2", 3))
	copy(all[60:120], rerun)
	checkRows(t, b, Table, all)
	// A re-run with two shards: shard 0 removes shard 2's parts and manifest.
	var two []sinks.Record
	for shard := 0; shard < 2; shard++ {
		s := newSink(t, b, nil)
		tbl := Table
		tbl.Shard = shard
		recs := Records(shard*1000+5000, 40, "run-3")
		two = append(two, recs...)
		writePartition(t, s, tbl, dt, recs, manifest("run-3", 2))
	}
	checkRows(t, b, Table, two)
	for _, k := range keys(t, b) {
		if strings.Contains(k, "part-2-") || strings.Contains(k, "_manifest-2") {
			t.Errorf("shard 2 object left after a two-shard run: %s", k)
		}
	}
}

func rowGroups(t *testing.T, data []byte) int {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("parquet.OpenFile: %v", err)
	}
	return len(f.RowGroups())
}

func testRowGroups(t *testing.T, b *blob.Bucket) {
	for _, tc := range []struct {
		rows, groups int64
	}{{0, 1}, {10, 10}} {
		bb := b
		tbl := Table
		tbl.Collection = fmt.Sprintf("rows_%d", tc.rows)
		s := newSink(t, bb, &parquetsink.Options{RowGroupRows: tc.rows})
		recs := Records(0, 100, "run-1")
		writePartition(t, s, tbl, "2024-03-01", recs, manifest("run-1", 1))
		checkRows(t, bb, tbl, recs)
		data, err := bb.ReadAll(t.Context(), partDir(tbl, "2024-03-01")+"part-0-0.parquet")
		if err != nil {
			t.Fatal(err)
		}
		if got := rowGroups(t, data); int64(got) != tc.groups {
			t.Errorf("RowGroupRows %d: %d row groups, want %d", tc.rows, got, tc.groups)
		}
	}
}

func testRolling(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, &parquetsink.Options{RowGroupRows: 20, TargetFileSize: 3 << 10})
	recs := Records(0, 400, "run-1")
	writePartition(t, s, Table, "2024-03-01", recs, manifest("run-1", 1))
	m := readManifest(t, b, Table, 0)
	if len(m.Files) < 3 {
		t.Fatalf("manifest names %d files, want several", len(m.Files))
	}
	for i, f := range m.Files {
		if want := fmt.Sprintf("part-0-%d.parquet", i); f.Name != want {
			t.Errorf("file %d named %s, want %s", i, f.Name, want)
		}
	}
	checkRows(t, b, Table, recs)
}

func testFailedRun(t *testing.T, b *blob.Bucket) {
	const dt = "2024-03-01"
	opts := &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 4 << 10}
	s := newSink(t, b, opts)
	recs := Records(0, 150, "run-1")
	writePartition(t, s, Table, dt, recs, manifest("run-1", 1))
	before := parquetKeys(t, b, Table)

	// A run that closes its writer but dies before Commit.
	s2 := newSink(t, b, opts)
	w, err := s2.NewWriter(t.Context(), Table, dt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Records(0, 20, "run-2") {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A run cancelled mid-write.
	ctx, cancel := context.WithCancel(t.Context())
	s3 := newSink(t, b, opts)
	w, err = s3.NewWriter(ctx, Table, dt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Records(0, 100, "run-3") {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := w.Close(); err == nil {
		t.Error("Close after the context was cancelled = nil, want an error")
	}
	// A commit with a cancelled context changes nothing.
	if err := s2.Commit(ctx, Table, dt, manifest("run-2", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit(cancelled) = %v, want context.Canceled", err)
	}

	// A commit that cannot promote its files (here: a staged file was
	// lost) fails before it touches the partition.
	s5 := newSink(t, b, opts)
	w, err = s5.NewWriter(t.Context(), Table, dt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Records(0, 60, "run-5") {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var staged []string
	for _, k := range keys(t, b) {
		if strings.Contains(k, "/_staging/") && strings.HasSuffix(k, ".tmp") {
			staged = append(staged, k)
		}
	}
	if len(staged) < 2 {
		t.Fatalf("staged files = %v, want several", staged)
	}
	if err := b.Delete(t.Context(), staged[len(staged)-1]); err != nil {
		t.Fatal(err)
	}
	if err := s5.Commit(t.Context(), Table, dt, manifest("run-5", 1)); err == nil {
		t.Errorf("Commit with a lost staged file = nil, want an error")
	}

	if diff := cmp.Diff(before, parquetKeys(t, b, Table)); diff != "" {
		t.Errorf("parts a glob reader sees after failed runs (-before +after):\n%s", diff)
	}
	checkRows(t, b, Table, recs)
	if m := readManifest(t, b, Table, 0); m.RunID != "run-1" {
		t.Errorf("manifest run id %q after failed runs, want run-1", m.RunID)
	}
	// The next successful run cleans what the dead one staged.
	s4 := newSink(t, b, opts)
	recs = Records(0, 30, "run-4")
	writePartition(t, s4, Table, dt, recs, manifest("run-4", 1))
	checkRows(t, b, Table, recs)
	for _, k := range keys(t, b) {
		if strings.Contains(k, "_staging") {
			t.Errorf("staged object left after the next commit: %s", k)
		}
	}
}

func testInvalidRecord(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, nil)
	w, err := s.NewWriter(t.Context(), Table, "2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	// value is a distinctive part of the offending value: no error may
	// quote it (errors and logs never carry record content).
	bad := []struct{ json, field, reason, value string }{
		{`{"id":"bad-1","n":"12"}`, "n", "wrong type in n", ""},
		{`{"id":"bad-2","n":1.5}`, "n", "invalid integer in n", "1.5"},
		{`{"id":"bad-3","ok":"yes"}`, "ok", "wrong type in ok", "yes"},
		{`{"id":"bad-4","at":"yesterday"}`, "at", "invalid timestamp in at", "yesterday"},
		{`{"id":"bad-5","from":{"emailAddress":"x"}}`, "from.emailAddress", "wrong type in from.emailAddress", ""},
		{`{"id":"bad-6","tags":"a"}`, "tags", "wrong type in tags", ""},
		{`{"id":"bad-7","toRecipients":[{"seen":17}]}`, "toRecipients[].seen", "wrong type in toRecipients[].seen", "17"},
		{`{"id":"bad-8","score":true}`, "score", "wrong type in score", ""},
		{`{"id":"bad-9","start":{"dateTime":"soon","timeZone":"UTC"}}`, "start.dateTime", "invalid timestamp in start.dateTime", "soon"},
		{`{"n":"x","id":"bad-10"}`, "n", "wrong type in n", ""},
		{`{"id":"bad-11","tags":[{}]}`, "tags[]", "wrong type in tags[]", ""},
		{`{"id":"bad-12","n":1,"n":2}`, "n", "duplicate key in n", ""},
		// Microsoft's own example value (chat-list-messages.md) lacks its T.
		{`{"id":"bad-13","at":"2021-03-1706:47:05.123Z"}`, "at", "invalid timestamp in at", "1706"},
		{`{"id":"bad-14","score":1e999}`, "score", "invalid number in score", "999"},
	}
	good := Records(0, 3, "run-1")
	if err := w.Write(good[0]); err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		err := w.Write(sinks.Record{JSON: []byte(c.json), RunID: "run-1"})
		if !errors.Is(err, sinks.ErrInvalidRecord) || !errors.Is(err, parquetsink.ErrInvalidRecord) {
			t.Errorf("Write(%s) = %v, want ErrInvalidRecord", c.json, err)
			continue
		}
		var ie *sinks.InvalidRecordError
		if !errors.As(err, &ie) || ie.Field != c.field || ie.Reason() != c.reason || sinks.RejectReason(err) != c.reason {
			t.Errorf("Write(%s) = %#v, want an InvalidRecordError with reason %q", c.json, ie, c.reason)
		}
		var id string
		if err := json.Unmarshal([]byte(c.json), &struct{ ID *string }{&id}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"widgets", c.field, id} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Write(%s) = %q, want it to name %q", c.json, err, want)
			}
		}
		if c.value != "" && strings.Contains(err.Error(), c.value) {
			t.Errorf("Write(%s) = %q, quotes the value %q", c.json, err, c.value)
		}
	}
	for _, raw := range []string{`[1]`, `{"id":"x"`, `{"id":"x"} {}`, `{"id":x}`} {
		err := w.Write(sinks.Record{JSON: []byte(raw)})
		if !errors.Is(err, sinks.ErrInvalidRecord) {
			t.Errorf("Write(%s) = %v, want ErrInvalidRecord", raw, err)
		}
		if r := sinks.RejectReason(err); r == "" || strings.Contains(r, "x") {
			t.Errorf("RejectReason(Write(%s)) = %q, want a classification without content", raw, r)
		}
	}
	for _, r := range good[1:] {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write after rejected records = %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(t.Context(), Table, "2024-03-01", manifest("run-1", 1)); err != nil {
		t.Fatal(err)
	}
	checkRows(t, b, Table, good)
}

// testRejectedKeepsWriter checks the RecordWriter contract for a rejected
// record: good, bad, good leaves two rows and a writer that closes and
// commits as usual; the manifest keeps the rejected counts the caller
// gives it.
func testRejectedKeepsWriter(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, nil)
	dt := "2024-03-01"
	w, err := s.NewWriter(t.Context(), Table, dt)
	if err != nil {
		t.Fatal(err)
	}
	good := Records(0, 2, "run-1")
	if err := w.Write(good[0]); err != nil {
		t.Fatalf("Write(good) = %v", err)
	}
	err = w.Write(sinks.Record{JSON: []byte(`{"id":"bad","at":"2021-03-1706:47:05.123Z"}`), RunID: "run-1", ExportedAt: runAt})
	if !errors.Is(err, sinks.ErrInvalidRecord) {
		t.Fatalf("Write(bad) = %v, want ErrInvalidRecord", err)
	}
	if err := w.Write(good[1]); err != nil {
		t.Fatalf("Write(good) after a rejected record = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after a rejected record = %v", err)
	}
	m := manifest("run-1", 1)
	m.Rejected, m.RejectedReasons = 1, map[string]int64{sinks.RejectReason(err): 1}
	if err := s.Commit(t.Context(), Table, dt, m); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	checkRows(t, b, Table, good)
	got := readManifest(t, b, Table, 0)
	if got.Rows != 2 || got.Rejected != 1 || got.RejectedReasons["invalid timestamp in at"] != 1 {
		t.Errorf("manifest rows %d, rejected %d %v; want 2, 1 map[invalid timestamp in at:1]", got.Rows, got.Rejected, got.RejectedReasons)
	}
}

// dataPageVersions counts the data pages of each format version in every
// column chunk, read with arrow-go's page reader.
func dataPageVersions(data []byte) (v1, v2 int, err error) {
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	for g := 0; g < r.NumRowGroups(); g++ {
		for c := 0; c < r.MetaData().Schema.NumColumns(); c++ {
			pr, err := r.RowGroup(g).GetColumnPageReader(c)
			if err != nil {
				return 0, 0, err
			}
			for pr.Next() {
				switch pr.Page().(type) {
				case *file.DataPageV1:
					v1++
				case *file.DataPageV2:
					v2++
				}
			}
			if err := pr.Err(); err != nil {
				return 0, 0, err
			}
		}
	}
	return v1, v2, nil
}

func testCompat(t *testing.T, b *blob.Bucket) {
	for _, compat := range []bool{false, true} {
		bb := b
		tbl := Table
		tbl.Collection = fmt.Sprintf("compat_%t", compat)
		s := newSink(t, bb, &parquetsink.Options{Compat: compat})
		recs := Records(0, 50, "run-1")
		writePartition(t, s, tbl, "2024-03-01", recs, manifest("run-1", 1))
		checkRows(t, bb, tbl, recs)
		data, err := bb.ReadAll(t.Context(), partDir(tbl, "2024-03-01")+"part-0-0.parquet")
		if err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		var delta bool
		for _, rg := range f.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				for _, e := range cc.MetaData.Encoding {
					if e == format.DeltaLengthByteArray {
						delta = true
					}
				}
				if cc.MetaData.Codec != format.Zstd {
					t.Errorf("compat=%t: column %v codec %v, want ZSTD", compat, cc.MetaData.PathInSchema, cc.MetaData.Codec)
				}
			}
		}
		if delta == compat {
			t.Errorf("compat=%t: DELTA_LENGTH_BYTE_ARRAY used = %t", compat, delta)
		}
		v1, v2, err := dataPageVersions(data)
		if err != nil {
			t.Fatalf("compat=%t: read pages: %v", compat, err)
		}
		if compat && (v2 > 0 || v1 == 0) || !compat && (v1 > 0 || v2 == 0) {
			t.Errorf("compat=%t: %d v1 and %d v2 data pages", compat, v1, v2)
		}
	}
}

// testLargeFile writes one file of about 20 MiB of incompressible data,
// past the 16 MiB threshold of S3 multipart uploads (and several GCS
// resumable-upload chunks).
func testLargeFile(t *testing.T, b *blob.Bucket) {
	s := newSink(t, b, &parquetsink.Options{RowGroupRows: 2000})
	var recs []sinks.Record
	x := uint64(0x9E3779B97F4A7C15)
	for i := range 13000 {
		var blob [2000]byte
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for j := range blob {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			blob[j] = alphabet[x&63]
		}
		recs = append(recs, sinks.Record{JSON: fmt.Appendf(nil, `{"id":"big-%05d","meta":"%s"}`, i, blob[:]), RunID: "run-1"})
	}
	writePartition(t, s, Table, "2024-03-01", recs, manifest("run-1", 1))
	m := readManifest(t, b, Table, 0)
	if len(m.Files) != 1 || m.Files[0].Bytes <= 16<<20 {
		t.Fatalf("manifest files = %+v, want one file over 16 MiB", m.Files)
	}
	checkRows(t, b, Table, recs)
}

// stagedKeys lists the staged objects in the bucket.
func stagedKeys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var out []string
	for _, k := range keys(t, b) {
		if strings.Contains(k, "/_staging/") {
			out = append(out, k)
		}
	}
	return out
}

// testAdopt: a process stages files and crashes before its commit; the
// next process adopts what the first one's Staged listed at its
// checkpoint, writes more and commits: the partition holds exactly both
// parts, with no name reused and the checkpoint's rows and sha256 in the
// manifest, and the staged files nobody adopted are gone.
func testAdopt(t *testing.T, b *blob.Bucket) {
	ctx := t.Context()
	opts := &parquetsink.Options{RowGroupRows: 16, TargetFileSize: 4 << 10}
	const dt = "2024-03-01"
	s1 := newSink(t, b, opts)
	Stage(t, s1, Table, dt, Records(0, 120, "run-1"))
	staged := s1.Staged(Table, dt)
	if len(staged) < 2 {
		t.Fatalf("Staged = %d files, want several (rolled at 4 KiB)", len(staged))
	}
	var rows int64
	for i, f := range staged {
		if f.Name != fmt.Sprintf("part-0-%d.parquet", i) || f.Bytes <= 0 || len(f.SHA256) != 64 ||
			!strings.HasPrefix(f.Key, Table.Connector+"/_staging/"+Table.Collection+"/dt="+dt+"/") {
			t.Errorf("Staged[%d] = %+v", i, f)
		}
		rows += f.Rows
	}
	if rows != 120 {
		t.Errorf("Staged rows = %d, want 120", rows)
	}
	// Records written after the checkpoint, lost with the crash: their
	// staged files are adopted by nobody.
	Stage(t, s1, Table, dt, Records(120, 30, "run-1"))
	all := s1.Staged(Table, dt)
	if len(all) <= len(staged) {
		t.Fatal("Staged did not grow with a second writer")
	}
	orphans := map[string]bool{}
	for _, f := range all[len(staged):] {
		orphans[f.Key] = true
	}
	// s1 is dropped here without Commit: the crash.

	s2 := newSink(t, b, opts)
	// Refused: a file that is not there, a wrong size, another table or
	// shard; and a refused call adopts nothing.
	bad := append([]sinks.StagedFile(nil), staged...)
	bad[len(bad)-1].Key += ".gone"
	if err := s2.Adopt(ctx, Table, dt, bad); err == nil || !strings.Contains(err.Error(), bad[len(bad)-1].Key) {
		t.Errorf("Adopt(missing file) = %v, want an error naming %s", err, bad[len(bad)-1].Key)
	}
	bad = append([]sinks.StagedFile(nil), staged...)
	bad[0].Bytes++
	if err := s2.Adopt(ctx, Table, dt, bad); err == nil || !strings.Contains(err.Error(), bad[0].Key) {
		t.Errorf("Adopt(wrong size) = %v, want an error naming %s", err, bad[0].Key)
	}
	other := sinks.Table{Connector: Table.Connector, Collection: "gadgets", Schema: Schema}
	if err := s2.Adopt(ctx, other, dt, staged); err == nil {
		t.Error("Adopt of another table's files succeeded")
	}
	shard1 := Table
	shard1.Shard = 1
	if err := s2.Adopt(ctx, shard1, dt, staged); err == nil {
		t.Error("Adopt of shard 0's files on shard 1 succeeded")
	}
	if got := s2.Staged(Table, dt); len(got) != 0 {
		t.Fatalf("a refused Adopt left %d files adopted", len(got))
	}
	w, err := s2.NewWriter(ctx, Table, dt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Adopt(ctx, Table, dt, staged); err == nil {
		t.Error("Adopt with a writer open succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close of an empty writer = %v", err)
	}
	if err := s2.Adopt(ctx, Table, dt, staged); err != nil {
		t.Fatalf("Adopt = %v", err)
	}
	if diff := cmp.Diff(staged, s2.Staged(Table, dt)); diff != "" {
		t.Errorf("Staged after Adopt (-adopted +got):\n%s", diff)
	}
	Stage(t, s2, Table, dt, Records(120, 80, "run-1"))
	names := map[string]bool{}
	for i, f := range s2.Staged(Table, dt) {
		if want := fmt.Sprintf("part-0-%d.parquet", i); f.Name != want {
			t.Errorf("Staged[%d] named %s, want %s", i, f.Name, want)
		}
		if i >= len(staged) && orphans[f.Key] {
			t.Errorf("new file %s reuses a key of the crashed run", f.Key)
		}
		names[f.Name] = true
	}
	left := map[string]bool{}
	for _, k := range stagedKeys(t, b) {
		left[k] = true
	}
	for k := range orphans {
		if !left[k] {
			t.Errorf("the crashed run's unadopted %s is gone before Commit", k)
		}
	}
	for _, f := range staged {
		if !left[f.Key] {
			t.Errorf("adopted %s is gone before Commit", f.Key)
		}
	}
	if err := s2.Commit(ctx, Table, dt, manifest("run-1", 1)); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	// readRows checks every part's bytes against its manifest entry.
	checkRows(t, b, Table, Records(0, 200, "run-1"))
	m := readManifest(t, b, Table, 0)
	if m.Rows != 200 || len(m.Files) != len(names) {
		t.Errorf("manifest: %d rows in %d files, want 200 in %d", m.Rows, len(m.Files), len(names))
	}
	for i, f := range staged {
		if i < len(m.Files) && (m.Files[i] != sinks.ManifestFile{Name: f.Name, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256}) {
			t.Errorf("manifest file %d = %+v, adopted %+v", i, m.Files[i], f)
		}
	}
	if got := parquetKeys(t, b, Table); len(got) != len(names) {
		t.Errorf("parts = %v, want %d", got, len(names))
	}
	if got := stagedKeys(t, b); len(got) != 0 {
		t.Errorf("staged objects left after commit (the crashed run's unadopted ones included): %v", got)
	}
	if got := s2.Staged(Table, dt); got != nil {
		t.Errorf("Staged after Commit = %v, want nil", got)
	}
}

// testBufferBudget: writers open on several days at once end their row
// groups early once together they hold more than BufferBytes of records,
// and each still writes every record.
func testBufferBudget(t *testing.T, b *blob.Bucket) {
	days := []string{"2024-03-01", "2024-03-02", "2024-03-03"}
	groups := func(name string, budget int64) int {
		tbl := Table
		tbl.Collection = name
		s := newSink(t, b, &parquetsink.Options{RowGroupBytes: 32 << 10, BufferBytes: budget})
		ws := make([]sinks.RecordWriter, len(days))
		for i, d := range days {
			w, err := s.NewWriter(t.Context(), tbl, d)
			if err != nil {
				t.Fatal(err)
			}
			ws[i] = w
		}
		recs := Records(0, 300, "run-1")
		for i, r := range recs {
			if err := ws[i%len(days)].Write(r); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for i, d := range days {
			if err := ws[i].Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(t.Context(), tbl, d, manifest("run-1", 1)); err != nil {
				t.Fatal(err)
			}
			data, err := b.ReadAll(t.Context(), partDir(tbl, d)+"part-0-0.parquet")
			if err != nil {
				t.Fatal(err)
			}
			n += rowGroups(t, data)
		}
		checkRows(t, b, tbl, recs)
		return n
	}
	roomy := groups("roomy", 1<<30)
	tight := groups("tight", 32<<10)
	if tight <= roomy {
		t.Errorf("a budget of one row group across 3 writers gave %d row groups, a roomy one %d: want more with the budget", tight, roomy)
	}
}
