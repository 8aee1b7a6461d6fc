package jobs

import (
	"fmt"
	"strings"
	"testing"

	"m365export/jobs/tables"
)

// TestDDL_DuckDBViewsCountWhatWasWritten exports every connector from the
// emulator, runs `m365export ddl --engine duckdb`'s statements and selects
// from every view: each counts the rows and days the run summaries say
// were written, and dt is a DATE.
func TestDDL_DuckDBViewsCountWhatWasWritten(t *testing.T) {
	sim := startSim(t, 6)
	dir := t.TempDir()
	sums, err := exportTo(t, sim, dir, "--connector", "all", "--since", "2026-11-24", "--until", "2026-11-26")
	if err != nil {
		t.Fatal(err)
	}
	type written struct{ rows, days int }
	want := map[string]written{} // connector/collection → rows, days
	for _, s := range sums {
		for _, c := range s.Collections {
			w := want[s.Connector+"/"+c.Name]
			w.rows += int(c.Records)
			for _, n := range c.Partitions {
				if n > 0 {
					w.days++
				}
			}
			want[s.Connector+"/"+c.Name] = w
		}
	}
	sql, err := tables.DDL(tables.DDLOptions{Engine: tables.DuckDB, Dest: "file://" + dir})
	if err != nil {
		t.Fatal(err)
	}
	// query.js runs the queries in key order (encoding/json sorts them):
	// the views first, then the selects.
	queries := map[string]string{}
	for i, s := range strings.Split(strings.TrimSpace(sql), ";\n\n") {
		queries[fmt.Sprintf("0 ddl %03d", i)] = s
	}
	// With --dataset, the views live in that schema.
	qualified, err := tables.DDL(tables.DDLOptions{Engine: tables.DuckDB, Dest: "file://" + dir, Dataset: "m365", Connectors: []string{"entra-id"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range strings.Split(strings.TrimSpace(qualified), ";\n\n") {
		queries[fmt.Sprintf("0 ddl qualified %03d", i)] = s
	}
	queries["1 qualified"] = `SELECT count(*)::INTEGER AS n FROM m365.users`
	all := tables.All()
	for _, tb := range all {
		queries["1 "+tb.Connector+"/"+tb.Collection] = fmt.Sprintf(`SELECT count(*)::INTEGER AS n, count(DISTINCT dt)::INTEGER AS days,
			(SELECT column_type FROM (DESCRIBE SELECT dt FROM %[1]s)) AS dt_type FROM %[1]s`, `"`+tables.TableName(tb)+`"`)
	}
	res := duckdb(t, queries)
	if r := res["1 qualified"]; len(r) != 1 || r[0]["n"] != float64(want["entra-id/users"].rows) {
		t.Errorf("m365.users counts %v, the run wrote %d", r, want["entra-id/users"].rows)
	}
	if len(want) != len(all) {
		t.Errorf("the summaries name %d tables, the registry %d", len(want), len(all))
	}
	for _, tb := range all {
		k := tb.Connector + "/" + tb.Collection
		r := res["1 "+k]
		if len(r) != 1 {
			t.Errorf("%s: view %s returned %v", k, tables.TableName(tb), r)
			continue
		}
		if r[0]["n"] != float64(want[k].rows) || r[0]["days"] != float64(want[k].days) || r[0]["dt_type"] != "DATE" {
			t.Errorf("%s: view %s counts %v rows over %v days (dt %v), the run wrote %d over %d (DATE)",
				k, tables.TableName(tb), r[0]["n"], r[0]["days"], r[0]["dt_type"], want[k].rows, want[k].days)
		}
		if want[k].rows == 0 {
			t.Errorf("%s: the run wrote no rows, so the view is not tested", k)
		}
	}
}
