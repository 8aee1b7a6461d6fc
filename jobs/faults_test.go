package jobs

// The fault matrix: each test runs an export against an emulator that
// misbehaves in one way (or a bucket that does) and checks the outcome: the
// error class (the exit code), every owner in the ledger, and no partition
// visible that its manifest does not describe. Tenants are small and waits
// scaled down (backoffs of milliseconds), so `go test -short` stays fast.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	"m365export/jobs/connectors/msftteams"
	"m365export/pipeline"
	"m365export/sources/graph"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// exitOf mirrors cmd/export's exit codes for an error Run returned.
func exitOf(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case errors.Is(err, ErrPartial):
		return 3
	default:
		return 1
	}
}

func startSimWith(t *testing.T, o graphsim.Options) *graphsim.Server {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 11
	}
	sim, err := graphsim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// fastGraph scales the Graph client's waits down to milliseconds.
func fastGraph(o *graph.Options) {
	o.InitialBackoff = 2 * time.Millisecond
	o.MaxBackoff = 20 * time.Millisecond
	o.AttemptTimeout = 2 * time.Second
}

// noPacing is fastGraph without the client's own pacing, which slows a
// throttled scope down further with every 429.
func noPacing(o *graph.Options) { fastGraph(o); o.Limits = &graph.Limits{} }

// exportFaulty is exportTo with scaled-down retry waits and explicit dest
// and state URLs.
func exportFaulty(t *testing.T, sim *graphsim.Server, dest, state string, args ...string) ([]*pipeline.Summary, error) {
	t.Helper()
	return exportFaultyWith(t, sim, fastGraph, dest, state, args...)
}

func exportFaultyWith(t *testing.T, sim *graphsim.Server, tune func(*graph.Options), dest, state string, args ...string) ([]*pipeline.Summary, error) {
	t.Helper()
	base := []string{"--demo", "--dest", dest, "--state", state, "--concurrency", "4", "--max-backoff", "20ms"}
	cfg, err := LoadConfig(append(base, args...), envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim), tuneGraph: tune})
}

func fileURL(dir string) string { return "file://" + dir + "?metadata=skip" }

var faultWindow = []string{"--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "faults"}

// readSummary reads the run summary and ledger a run wrote.
func readSummary(t *testing.T, dir, connector string) *pipeline.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, connector, "_runs", "faults", "shard-0.json"))
	if err != nil {
		t.Fatalf("run summary: %v", err)
	}
	var s pipeline.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// checkLedger checks that every owner the emulator lists for each
// collection the run reached has exactly one ledger entry, and returns the
// entries by collection and owner.
func checkLedger(t *testing.T, sim *graphsim.Server, connector string, s *pipeline.Summary) map[string]map[string]pipeline.LedgerEntry {
	t.Helper()
	rs, err := LoadRules(connector, "pseudonymized", false, "", "", testEnvSecrets())
	if err != nil {
		t.Fatal(err)
	}
	w := pipeline.Window{From: s.WindowFrom, To: s.WindowTo}
	ownerIDs := map[string]func(string) string{}
	derived := map[string]bool{}
	for _, cs := range mustConnector(t, connector).Collections {
		ownerIDs[cs.Name] = collectionOwnerID(rs, &cs, w)
		derived[cs.Name] = cs.Owners == "derived"
	}
	got := map[string]map[string]pipeline.LedgerEntry{}
	for _, e := range s.Ledger.All() {
		if got[e.Collection] == nil {
			got[e.Collection] = map[string]pipeline.LedgerEntry{}
		}
		if _, dup := got[e.Collection][e.Owner]; dup {
			t.Errorf("%s: owner %s is twice in the ledger", e.Collection, e.Owner)
		}
		got[e.Collection][e.Owner] = e
	}
	for _, cs := range s.Collections {
		if cs.Resumed {
			continue
		}
		var missing []string
		ownerID := ownerIDs[cs.Name]
		owners := simtruth.Owners(sim.Tenant(), truthName(cs.Name))
		if derived[cs.Name] {
			// A meeting of the window's call records, refused or not, as
			// the exporter derives it: organizer and the meeting's thread
			// id (which the rules read as they read its join URL).
			owners = nil
			for _, m := range simtruth.Meetings(sim.Tenant(), s.WindowFrom, s.WindowTo) {
				owners = append(owners, msftteams.MeetingOwner(m.Found, m.Organizer, m.ThreadID))
			}
		}
		for _, o := range owners {
			if cs.Name == "call_records" && len(simtruth.Truth(sim.Tenant(), "call_records", o, s.WindowFrom, s.WindowTo)) == 0 {
				continue // call records are owners only in the window that lists them
			}
			if _, ok := got[cs.Name][ownerID(o)]; !ok {
				missing = append(missing, o)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: %d owners missing from the ledger", cs.Name, len(missing))
		}
	}
	return got
}

// checkVisible checks that every visible part is named by its manifest,
// with matching size and sha256.
func checkVisible(t *testing.T, dir string) {
	t.Helper()
	for _, p := range checkManifests(dir, "faults") {
		if strings.Contains(p, "staged file left") {
			continue // a failed run may leave staged files; the next commit removes them
		}
		t.Errorf("partially visible output: %s", p)
	}
}

// checkTruth compares the output of a connector with the ground truth.
func checkTruth(t *testing.T, sim *graphsim.Server, dir, connector string) {
	t.Helper()
	w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	want := expected(t, sim, connector, w, "faults", sim.Tenant().Now().Format("2006-01-02"))
	got := readOutput(t, dir, connector)
	if len(want) == 0 {
		t.Fatal("no records in the window: the test proves nothing")
	}
	for c := range want {
		got[c] = normalizeOwners(want[c], got[c])
		want[c] = normalizeOwners(want[c], want[c])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s output differs from ground truth (-want +got):\n%s", connector, diff)
	}
}

// TestFaults_TransientErrorsEndExact: 5xx answers, connection resets,
// truncated JSON, slow answers, throttling storms and 429s without
// Retry-After are retried; the run ends ok (exit 0) with output exactly the
// ground truth and every owner ok in the ledger.
func TestFaults_TransientErrorsEndExact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   graphsim.Options
		events func(graphsim.Stats) int64
		tune   func(*graph.Options)
	}{
		{"5xx storm", graphsim.Options{Faults: graphsim.Faults{Seed: 3, ErrorRate: 0.3}}, func(s graphsim.Stats) int64 { return s.Faults }, nil},
		{"connection resets", graphsim.Options{Faults: graphsim.Faults{Seed: 4, ResetRate: 0.25}}, func(s graphsim.Stats) int64 { return s.Faults }, nil},
		{"truncated JSON", graphsim.Options{Faults: graphsim.Faults{Seed: 5, TruncateRate: 0.25}}, func(s graphsim.Stats) int64 { return s.Faults }, nil},
		// Slow answers: some within the attempt timeout, the slowest cut off
		// by it and retried.
		{"slow responses", graphsim.Options{Faults: graphsim.Faults{Seed: 6, SlowRate: 0.2, SlowDelay: time.Second}}, func(s graphsim.Stats) int64 { return s.Faults },
			func(o *graph.Options) { fastGraph(o); o.AttemptTimeout = 300 * time.Millisecond }},
		// The client's pacing slows down with every 429 (right for Graph,
		// slow for a test): these two run without it.
		{"throttling storm", graphsim.Options{Faults: graphsim.Faults{StormEvery: 7, StormLength: 3}}, func(s graphsim.Stats) int64 { return s.Throttled + s.Faults }, noPacing},
		{"429 without Retry-After", graphsim.Options{Faults: graphsim.Faults{StormEvery: 5, StormLength: 2}, Limits: graphsim.Limits{RetryAfter: "none"}},
			func(s graphsim.Stats) int64 { return s.Faults }, noPacing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Users = 8
			sim := startSimWith(t, tc.opts)
			for _, connector := range []string{"outlook-mail", "msft-teams"} {
				dir := t.TempDir()
				tune := tc.tune
				if tune == nil {
					tune = fastGraph
				}
				_, err := exportFaultyWith(t, sim, tune, fileURL(dir), "mem://", append([]string{"--connector", connector}, faultWindow...)...)
				if exitOf(err) != 0 {
					t.Fatalf("%s: exit %d: %v", connector, exitOf(err), err)
				}
				s := readSummary(t, dir, connector)
				for coll, m := range checkLedger(t, sim, connector, s) {
					for _, e := range m {
						if e.Status == pipeline.StatusFailed {
							t.Errorf("%s: an owner failed (%s) despite retries", coll, e.Code)
						}
					}
				}
				checkVisible(t, dir)
				checkTruth(t, sim, dir, connector)
			}
			if n := tc.events(sim.Stats()); n == 0 {
				t.Errorf("the emulator injected no fault: the test proves nothing (%+v)", sim.Stats())
			}
		})
	}
}

// TestFaults_RetryAfterHourIsCapped: a mailbox budget of one request an
// hour answers Retry-After 3600; the client waits --max-backoff, not an
// hour, retries a bounded number of times, and the run ends: the first
// collection (one request a mailbox) is committed, the second fails for
// every owner, so the run fails (exit 1) with every owner in the ledger and
// nothing of the failed collection visible.
func TestFaults_RetryAfterHourIsCapped(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 6, MessagesPerUserDay: 2,
		Limits: graphsim.Limits{Mailbox: graphsim.Rate{N: 1, Per: time.Hour}}})
	dir := t.TempDir()
	_, err := exportFaultyWith(t, sim, noPacing, fileURL(dir), "mem://", append([]string{"--connector", "outlook-mail"}, faultWindow...)...)
	if exitOf(err) != 1 {
		t.Fatalf("exit %d (%v), want 1", exitOf(err), err)
	}
	if sim.Stats().Throttled == 0 {
		t.Fatal("no 429: the test proves nothing")
	}
	s := readSummary(t, dir, "outlook-mail")
	ledger := checkLedger(t, sim, "outlook-mail", s)
	failed := 0
	for _, e := range ledger["mailbox_settings"] {
		if e.Status == pipeline.StatusFailed {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("no mailbox_settings owner failed: %+v", ledger["mailbox_settings"])
	}
	if _, err := os.Stat(filepath.Join(dir, "outlook-mail", "mailbox_settings")); err == nil {
		t.Error("the failed collection is visible")
	}
	checkVisible(t, dir)
}

// TestFaults_OwnersWithoutData: users deleted mid-run, mailboxes not
// enabled and users without a Copilot licence are skipped with Graph's
// code; the run is ok (exit 0) and its output is the ground truth.
func TestFaults_OwnersWithoutData(t *testing.T) {
	// 16 users: user 7 has no mailbox, 13 is a guest, users 3, 8 and 13 no
	// Copilot licence.
	sim := startSimWith(t, graphsim.Options{Users: 16})
	rsCopilot, _ := LoadRules("msft-copilot", "pseudonymized", false, "", "", testEnvSecrets())
	rsMail, _ := LoadRules("outlook-mail", "pseudonymized", false, "", "", testEnvSecrets())
	for _, tc := range []struct {
		connector, collection string
		users                 []int
		code                  string
		rs                    interface{ OwnerID(string) (string, error) }
	}{
		{"outlook-mail", "messages", []int{7, 13}, "MailboxNotEnabledForRESTAPI", rsMail},
		{"msft-copilot", "copilot_interactions", []int{3, 8, 13}, "", rsCopilot},
	} {
		t.Run(tc.connector, func(t *testing.T) {
			dir := t.TempDir()
			_, err := exportFaulty(t, sim, fileURL(dir), "mem://", append([]string{"--connector", tc.connector}, faultWindow...)...)
			if exitOf(err) != 0 {
				t.Fatalf("exit %d: %v", exitOf(err), err)
			}
			ledger := checkLedger(t, sim, tc.connector, readSummary(t, dir, tc.connector))
			for _, i := range tc.users {
				id, _ := tc.rs.OwnerID(sim.Tenant().UserID(i))
				e, ok := ledger[tc.collection][id]
				if !ok || e.Status != pipeline.StatusSkipped || e.Code == "" || (tc.code != "" && e.Code != tc.code) {
					t.Errorf("user %d: ledger entry %+v, want skipped with code %q", i, e, tc.code)
				}
			}
			checkVisible(t, dir)
			checkTruth(t, sim, dir, tc.connector)
		})
	}

	t.Run("users deleted mid-run", func(t *testing.T) {
		sim := startSimWith(t, graphsim.Options{Users: 12, Faults: graphsim.Faults{DeleteUsers: 3, DeleteAfter: 8}})
		w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
		day := sim.Tenant().Now().Format("2006-01-02")
		before := expected(t, sim, "outlook-mail", w, "faults", day)
		dir := t.TempDir()
		_, err := exportFaulty(t, sim, fileURL(dir), "mem://", append([]string{"--connector", "outlook-mail"}, faultWindow...)...)
		if exitOf(err) != 0 {
			t.Fatalf("exit %d: %v", exitOf(err), err)
		}
		s := readSummary(t, dir, "outlook-mail")
		ledger := checkLedger(t, sim, "outlook-mail", s) // the users still there
		deleted := 0
		for _, m := range ledger {
			for _, e := range m {
				if e.Code == "Request_ResourceNotFound" || e.Code == "ErrorItemNotFound" || e.Code == "ResourceNotFound" {
					if e.Status != pipeline.StatusSkipped {
						t.Errorf("deleted user: status %s, want skipped", e.Status)
					}
					deleted++
				}
			}
		}
		if deleted == 0 {
			t.Errorf("no owner skipped as deleted; ledger: %+v", s.Ledger)
		}
		if s.Collections[0].Owners != 12 {
			t.Errorf("messages: %d owners, want the 12 listed before the deletion", s.Collections[0].Owners)
		}
		checkVisible(t, dir)
		// Every record is one the tenant had, and nothing the tenant still
		// has is missing (deleted users may have been read before).
		after := expected(t, sim, "outlook-mail", w, "faults", day)
		got := readOutput(t, dir, "outlook-mail")
		for c := range before {
			had := map[string]bool{}
			for _, r := range before[c] {
				had[r] = true
			}
			has := map[string]bool{}
			for _, r := range got[c] {
				if !had[r] {
					t.Errorf("%s: a record the tenant never had: %.120s", c, r)
				}
				has[r] = true
			}
			for _, r := range after[c] {
				if !has[r] {
					t.Errorf("%s: a record of a user still there is missing: %.120s", c, r)
				}
			}
		}
	})
}

// faultyBuckets are the buckets of the faultyblob:// scheme, by host.
var faultyBuckets sync.Map // string → *faultyBucket

var registerFaulty sync.Once

// newFaultyBucket registers faultyblob://name, a bucket over the directory
// dir whose operations fail as fail decides (nil: never).
func newFaultyBucket(t *testing.T, name, dir string, fail func(op, key string) bool) string {
	t.Helper()
	registerFaulty.Do(func() {
		blob.DefaultURLMux().RegisterBucket("faultyblob", faultyOpener{})
	})
	inner, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close(); faultyBuckets.Delete(name) })
	faultyBuckets.Store(name, &faultyBucket{b: inner, fail: fail})
	return "faultyblob://" + name
}

type faultyOpener struct{}

func (faultyOpener) OpenBucketURL(_ context.Context, u *url.URL) (*blob.Bucket, error) {
	v, ok := faultyBuckets.Load(u.Host)
	if !ok {
		return nil, fmt.Errorf("no faulty bucket %q", u.Host)
	}
	return blob.NewBucket(v.(*faultyBucket)), nil
}

var errInjected = errors.New("injected bucket failure")

// faultyBucket is a gocloud blob driver over another bucket that fails
// operations on demand: op is "read", "list", "write" (at Close, after the
// data was sent), "copy" or "delete".
type faultyBucket struct {
	b    *blob.Bucket
	fail func(op, key string) bool
}

func (f *faultyBucket) failing(op, key string) bool { return f.fail != nil && f.fail(op, key) }

func (f *faultyBucket) ErrorCode(err error) gcerrors.ErrorCode {
	if errors.Is(err, errInjected) {
		return gcerrors.Unknown
	}
	return gcerrors.Code(err)
}
func (f *faultyBucket) As(any) bool             { return false }
func (f *faultyBucket) ErrorAs(error, any) bool { return false }
func (f *faultyBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	if f.failing("read", key) {
		return nil, errInjected
	}
	a, err := f.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{ContentType: a.ContentType, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag, Metadata: a.Metadata}, nil
}
func (f *faultyBucket) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	if f.failing("list", o.Prefix) {
		return nil, errInjected
	}
	size := o.PageSize
	if size <= 0 {
		size = 1000
	}
	token := o.PageToken
	if len(token) == 0 {
		token = blob.FirstPageToken
	}
	objs, next, err := f.b.ListPage(ctx, token, size, &blob.ListOptions{Prefix: o.Prefix, Delimiter: o.Delimiter})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, ob := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: ob.Key, ModTime: ob.ModTime, Size: ob.Size, MD5: ob.MD5, IsDir: ob.IsDir})
	}
	return page, nil
}
func (f *faultyBucket) NewRangeReader(ctx context.Context, key string, off, n int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	if f.failing("read", key) {
		return nil, errInjected
	}
	r, err := f.b.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, err
	}
	return faultyReader{r}, nil
}

type faultyReader struct{ r *blob.Reader }

func (r faultyReader) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r faultyReader) Close() error               { return r.r.Close() }
func (r faultyReader) As(any) bool                { return false }
func (r faultyReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.r.ContentType(), ModTime: r.r.ModTime(), Size: r.r.Size()}
}

func (f *faultyBucket) NewTypedWriter(ctx context.Context, key, contentType string, _ *driver.WriterOptions) (driver.Writer, error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := f.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, err
	}
	return &faultyWriter{w: w, cancel: cancel, fail: f.failing("write", key)}, nil
}

type faultyWriter struct {
	w      *blob.Writer
	cancel context.CancelFunc
	fail   bool
}

func (w *faultyWriter) Write(p []byte) (int, error) { return w.w.Write(p) }
func (w *faultyWriter) Close() error {
	defer w.cancel()
	if w.fail {
		w.cancel()      // the upload is lost
		_ = w.w.Close() // fails as cancelled; the injected error is the one to report
		return errInjected
	}
	return w.w.Close()
}

func (f *faultyBucket) Copy(ctx context.Context, dst, src string, _ *driver.CopyOptions) error {
	if f.failing("copy", dst) {
		return errInjected
	}
	return f.b.Copy(ctx, dst, src, nil)
}
func (f *faultyBucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	if f.failing("delete", key) {
		return errInjected
	}
	return f.b.Delete(ctx, key)
}
func (f *faultyBucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.New("not supported")
}
func (f *faultyBucket) Close() error { return nil }

// TestFaults_BucketWriteFailsOnClose: the destination accepts every write
// and fails when a Parquet file is closed. The run fails (exit 1), the
// ledger is complete, and the partitions an earlier run committed are
// exactly as they were; a later run with a working bucket is exact.
func TestFaults_BucketWriteFailsOnClose(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 8})
	dir := t.TempDir()
	args := append([]string{"--connector", "outlook-mail"}, faultWindow...)
	if _, err := exportFaulty(t, sim, fileURL(dir), "mem://", args...); err != nil {
		t.Fatal(err)
	}
	before := readOutput(t, dir, "outlook-mail")
	var writes sync.Map
	dest := newFaultyBucket(t, "dest-close", dir, func(op, key string) bool {
		if op == "write" && strings.Contains(key, "_staging/") {
			writes.Store(key, true)
			return true
		}
		return false
	})
	_, err := exportFaulty(t, sim, dest, "mem://", args...)
	if exitOf(err) != 1 {
		t.Fatalf("exit %d (%v), want 1", exitOf(err), err)
	}
	if !errors.Is(err, errInjected) && !strings.Contains(err.Error(), errInjected.Error()) {
		t.Errorf("the error does not name the bucket failure: %v", err)
	}
	n := 0
	writes.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no staged write was failed: the test proves nothing")
	}
	s := readSummary(t, dir, "outlook-mail")
	if s.Status != "failed" {
		t.Errorf("summary status %q, want failed", s.Status)
	}
	checkLedger(t, sim, "outlook-mail", s)
	checkVisible(t, dir)
	if diff := cmp.Diff(before, readOutput(t, dir, "outlook-mail")); diff != "" {
		t.Errorf("a failed run changed committed partitions (-before +after):\n%s", diff)
	}
	if _, err := exportFaulty(t, sim, fileURL(dir), "mem://", args...); err != nil {
		t.Fatal(err)
	}
	checkTruth(t, sim, dir, "outlook-mail")
	if problems := checkManifests(dir, "faults"); len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("after a good re-run:\n%s", strings.Join(problems, "\n"))
	}
}

// TestFaults_StateBucketUnavailable: a state bucket that cannot be read
// fails the run before anything is written (exit 1: a retry may help); one
// that fails when a checkpoint is written fails the run after the
// collections already committed, which stay consistent, and a re-run with
// the state back is exact.
func TestFaults_StateBucketUnavailable(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 8})
	args := append([]string{"--connector", "outlook-mail"}, faultWindow...)

	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		state := newFaultyBucket(t, "state-down", t.TempDir(), func(string, string) bool { return true })
		_, err := exportFaulty(t, sim, fileURL(dir), state, args...)
		if exitOf(err) != 1 {
			t.Fatalf("exit %d (%v), want 1", exitOf(err), err)
		}
		if !strings.Contains(err.Error(), "state") {
			t.Errorf("the error does not name the state: %v", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("the destination holds %d entries", len(entries))
		}
	})

	t.Run("checkpoint write fails", func(t *testing.T) {
		dir, stateDir := t.TempDir(), t.TempDir()
		var saves sync.Map
		state := newFaultyBucket(t, "state-flaky", stateDir, func(op, key string) bool {
			if op != "write" {
				return false
			}
			// The first save (the pending run) succeeds, the checkpoint
			// after the first collection fails.
			_, seen := saves.LoadOrStore(key, true)
			return seen
		})
		_, err := exportFaulty(t, sim, fileURL(dir), state, args...)
		if exitOf(err) != 1 {
			t.Fatalf("exit %d (%v), want 1", exitOf(err), err)
		}
		s := readSummary(t, dir, "outlook-mail")
		if s.Status != "failed" {
			t.Errorf("summary status %q, want failed", s.Status)
		}
		checkLedger(t, sim, "outlook-mail", s)
		checkVisible(t, dir)
		if _, err := exportFaulty(t, sim, fileURL(dir), fileURL(stateDir), args...); err != nil {
			t.Fatal(err)
		}
		checkTruth(t, sim, dir, "outlook-mail")
	})
}

// TestFaults_BucketCopyFailsInCommit: the store refuses the server-side
// copy that promotes a staged file. The run fails (exit 1) with the
// partitions as they were, and the next run of the window is exact.
func TestFaults_BucketCopyFailsInCommit(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 8})
	dir := t.TempDir()
	args := append([]string{"--connector", "outlook-mail"}, faultWindow...)
	var copies sync.Map
	dest := newFaultyBucket(t, "dest-copy", dir, func(op, key string) bool {
		if op == "copy" && strings.Contains(key, "/messages/") {
			copies.Store(key, true)
			return true
		}
		return false
	})
	_, err := exportFaulty(t, sim, dest, "mem://", args...)
	if exitOf(err) != 1 {
		t.Fatalf("exit %d (%v), want 1", exitOf(err), err)
	}
	n := 0
	copies.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Fatal("no copy was refused: the test proves nothing")
	}
	checkVisible(t, dir)
	if got := readOutput(t, dir, "outlook-mail"); len(got["messages"]) != 0 {
		t.Errorf("%d messages visible after a commit that could not promote", len(got["messages"]))
	}
	if _, err := exportFaulty(t, sim, fileURL(dir), "mem://", args...); err != nil {
		t.Fatal(err)
	}
	checkTruth(t, sim, dir, "outlook-mail")
	if problems := checkManifests(dir, "faults"); len(problems) > 0 {
		t.Errorf("after a good re-run:\n%s", strings.Join(problems, "\n"))
	}
}
