package parquetsink

import (
	"testing"
	"time"

	"m365export/sinks"
)

func TestParseTimestamp(t *testing.T) {
	us := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Truncate(time.Microsecond).UnixMicro()
	}
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"2021-12-02T17:05:15Z", us("2021-12-02T17:05:15Z")},
		{"2023-11-28T16:23:50.4569178Z", us("2023-11-28T16:23:50.456917Z")},
		{"2023-11-28T16:23:48.161272Z", us("2023-11-28T16:23:48.161272Z")},
		{"2024-02-29T23:59:59.9999999Z", us("2024-02-29T23:59:59.999999Z")},
		{"2021-03-28T20:48:29.832+02:00", us("2021-03-28T18:48:29.832Z")},
		{"2021-03-28T00:10:00-05:30", us("2021-03-28T05:40:00Z")},
		{"2023-11-28T16:30:00.0000000", us("2023-11-28T16:30:00Z")}, // no offset: UTC
		{"0001-01-01T00:00:00Z", us("0001-01-01T00:00:00Z")},
		{"1969-12-31T23:59:59.5Z", us("1969-12-31T23:59:59.5Z")},
	} {
		got, ok := parseTimestamp([]byte(c.in))
		if !ok || got != c.want {
			t.Errorf("parseTimestamp(%q) = %d, %t; want %d", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "2021-12-02", "2021-12-02 17:05", "2021-02-30T00:00:00Z", "2021-13-01T00:00:00Z",
		"2021-03-1706:47:05.123Z", "2021-12-02T17:05:15.Z", "2021-12-02T17:05:15Zjunk", "2021-12-02T17:05:15+0200",
		"2021-12-02T24:00:00Z", "2021-12-02T17:05:15.1234567891Z", "yesterday"} {
		if v, ok := parseTimestamp([]byte(bad)); ok {
			t.Errorf("parseTimestamp(%q) = %d, true; want false", bad, v)
		}
	}
}

func TestZoned_WindowsAndIANA(t *testing.T) {
	d := &decoder{zones: map[string]*time.Location{}}
	for _, c := range []struct{ dt, tz, want string }{
		{"2023-11-28T16:30:00.0000000", "UTC", "2023-11-28T16:30:00Z"},
		{"2023-07-01T09:00:00.0000000", "Pacific Standard Time", "2023-07-01T16:00:00Z"}, // PDT
		{"2023-01-10T09:00:00.0000000", "Pacific Standard Time", "2023-01-10T17:00:00Z"}, // PST
		{"2023-07-01T09:00:00.0000000", "Romance Standard Time", "2023-07-01T07:00:00Z"},
		{"2023-07-01T09:00:00.0000000", "Asia/Tokyo", "2023-07-01T00:00:00Z"},
		{"2023-07-01T09:00:00+02:00", "Mars Standard Time", "2023-07-01T07:00:00Z"}, // own offset wins
	} {
		got, ok := d.zoned([]byte(c.dt), []byte(c.tz), true)
		want, _ := time.Parse(time.RFC3339, c.want)
		if !ok || got != want.UnixMicro() {
			t.Errorf("zoned(%s, %s) = %s, %t; want %s", c.dt, c.tz, time.UnixMicro(got).UTC(), ok, c.want)
		}
	}
	for _, c := range [][2]string{{"2023-07-01T09:00:00", "Mars Standard Time"}, {"2023-07-01T09:00:00", "Local"}, {"2023-07-01T09:00:00", ""}} {
		if _, ok := d.zoned([]byte(c[0]), []byte(c[1]), true); ok {
			t.Errorf("zoned(%s, %q) resolved; want unknown", c[0], c[1])
		}
	}
}

func TestDecode_LevelsOfNestedLists(t *testing.T) {
	s := &sinks.Schema{Version: 1, Columns: []sinks.Column{
		{Name: "to", Type: sinks.List, Elem: &sinks.Column{Type: sinks.Struct, Fields: []sinks.Column{
			{Name: "a", Type: sinks.String},
			{Name: "tags", Type: sinks.List, Elem: &sinks.Column{Type: sinks.String}},
		}}},
	}}
	c, err := compile("t", s)
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(c)
	if err := d.decode([]byte(`{"to":[{"a":"x","tags":["p",null]},null,{"tags":[]}]}`)); err != nil {
		t.Fatal(err)
	}
	// Leaves in Parquet order: to.list.element.a, to.list.element.tags.list.element, then the sink's columns.
	type lv struct{ rep, def int }
	levels := func(leaf int) []lv {
		var out []lv
		for _, v := range d.cols[leaf] {
			out = append(out, lv{v.RepetitionLevel(), v.DefinitionLevel()})
		}
		return out
	}
	var aLeaf, tagLeaf = -1, -1
	for i, col := range c.schema.Columns() {
		switch col[len(col)-1] {
		case "a":
			aLeaf = i
		case "element":
			if len(col) > 4 {
				tagLeaf = i
			}
		}
	}
	// to: optional(1) list(2) element optional(3); a optional(4).
	wantA := []lv{{0, 4}, {1, 2}, {1, 3}}
	// tags: optional(4) list(5) element(6).
	wantTags := []lv{{0, 6}, {2, 5}, {1, 2}, {1, 4}}
	if got := levels(aLeaf); !equalLV(got, wantA) {
		t.Errorf("levels of to[].a = %v, want %v", got, wantA)
	}
	if got := levels(tagLeaf); !equalLV(got, wantTags) {
		t.Errorf("levels of to[].tags[] = %v, want %v", got, wantTags)
	}
}

func equalLV[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
