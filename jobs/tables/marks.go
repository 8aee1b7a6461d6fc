package tables

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"m365export/jobs/connector"
	"m365export/rules"
	"m365export/sinks"
)

// The privacy marks of the data dictionary say what the default built-in
// rules (--ids pseudonymized) do to each column. They are not written by
// hand: a probe record holding a distinct value at every path of the
// table's allow-list goes through the rules and the allow-list exactly as
// an export's records do, and each column's value out is compared with
// the value in.
const (
	// MarkKept: the value is written as Graph sent it.
	MarkKept = "kept"
	// MarkPseudonymized: the value is replaced by its pseudonym (a p~ or
	// t~ token, an address with a pseudonymized local part).
	MarkPseudonymized = "pseudonymized"
	// MarkReduced: part of the value is removed (subject phrases, a
	// parameter of a URL, members of a JSON value).
	MarkReduced = "reduced"
	// MarkRemoved: the rules remove the value: the column is null. It is
	// the extreme of reduced.
	MarkRemoved = "reduced: removed"
	// MarkDerived: computed by the exporter, not sent by Graph (text
	// digests, the UTC instant of a calendar date-time).
	MarkDerived = "derived"
)

// probeSecrets bind the probe's rules; the marks do not depend on them.
var probeSecrets = rules.Secrets{Salt: "data-dictionary-probe", Key: "data-dictionary-probe-key-000000"}

// token finds a pseudonym in a sanitized value.
var token = regexp.MustCompile(`[pteh]~[A-Za-z0-9_-]{20,}`)

// Marks returns the privacy mark of every column of t under the default
// built-in rules, by the column's dotted source path ("from.emailAddress.address",
// "attachments[].name", "start.utc"); struct and list columns whose
// members are marked have no mark of their own.
func Marks(t connector.Table) (map[string]string, error) {
	name, src, err := t.Connector.RenderRules(rules.Variant{})
	if err != nil {
		return nil, err
	}
	rs, err := rules.Compile(name, src, probeSecrets)
	if err != nil {
		return nil, err
	}
	n := 0
	rec := probe(t.Shape(), &n)
	page := rec
	if !t.Single {
		page = map[string]any{"value": []any{rec}}
	}
	in, err := json.Marshal(page)
	if err != nil {
		return nil, err
	}
	out, err := rs.Sanitize(t.SampleRequest(), in)
	if err != nil {
		return nil, fmt.Errorf("%s: probe: %w", t.Name, err)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		return nil, err
	}
	if !t.Single {
		list, _ := got.(map[string]any)["value"].([]any)
		got = nil
		if len(list) == 1 {
			got = list[0]
		}
	}
	b, _ := json.Marshal(got)
	if b, err = t.Shape().Filter(b); err != nil {
		return nil, err
	}
	got = nil
	_ = json.Unmarshal(b, &got)
	marks := map[string]string{}
	markColumns(t.Schema.Columns, asObject(rec), asObject(got), "", marks)
	return marks, nil
}

// probe builds a value with every path of s; each leaf a distinct text
// that each kind of rule acts on: an SMTP address (pseudonymized), a
// pwd= parameter (redacted from URLs) and a meeting-type phrase (kept
// from subjects).
func probe(s *rules.Shape, n *int) any {
	switch {
	case s.IsObject():
		m := map[string]any{}
		for k, v := range s.Props {
			if !strings.HasPrefix(k, "+") {
				m[k] = probe(v, n)
			}
		}
		return m
	case s.IsArray():
		return []any{probe(s.Items, n)}
	}
	*n++
	return fmt.Sprintf("smtp:probe%d@example.com?pwd=secret Weekly", *n)
}

func asObject(v any) map[string]any { m, _ := v.(map[string]any); return m }

func first(v any) any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return l[0]
	}
	return nil
}

func markColumns(cs []sinks.Column, in, out map[string]any, prefix string, marks map[string]string) {
	for i := range cs {
		c := &cs[i]
		key := c.SourceName()
		p := prefix + key
		switch {
		case strings.HasPrefix(key, "+"):
			marks[p] = MarkDerived
		case c.Type == sinks.Struct:
			markColumns(c.Fields, asObject(in[key]), asObject(out[key]), p+".", marks)
		case c.Type == sinks.List && c.Elem.Type == sinks.Struct:
			markColumns(c.Elem.Fields, asObject(first(in[key])), asObject(first(out[key])), p+"[].", marks)
		case c.Type == sinks.DateTimeTimeZone:
			a, b := asObject(in[key]), asObject(out[key])
			marks[p+".dateTime"] = mark(a["dateTime"], b["dateTime"])
			marks[p+".timeZone"] = mark(a["timeZone"], b["timeZone"])
			marks[p+".utc"] = MarkDerived
		default:
			marks[p] = mark(in[key], out[key])
		}
	}
}

// mark compares a value in with the value out.
func mark(in, out any) string {
	switch {
	case in == nil:
		return "" // not probed
	case out == nil:
		return MarkRemoved
	case reflect.DeepEqual(in, out):
		return MarkKept
	}
	kept, pseudo, reduced := 0, 0, 0
	var walk func(a, b any)
	walk = func(a, b any) {
		switch x := a.(type) {
		case map[string]any:
			y := asObject(b)
			for k, v := range x {
				walk(v, y[k])
			}
		case []any:
			y, _ := b.([]any)
			for i, v := range x {
				var w any
				if i < len(y) {
					w = y[i]
				}
				walk(v, w)
			}
		default:
			switch s, _ := b.(string); {
			case b == nil:
				reduced++
			case reflect.DeepEqual(a, b):
				kept++
			case token.MatchString(s):
				pseudo++
			default:
				reduced++
			}
		}
	}
	walk(in, out)
	switch {
	case reduced > 0:
		return MarkReduced
	case pseudo > 0:
		return MarkPseudonymized
	}
	return MarkKept
}
