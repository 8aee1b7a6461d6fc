package jobs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"m365export/pipeline"
	"m365export/sources"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// TestMeetings_NoAccessPolicy: a tenant whose Teams administrator granted
// no application access policy answers every online meeting request 403:
// check names the PowerShell step, and an export stops with exit 2 (every
// organizer refused is a configuration error) saying what to do.
func TestMeetings_NoAccessPolicy(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 12, NoMeetingPolicy: true})
	out, err := runCheck(t, sim, "--connector", "msft-teams")
	if !errors.Is(err, ErrCheckFailed) {
		t.Errorf("check: %v, want a failed check", err)
	}
	for _, c := range []string{"online_meetings", "meeting_attendance"} {
		if !strings.Contains(out, "FAIL  msft-teams/"+c+": 403 Forbidden: online meetings") || !strings.Contains(out, "New-CsApplicationAccessPolicy") {
			t.Errorf("check does not diagnose %s:\n%s", c, out)
		}
	}
	_, err = exportTo(t, sim, "", append([]string{"--connector", "msft-teams"}, faultWindow...)...)
	if exitOf(err) != 2 || !errors.Is(err, sources.ErrConfig) || !strings.Contains(err.Error(), "Grant-CsApplicationAccessPolicy") {
		t.Errorf("export: %v (exit %d), want exit 2 naming the access policy", err, exitOf(err))
	}
}

// TestMeetings_RefusedOrganizerAndGoneReport: an organizer the access
// policy leaves out is skipped with Graph's code in the ledger (the others
// are exported); an organizer whose calendar Graph refuses (403: an
// Exchange access policy) has their meetings found by call records only;
// a report that disappears between the reports list and its records gives
// no rows, and a meeting that disappears between its event's listing and
// its lookup gives none either, without failing; throttling (of the
// calendars too) is retried. The output is exactly the ground truth less
// those.
func TestMeetings_RefusedOrganizerAndGoneReport(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 120, Limits: graphsim.Limits{Disabled: true},
		Faults: graphsim.Faults{GoneReportEvery: 2, GoneMeetingEvery: 3, StormEvery: 9, StormLength: 2}})
	w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	// Meetings whose only event lies in a calendar Graph refuses: lost.
	calendarRefused := 0
	for _, m := range sim.Tenant().Meetings(w.From.UnixMilli(), w.To.UnixMilli()) {
		if i, ok := sim.Tenant().UserIndex(m.Organizer); ok && sim.Tenant().User(i).Denied && m.EventStart != 0 {
			calendarRefused++
		}
	}
	denied, meetings, rows, gone, goneMeetings := 0, 0, 0, 0, 0
	for _, m := range simtruth.Meetings(sim.Tenant(), w.From, w.To) {
		if m.Denied {
			denied++
			continue
		}
		if sim.GoneMeeting(m.ThreadID) {
			goneMeetings++
			continue
		}
		meetings++
		for j, n := range m.Reports {
			if sim.GoneReport(m.ThreadID, j) {
				gone++
				continue
			}
			rows += n
		}
	}
	if denied == 0 || gone == 0 || meetings == 0 || goneMeetings == 0 || calendarRefused == 0 {
		t.Fatalf("the window has %d refused organizers' meetings, %d gone reports, %d gone meetings, %d meetings in refused calendars, %d meetings: the test proves nothing",
			denied, gone, goneMeetings, calendarRefused, meetings)
	}
	dir := t.TempDir()
	sums, err := exportFaultyWith(t, sim, noPacing, fileURL(dir), "mem://", append([]string{"--connector", "msft-teams"}, faultWindow...)...)
	if err != nil {
		for _, e := range sums[0].Ledger.All() {
			if e.Status == pipeline.StatusFailed {
				t.Logf("failed: %s %s", e.Collection, e.Code)
			}
		}
		t.Fatalf("export: %v", err)
	}
	skipped := skippedBy(sums, "Forbidden")
	if skipped["online_meetings"] != denied || skipped["meeting_attendance"] != denied {
		t.Errorf("owners skipped with Forbidden %v, want %d in each meeting table", skipped, denied)
	}
	out := readOutput(t, dir, "msft-teams")
	if len(out["online_meetings"]) != meetings || len(out["meeting_attendance"]) != rows {
		t.Errorf("%d meetings and %d attendance rows, want %d and %d", len(out["online_meetings"]), len(out["meeting_attendance"]), meetings, rows)
	}
	for _, c := range sums[0].Collections {
		if c.Failed != 0 {
			t.Errorf("%s: %d owners failed", c.Name, c.Failed)
		}
	}
}

// TestMeetings_PseudonymsMatchPsoxy: where psoxy's msft-teams rules cover
// a field of the attendance records (emailAddress), the built-in rules
// write the same pseudonym for the same salt; psoxy's own example
// (../shared/fixtures/psoxy, read in place, never copied) is the input.
func TestMeetings_PseudonymsMatchPsoxy(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "psoxy", "msft-teams")
	example, err := os.ReadFile(filepath.Join(dir, "example-api-responses", "original", "Users_onlineMeetings_attendanceReport_v1.0.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("psoxy fixtures required under CI=true: %v", err)
		}
		t.Skipf("psoxy fixtures absent (%v); run beside ../shared", err)
	}
	var report struct {
		Records []json.RawMessage `json:"attendanceRecords"`
	}
	if err := json.Unmarshal(example, &report); err != nil || len(report.Records) == 0 {
		t.Fatalf("example: %v (%d records)", err, len(report.Records))
	}
	page, err := json.Marshal(map[string]any{"value": report.Records})
	if err != nil {
		t.Fatal(err)
	}
	const u, m, r = "16664f75-11dc-4870-bec6-38c1aaa81431", "MSpkYzE3Njc0Yy04MWQ5LTRhZGItYmZ", "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7"
	psoxy, err := LoadRules("", "", false, filepath.Join(dir, "msft-teams.yaml"), "", testEnvSecrets())
	if err != nil {
		t.Fatal(err)
	}
	emails := func(rs interface {
		Sanitize(string, []byte) ([]byte, error)
	}, url string) []string {
		out, err := rs.Sanitize(url, page)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		var p struct {
			Value []struct {
				Email string `json:"emailAddress"`
			} `json:"value"`
		}
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range p.Value {
			got = append(got, v.Email)
		}
		return got
	}
	// psoxy covers the report (its records inline); the exporter reads
	// the report's attendanceRecords list.
	want := emails(psoxy, "/v1.0/users/"+u+"/onlineMeetings/"+m+"/attendanceReports/"+r)
	if len(want) == 0 || !strings.HasPrefix(want[0], "t~") {
		t.Fatalf("psoxy's rules wrote %v: the test proves nothing", want)
	}
	for _, ids := range []string{"pseudonymized", "kept", "hash-only"} {
		rs, err := LoadRules("msft-teams", ids, false, "", "", testEnvSecrets())
		if err != nil {
			t.Fatal(err)
		}
		if got := emails(rs, "/v1.0/users/"+u+"/onlineMeetings/"+m+"/attendanceReports/"+r+"/attendanceRecords"); !slices.Equal(got, want) {
			t.Errorf("--ids %s: attendance emailAddress %v, psoxy's %v", ids, got, want)
		}
	}
}

// TestMeetings_BackfillWindowsKeepTheirMeetings: two adjacent windows
// exported on one day (a backfill) each keep their meetings: a meeting's
// rows lie on the day of the call record that found it, so the windows
// write disjoint partitions rather than replace each other's under the
// run's day. The output is the ground truth of both windows.
func TestMeetings_BackfillWindowsKeepTheirMeetings(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 60, Limits: graphsim.Limits{Disabled: true}})
	dir := t.TempDir()
	want := map[string][]string{}
	for i, day := range []string{"2026-11-24", "2026-11-25"} {
		from, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		w := pipeline.Window{From: from, To: from.AddDate(0, 0, 1)}
		runID := "backfill-" + day
		if _, err := exportTo(t, sim, dir, "--connector", "msft-teams", "--since", day, "--until", w.To.Format(time.DateOnly), "--run-id", runID); err != nil {
			t.Fatalf("window %d: %v", i, err)
		}
		exp := expected(t, sim, "msft-teams", w, runID, "")
		for _, c := range []string{"online_meetings", "meeting_attendance"} {
			if len(exp[c]) == 0 {
				t.Fatalf("window %s has no %s: the test proves nothing", day, c)
			}
			want[c] = append(want[c], exp[c]...)
		}
	}
	got := readOutput(t, dir, "msft-teams")
	for c, rows := range want {
		slices.Sort(rows)
		if !slices.Equal(got[c], rows) {
			t.Errorf("%s: %d rows, want the %d of both windows; the first that differs:\n%s\nwant\n%s", c, len(got[c]), len(rows), firstDiff(got[c], rows), firstDiff(rows, got[c]))
		}
	}
}

// firstDiff returns the first of a not in b.
func firstDiff(a, b []string) string {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return s
		}
	}
	return ""
}
