package all_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"m365export/jobs/connector"
	"m365export/rules"
)

// TestRegistry_EveryEndpointIsAnAllowList: in every variant of every
// connector's built-in rules, every endpoint carries a responseSchema, and
// each collection's first request is answered by an endpoint whose schema
// keeps exactly the collection's generated allow-list: a member the table
// does not declare, added to every object of a probe record built from
// the allow-list, is gone after the rules, while the declared record is
// kept (its id survives).
func TestRegistry_EveryEndpointIsAnAllowList(t *testing.T) {
	variants := []rules.Variant{{}, {IDs: rules.IDsKept}, {IDs: rules.IDsHashOnly}, {NoGroups: true}}
	for _, c := range connector.All() {
		for _, v := range variants {
			name, src, err := c.RenderRules(v)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Endpoints []map[string]any `yaml:"endpoints"`
			}
			if err := yaml.Unmarshal(src, &doc); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for i, ep := range doc.Endpoints {
				if _, ok := ep["responseSchema"]; !ok {
					t.Errorf("%s: endpoint %d (%v%v) has no responseSchema", name, i, ep["pathTemplate"], ep["pathRegex"])
				}
			}
			rs, err := rules.Compile(name, src, rules.Secrets{Salt: "salt", Key: "key-key-key-key-key-key-key-key!"})
			if err != nil {
				t.Fatal(err)
			}
			for _, cs := range c.Plan(v.NoGroups) {
				url := cs.First("00000000-0000-0000-0000-000000000000", connector.Window{}, connector.Settings{TeamsModel: "B"})
				rec := probe(cs.Shape(), true)
				page := rec
				if !cs.Single {
					page = map[string]any{"value": []any{rec}}
				}
				in, _ := json.Marshal(page)
				out, err := rs.Sanitize(url, in)
				if err != nil {
					t.Fatalf("%s %s: %v", name, cs.Name, err)
				}
				if strings.Contains(string(out), "undeclaredMember") {
					t.Errorf("%s %s: a member the table does not declare passes the rules: %s", name, cs.Name, out)
				}
				if !strings.Contains(string(out), `"id"`) && strings.Contains(string(in), `"id"`) {
					t.Errorf("%s %s: the rules keep nothing of the declared record: %s", name, cs.Name, out)
				}
			}
		}
	}
}

// probe builds a JSON value with every path of s (a string at each leaf,
// one element in each array) and, with extra, an undeclared member in
// every object.
func probe(s *rules.Shape, extra bool) any {
	switch {
	case s.IsObject():
		m := map[string]any{}
		for k, v := range s.Props {
			if !strings.HasPrefix(k, "+") {
				m[k] = probe(v, extra)
			}
		}
		if extra {
			m["undeclaredMember"] = "x"
		}
		return m
	case s.IsArray():
		return []any{probe(s.Items, extra)}
	}
	return "v"
}

// TestRegistry_SelectNamesTheAllowList: every collection's first request
// asks Graph for exactly the top-level properties its table keeps
// ($select = connector.Select of its schema, less what it asks for with
// $expand), or its declaration says why the API takes no $select.
func TestRegistry_SelectNamesTheAllowList(t *testing.T) {
	for _, tb := range connector.Tables() {
		u, err := url.Parse(tb.First("00000000-0000-0000-0000-000000000000", connector.Window{}, connector.Settings{}))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		sel, expand := q.Get("$select"), q.Get("$expand")
		switch {
		case tb.NoSelect != "" && sel != "":
			t.Errorf("%s/%s: declares NoSelect (%s) but asks $select=%s", tb.Connector.Name, tb.Name, tb.NoSelect, sel)
		case tb.NoSelect != "":
		case sel == "":
			t.Errorf("%s/%s: no $select, and no NoSelect reason", tb.Connector.Name, tb.Name)
		default:
			got := strings.Split(sel, ",")
			slices.Sort(got)
			want := strings.Split(connector.Select(tb.Schema, strings.Split(expand, ",")...), ",")
			if !slices.Equal(got, want) {
				t.Errorf("%s/%s: $select=%s, want the table's columns %s", tb.Connector.Name, tb.Name, strings.Join(got, ","), strings.Join(want, ","))
			}
		}
	}
}
