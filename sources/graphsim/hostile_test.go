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
