package jobs

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/jobs/connectors/msftteams"
	"m365export/pipeline"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// deriveMeetings lists the meeting owners the first shard derives for
// window w from sim, with the given derivation (the msft-teams meeting
// tables' by default).
func deriveMeetings(t *testing.T, sim *graphsim.Server, d *connector.Derivation, w pipeline.Window) []string {
	t.Helper()
	cfg, err := LoadConfig([]string{"--demo", "--dest", "mem://", "--state", "mem://", "--concurrency", "4", "--connector", "msft-teams"}, envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, o: RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)}, log: slog.New(slog.DiscardHandler)}
	defer r.close()
	if err := r.openGraph(); err != nil {
		t.Fatal(err)
	}
	if d == nil {
		d = meetingDerivation(t)
	}
	owners, err := newOwnerCache(r.client, cfg).derived(t.Context(), d, w)
	if err != nil {
		t.Fatal(err)
	}
	return owners
}

// meetingDerivation is the msft-teams meeting tables' derivation.
func meetingDerivation(t *testing.T) *connector.Derivation {
	t.Helper()
	for _, cs := range mustConnector(t, "msft-teams").Collections {
		if cs.Owners == connector.Derived {
			return cs.Derive
		}
	}
	t.Fatal("msft-teams has no derived collection")
	return nil
}

// wantMeetingOwners is the ground truth of the derived owners for w: one
// per meeting, found at the earlier of its call record's and its event's
// start, with its thread id as the join URL (the key reads either).
func wantMeetingOwners(sim *graphsim.Server, w pipeline.Window) map[string]time.Time {
	want := map[string]time.Time{}
	for _, m := range simtruth.Meetings(sim.Tenant(), w.From, w.To) {
		want[msftteams.MeetingThread(m.ThreadID)] = m.Found
	}
	return want
}

// gotMeetingOwners maps the derived owners' meeting keys to their found
// times, failing on a key derived twice.
func gotMeetingOwners(t *testing.T, owners []string) map[string]time.Time {
	t.Helper()
	got := map[string]time.Time{}
	for _, o := range owners {
		found, _, u := splitOwner(t, o)
		k := msftteams.MeetingThread(u)
		if _, dup := got[k]; dup {
			t.Errorf("meeting %s derived twice", k)
		}
		got[k] = found
	}
	return got
}

// splitOwner splits a meeting owner (msftteams.MeetingOwner).
func splitOwner(t *testing.T, owner string) (found time.Time, org, joinURL string) {
	t.Helper()
	p := strings.SplitN(owner, " ", 3)
	if len(p) != 3 {
		t.Fatalf("owner %q is not a meeting owner", owner)
	}
	found, err := time.Parse("2006-01-02T15:04:05.0000000Z", p[0])
	if err != nil {
		t.Fatalf("owner's found time: %v", err)
	}
	return found, p[1], p[2]
}

// TestDerive_MeetingsFromCallRecordsAndEvents: the meeting tables' owners
// come from the window's call records and from the organizers' calendar
// events; a meeting found by both (a scheduled meeting that took place)
// is one owner, at the earlier found time, and so are ad-hoc meetings
// (call record only). The owners are exactly the ground truth, and the
// same whichever source is listed first.
func TestDerive_MeetingsFromCallRecordsAndEvents(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 120, Limits: graphsim.Limits{Disabled: true}})
	w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	both, adhoc, eventOnly := 0, 0, 0
	for _, m := range simtruth.Meetings(sim.Tenant(), w.From, w.To) {
		switch {
		case !m.CallStart.IsZero() && !m.EventStart.IsZero():
			both++
		case !m.CallStart.IsZero():
			adhoc++
		default:
			eventOnly++
		}
	}
	if both == 0 || adhoc == 0 {
		t.Fatalf("the window has %d meetings found both ways and %d by call record only: the test proves nothing", both, adhoc)
	}
	want := wantMeetingOwners(sim, w)
	got := gotMeetingOwners(t, deriveMeetings(t, sim, nil, w))
	if !maps.Equal(got, want) {
		t.Errorf("derived %d meetings, want %d (%d found both ways, %d by call record only, %d by event only)", len(got), len(want), both, adhoc, eventOnly)
		for k, f := range want {
			if g, ok := got[k]; !ok || !g.Equal(f) {
				t.Errorf("meeting %s: found %v, want %v", k, g, f)
			}
		}
	}
	// The sources in the other order give the same owners (the least of
	// a key's, whichever source found it first).
	d := *meetingDerivation(t)
	d.Sources = slices.Clone(d.Sources)
	slices.Reverse(d.Sources)
	a, b := deriveMeetings(t, sim, nil, w), deriveMeetings(t, sim, &d, w)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("the sources' order changes the owners: %d owners against %d", len(a), len(b))
	}
}

// TestDerive_ScheduledMeetingsPastCallRecordRetention: a window whose call
// records Graph no longer keeps (older than 30 days) still finds its
// scheduled meetings, through their organizers' calendar events; its
// ad-hoc meetings are gone with their call records.
func TestDerive_ScheduledMeetingsPastCallRecordRetention(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 120, HistoryDays: 45, Limits: graphsim.Limits{Disabled: true}})
	from := sim.Tenant().Now().Add(-38 * 24 * time.Hour).Truncate(24 * time.Hour)
	w := pipeline.Window{From: from, To: from.Add(24 * time.Hour)}
	want := wantMeetingOwners(sim, w)
	for _, m := range simtruth.Meetings(sim.Tenant(), w.From, w.To) {
		if !m.CallStart.IsZero() {
			t.Fatalf("meeting %s found by a call record %v past retention", m.ThreadID, m.CallStart)
		}
	}
	if len(want) == 0 {
		t.Fatal("the window has no scheduled meeting: the test proves nothing")
	}
	got := gotMeetingOwners(t, deriveMeetings(t, sim, nil, w))
	if !maps.Equal(got, want) {
		t.Errorf("derived %d meetings past call-record retention, want the %d their events find", len(got), len(want))
	}
}

// TestMeetings_LeastPrivilegedRoles: an application granted exactly the
// permissions msft-teams declares (Calendars.ReadBasic.All for the
// calendars, not Calendars.Read) exports the meeting tables, calendar
// events included, to the ground truth.
func TestMeetings_LeastPrivilegedRoles(t *testing.T) {
	roles, err := Scopes([]string{"msft-teams"}, connector.Needs{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(roles, "Calendars.ReadBasic.All") || slices.Contains(roles, "Calendars.Read") {
		t.Fatalf("msft-teams asks for %v: want Calendars.ReadBasic.All, not Calendars.Read", roles)
	}
	sim := startSimWith(t, graphsim.Options{Users: 30, Auth: graphsim.Auth{Roles: roles}, Limits: graphsim.Limits{Disabled: true}})
	w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	if _, err := exportTo(t, sim, dir, "--connector", "msft-teams", "--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "least"); err != nil {
		t.Fatal(err)
	}
	want := expected(t, sim, "msft-teams", w, "least", "")
	got := readOutput(t, dir, "msft-teams")
	for _, c := range []string{"online_meetings", "meeting_attendance"} {
		if len(want[c]) == 0 || !slices.Equal(got[c], want[c]) {
			t.Errorf("%s: %d rows, want the ground truth's %d", c, len(got[c]), len(want[c]))
		}
	}
	events := 0
	for _, m := range simtruth.Meetings(sim.Tenant(), w.From, w.To) {
		if !m.EventStart.IsZero() && m.CallStart.IsZero() && !m.Denied {
			events++
		}
	}
	if events == 0 {
		t.Error("no meeting of the window is found by its event only: the test proves nothing")
	}
}

// TestCheck_ProbesASampleOfCalendars: check finds meetings to probe from
// a sample of the users' calendars, not one request per user, and says
// the meeting tables are readable.
func TestCheck_ProbesASampleOfCalendars(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 120, Limits: graphsim.Limits{Disabled: true}})
	out, err := runCheck(t, sim, "--connector", "msft-teams")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, c := range []string{"online_meetings", "meeting_attendance"} {
		if !strings.Contains(out, "msft-teams/"+c+": readable") {
			t.Errorf("check does not find %s readable:\n%s", c, out)
		}
	}
	if n := sim.Stats().ByEndpoint["calendarView"].Requests; n == 0 || n > checkDeriveUsers {
		t.Errorf("check read %d calendars, want 1 to %d", n, checkDeriveUsers)
	}
}
