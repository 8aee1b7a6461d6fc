package graphsim

import (
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"
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

// calendarMeetings lists the online meetings organizer u's calendarView
// over all emulated days shows: their join URLs by whether u organizes
// them.
func calendarMeetings(t *testing.T, h *harness, tn *Tenant, u int) (organized, invited []string) {
	t.Helper()
	first := time.UnixMilli(tn.firstDay() * dayMS).UTC().Format(time.RFC3339)
	last := time.UnixMilli(tn.nowMS()).UTC().Format(time.RFC3339)
	recs, _, _ := h.all("/v1.0/users/" + tn.UserID(u) + "/calendar/calendarView?startDateTime=" + first + "&endDateTime=" + last +
		"&$select=isOrganizer,isOnlineMeeting,onlineMeeting&$top=100")
	for _, r := range recs {
		var e struct {
			IsOrganizer, IsOnlineMeeting bool
			OnlineMeeting                *struct{ JoinURL string }
		}
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatal(err)
		}
		if !e.IsOnlineMeeting || e.OnlineMeeting == nil {
			continue
		}
		if e.IsOrganizer {
			organized = append(organized, e.OnlineMeeting.JoinURL)
		} else {
			invited = append(invited, e.OnlineMeeting.JoinURL)
		}
	}
	return organized, invited
}

// TestMeetings_ScheduledAndAdHoc: a scheduled meeting's event is in its
// organizer's calendar, its join URL encoded differently from the call
// record's and the meeting's, and finds the meeting; an ad-hoc meeting has
// no event; every Teams event an organizer's calendar holds finds a
// meeting (one that never took place has no reports); and a scheduled
// meeting outlives its call record's retention.
func TestMeetings_ScheduledAndAdHoc(t *testing.T) {
	h := start(t, Options{Users: 200, Seed: 1, HistoryDays: 45, Limits: Limits{Disabled: true}})
	tn := h.s.Tenant()
	var sched, adhoc, old *meeting
	for day := tn.firstDay(); day < floorDiv(tn.nowMS(), dayMS); day++ {
		for i := range tn.callCount(day) {
			m, ok := tn.meetingAt(day, i)
			if !ok || !hasMailbox(m.org) || mailboxDenied(m.org) || meetingPolicyDenied(m.org) {
				continue
			}
			switch {
			case tn.scheduled(m) && !tn.callRetained(m.start) && old == nil:
				old = &m
			case tn.scheduled(m) && tn.callRetained(m.start) && sched == nil:
				sched = &m
			case !tn.scheduled(m) && tn.callRetained(m.start) && adhoc == nil:
				adhoc = &m
			}
		}
	}
	if sched == nil || adhoc == nil || old == nil {
		t.Fatal("the tenant lacks a scheduled, an ad-hoc or a past-retention scheduled meeting: the test proves nothing")
	}
	thread := func(m meeting) string { return string(tn.appendMeetingX(nil, m)) }
	for _, m := range []meeting{*sched, *old} {
		organized, _ := calendarMeetings(t, h, tn, m.org)
		var ev string
		for _, u := range organized {
			if strings.Contains(u, thread(m)) {
				ev = u
			}
		}
		call := "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + thread(m) + "%40thread.v2/0"
		if ev == "" || ev == call || ev == string(tn.appendMeetingJoinURL(nil, m)) {
			t.Fatalf("scheduled meeting's event join URL %q: want one, encoded unlike the call record's and the meeting's", ev)
		}
		if recs, _, _ := h.all(filterURL(tn.UserID(m.org), ev)); len(recs) != 1 {
			t.Errorf("the event's join URL finds %d meetings, want 1", len(recs))
		}
	}
	hi, lo := tn.callID(old.day, old.i)
	if code, _, _ := h.get("/v1.0/communications/callRecords/" + string(appendUUID(nil, hi, lo))); code != 404 {
		t.Errorf("a call record past retention = %d, want 404", code)
	}
	organized, invited := calendarMeetings(t, h, tn, adhoc.org)
	for _, u := range append(organized, invited...) {
		if strings.Contains(u, thread(*adhoc)) {
			t.Errorf("an ad-hoc meeting has an event: %s", u)
		}
	}
	// Every Teams event of the calendar finds a meeting, for its organizer.
	never := 0
	for _, u := range organized {
		recs, _, _ := h.all(filterURL(tn.UserID(adhoc.org), u))
		if len(recs) != 1 {
			t.Fatalf("organized event %s finds %d meetings, want 1", u, len(recs))
		}
		if m, ok := tn.meetingByThread(u); ok && m.ev {
			never++
			var om struct{ ID string }
			if err := json.Unmarshal(recs[0], &om); err != nil {
				t.Fatal(err)
			}
			if reps, _, _ := h.all("/v1.0/users/" + tn.UserID(adhoc.org) + "/onlineMeetings/" + om.ID + "/attendanceReports"); len(reps) != 0 {
				t.Errorf("a meeting that never took place has %d reports", len(reps))
			}
		}
	}
	if never == 0 {
		t.Error("the organizer's calendar has no meeting that never took place: the test proves nothing")
	}
}
