package jobs

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/jobs/connector"
)

// TestFirstIn_WindowedCollectionsOnly: the collections read in parts of a
// long window are exactly those whose first request filters on the
// window (never a snapshot, a chained read, or one whose owners are the
// window's), and a part's first request is First's for that part.
func TestFirstIn_WindowedCollectionsOnly(t *testing.T) {
	w := connector.Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	from, to := w.From.Add(72*time.Hour), w.From.Add(144*time.Hour)
	var got []string
	for _, c := range connector.All() {
		for _, cs := range c.Plan(false) {
			fi := firstIn(&cs, w, connector.Settings{})
			if fi == nil {
				continue
			}
			got = append(got, c.Name+"/"+cs.Name)
			if u, want := fi("owner", from, to), cs.First("owner", connector.Window{From: from, To: to}, connector.Settings{}); u != want {
				t.Errorf("%s/%s: part's first request %q, want %q", c.Name, cs.Name, u, want)
			}
		}
	}
	slices.Sort(got)
	want := []string{"msft-copilot/copilot_interactions", "msft-teams/channel_messages", "msft-teams/chat_messages", "outlook-cal/events", "outlook-mail/messages"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("collections read in parts (-want +got):\n%s", d)
	}
}
