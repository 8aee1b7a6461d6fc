package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/rules"
	"m365export/sinks"
	"m365export/sources"
)

// fakeSource serves pages of records per owner, pageSize records a page.
type fakeSource struct {
	owners   []string
	records  map[string][]string // owner → JSON objects
	pageSize int
	errs     map[string]error
}

func (f *fakeSource) Partitions(context.Context) ([]string, error) { return f.owners, nil }

func (f *fakeSource) Page(ctx context.Context, p, token string) (sources.Page, error) {
	if err := f.errs[p]; err != nil {
		return sources.Page{}, err
	}
	start := 0
	if token != "" {
		if _, err := fmt.Sscanf(token, "%d", &start); err != nil {
			return sources.Page{}, fmt.Errorf("page token %q: %w", token, err)
		}
	}
	recs := f.records[p]
	end := min(start+f.pageSize, len(recs))
	body := `{"@odata.context":"x","value":[` + strings.Join(recs[start:end], ",") + `]`
	next := ""
	if end < len(recs) {
		next = fmt.Sprint(end)
		body += `,"@odata.nextLink":"` + next + `"`
	}
	return sources.Page{URL: "/v1.0/users/" + p + "/x", Body: []byte(body + "}"), Next: next}, nil
}

// upper is a sanitizer that upper-cases every "secret" value, to prove the
// records written are the sanitized ones.
type upper struct{}

func (upper) SanitizePage(_ string, b []byte) (rules.Page, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(b, &env); err != nil {
		return rules.Page{}, err
	}
	raws := []json.RawMessage{b}
	if v, ok := env["value"]; ok {
		raws = nil
		if err := json.Unmarshal(v, &raws); err != nil {
			return rules.Page{}, err
		}
	}
	var pg rules.Page
	for _, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return rules.Page{}, err
		}
		if s, ok := m["secret"].(string); ok {
			m["secret"] = strings.ToUpper(s)
		}
		clean, err := json.Marshal(m)
		if err != nil {
			return rules.Page{}, err
		}
		pg.Records = append(pg.Records, rules.Record{Raw: raw, Sanitized: clean})
	}
	return pg, nil
}

// dropOdd is upper that drops every other record and reverses the rest:
// the pipeline must not assume that count and order survive sanitizing.
type dropOdd struct{}

func (dropOdd) SanitizePage(u string, b []byte) (rules.Page, error) {
	pg, err := upper{}.SanitizePage(u, b)
	var kept []rules.Record
	for i := len(pg.Records) - 1; i >= 0; i-- {
		if i%2 == 0 {
			kept = append(kept, pg.Records[i])
		}
	}
	pg.Records = kept
	return pg, err
}

type memSink struct {
	mu        sync.Mutex
	written   map[string][]string // collection/dt → records (owner|json)
	committed []string
}

// bufWriter keeps a writer's records as "owner|json" until Close.
type bufWriter struct {
	key string // collection/dt
	buf []string
}

func (w *bufWriter) Write(r sinks.Record) error {
	w.buf = append(w.buf, r.Owner+"|"+string(r.JSON))
	return nil
}

type memWriter struct {
	bufWriter
	s *memSink
}

func (s *memSink) NewWriter(ctx context.Context, t sinks.Table, dt string) (sinks.RecordWriter, error) {
	return &memWriter{bufWriter: bufWriter{key: t.Collection + "/" + dt}, s: s}, nil
}
func (w *memWriter) Close() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.written == nil {
		w.s.written = map[string][]string{}
	}
	w.s.written[w.key] = append(w.s.written[w.key], w.buf...)
	return nil
}
func (s *memSink) Commit(_ context.Context, t sinks.Table, dt string, _ sinks.Manifest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = append(s.committed, t.Collection+"/"+dt)
	return nil
}

func (s *memSink) all() map[string][]string {
	out := map[string][]string{}
	for k, v := range s.written {
		v = append([]string(nil), v...)
		sort.Strings(v)
		out[k] = v
	}
	return out
}

func rec(id, ts, from string) string {
	return fmt.Sprintf(`{"id":%q,"sentDateTime":%q,"secret":"s-%s","from":{"user":{"id":%q}},"chatId":"c"}`, id, ts, id, from)
}

var day = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func testSource() *fakeSource {
	f := &fakeSource{records: map[string][]string{}, pageSize: 3}
	for u := range 7 {
		o := fmt.Sprintf("u%d", u)
		f.owners = append(f.owners, o)
		for m := range 10 {
			ts := day.Add(time.Duration(u*10+m) * 37 * time.Minute).Format(time.RFC3339)
			f.records[o] = append(f.records[o], rec(fmt.Sprintf("%s-m%d", o, m), ts, o))
		}
	}
	return f
}

func runJob(t *testing.T, src sources.Source, c Collection, w Window, shard, shards int) (*memSink, *Summary, error) {
	t.Helper()
	sink := &memSink{}
	c.Source = src
	if c.Sanitizer == nil {
		c.Sanitizer = upper{}
	}
	c.Table = sinks.Table{Connector: "outlook-mail", Collection: c.Name}
	job := &Job{Connector: "outlook-mail", Collections: []Collection{c}, Sink: sink, Committer: sink,
		Window: w, SnapshotDay: "2026-11-28", RunID: "r1", Shard: shard, Shards: shards, Concurrency: 3,
		OwnerID: func(s string) string { return "p~" + s }}
	s, err := Run(t.Context(), job)
	return sink, s, err
}

func TestRun_WindowIsHalfOpenAndRoutesByDay(t *testing.T) {
	src := testSource()
	w := Window{From: day.Add(2 * time.Hour), To: day.Add(26 * time.Hour)}
	sink, s, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, w, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, o := range src.owners {
		for _, r := range src.records[o] {
			var m struct{ SentDateTime time.Time }
			if err := json.Unmarshal([]byte(r), &m); err != nil {
				t.Fatal(err)
			}
			if !w.Contains(m.SentDateTime) {
				continue
			}
			k := "messages/" + m.SentDateTime.Format("2006-01-02")
			var obj map[string]any
			if err := json.Unmarshal([]byte(r), &obj); err != nil {
				t.Fatal(err)
			}
			obj["secret"] = strings.ToUpper(obj["secret"].(string))
			b, _ := json.Marshal(obj)
			want[k] = append(want[k], "p~"+o+"|"+string(b))
		}
	}
	for k := range want {
		sort.Strings(want[k])
	}
	if diff := cmp.Diff(want, sink.all()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if got, wantC := sink.committed, []string{"messages/2026-11-26", "messages/2026-11-27"}; !cmp.Equal(got, wantC) {
		t.Errorf("committed %v, want %v", got, wantC)
	}
	if s.Status != "ok" || s.Ledger.Len() != 7 {
		t.Errorf("summary status %q ledger %d, want ok 7", s.Status, s.Ledger.Len())
	}
}

func TestRun_ShardsTogetherEqualOneProcess(t *testing.T) {
	src := testSource()
	w := Window{From: day, To: day.Add(72 * time.Hour)}
	c := Collection{Name: "messages", TimeField: "sentDateTime"}
	one, _, err := runJob(t, src, c, w, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	union := map[string][]string{}
	nonEmpty := 0
	for i := range 3 {
		part, _, err := runJob(t, src, c, w, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(part.written) > 0 {
			nonEmpty++
		}
		for k, v := range part.written {
			union[k] = append(union[k], v...)
		}
	}
	for k := range union {
		sort.Strings(union[k])
	}
	if diff := cmp.Diff(one.all(), union); diff != "" {
		t.Errorf("3 shards differ from 1 (-one +shards):\n%s", diff)
	}
	if nonEmpty < 2 {
		t.Errorf("only %d of 3 shards got owners; the hash does not spread", nonEmpty)
	}
}

func TestRun_ConsecutiveWindowsEqualOneWindow(t *testing.T) {
	src := testSource()
	c := Collection{Name: "messages", TimeField: "sentDateTime"}
	whole, _, _ := runJob(t, src, c, Window{From: day, To: day.Add(48 * time.Hour)}, 0, 1)
	a, _, _ := runJob(t, src, c, Window{From: day, To: day.Add(24 * time.Hour)}, 0, 1)
	b, _, _ := runJob(t, src, c, Window{From: day.Add(24 * time.Hour), To: day.Add(48 * time.Hour)}, 0, 1)
	both := a.all()
	for k, v := range b.all() {
		both[k] = append(both[k], v...)
	}
	if diff := cmp.Diff(whole.all(), both); diff != "" {
		t.Errorf("two windows differ from one (-one +two):\n%s", diff)
	}
}

func TestRun_SenderDedupe(t *testing.T) {
	// Each message of a chat comes once per participant; it must be
	// written once, by its sender, whatever the sharding.
	src := &fakeSource{records: map[string][]string{}, pageSize: 2, owners: []string{"a", "b", "c"}}
	ts := day.Add(time.Hour).Format(time.RFC3339)
	msgs := []string{rec("1", ts, "a"), rec("2", ts, "b"), rec("3", ts, "a"), rec("4", ts, "external")}
	for _, o := range src.owners {
		src.records[o] = msgs
	}
	c := Collection{Name: "chat_messages", TimeField: "sentDateTime", SenderField: "from.user.id", DedupeKey: []string{"chatId", "id"}}
	sink, _, err := runJob(t, src, c, Window{From: day, To: day.Add(24 * time.Hour)}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := sink.all()["chat_messages/2026-11-26"]
	ids := map[string]int{}
	for _, g := range got {
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(strings.SplitN(g, "|", 2)[1]), &m); err != nil {
			t.Fatal(err)
		}
		ids[m.ID]++
	}
	if want := map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}; !cmp.Equal(ids, want) {
		t.Errorf("message counts %v, want %v", ids, want)
	}
}

type codeErr struct{ code string }

func (e codeErr) Error() string     { return "graph error " + e.code }
func (e codeErr) ErrorCode() string { return e.code }

func TestRun_LedgerSkipsAndFailures(t *testing.T) {
	src := testSource()
	src.errs = map[string]error{
		"u1": fmt.Errorf("wrapped: %w", errors.Join(sources.ErrSkipOwner, codeErr{"MailboxNotEnabledForRESTAPI"})),
		"u2": fmt.Errorf("after 5 attempts: %w", codeErr{"serviceNotAvailable"}),
	}
	_, s, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, Window{From: day, To: day.Add(72 * time.Hour)}, 0, 1)
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("err = %v, want ErrPartial", err)
	}
	got := map[string]string{}
	for _, e := range s.Ledger.All() {
		got[e.Owner] = e.Status + ":" + e.Code
	}
	if got["p~u1"] != "skipped:MailboxNotEnabledForRESTAPI" || got["p~u2"] != "failed:serviceNotAvailable" || got["p~u0"] != "ok:" {
		t.Errorf("ledger = %v", got)
	}
	if s.Status != "partial" || !s.Collections[0].Committed {
		t.Errorf("status %q committed %v, want partial and committed", s.Status, s.Collections[0].Committed)
	}
}

func TestRun_ConfigErrorCommitsNothing(t *testing.T) {
	src := testSource()
	src.errs = map[string]error{"u3": fmt.Errorf("consent: %w", sources.ErrConfig)}
	sink, s, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, Window{From: day, To: day.Add(72 * time.Hour)}, 0, 1)
	if !errors.Is(err, sources.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	if len(sink.committed) != 0 || s.Status != "failed" {
		t.Errorf("committed %v status %q; want nothing committed, failed", sink.committed, s.Status)
	}
}

func TestRun_AccessDeniedEverywhereIsConfig(t *testing.T) {
	src := testSource()
	src.errs = map[string]error{}
	for _, o := range src.owners {
		src.errs[o] = errors.Join(sources.ErrSkipOwner, sources.ErrDenied, codeErr{"ErrorAccessDenied"})
	}
	_, _, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, Window{From: day, To: day.Add(24 * time.Hour)}, 0, 1)
	if !errors.Is(err, sources.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
	// The source's advice for the refusal says what to do.
	for _, o := range src.owners {
		src.errs[o] = errors.Join(sources.ErrSkipOwner, sources.ErrDenied, advisedErr{codeErr{"PaymentRequired"}, "set --teams-model B"})
	}
	_, _, err = runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, Window{From: day, To: day.Add(24 * time.Hour)}, 0, 1)
	if !errors.Is(err, sources.ErrConfig) || !strings.Contains(err.Error(), "(PaymentRequired): set --teams-model B") {
		t.Fatalf("err = %v, want ErrConfig with the source's advice", err)
	}
}

type advisedErr struct {
	codeErr
	advice string
}

func (e advisedErr) ErrorAdvice() string { return e.advice }

func TestRun_SanitizerMayDropAndReorderRecords(t *testing.T) {
	src := testSource()
	w := Window{From: day, To: day.Add(72 * time.Hour)}
	sink, s, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime", Sanitizer: dropOdd{}}, w, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	var n int64
	for _, o := range src.owners {
		for i, r := range src.records[o] {
			if i%src.pageSize%2 != 0 {
				continue // dropOdd drops it
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(r), &m); err != nil {
				t.Fatal(err)
			}
			ts, _ := time.Parse(time.RFC3339, m["sentDateTime"].(string))
			m["secret"] = strings.ToUpper(m["secret"].(string))
			b, _ := json.Marshal(m)
			k := "messages/" + ts.UTC().Format("2006-01-02")
			want[k] = append(want[k], "p~"+o+"|"+string(b))
			n++
		}
	}
	for k := range want {
		sort.Strings(want[k])
	}
	if diff := cmp.Diff(want, sink.all()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if s.Records != n {
		t.Errorf("summary records %d, want %d", s.Records, n)
	}
}

func TestRun_EveryOwnerFailingFailsTheRun(t *testing.T) {
	src := testSource()
	src.errs = map[string]error{}
	for _, o := range src.owners {
		src.errs[o] = codeErr{"BadRequest"}
	}
	sink, s, err := runJob(t, src, Collection{Name: "messages", TimeField: "sentDateTime"}, Window{From: day, To: day.Add(24 * time.Hour)}, 0, 1)
	if err == nil || errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "BadRequest") {
		t.Fatalf("err = %v, want a failure naming BadRequest", err)
	}
	if len(sink.committed) != 0 || s.Status != "failed" {
		t.Errorf("committed %v status %q", sink.committed, s.Status)
	}
}
