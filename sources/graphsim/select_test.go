package graphsim

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

var timeZero time.Time

// TestSelect_EveryCollectionValuesIndependent: a record's values do not
// depend on what $select names, for every record type (a real tenant's
// data does not change with the query): each property selected alone
// equals that property in the record rendered with every property
// selected.
func TestSelect_EveryCollectionValuesIndependent(t *testing.T) {
	o := Options{Users: 12, Seed: 11}
	o.defaults()
	tn := newTenant(&o)
	team := ""
	for g := 0; g < tn.Groups(); g++ {
		if tn.IsTeam(g) {
			team = tn.GroupID(g)
			break
		}
	}
	if team == "" {
		t.Fatal("no team in the tenant")
	}
	u := tn.UserID(1)
	cases := []struct {
		coll, owner string
		fields      []string
	}{
		{"users", "", userFields},
		{"groups", "", groupFields},
		{"group_members", tn.GroupID(1), userFields},
		{"teams", team, teamFields},
		{"channels", team, channelFields},
		{"chats", u, chatFields},
		{"mailbox_settings", u, mailboxSettingsFields},
		{"events", u, eventFields},
		{"messages", u, messageFields},
		{"chat_messages", u, chatMessageFields},
		{"channel_messages", team, chatMessageFields},
		{"call_records", "", callRecordFields},
		{"interactions", u, copilotFields},
	}
	// One call record as GET /communications/callRecords/{id} serves it.
	if calls := tn.Records("call_records", "", timeZero, timeZero, []string{"id"}); len(calls) > 0 {
		var c struct{ ID string }
		if err := json.Unmarshal(calls[0], &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			coll, owner string
			fields      []string
		}{"call_records", c.ID, callRecordFields})
	}
	for _, c := range cases {
		all := decodeAll(t, tn.Records(c.coll, c.owner, timeZero, timeZero, slices.Clone(c.fields)))
		if len(all) == 0 {
			t.Errorf("%s %s: no records", c.coll, c.owner)
			continue
		}
		for _, f := range c.fields {
			one := decodeAll(t, tn.Records(c.coll, c.owner, timeZero, timeZero, []string{f}))
			if len(one) != len(all) {
				t.Errorf("%s %s $select=%s: %d records, with every property %d", c.coll, c.owner, f, len(one), len(all))
				continue
			}
			for i := range all {
				a, _ := json.Marshal(all[i][f])
				b, _ := json.Marshal(one[i][f])
				if string(a) != string(b) {
					t.Errorf("%s %s record %d: $select=%s gives %s, every property selected gives %s", c.coll, c.owner, i, f, b, a)
					break
				}
			}
		}
	}
}

func decodeAll(t *testing.T, raws []json.RawMessage) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, r)
		}
	}
	return out
}

// TestSelect_ChatsIgnoresSelect: List chats documents $expand, $top,
// $filter and $orderby only (chat-list); the emulator assumes Graph ignores
// a $select there and serves every property.
func TestSelect_ChatsIgnoresSelect(t *testing.T) {
	h := start(t, Options{Users: 6, Seed: 5, Auth: Auth{Anonymous: true}})
	u := "/v1.0/users/" + h.s.Tenant().UserID(1) + "/chats?$top=50"
	all, _, _ := h.all(u)
	sel, _, _ := h.all(u + "&$select=id")
	if len(all) == 0 || len(sel) != len(all) {
		t.Fatalf("%d chats with $select=id, %d without", len(sel), len(all))
	}
	for i := range all {
		if string(all[i]) != string(sel[i]) {
			t.Errorf("chat %d with $select=id: %s, without: %s", i, sel[i], all[i])
		}
	}
}
