package graphsim

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"m365export/sources/graphsim/graphmeta"
)

// contractCase is one request of TestContract_ResponsesMatchMetadata: the
// entity type of what it serves, and the navigation properties Microsoft
// documents it to send (expanded, or unexpanded as organizer_v2 on the
// call-record list).
type contractCase struct {
	path   string
	typ    string
	single bool // one object, not a page
	nav    []string
	// only, if set, is every property the response may carry (a
	// documented projection); never lists properties it must not carry.
	only, never []string
}

// contractCases covers every route of the emulator, in both path forms
// where Microsoft's links use the key form.
func contractCases(tn *Tenant) []contractCase {
	u, g := tn.UserID(0), tn.GroupID(0)
	team, teamIdx := "", 0
	for i := 0; i < tn.Groups(); i++ {
		if tn.IsTeam(i) {
			team, teamIdx = tn.GroupID(i), (i-1)/3
			break
		}
	}
	call := ""
	for _, r := range tn.Records("call_records", "", time.Time{}, time.Time{}, []string{"id"}) {
		var x struct{ ID string }
		_ = json.Unmarshal(r, &x)
		call = x.ID
		break
	}
	var mtg meeting
	for _, mt := range tn.Meetings(math.MinInt64, math.MaxInt64) {
		if !mt.PolicyDenied {
			mtg, _ = tn.meetingByThread(mt.ThreadID)
			break
		}
	}
	org, mid := tn.UserID(mtg.org), string(tn.appendMeetingID(nil, mtg))
	callURL := "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + string(tn.appendThreadX(nil, mtg.day, mtg.i)) + "%40thread.v2/0"
	before := dayT.Add(-time.Millisecond).Format(time.RFC3339Nano)
	gtlt := func(p string) string { return q(p + " gt " + before + " and " + p + " lt " + nextDay) }
	allUser := strings.Join(userFields, ",")
	return []contractCase{
		{path: "/v1.0/users?$top=7", typ: "microsoft.graph.user"},
		{path: "/v1.0/users?$top=50&$select=" + allUser, typ: "microsoft.graph.user"},
		{path: "/v1.0/users/delta?$select=id,displayName,mail", typ: "microsoft.graph.user"},
		{path: "/v1.0/users/" + u, typ: "microsoft.graph.user", single: true},
		{path: "/v1.0/users('" + u + "')?$select=" + allUser, typ: "microsoft.graph.user", single: true},
		{path: "/v1.0/users/" + u + "/mailboxSettings", typ: "microsoft.graph.mailboxSettings", single: true},
		{path: "/v1.0/users/" + u + "/calendar/calendarView?startDateTime=" + day + "&endDateTime=" + nextDay + "&$top=4", typ: "microsoft.graph.event"},
		{path: "/v1.0/users('" + u + "')/calendarView?startDateTime=" + day + "&endDateTime=" + nextDay, typ: "microsoft.graph.event"},
		{path: q("/v1.0/users/" + u + "/mailFolders/SentItems/messages?$filter=sentDateTime ge " + day + " and sentDateTime lt " + nextDay + "&$orderby=sentDateTime&$top=6"), typ: "microsoft.graph.message"},
		{path: "/v1.0/users('" + u + "')/mailFolders('SentItems')/messages?$top=6", typ: "microsoft.graph.message"},
		{path: "/v1.0/users/" + u + "/chats?$top=4", typ: "microsoft.graph.chat", never: []string{"chatViewpoint", "lastMessagePreview"}},
		{path: "/v1.0/users/" + u + "/chats/getAllMessages?$top=5&model=A&$filter=" + gtlt("lastModifiedDateTime"), typ: "microsoft.graph.chatMessage"},
		{path: "/v1.0/users('" + u + "')/chats/getallMessages?$top=5&model=B&$filter=" + gtlt("lastModifiedDateTime"), typ: "microsoft.graph.chatMessage"},
		{path: "/v1.0/groups?$top=4", typ: "microsoft.graph.group"},
		{path: "/v1.0/groups/delta", typ: "microsoft.graph.group"},
		{path: "/v1.0/groups/" + g + "/members?$top=9", typ: "microsoft.graph.directoryObject"},
		{path: "/v1.0/teams?$top=3", typ: "microsoft.graph.team", only: []string{"id", "displayName", "description"}},
		{path: "/v1.0/teams/" + team, typ: "microsoft.graph.team", single: true},
		{path: "/v1.0/teams/" + team + "/allChannels", typ: "microsoft.graph.channel"},
		{path: "/v1.0/teams('" + team + "')/channels", typ: "microsoft.graph.channel"},
		{path: "/v1.0/teams/" + team + "/channels/getAllMessages?$top=5&model=A&$filter=" + gtlt("lastModifiedDateTime"), typ: "microsoft.graph.chatMessage"},
		{path: "/v1.0/teams('" + team + "')/channels/getallMessages?$top=5&$filter=" + gtlt("lastModifiedDateTime"), typ: "microsoft.graph.chatMessage"},
		{path: "/v1.0/teams/" + team + "/channels/" + tn.ChannelID(teamIdx, 0) + "/messages/delta?$top=5", typ: "microsoft.graph.chatMessage"},
		{path: q("/v1.0/communications/callRecords?$filter=startDateTime ge " + day + " and startDateTime lt " + nextDay), typ: "microsoft.graph.callRecords.callRecord",
			nav: []string{"organizer_v2"}, never: []string{"participants", "participants_v2", "sessions"}},
		{path: "/v1.0/communications/callRecords/" + call, typ: "microsoft.graph.callRecords.callRecord", single: true,
			nav: []string{"organizer_v2"}, never: []string{"participants", "participants_v2", "sessions"}},
		{path: "/v1.0/communications/callRecords/" + call + "?$expand=participants_v2", typ: "microsoft.graph.callRecords.callRecord", single: true,
			nav: []string{"organizer_v2", "participants_v2"}, never: []string{"participants", "sessions"}},
		{path: "/v1.0/users/" + org + "/onlineMeetings?$filter=" + url.QueryEscape("JoinWebUrl eq '"+callURL+"'"), typ: "microsoft.graph.onlineMeeting"},
		{path: "/v1.0/users('" + org + "')/onlineMeetings('" + mid + "')/attendanceReports", typ: "microsoft.graph.meetingAttendanceReport",
			nav: []string{"attendanceRecords"}},
		{path: "/v1.0/users/" + org + "/onlineMeetings/" + mid + "/attendanceReports/" + string(tn.appendReportID(nil, mtg, 0)) + "/attendanceRecords",
			typ: "microsoft.graph.attendanceRecord"},
		{path: "/v1.0/copilot/users/" + u + "/interactionHistory/getAllEnterpriseInteractions?$top=3&$filter=" + gtlt("createdDateTime"), typ: "microsoft.graph.aiInteraction"},
		{path: "/beta/copilot/users('" + u + "')/interactionHistory/getAllEnterpriseInteractions?$top=3&$filter=" + gtlt("createdDateTime"), typ: "microsoft.graph.aiInteraction"},
	}
}

// TestContract_ResponsesMatchMetadata validates what every route serves
// against Microsoft's v1.0 metadata (../shared/fixtures/graph-metadata):
// no property a closed type does not declare, values of the declared JSON
// type, enum members, navigation properties only where expanded or
// documented unexpanded, and the documented projections (teams list:
// id, displayName, description; call-record list: no participants or
// sessions).
func TestContract_ResponsesMatchMetadata(t *testing.T) {
	meta := graphmeta.Load(t, "../..")
	for _, keyForm := range []bool{false, true} {
		h := start(t, Options{Users: 60, Seed: 1, Limits: Limits{Disabled: true}, SlashFormLinks: !keyForm})
		tn := h.s.Tenant()
		covered := map[string]bool{}
		for _, c := range contractCases(tn) {
			u, _ := url.Parse(c.path)
			_, rest, _ := strings.Cut(u.Path[1:], "/")
			rt, ok := parseRoute(rest)
			if !ok {
				t.Fatalf("%s: no route", c.path)
			}
			covered[rt.ep] = true
			var items []json.RawMessage
			pages := 0
			for next := c.path; next != "" && pages < 4; pages++ {
				code, _, b := h.get(next)
				if code != 200 {
					t.Fatalf("GET %s = %d %s", next, code, b)
				}
				if c.single {
					items, next = append(items, b), ""
					continue
				}
				var p pageBody
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatalf("GET %s: %v", next, err)
				}
				items, next = append(items, p.Value...), p.Next
			}
			if len(items) == 0 {
				t.Errorf("%s: served nothing to check", c.path)
			}
			nav := map[string]bool{}
			for _, n := range c.nav {
				nav[n] = true
			}
			for i, raw := range items {
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				var v map[string]any
				if err := d.Decode(&v); err != nil {
					t.Fatalf("%s item %d: %v", c.path, i, err)
				}
				for _, p := range meta.Check(c.typ, v, nav) {
					t.Errorf("%s item %d: %s", c.path, i, p)
				}
				for k := range v {
					if c.only != nil && !strings.HasPrefix(k, "@") && !contains(c.only, k) {
						t.Errorf("%s item %d: %s is outside the documented projection %v", c.path, i, k, c.only)
					}
					if contains(c.never, k) {
						t.Errorf("%s item %d: carries %s, which Microsoft documents it does not", c.path, i, k)
					}
				}
			}
		}
		for _, ep := range endpoints {
			if ep != epUnknown && !covered[ep] {
				t.Errorf("route %s has no case in contractCases", ep)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestContract_CheckerCatches keeps the checker honest: the shapes the
// emulator used to send before following the contract fail it.
func TestContract_CheckerCatches(t *testing.T) {
	meta := graphmeta.Load(t, "../..")
	for _, c := range []struct {
		typ, body string
		nav       []string
	}{
		{"microsoft.graph.chat", `{"id":"x","chatViewpoint":{"isHidden":false}}`, nil},
		{"microsoft.graph.chat", `{"id":"x","lastMessagePreview":{"id":"1"}}`, nil},
		{"microsoft.graph.event", `{"id":"x","isAllDay":"no"}`, nil},
		{"microsoft.graph.user", `{"id":"x","manager":{"id":"y"}}`, nil},
		{"microsoft.graph.chat", `{"id":"x","chatType":"threeOnThree"}`, nil},
		{"microsoft.graph.chatMessage", `{"id":"x","createdDateTime":"2021-03-1706:47:05.123Z"}`, nil},
		{"microsoft.graph.callRecords.callRecord", `{"id":"x","version":"1"}`, nil},
		{"microsoft.graph.callRecords.callRecord", `{"id":"x","participants_v2":[]}`, []string{"organizer_v2"}},
		{"microsoft.graph.callRecords.callRecord", `{"id":"x","modalities":"audio"}`, nil},
	} {
		d := json.NewDecoder(strings.NewReader(c.body))
		d.UseNumber()
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		nav := map[string]bool{}
		for _, n := range c.nav {
			nav[n] = true
		}
		if got := meta.Check(c.typ, v, nav); len(got) == 0 {
			t.Errorf("Check(%s, %s) found nothing", c.typ, c.body)
		}
	}
}

// TestContract_MalformedTimestampOption: with Options.MalformedTimestamp,
// exactly one chat message (served to each participant of its chat) has
// Microsoft's malformed createdDateTime; without it, none.
func TestContract_MalformedTimestampOption(t *testing.T) {
	meta := graphmeta.Load(t, "../..")
	before := dayT.Add(-time.Millisecond).Format(time.RFC3339Nano)
	for _, on := range []bool{false, true} {
		h := start(t, Options{Users: 60, Seed: 1, Limits: Limits{Disabled: true}, MalformedTimestamp: on})
		tn := h.s.Tenant()
		bad := map[string]int{}
		for u := 0; u < tn.Users(); u++ {
			recs, _, _ := h.all(q("/v1.0/users/" + tn.UserID(u) + "/chats/getAllMessages?$top=50&$filter=lastModifiedDateTime gt " + before + " and lastModifiedDateTime lt " + nextDay))
			for _, raw := range recs {
				d := json.NewDecoder(bytes.NewReader(raw))
				d.UseNumber()
				var v map[string]any
				_ = d.Decode(&v)
				if p := meta.Check("microsoft.graph.chatMessage", v, nil); len(p) > 0 {
					if len(p) != 1 || !strings.Contains(p[0], "createdDateTime") {
						t.Fatalf("unexpected problems: %v", p)
					}
					bad[v["chatId"].(string)+"/"+v["id"].(string)]++
				}
			}
		}
		if want := map[bool]int{false: 0, true: 1}[on]; len(bad) != want {
			t.Errorf("MalformedTimestamp=%v: %d malformed messages %v, want %d", on, len(bad), bad, want)
		}
	}
}
