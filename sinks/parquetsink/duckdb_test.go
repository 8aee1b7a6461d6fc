package parquetsink_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob/fileblob"

	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sinks/sinktest"
)

// duckdb runs queries in DuckDB (sinktest.DuckDB).
func duckdb(t *testing.T, queries map[string]string) map[string][]map[string]any {
	t.Helper()
	return sinktest.DuckDB(t, queries)
}

// TestDuckDB_ReadsPartitionedOutput writes two day partitions from two
// shards, a re-run of one shard, and a third day under a grown schema, then
// reads everything the way analysts do.
func TestDuckDB_ReadsPartitionedOutput(t *testing.T) {
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	compat := false
	commit := func(tbl sinks.Table, dt string, recs []sinks.Record, run string) {
		t.Helper()
		s, err := parquetsink.New(b, &parquetsink.Options{RowGroupRows: 32, TargetFileSize: 8 << 10, Compat: compat})
		if err != nil {
			t.Fatal(err)
		}
		w, err := s.NewWriter(ctx, tbl, dt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, tbl, dt, sinks.Manifest{RunID: run, Shards: 2}); err != nil {
			t.Fatal(err)
		}
	}
	for shard := range 2 {
		tbl := sinktest.Table
		tbl.Shard = shard
		commit(tbl, "2024-03-01", sinktest.Records(shard*1000, 150, "run-1"), "run-1")
		commit(tbl, "2024-03-02", sinktest.Records(5000+shard*1000, 100, "run-1"), "run-1")
	}
	// Re-run shard 1 of the first day: its rows are replaced, not added.
	tbl1 := sinktest.Table
	tbl1.Shard = 1
	commit(tbl1, "2024-03-01", sinktest.Records(1000, 150, "run-2"), "run-2")
	// A grown schema (version 2 adds a column) on a third day.
	grown := *sinktest.Schema
	grown.Version = 2
	grown.Columns = append(append([]sinks.Column{}, grown.Columns...), sinks.Column{Name: "addedLater", Type: sinks.String})
	tbl2 := sinktest.Table
	tbl2.Schema = &grown
	commit(tbl2, "2024-03-03", []sinks.Record{{JSON: []byte(`{"id":"grown-1","addedLater":"new","n":7}`), Owner: "p~x", RunID: "run-3"}}, "run-3")

	// The same data in --parquet-compat form (data page v1, PLAIN strings).
	compat = true
	tblCompat := sinktest.Table
	tblCompat.Collection = "widgets_compat"
	commit(tblCompat, "2024-03-01", sinktest.Records(0, 150, "run-1"), "run-1")

	compatGlob := strings.ReplaceAll(filepath.Join(dir, "test-conn", "widgets_compat", "*", "*.parquet"), "'", "''")
	glob := strings.ReplaceAll(filepath.Join(dir, "test-conn", "widgets", "*", "*.parquet"), "'", "''")
	from := "FROM read_parquet('" + glob + "', hive_partitioning = true, union_by_name = true)"
	res := duckdb(t, map[string]string{
		"0_tz":    "SET TimeZone = 'UTC'",
		"counts":  "SELECT CAST(dt AS VARCHAR) AS dt, count(*) AS n, count(DISTINCT id) AS ids, min(_run_id) AS run_min, max(_run_id) AS run_max " + from + " GROUP BY ALL ORDER BY dt",
		"types":   "SELECT column_name, column_type FROM (DESCRIBE SELECT * " + from + ") ORDER BY column_name",
		"values":  `SELECT id, n, score, ok, CAST("at" AS VARCHAR) AS at_utc, tags, counts, "from".emailAddress.address AS sender, len(toRecipients) AS n_to, start.dateTime AS start_local, start.timeZone AS start_tz, CAST(start.utc AS VARCHAR) AS start_utc, meta, content_text_digest, odata_type, _extra, _owner ` + from + ` WHERE id IN ('rec-000002', 'rec-000003', 'rec-000005', 'rec-005002') ORDER BY id`,
		"grown":   "SELECT id, addedLater, n " + from + " WHERE addedLater IS NOT NULL OR id = 'rec-000003' ORDER BY id",
		"extract": `SELECT json_extract_string(_extra, '$.newField') AS nf ` + from + ` WHERE id = 'rec-000005'`,
		"compat":  "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(len(tags)) AS tags, CAST(max(\"at\") AS VARCHAR) AS at_max FROM read_parquet('" + compatGlob + "', hive_partitioning = true)",
		"normal":  "SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(len(tags)) AS tags, CAST(max(\"at\") AS VARCHAR) AS at_max " + from + " WHERE dt = '2024-03-01' AND _run_id = 'run-1'",
	})

	wantCounts := []map[string]any{
		{"dt": "2024-03-01", "n": "300", "ids": "300", "run_min": "run-1", "run_max": "run-2"},
		{"dt": "2024-03-02", "n": "200", "ids": "200", "run_min": "run-1", "run_max": "run-1"},
		{"dt": "2024-03-03", "n": "1", "ids": "1", "run_min": "run-3", "run_max": "run-3"},
	}
	if diff := cmp.Diff(wantCounts, res["counts"]); diff != "" {
		t.Errorf("counts per partition (-want +got):\n%s", diff)
	}
	types := map[string]string{}
	for _, r := range res["types"] {
		types[r["column_name"].(string)] = r["column_type"].(string)
	}
	wantTypes := map[string]string{
		"id":                  "VARCHAR",
		"odata_type":          "VARCHAR",
		"n":                   "BIGINT",
		"score":               "DOUBLE",
		"ok":                  "BOOLEAN",
		"at":                  "TIMESTAMP WITH TIME ZONE",
		"tags":                "VARCHAR[]",
		"counts":              "BIGINT[]",
		"from":                "STRUCT(emailAddress STRUCT(address VARCHAR, \"name\" VARCHAR))",
		"toRecipients":        "STRUCT(emailAddress STRUCT(address VARCHAR), seen TIMESTAMP WITH TIME ZONE)[]",
		"start":               "STRUCT(dateTime VARCHAR, timeZone VARCHAR, utc TIMESTAMP WITH TIME ZONE)",
		"meta":                "VARCHAR",
		"content_text_digest": "VARCHAR",
		"addedLater":          "VARCHAR",
		"_owner":              "VARCHAR",
		"_run_id":             "VARCHAR",
		"_exported_at":        "TIMESTAMP WITH TIME ZONE",
		"_extra":              "VARCHAR",
		"dt":                  "DATE",
	}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("column types (-want +got):\n%s", diff)
	}
	// Expected values come from the suite's independent canonical form.
	byID := map[string]sinktest.Row{}
	for _, r := range append(sinktest.Records(0, 150, "run-1"), sinktest.Records(5000, 100, "run-1")...) {
		row, err := sinktest.Expect(sinktest.Schema, r)
		if err != nil {
			t.Fatal(err)
		}
		byID[row["id"].(string)] = row
	}
	got := res["values"]
	if len(got) != 4 {
		t.Fatalf("values: %d rows, want 4: %v", len(got), got)
	}
	for _, g := range got {
		w := byID[g["id"].(string)]
		sender := any(nil)
		if from, ok := w["from"].(sinktest.Row); ok {
			sender = from["emailAddress"].(sinktest.Row)["address"]
		}
		start := w["start"].(sinktest.Row)
		check := map[string][2]any{
			"n":           {jsonNum(w["n"]), g["n"]},
			"score":       {w["score"], g["score"]},
			"ok":          {w["ok"], g["ok"]},
			"at_utc":      {duckTime(w["at"]), g["at_utc"]},
			"sender":      {sender, g["sender"]},
			"start_local": {start["dateTime"], g["start_local"]},
			"start_tz":    {start["timeZone"], g["start_tz"]},
			"start_utc":   {duckTime(start["utc"]), g["start_utc"]},
			"odata_type":  {w["odata_type"], g["odata_type"]},
			"_owner":      {w["_owner"], g["_owner"]},
			"n_to":        {strconvI(int64(len(w["toRecipients"].([]any)))), g["n_to"]},
		}
		for k, v := range check {
			if !cmp.Equal(v[0], v[1]) {
				t.Errorf("%s.%s = %v (%T), want %v (%T)", g["id"], k, v[1], v[1], v[0], v[0])
			}
		}
		if w["_extra"] != nil && canon(t, g["_extra"]) != w["_extra"] {
			t.Errorf("%s._extra = %v, want %v", g["id"], g["_extra"], w["_extra"])
		}
		if w["meta"] != nil && canon(t, g["meta"]) != w["meta"] {
			t.Errorf("%s.meta = %v, want %v", g["id"], g["meta"], w["meta"])
		}
		if diff := cmp.Diff(w["tags"], g["tags"]); w["tags"] != nil && diff != "" {
			t.Errorf("%s.tags (-want +got):\n%s", g["id"], diff)
		}
	}
	wantGrown := []map[string]any{{"id": "grown-1", "addedLater": "new", "n": "7"}, {"id": "rec-000003", "addedLater": nil, "n": jsonNum(byID["rec-000003"]["n"])}}
	if diff := cmp.Diff(wantGrown, res["grown"]); diff != "" {
		t.Errorf("grown schema (-want +got):\n%s", diff)
	}
	if len(res["compat"]) != 1 || res["compat"][0]["n"] != "150" || !cmp.Equal(res["compat"], res["normal"]) {
		t.Errorf("compat output reads as %v, the same rows in the default form as %v", res["compat"], res["normal"])
	}
	if diff := cmp.Diff([]map[string]any{{"nf": `{"x":[5]}`}}, res["extract"]); diff != "" {
		t.Errorf("json_extract on _extra (-want +got):\n%s", diff)
	}
}

// jsonNum is how getRowObjectsJson writes a BIGINT: a decimal string.
func jsonNum(v any) any {
	if n, ok := v.(int64); ok {
		return strconvI(n)
	}
	return v
}

func strconvI(n int64) string { b, _ := json.Marshal(n); return string(b) }

// duckTime turns the canonical 2006-01-02T15:04:05.000000Z into DuckDB's
// VARCHAR of a TIMESTAMPTZ in UTC.
func duckTime(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	s = strings.Replace(strings.TrimSuffix(s, "Z"), "T", " ", 1)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "+00"
}

func canon(t *testing.T, v any) string {
	s, ok := v.(string)
	if !ok {
		t.Errorf("want a JSON string, got %T", v)
		return ""
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		t.Errorf("invalid JSON %q: %v", s, err)
	}
	b, _ := json.Marshal(x)
	return string(b)
}
