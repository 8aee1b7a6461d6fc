package graphsim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestKeyFormLinks_BothFormsPage: by default the getAllMessages
// next links take Microsoft's documented key form (users('{id}'),
// teams('{id}'), getallMessages); without it, the request's form. Either
// way every record comes once, as Truth lists them.
func TestKeyFormLinks_BothFormsPage(t *testing.T) {
	before := dayT.Add(-time.Millisecond).Format(time.RFC3339Nano)
	for _, keyForm := range []bool{false, true} {
		h := start(t, Options{Users: 40, Seed: 2, Limits: Limits{Disabled: true}, SlashFormLinks: !keyForm})
		tn := h.s.Tenant()
		u := tn.UserID(0)
		team := ""
		for g := 0; g < tn.Groups(); g++ {
			if tn.IsTeam(g) {
				team = tn.GroupID(g)
				break
			}
		}
		for _, c := range []struct{ coll, owner, path, keyPrefix string }{
			{"chat_messages", u, "/v1.0/users/" + u + "/chats/getAllMessages", "/v1.0/users('" + u + "')/chats/getallMessages?"},
			{"channel_messages", team, "/v1.0/teams/" + team + "/channels/getAllMessages", "/v1.0/teams('" + team + "')/channels/getallMessages?"},
		} {
			first := c.path + "?$top=2&model=A&$filter=" + q("lastModifiedDateTime gt "+before+" and lastModifiedDateTime lt "+nextDay)
			_, _, b := h.get(first)
			var p pageBody
			if err := json.Unmarshal(b, &p); err != nil || p.Next == "" {
				t.Fatalf("%s: no next link: %v %s", c.coll, err, b)
			}
			link := strings.TrimPrefix(p.Next, h.s.GraphURL())
			if got := strings.HasPrefix(link, c.keyPrefix); got != keyForm {
				t.Errorf("key form %v: %s next link %s", keyForm, c.coll, link)
			}
			got, _, _ := h.all(first)
			equalRecords(t, c.coll, truth(tn, c.coll, c.owner, dayT, nextDayT), got)
		}
	}
}

// TestTeamsGates: the licence check answers 402 to model=A for an unlicensed
// user (a guest) and never to model=B or no model; TeamsUnapproved
// answers 403 to both getAllMessages.
func TestTeamsGates(t *testing.T) {
	f := "&$filter=" + q("lastModifiedDateTime gt "+day+" and lastModifiedDateTime lt "+nextDay)
	for _, lic := range []bool{false, true} {
		h := start(t, Options{Users: 60, Seed: 1, Limits: Limits{Disabled: true}, NoTeamsLicenceCheck: !lic})
		guest, member := h.s.Tenant().UserID(13), h.s.Tenant().UserID(0)
		for _, c := range []struct {
			user, model string
			want        int
		}{
			{guest, "A", map[bool]int{false: 200, true: 402}[lic]},
			{guest, "B", 200},
			{guest, "", 200},
			{member, "A", 200},
		} {
			p := "/v1.0/users/" + c.user + "/chats/getAllMessages?$top=5" + f
			if c.model != "" {
				p += "&model=" + c.model
			}
			if code, _, b := h.get(p); code != c.want {
				t.Errorf("licence check %v model=%q: %d %s, want %d", lic, c.model, code, b, c.want)
			} else if code == 402 && !strings.Contains(string(b), `"PaymentRequired"`) {
				t.Errorf("402 body %s", b)
			}
		}
	}
	h := start(t, Options{Users: 30, Seed: 1, Limits: Limits{Disabled: true}, TeamsUnapproved: true})
	tn := h.s.Tenant()
	for _, p := range []string{"/v1.0/users/" + tn.UserID(0) + "/chats/getAllMessages?model=B" + f,
		"/v1.0/teams/" + tn.GroupID(1) + "/channels/getAllMessages?model=B" + f} {
		if code, _, b := h.get(p); code != 403 {
			t.Errorf("TeamsUnapproved: %s = %d %s, want 403", p, code, b)
		}
	}
	if code, _, _ := h.get("/v1.0/users/" + tn.UserID(0) + "/chats"); code != 200 {
		t.Errorf("TeamsUnapproved refuses the chats list too: %d", code)
	}
}

// noneBefore fails unless every call record of recs started at edge or
// later (what reached them: list).
func noneBefore(t *testing.T, list string, recs []json.RawMessage, edge time.Time) {
	t.Helper()
	for _, r := range recs {
		var x struct{ StartDateTime time.Time }
		_ = json.Unmarshal(r, &x)
		if x.StartDateTime.Before(edge) {
			t.Fatalf("%s serves a record of %s, older than 30 days", list, x.StartDateTime)
		}
	}
}

// TestCallRecords_Retention30Days: with 40 days of history, neither the
// list nor GET by id serves a call record that started more than 30 days
// before the clock.
func TestCallRecords_Retention30Days(t *testing.T) {
	h := start(t, Options{Users: 20, Seed: 4, HistoryDays: 40, Limits: Limits{Disabled: true}})
	now := h.s.Tenant().Now()
	edge := now.Add(-30 * 24 * time.Hour)
	recs, _, _ := h.all("/v1.0/communications/callRecords")
	if len(recs) == 0 {
		t.Fatal("no call records")
	}
	noneBefore(t, "list", recs, edge)
	// A $filter on a window past retention answers 200 with what Graph
	// still keeps: nothing for one wholly past it, the retained part of one
	// partly past it (Microsoft documents no error for an old filter: an
	// assumption; --tables backfills of meetings list such windows).
	filter := func(from, to time.Time) string {
		return "/v1.0/communications/callRecords?$filter=" + url.QueryEscape("startDateTime ge "+from.Format(time.RFC3339)+" and startDateTime lt "+to.Format(time.RFC3339))
	}
	day := 24 * time.Hour
	if old, _, _ := h.all(filter(now.Add(-39*day), now.Add(-32*day))); len(old) != 0 {
		t.Errorf("a window wholly past retention lists %d records, want none", len(old))
	}
	part, _, _ := h.all(filter(now.Add(-39*day), now.Add(-25*day)))
	if len(part) == 0 {
		t.Error("a window partly past retention lists nothing: the test proves nothing")
	}
	noneBefore(t, "a filtered list", part, edge)
	// An id of a call 35 days back, as the emulator would name it.
	tn := h.s.Tenant()
	d := floorDiv(now.UnixMilli(), dayMS) - 35
	for d < floorDiv(now.UnixMilli(), dayMS)-31 && tn.callCount(d) == 0 {
		d++
	}
	hi, lo := tn.callID(d, 0)
	old := string(appendUUID(nil, hi, lo))
	if code, _, b := h.get("/v1.0/communications/callRecords/" + old); code != 404 {
		t.Fatalf("GET a record past retention: %d %s, want 404", code, b)
	}
	var x struct{ ID string }
	_ = json.Unmarshal(recs[0], &x)
	if code, _, b := h.get("/v1.0/communications/callRecords/" + x.ID + "?$expand=participants_v2"); code != 200 || !strings.Contains(string(b), `"participants_v2":[`) {
		t.Fatalf("GET a listed record: %d %s", code, b)
	}
}
