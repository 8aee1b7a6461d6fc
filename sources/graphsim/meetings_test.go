package graphsim

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
)

// meetingCase finds a meeting of the emulator whose organizer the access
// policy covers, with at least two reports and more attendees than a page
// holds in its first report.
func meetingCase(t *testing.T, tn *Tenant) meeting {
	t.Helper()
	for _, mt := range tn.Meetings(math.MinInt64, math.MaxInt64) {
		m, ok := tn.meetingByThread(mt.ThreadID)
		if !ok {
			t.Fatalf("meetingByThread(%s) found nothing", mt.ThreadID)
		}
		if !mt.PolicyDenied && m.reports >= 2 && len(m.people) > meetingRecordsPage {
			return m
		}
	}
	t.Fatal("the tenant has no meeting with two reports and a paged first report")
	return meeting{}
}

func filterURL(user, joinURL string) string {
	return "/v1.0/users/" + user + "/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+joinURL+"'")
}

// TestMeetings_LookupByJoinURL: the organizer finds the meeting by any
// encoding of its join URL; another user finds nothing; the reports and
// their paged attendance records are served.
func TestMeetings_LookupByJoinURL(t *testing.T) {
	h := start(t, Options{Users: 200, Seed: 1, Limits: Limits{Disabled: true}})
	tn := h.s.Tenant()
	m := meetingCase(t, tn)
	x := string(tn.appendThreadX(nil, m.day, m.i))
	org := tn.UserID(m.org)
	for _, u := range []string{
		"https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + x + "%40thread.v2/0",
		string(tn.appendMeetingJoinURL(nil, m)),
		"https://teams.microsoft.com/l/meetup-join/19:meeting_" + x + "@thread.v2/0",
	} {
		recs, _, _ := h.all(filterURL(org, u))
		if len(recs) != 1 {
			t.Fatalf("organizer's lookup of %s = %d meetings, want 1", u, len(recs))
		}
		var om struct {
			ID       string `json:"id"`
			ChatInfo struct {
				ThreadID string `json:"threadId"`
			} `json:"chatInfo"`
		}
		if err := json.Unmarshal(recs[0], &om); err != nil {
			t.Fatal(err)
		}
		if om.ID != string(tn.appendMeetingID(nil, m)) || om.ChatInfo.ThreadID != "19:meeting_"+x+"@thread.v2" {
			t.Errorf("lookup of %s served meeting %s thread %s", u, om.ID, om.ChatInfo.ThreadID)
		}
		other := tn.UserID((m.org + 1) % tn.Users())
		if recs, _, _ := h.all(filterURL(other, u)); len(recs) != 0 {
			t.Errorf("a user who is not the organizer found %d meetings", len(recs))
		}
	}
	if code, _, _ := h.get("/v1.0/users/" + org + "/onlineMeetings"); code != 400 {
		t.Errorf("onlineMeetings without the filter = %d, want 400", code)
	}
	mid := string(tn.appendMeetingID(nil, m))
	reps, _, _ := h.all("/v1.0/users/" + org + "/onlineMeetings/" + mid + "/attendanceReports")
	if len(reps) != m.reports {
		t.Fatalf("%d reports, want %d", len(reps), m.reports)
	}
	var rep struct {
		ID    string `json:"id"`
		Total int    `json:"totalParticipantCount"`
	}
	if err := json.Unmarshal(reps[0], &rep); err != nil {
		t.Fatal(err)
	}
	recs, pages, _ := h.all("/v1.0/users/" + org + "/onlineMeetings/" + mid + "/attendanceReports/" + rep.ID + "/attendanceRecords")
	if len(recs) != rep.Total || len(recs) != len(m.people) || pages < 2 {
		t.Errorf("report 0: %d records in %d pages, want %d (totalParticipantCount %d) in several", len(recs), pages, len(m.people), rep.Total)
	}
	if code, _, _ := h.get("/v1.0/users/" + tn.UserID((m.org+1)%tn.Users()) + "/onlineMeetings/" + mid + "/attendanceReports"); code != 404 {
		t.Errorf("another user's reports of the meeting = %d, want 404", code)
	}
}

// TestMeetings_AccessPolicy: without the application access policy Graph
// answers 403 with Microsoft's documented message; an organizer the
// policy leaves out gets it too.
func TestMeetings_AccessPolicy(t *testing.T) {
	for _, none := range []bool{false, true} {
		h := start(t, Options{Users: 200, Seed: 1, Limits: Limits{Disabled: true}, NoMeetingPolicy: none})
		tn := h.s.Tenant()
		m := meetingCase(t, tn)
		code, _, body := h.get(filterURL(tn.UserID(m.org), string(tn.appendMeetingJoinURL(nil, m))))
		if want := map[bool]int{false: 200, true: 403}[none]; code != want {
			t.Errorf("NoMeetingPolicy=%v: lookup = %d, want %d", none, code, want)
		}
		if none && !strings.Contains(string(body), "No application access policy found for this app.") {
			t.Errorf("403 body %s", body)
		}
		denied := 41
		code, _, _ = h.get(filterURL(tn.UserID(denied), "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"))
		if code != 403 {
			t.Errorf("organizer %d outside the policy: %d, want 403", denied, code)
		}
	}
}
