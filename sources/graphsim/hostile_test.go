package graphsim

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHostile_PlantsAtEveryDepth(t *testing.T) {
	in := `{"@odata.context":"ctx","@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x","value":[` +
		`{"id":"1","from":{"user":{"id":"u"}},"tags":["a","b"],"items":[{"k":1}],"n":null}]}`
	out := hostile([]byte(in))
	var page map[string]any
	if err := json.Unmarshal(out, &page); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if page["@odata.nextLink"] != "https://graph.microsoft.com/v1.0/users?$skiptoken=x" || page["@odata.context"] != "ctx" {
		t.Errorf("paging annotations changed: %s", out)
	}
	rec := page["value"].([]any)[0].(map[string]any)
	for path, obj := range map[string]any{
		"page":        page,
		"$":           rec,
		"$.from":      rec["from"],
		"$.from.user": rec["from"].(map[string]any)["user"],
		"$.items[]":   rec["items"].([]any)[0],
	} {
		o := obj.(map[string]any)
		if s, _ := o[HostileKey].(string); !strings.HasPrefix(s, Planted(path)) {
			t.Errorf("%s: %s = %q, want it to start with %q", path, HostileKey, s, Planted(path))
		}
		for _, k := range []string{"hostilePerson", "hostileList", "extension_0f1e2d3c4b5a_hostileCode", "hostile@odata.context"} {
			if _, ok := o[k]; !ok {
				t.Errorf("%s: no %s", path, k)
			}
		}
	}
	for _, k := range []string{"members@odata.context", "+hostile:textDigest"} {
		if s, _ := rec[k].(string); !strings.Contains(s, HostileMarker) {
			t.Errorf("record: %s = %q", k, s)
		}
	}
	tags := rec["tags"].([]any)
	if len(tags) != 3 || tags[0] != "a" || tags[1] != "b" {
		t.Errorf("tags = %v, want a, b and a planted object", tags)
	}
	if rec["id"] != "1" || rec["n"] != nil {
		t.Errorf("the emulator's own values changed: %v", rec)
	}
	if got := hostile([]byte("not json")); string(got) != "not json" {
		t.Errorf("a body that is not JSON changed: %s", got)
	}
}

// TestSelect_ValuesDoNotDependOnSelect: as in Graph, a record's values do
// not change with what $select names (the exporter selects its columns;
// the emulator's own goldens read everything).
func TestSelect_ValuesDoNotDependOnSelect(t *testing.T) {
	s, err := Start(Options{Users: 4, Seed: 5, Auth: Auth{Anonymous: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(q string) []map[string]any {
		resp, err := s.HTTPClient().Get(s.GraphURL() + "/v1.0/users/" + s.Tenant().UserID(1) + "/mailFolders/SentItems/messages?$top=50" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct{ Value []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		return page.Value
	}
	all := get("")
	for _, sel := range []string{"id,sentDateTime,toRecipients", "id,changeKey,sentDateTime,toRecipients"} {
		some := get("&$select=" + sel)
		if len(some) != len(all) || len(all) == 0 {
			t.Fatalf("$select=%s: %d records, without: %d", sel, len(some), len(all))
		}
		for i := range all {
			for _, k := range strings.Split(sel, ",") {
				a, _ := json.Marshal(all[i][k])
				b, _ := json.Marshal(some[i][k])
				if string(a) != string(b) {
					t.Errorf("$select=%s: record %d %s = %s, without $select %s", sel, i, k, b, a)
				}
			}
		}
	}
}
