package jobs

import (
	"time"

	"m365export/jobs/connector"
)

// firstIn returns the first request of cs for a part [from, to) of the
// run's window w (graph.Collection.FirstIn), or nil when cs cannot be
// read by parts: a snapshot (no TimeField), a chained or stamped read (its
// steps are of the whole window), or a first request that does not depend
// on the window (its owners are the window's, as call records are). A
// windowed collection's First filters on its TimeField (its Incremental
// says "time window on" that field), so the parts of the window read
// together what the window reads.
func firstIn(cs *connector.Collection, w connector.Window, set connector.Settings) func(owner string, from, to time.Time) string {
	if cs.TimeField == "" || len(cs.Steps) > 0 || cs.Stamp != nil || cs.First == nil {
		return nil
	}
	first := cs.First
	// A First that ignores the window asks the same for another one.
	other := connector.Window{From: w.From.Add(-24 * time.Hour), To: w.To.Add(24 * time.Hour)}
	if first("owner", w, set) == first("owner", other, set) {
		return nil
	}
	return func(owner string, from, to time.Time) string {
		return first(owner, connector.Window{From: from, To: to}, set)
	}
}
