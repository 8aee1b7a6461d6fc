package tables_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/memblob"

	"m365export/jobs/connector"
	"m365export/jobs/tables"
	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sinks/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestAll_FifteenCollections(t *testing.T) {
	want := []string{"call_records", "channel_messages", "channels", "chat_messages", "chats", "copilot_interactions",
		"events", "group_members", "groups", "mailbox_settings", "meeting_attendance", "messages", "online_meetings", "teams", "users"}
	seen := map[string]bool{}
	for _, tb := range tables.All() {
		seen[tb.Collection] = true
		if tables.Lookup(tb.Connector, tb.Collection) != tb.Schema {
			t.Errorf("Lookup(%s, %s) is not the table's schema", tb.Connector, tb.Collection)
		}
	}
	var got []string
	for c := range seen {
		got = append(got, c)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collections (-want +got):\n%s", diff)
	}
	if tables.Lookup("entra-id", "messages") != nil {
		t.Errorf("Lookup of an unknown table is not nil")
	}
}

// TestSchemas_WriteWithParquetSink validates and compiles every schema by
// writing an empty record and one of nulls through the real sink.
func TestSchemas_WriteWithParquetSink(t *testing.T) {
	b := memblob.OpenBucket(nil)
	defer b.Close()
	s, err := parquetsink.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables.All() {
		if err := tb.Schema.Validate(); err != nil {
			t.Errorf("%s/%s: %v", tb.Connector, tb.Collection, err)
			continue
		}
		tbl := sinks.Table{Connector: tb.Connector, Collection: tb.Collection, Schema: tb.Schema}
		w, err := s.NewWriter(t.Context(), tbl, "2024-03-01")
		if err != nil {
			t.Errorf("%s: NewWriter = %v", tb.Collection, err)
			continue
		}
		if err := w.Write(sinks.Record{JSON: []byte(`{}`)}); err != nil {
			t.Errorf("%s: Write({}) = %v", tb.Collection, err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: Close = %v", tb.Collection, err)
		}
	}
}

// columnTypes flattens a schema into path → type.
func columnTypes(cols []sinks.Column, prefix string, out map[string]string) {
	for i := range cols {
		c := &cols[i]
		p := prefix + c.Name
		typ := string(c.Type)
		if c.Type == sinks.List {
			typ += "<" + string(c.Elem.Type) + ">"
		}
		out[p] = typ
		if c.Type == sinks.Struct {
			columnTypes(c.Fields, p+".", out)
		}
		if c.Type == sinks.List && c.Elem.Type == sinks.Struct {
			columnTypes(c.Elem.Fields, p+"[].", out)
		}
	}
}

type goldenTable struct {
	Version int               `json:"version"`
	Columns map[string]string `json:"columns"`
}

// TestGolden_SchemasOnlyGrow compares every schema with
// testdata/schemas.json, the schemas as last released: a column may leave
// or change type only through a breaking-change entry of its collection
// (table, column, reason, schema version), and new columns need a higher
// version. -update (make golden) records the current schemas only when
// they pass these checks, so it cannot wave a removal through.
func TestGolden_SchemasOnlyGrow(t *testing.T) {
	cur := map[string]goldenTable{}
	breaking := map[string][]connector.Breaking{}
	for _, tb := range tables.All() {
		g := goldenTable{Version: tb.Schema.Version, Columns: map[string]string{}}
		columnTypes(tb.Schema.Columns, "", g.Columns)
		cur[tb.Connector+"/"+tb.Collection] = g
		breaking[tb.Connector+"/"+tb.Collection] = tb.Breaking
	}
	path := filepath.Join("testdata", "schemas.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var old map[string]goldenTable
	if err := json.Unmarshal(data, &old); err != nil {
		t.Fatal(err)
	}
	problems := schemaProblems(old, cur, breaking)
	for _, p := range problems {
		t.Error(p)
	}
	if *update && len(problems) == 0 {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cur); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for name, c := range cur {
		if o, ok := old[name]; !ok || o.Version != c.Version || len(o.Columns) != len(c.Columns) {
			t.Errorf("table %s differs from %s: run go test ./jobs/tables -run SchemasOnlyGrow -update and review the diff", name, path)
		}
	}
}

// schemaProblems lists what makes cur an invalid successor of old.
func schemaProblems(old, cur map[string]goldenTable, breaking map[string][]connector.Breaking) []string {
	var out []string
	allowed := func(table, col string, from, to int) bool {
		for _, b := range breaking[table] {
			// An entry for a struct or list column covers its members.
			under := b.Column == col || strings.HasPrefix(col, b.Column+".") || strings.HasPrefix(col, b.Column+"[].")
			if under && b.Reason != "" && b.Version > from && b.Version <= to {
				return true
			}
		}
		return false
	}
	for _, name := range slices.Sorted(maps.Keys(old)) {
		o := old[name]
		c, ok := cur[name]
		if !ok {
			out = append(out, fmt.Sprintf("table %s disappeared", name))
			continue
		}
		if c.Version < o.Version {
			out = append(out, fmt.Sprintf("%s: version %d went back from %d", name, c.Version, o.Version))
		}
		changed := false
		for _, col := range slices.Sorted(maps.Keys(o.Columns)) {
			typ := o.Columns[col]
			got, ok := c.Columns[col]
			switch {
			case ok && got == typ:
				continue
			case !allowed(name, col, o.Version, c.Version):
				if !ok {
					out = append(out, fmt.Sprintf("%s: column %s was removed without a breaking-change entry (schemas only grow)", name, col))
				} else {
					out = append(out, fmt.Sprintf("%s: column %s changed type %s → %s without a breaking-change entry (schemas only grow)", name, col, typ, got))
				}
			}
			changed = true
		}
		for col := range c.Columns {
			if _, ok := o.Columns[col]; !ok {
				changed = true
			}
		}
		if changed && c.Version == o.Version {
			out = append(out, fmt.Sprintf("%s: columns changed without a version bump (now %d)", name, c.Version))
		}
	}
	return out
}

func TestSchemaProblems_BreakingChangeNeedsAnEntry(t *testing.T) {
	old := map[string]goldenTable{"c/t": {Version: 1, Columns: map[string]string{"a": "string", "b": "string"}}}
	gone := map[string]goldenTable{"c/t": {Version: 2, Columns: map[string]string{"a": "int64"}}}
	if got := schemaProblems(old, gone, nil); len(got) != 2 {
		t.Errorf("removal and retype without entries: %q, want 2 problems", got)
	}
	entries := map[string][]connector.Breaking{"c/t": {{Version: 2, Column: "a", Reason: "r"}, {Version: 2, Column: "b", Reason: "r"}}}
	if got := schemaProblems(old, gone, entries); len(got) != 0 {
		t.Errorf("with entries: %q", got)
	}
	stale := map[string][]connector.Breaking{"c/t": {{Version: 1, Column: "a", Reason: "r"}, {Version: 1, Column: "b", Reason: "r"}}}
	if got := schemaProblems(old, gone, stale); len(got) != 2 {
		t.Errorf("entries of an old version: %q, want 2 problems", got)
	}
	same := map[string]goldenTable{"c/t": {Version: 1, Columns: map[string]string{"a": "string", "b": "string", "c": "bool"}}}
	if got := schemaProblems(old, same, nil); len(got) != 1 {
		t.Errorf("growth without a version bump: %q, want 1 problem", got)
	}
}

// TestGolden_DataDictionary keeps data-dictionary.md (written by `make
// docs`) in step with the schemas; -update rewrites it.
func TestGolden_DataDictionary(t *testing.T) {
	var buf bytes.Buffer
	if err := tables.WriteDictionary(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("data-dictionary.md", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("data-dictionary.md")
	if err != nil {
		t.Fatalf("read data-dictionary.md (run make docs): %v", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("data-dictionary.md is stale; run make docs (-file +generated):\n%s", diff)
	}
}

func TestDictionary_ListsEveryColumn(t *testing.T) {
	var buf bytes.Buffer
	if err := tables.WriteDictionary(&buf); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	for _, tb := range tables.All() {
		if !strings.Contains(doc, "## "+tb.Collection+" ("+tb.Connector+")") {
			t.Errorf("dictionary lacks table %s/%s", tb.Connector, tb.Collection)
		}
		cols := map[string]string{}
		columnTypes(tb.Schema.Columns, "", cols)
		for c := range cols {
			if !strings.Contains(doc, "| `"+c+"` |") {
				t.Errorf("dictionary lacks column %s.%s", tb.Collection, c)
			}
		}
	}
	for _, want := range []string{"`odata_type` | `STRING` | `@odata.type`", "`body.content_text_digest` | `JSON` | `body.+content:textDigest`", "`_owner`", "`_extra`"} {
		if !strings.Contains(doc, want) {
			t.Errorf("dictionary lacks %q", want)
		}
	}
}

// fixtureTables maps psoxy's sanitized example responses (read from
// ../shared when present, never copied) to the tables they would land in.
var fixtureTables = []struct{ file, connector, collection string }{
	{"entra-id/example-api-responses/sanitized/users.json", "entra-id", "users"},
	{"entra-id/example-api-responses/sanitized/groups.json", "entra-id", "groups"},
	{"entra-id/example-api-responses/sanitized/group-members.json", "entra-id", "group_members"},
	{"outlook-mail/example-api-responses/sanitized/MailboxSettings_v1.0.json", "outlook-mail", "mailbox_settings"},
	{"outlook-mail/example-api-responses/sanitized/Messages_SentItems_v1.0.json", "outlook-mail", "messages"},
	{"outlook-cal/example-api-responses/sanitized/CalendarView_v1.0.json", "outlook-cal", "events"},
	{"outlook-cal/example-api-responses/sanitized/CalendarView_v1.0_wOnlineMeetings.json", "outlook-cal", "events"},
	{"outlook-cal/example-api-responses/sanitized/Events_v1.0.json", "outlook-cal", "events"},
	{"msft-teams/example-api-responses/sanitized/Teams_v1.0.json", "msft-teams", "teams"},
	{"msft-teams/example-api-responses/sanitized/Teams_allChannels_v1.0.json", "msft-teams", "channels"},
	{"msft-teams/example-api-responses/sanitized/Users_chats_v1.0.json", "msft-teams", "chats"},
	{"msft-teams/example-api-responses/sanitized/Chats_messages_v1.0.json", "msft-teams", "chat_messages"},
	{"msft-teams/example-api-responses/sanitized/Teams_channels_messages_v1.0.json", "msft-teams", "channel_messages"},
	{"msft-teams/example-api-responses/sanitized/Communications_callRecords_v1.0.json", "msft-teams", "call_records"},
	{"msft-copilot/example-api-responses/sanitized/response_beta.json", "msft-copilot", "copilot_interactions"},
	{"msft-copilot/example-api-responses/sanitized/response_with_team_meeting_beta.json", "msft-copilot", "copilot_interactions"},
}

// TestSchemas_FitPsoxySanitizedExamples writes psoxy's published sanitized
// responses through each table's schema: every record must fit (no type
// error), read back with Arrow as the independent decoder computes, and
// leave in _extra only members the schema deliberately leaves out.
func TestSchemas_FitPsoxySanitizedExamples(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "fixtures", "psoxy")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("psoxy fixtures not present: %v", err)
	}
	// Members left to _extra on purpose: OData annotations (context and
	// navigation links) are metadata, not properties.
	allowed := func(k string) bool { return strings.Contains(k, "@odata.") }
	// Members whose columns a breaking-change entry removed (properties
	// Graph v1.0 does not fill, which psoxy's examples still carry) land in
	// _extra by design.
	gone := map[string]bool{}
	for _, tb := range tables.All() {
		for _, b := range tb.Breaking {
			gone[tb.Connector+"/"+tb.Collection+"/"+b.Column] = true
		}
	}
	removed := func(table, k string) bool { return gone[table+"/"+k] }
	// Records of the examples that are not valid Graph output: they must
	// fail with ErrInvalidRecord, naming the field, not be written.
	invalid := map[string]string{"1615943825123": "createdDateTime"} // "2021-03-1706:47:05.123Z" lacks its T
	for _, f := range fixtureTables {
		t.Run(strings.TrimSuffix(filepath.Base(f.file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, f.file))
			if err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			var page struct {
				Value []json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(data, &page); err != nil {
				t.Fatal(err)
			}
			recs := page.Value
			if page.Value == nil {
				recs = []json.RawMessage{data}
			}
			schema := tables.Lookup(f.connector, f.collection)
			b := memblob.OpenBucket(nil)
			defer b.Close()
			s, err := parquetsink.New(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			tbl := sinks.Table{Connector: f.connector, Collection: f.collection, Schema: schema}
			w, err := s.NewWriter(t.Context(), tbl, "2024-03-01")
			if err != nil {
				t.Fatal(err)
			}
			var want []sinktest.Row
			for _, r := range recs {
				rec := sinks.Record{JSON: r, Owner: "p~owner", RunID: "run-1"}
				if err := w.Write(rec); err != nil {
					var id struct{ ID string }
					if err := json.Unmarshal(r, &id); err != nil {
						t.Fatal(err)
					}
					if field, ok := invalid[id.ID]; !ok || !errors.Is(err, parquetsink.ErrInvalidRecord) || !strings.Contains(err.Error(), field) {
						t.Errorf("Write: %v", err)
					}
					continue
				}
				row, err := sinktest.Expect(schema, rec)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, row)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(t.Context(), tbl, "2024-03-01", sinks.Manifest{RunID: "run-1", Shards: 1}); err != nil {
				t.Fatal(err)
			}
			part, err := b.ReadAll(t.Context(), f.connector+"/"+f.collection+"/dt=2024-03-01/part-0-0.parquet")
			if err != nil {
				t.Fatal(err)
			}
			got, err := sinktest.ReadArrow(t.Context(), schema, part)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			for _, row := range got {
				extra, _ := row[sinks.ColExtra].(string)
				if extra == "" {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(extra), &m); err != nil {
					t.Fatal(err)
				}
				for k := range m {
					if !allowed(k) && !removed(f.connector+"/"+f.collection, k) {
						t.Errorf("%s: member %q went to _extra; declare it in the schema", f.collection, k)
					}
				}
			}
		})
	}
}
