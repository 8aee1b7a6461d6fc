package graphsim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

func q(s string) string { return strings.ReplaceAll(s, " ", "%20") }

const day = "2026-11-26T00:00:00Z"
const nextDay = "2026-11-27T00:00:00Z"

var (
	dayT     = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	nextDayT = dayT.Add(24 * time.Hour)
)

// TestEndpoints_MatchTruth walks every collection through HTTP with small
// pages and compares with Truth: paging returns every record once, in order.
func TestEndpoints_MatchTruth(t *testing.T) {
	h := start(t, Options{Users: 120, Seed: 11, Limits: Limits{Disabled: true}, Auth: Auth{Roles: contentRoles}})
	tn := h.s.Tenant()
	type tc struct {
		coll     string
		url      func(owner string) string
		from, to time.Time
		ownersN  int
		single   bool // one object per owner, not a page
	}
	before := dayT.Add(-time.Millisecond) // gt/lt endpoints: ask gt from−1ms for [from, to)
	cases := []tc{
		{coll: "users", url: func(string) string { return "/v1.0/users?$top=37" }},
		{coll: "groups", url: func(string) string { return "/v1.0/groups?$top=3" }},
		{coll: "group_members", url: func(o string) string { return "/v1.0/groups/" + o + "/members?$top=5" }, ownersN: 3},
		{coll: "teams", url: func(o string) string { return "/v1.0/teams('" + o + "')" }, ownersN: 3, single: true},
		{coll: "channels", url: func(o string) string { return "/v1.0/teams/" + o + "/allChannels" }, ownersN: 4},
		{coll: "chats", url: func(o string) string { return "/v1.0/users/" + o + "/chats?$top=4" }, ownersN: 4},
		{coll: "mailbox_settings", url: func(o string) string { return "/v1.0/users/" + o + "/mailboxSettings" }, ownersN: 3},
		{coll: "events", from: dayT, to: nextDayT, ownersN: 6, url: func(o string) string {
			return "/v1.0/users/" + o + "/calendar/calendarView?startDateTime=" + day + "&endDateTime=" + nextDay + "&$top=3"
		}},
		{coll: "messages", from: dayT, to: nextDayT, ownersN: 4, url: func(o string) string {
			return q("/v1.0/users/" + o + "/mailFolders/SentItems/messages?$filter=sentDateTime ge " + day + " and sentDateTime lt " + nextDay + "&$orderby=sentDateTime&$top=6")
		}},
		{coll: "chat_messages", from: dayT, to: nextDayT, ownersN: 6, url: func(o string) string {
			return q("/v1.0/users/" + o + "/chats/getAllMessages?$filter=lastModifiedDateTime gt " + before.Format(time.RFC3339Nano) + " and lastModifiedDateTime lt " + nextDay + "&model=A&$top=5")
		}},
		{coll: "channel_messages", from: dayT, to: nextDayT, ownersN: 4, url: func(o string) string {
			return q("/v1.0/teams/" + o + "/channels/getAllMessages?$filter=lastModifiedDateTime gt " + before.Format(time.RFC3339Nano) + " and lastModifiedDateTime lt " + nextDay + "&$top=5")
		}},
		{coll: "call_records", ownersN: 4, single: true, url: func(o string) string {
			return "/v1.0/communications/callRecords/" + o + "?$expand=participants_v2"
		}},
		{coll: "interactions", from: dayT, to: nextDayT, ownersN: 4, url: func(o string) string {
			return q("/beta/copilot/users/" + o + "/interactionHistory/getAllEnterpriseInteractions?$filter=createdDateTime gt " + before.Format(time.RFC3339Nano) + " and createdDateTime lt " + nextDay + "&$top=3")
		}},
	}
	for _, c := range cases {
		t.Run(c.coll, func(t *testing.T) {
			owners := truthOwners(tn, c.coll)
			if c.ownersN > 0 {
				owners = owners[:min(c.ownersN, len(owners))]
			}
			total := 0
			for _, o := range owners {
				want := truth(tn, c.coll, o, c.from, c.to)
				var got []json.RawMessage
				if c.coll == "mailbox_settings" {
					code, _, b := h.get(c.url(o))
					if code != 200 {
						t.Fatalf("%d %s", code, b)
					}
					var m map[string]json.RawMessage
					if err := json.Unmarshal(b, &m); err != nil || m["@odata.context"] == nil {
						t.Fatalf("mailboxSettings: %v %s", err, b)
					}
					delete(m, "@odata.context")
					for _, k := range mailboxSettingsFields {
						if _, ok := m[k]; !ok {
							t.Fatalf("mailboxSettings lacks %s: %s", k, b)
						}
					}
					got = want
				} else if c.single {
					code, _, b := h.get(c.url(o))
					if code != 200 {
						t.Fatalf("%d %s", code, b)
					}
					var m map[string]json.RawMessage
					if err := json.Unmarshal(b, &m); err != nil || m["@odata.context"] == nil {
						t.Fatalf("%s: %v %s", c.coll, err, b)
					}
					i := bytes.Index(b, []byte(`,`))
					got = []json.RawMessage{append([]byte("{"), b[i+1:]...)}
				} else {
					got, _, _ = h.all(c.url(o))
				}
				equalRecords(t, c.coll+" of "+o, want, got)
				total += len(got)
			}
			if total == 0 {
				t.Fatalf("no %s at all", c.coll)
			}
		})
	}
}

// TestWindows_HalfOpen checks that a record at the window's start is in and
// one at its end is out, for ge/lt and for gt/lt filters.
func TestWindows_HalfOpen(t *testing.T) {
	h := start(t, Options{Users: 20, Seed: 5})
	tn := h.s.Tenant()
	owner := tn.UserID(0)
	msgs := truth(tn, "messages", owner, dayT, nextDayT)
	if len(msgs) < 3 {
		t.Fatalf("only %d messages", len(msgs))
	}
	var m struct{ SentDateTime time.Time }
	_ = json.Unmarshal(msgs[1], &m)
	ts := m.SentDateTime
	if in := truth(tn, "messages", owner, ts, ts.Add(time.Second)); len(in) != 1 {
		t.Fatalf("[t, t+1s) holds %d messages, want 1", len(in))
	}
	if out := truth(tn, "messages", owner, ts.Add(-time.Second), ts); len(out) != 0 {
		t.Fatalf("[t-1s, t) holds %d messages, want 0", len(out))
	}
	u := func(f string) string {
		return q("/v1.0/users/" + owner + "/mailFolders/SentItems/messages?$filter=" + f + "&$orderby=sentDateTime")
	}
	rfc := func(x time.Time) string { return x.Format(time.RFC3339) }
	if got, _, _ := h.all(u("sentDateTime ge " + rfc(ts) + " and sentDateTime lt " + rfc(ts.Add(time.Second)))); len(got) != 1 {
		t.Fatalf("ge t lt t+1s: %d messages, want 1", len(got))
	}
	if got, _, _ := h.all(u("sentDateTime gt " + rfc(ts) + " and sentDateTime lt " + rfc(ts.Add(time.Second)))); len(got) != 0 {
		t.Fatalf("gt t lt t+1s: %d messages, want 0", len(got))
	}
	// getAllMessages accepts only gt and lt.
	code, _, b := h.get(q("/v1.0/users/" + owner + "/chats/getAllMessages?$filter=lastModifiedDateTime ge " + day))
	if code != 400 {
		t.Fatalf("getAllMessages with ge: %d %s", code, b)
	}
	chat := truth(tn, "chat_messages", owner, dayT, nextDayT)
	if len(chat) == 0 {
		t.Fatal("no chat messages")
	}
	var cm struct{ LastModifiedDateTime time.Time }
	_ = json.Unmarshal(chat[0], &cm)
	lm := cm.LastModifiedDateTime.Format(time.RFC3339Nano)
	got, _, _ := h.all(q("/v1.0/users/" + owner + "/chats/getAllMessages?$filter=lastModifiedDateTime gt " + lm + " and lastModifiedDateTime lt " + nextDay))
	for _, r := range got {
		var x struct{ LastModifiedDateTime time.Time }
		_ = json.Unmarshal(r, &x)
		if !x.LastModifiedDateTime.After(cm.LastModifiedDateTime) {
			t.Fatalf("gt %s served a message modified at %s", lm, x.LastModifiedDateTime)
		}
	}
}

func TestTenant_SameSeedSameTenant(t *testing.T) {
	a, err := Start(Options{Users: 40, Seed: 9, Auth: Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Start(Options{Users: 40, Seed: 9, Auth: Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := Start(Options{Users: 40, Seed: 10, Auth: Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, coll := range []string{"users", "groups", "messages", "events", "chat_messages", "call_records", "interactions"} {
		oa, ob := truthOwners(a.Tenant(), coll), truthOwners(b.Tenant(), coll)
		if strings.Join(oa, ",") != strings.Join(ob, ",") {
			t.Fatalf("%s: owners differ for the same seed", coll)
		}
		ra := truth(a.Tenant(), coll, oa[0], dayT, nextDayT)
		rb := truth(b.Tenant(), coll, ob[0], dayT, nextDayT)
		equalRecords(t, coll, ra, rb)
		rc := truth(c.Tenant(), coll, truthOwners(c.Tenant(), coll)[0], dayT, nextDayT)
		if len(ra) > 0 && len(rc) > 0 && string(ra[0]) == string(rc[0]) {
			t.Fatalf("%s: another seed gives the same first record", coll)
		}
	}
	if a.TenantID() != b.TenantID() || a.ClientID() != b.ClientID() || a.ClientSecret() != b.ClientSecret() {
		t.Fatal("ids differ for the same seed")
	}
}

// TestShapes checks properties and formats a Graph client relies on.
func TestShapes(t *testing.T) {
	h := start(t, Options{Users: 60, Seed: 2, Auth: Auth{Roles: contentRoles}})
	tn := h.s.Tenant()
	code, _, b := h.get("/v1.0/users/" + tn.UserID(0) + "/mailFolders/SentItems/messages?$top=1")
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var p struct {
		Context string `json:"@odata.context"`
		Next    string `json:"@odata.nextLink"`
		Value   []map[string]any
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p.Context, "/v1.0/$metadata#users('"+tn.UserID(0)+"')/mailFolders('SentItems')/messages") {
		t.Errorf("@odata.context = %s", p.Context)
	}
	nl, err := url.Parse(p.Next)
	if err != nil || nl.Query().Get("$top") != "1" || nl.Query().Get("$skiptoken") == "" {
		t.Errorf("nextLink = %s", p.Next)
	}
	msg := p.Value[0]
	for _, k := range []string{"@odata.etag", "id", "sentDateTime", "from", "toRecipients", "subject", "conversationId", "body"} {
		if _, ok := msg[k]; !ok {
			t.Errorf("message lacks %s", k)
		}
	}
	if s, _ := msg["sentDateTime"].(string); len(s) != 20 || !strings.HasSuffix(s, "Z") {
		t.Errorf("sentDateTime = %q", s)
	}
	// $select keeps @odata.etag and id plus the selected properties only.
	code, _, b = h.get("/v1.0/users/" + tn.UserID(0) + "/mailFolders/SentItems/messages?$top=1&$select=sentDateTime,toRecipients")
	p.Value = nil
	_ = json.Unmarshal(b, &p)
	if code != 200 || len(p.Value) != 1 || len(p.Value[0]) != 4 {
		t.Errorf("$select: %d %s", code, b)
	}
	var cnt struct {
		Count int `json:"@odata.count"`
	}
	if _, _, b = h.get("/v1.0/groups/" + tn.GroupID(0) + "/members?$count=true&$top=5"); json.Unmarshal(b, &cnt) != nil || cnt.Count != 60 {
		t.Errorf("members of All Company: @odata.count = %d, want 60", cnt.Count)
	}
	sel := []string{"sentDateTime", "toRecipients", "subject"}
	want := truthSelect(tn, "messages", tn.UserID(0), dayT, nextDayT, sel)
	got, _, _ := h.all(q("/v1.0/users/" + tn.UserID(0) + "/mailFolders/SentItems/messages?$orderby=sentDateTime&$top=4&$select=" + strings.Join(sel, ",") +
		"&$filter=sentDateTime ge " + day + " and sentDateTime lt " + nextDay))
	equalRecords(t, "messages with $select", want, got)
	code, _, b = h.get("/v1.0/users/" + tn.UserID(0) + "/mailFolders/SentItems/messages?$select=nope")
	if code != 400 {
		t.Errorf("$select of an unknown property: %d %s", code, b)
	}
	// Guests have #EXT# UPNs; users without a mailbox have mail null.
	var u struct{ Value []map[string]any }
	_, _, b = h.get("/v1.0/users?$select=userPrincipalName,mail,userType")
	_ = json.Unmarshal(b, &u)
	if upn := u.Value[13]["userPrincipalName"].(string); !strings.Contains(upn, "#EXT#") || u.Value[13]["userType"] != "Guest" {
		t.Errorf("user 13 = %v, want a guest", u.Value[13])
	}
	var members struct{ Value []json.RawMessage }
	if _, _, b = h.get(q("/v1.0/users?$filter=userType eq 'Member' and accountEnabled eq true&$select=id")); json.Unmarshal(b, &members) != nil || len(members.Value) != 58 {
		t.Errorf("enabled members: %d of 60, want 58: %s", len(members.Value), b)
	}
	if code, _, _ := h.get(q("/v1.0/users?$filter=startswith(displayName,'A')")); code != 400 {
		t.Errorf("unsupported user filter: %d, want 400", code)
	}
	if u.Value[7]["mail"] != nil {
		t.Errorf("user 7 mail = %v, want null", u.Value[7]["mail"])
	}
}

// TestTenant_LargeIsLazy serves a 100,000-user tenant without holding it:
// the heap grows by far less than the users would take (≥ 1 KiB each).
func TestTenant_LargeIsLazy(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := start(t, Options{Users: 100000, Seed: 1})
	tn := h.s.Tenant()
	if code, _, b := h.get("/v1.0/users?$top=999"); code != 200 {
		t.Fatalf("users: %d %s", code, b)
	}
	last := tn.UserID(99999)
	if code, _, b := h.get("/v1.0/users/" + last + "/mailFolders/SentItems/messages?$top=1000"); code != 200 {
		t.Fatalf("last user's mail: %d %s", code, b)
	}
	if code, _, b := h.get("/v1.0/groups/" + tn.GroupID(0) + "/members?$top=999"); code != 200 {
		t.Fatalf("All Company: %d %s", code, b)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 32<<20 {
		t.Fatalf("heap grew by %d MiB for a 100k-user tenant", grew>>20)
	}
}
