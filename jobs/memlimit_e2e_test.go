package jobs

import (
	"io"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/internal/membudget"
	"m365export/pipeline"
	"m365export/sources/graphsim"
)

// TestExport_TinyBudgetFullPagesIsExact: heavy senders (Graph's pages
// full at $top=1000) exported through a byte budget of 4 MiB, far less
// than one full page costs: the first pages proceed one at a time, later
// ones are asked for with a lowered $top, writers end row groups early,
// and the output is exactly the emulator's ground truth. The budget
// cannot deadlock.
func TestExport_TinyBudgetFullPagesIsExact(t *testing.T) {
	sim, err := graphsim.Start(graphsim.Options{Users: 4, Seed: 11, MessagesPerUserDay: 1500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w := pipeline.Window{From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	budget := membudget.New(4 << 20)
	cfg, err := LoadConfig([]string{"--demo", "--dest", "file://" + dir + "?metadata=skip", "--state", "mem://", "--concurrency", "8",
		"--connector", "outlook-mail", "--since", "2026-11-24", "--until", "2026-11-26"}, envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim), Budget: budget})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	want := expected(t, sim, "outlook-mail", w, sums[0].RunID, sim.Tenant().Now().Format("2006-01-02"))
	got := readOutput(t, dir, "outlook-mail")
	if len(want["messages"]) < 4*1000 {
		t.Fatalf("%d messages in the window: pages are not full, the test proves nothing", len(want["messages"]))
	}
	for c := range want {
		got[c] = normalizeOwners(want[c], got[c])
		sort.Strings(want[c])
		want[c] = normalizeOwners(want[c], want[c])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output differs from ground truth (-want +got):\n%s", diff)
	}
	s := budget.Stats()
	if s.Used != 0 {
		t.Errorf("%d bytes of the budget still held after the run", s.Used)
	}
	if s.Oversize == 0 {
		t.Errorf("no page was larger than the budget: the test does not exercise a page proceeding alone (stats %+v)", s)
	}
	if s.Waits == 0 {
		t.Errorf("no page waited for the budget: the test does not exercise admission (stats %+v)", s)
	}
	// Graph's pages were lowered: with $top=1000 each owner would take
	// a handful of pages.
	var pages, records int64
	for _, e := range sums[0].Ledger.All() {
		if e.Collection == "messages" {
			pages += e.Pages
			records += e.Records
		}
	}
	if pages < records/200 {
		t.Errorf("%d records in %d pages: $top was not lowered to fit the budget", records, pages)
	}
}
