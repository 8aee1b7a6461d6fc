package jobs

import (
	"fmt"
	"m365export/sinks/sinktest"
	"path/filepath"
	"strings"
	"testing"

	"m365export/jobs/connector"
)

// duckdb runs queries in DuckDB (sinktest.DuckDB).
func duckdb(t *testing.T, queries map[string]string) map[string][]map[string]any {
	t.Helper()
	return sinktest.DuckDB(t, queries)
}

// TestDuckDB_ReadsEveryConnector exports all five connectors and reads
// every table the way analysts do: counts equal what Arrow reads, time
// columns are timestamps with time zone, and every table joins its parent
// by _owner (the README's joins: users.id, groups.id, teams.id, a call
// record's own id).
func TestDuckDB_ReadsEveryConnector(t *testing.T) {
	sim := startSim(t, 16) // enough users for scheduled meetings that took place
	dir := t.TempDir()
	if _, err := exportTo(t, sim, dir, "--connector", strings.Join(ConnectorNames(), ","), "--since", "2026-11-24", "--until", "2026-11-26"); err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{}
	want := map[string]int{}
	for _, connector := range ConnectorNames() {
		for c, rows := range readOutput(t, dir, connector) {
			glob := filepath.Join(dir, connector, c, "*", "*.parquet")
			queries[connector+"/"+c] = fmt.Sprintf("SELECT count(*)::INTEGER AS n, count(DISTINCT dt)::INTEGER AS days FROM read_parquet('%s', hive_partitioning = true, union_by_name = true)", glob)
			want[connector+"/"+c] = len(rows)
		}
	}
	queries["types"] = fmt.Sprintf("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s', hive_partitioning = true, union_by_name = true)) WHERE column_name IN ('sentDateTime', 'toRecipients', '_owner', 'dt')",
		filepath.Join(dir, "outlook-mail", "messages", "*", "*.parquet"))
	queries["join"] = fmt.Sprintf(`SELECT count(*)::INTEGER AS unmatched FROM read_parquet('%s', hive_partitioning = true) m
		WHERE m._owner NOT IN (SELECT id FROM read_parquet('%s', hive_partitioning = true))`,
		filepath.Join(dir, "outlook-mail", "messages", "*", "*.parquet"), filepath.Join(dir, "entra-id", "users", "*", "*.parquet"))
	// The joins of the README: every child table to its parent by _owner.
	table := func(connector, collection string) string {
		return fmt.Sprintf("read_parquet('%s', hive_partitioning = true, union_by_name = true)", filepath.Join(dir, connector, collection, "*", "*.parquet"))
	}
	home := map[string]string{} // table → its connector
	for _, c := range connector.All() {
		for _, cs := range c.Collections {
			home[cs.Name] = c.Name
		}
	}
	joins := map[string]string{}
	for _, c := range connector.All() {
		for _, cs := range c.Collections {
			switch p := cs.Owners.Parent(); {
			case cs.Owners == connector.Listed:
				joins[cs.Name] = fmt.Sprintf("SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE _owner IS DISTINCT FROM id)::INTEGER AS unmatched FROM %s", table(c.Name, cs.Name))
			case cs.Owners == connector.Derived:
				// A meeting's rows join the meeting by the key.
				joins[cs.Name] = fmt.Sprintf("SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE p.k IS NULL)::INTEGER AS unmatched FROM %s c LEFT JOIN (SELECT DISTINCT joinWebUrl AS k FROM %s) p ON c._owner = p.k",
					table(c.Name, cs.Name), table(c.Name, "online_meetings"))
			case p != "":
				joins[cs.Name] = fmt.Sprintf("SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE p.id IS NULL)::INTEGER AS unmatched FROM %s c LEFT JOIN (SELECT DISTINCT id FROM %s) p ON c._owner = p.id",
					table(c.Name, cs.Name), table(home[p], p))
			}
		}
	}
	for name, q := range joins {
		queries["join/"+name] = q
	}
	queries["join/participants"] = fmt.Sprintf(`SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE u.id IS NULL)::INTEGER AS unmatched
		FROM %s cr CROSS JOIN unnest(cr.participants_v2) AS t(p) LEFT JOIN %s u ON p.identity.user.id = u.id
		WHERE p.identity.user.id IS NOT NULL`, table("msft-teams", "call_records"), table("entra-id", "users"))
	// The README's meeting joins: every meeting to its call record or its
	// calendar event by the meeting key, every attendee to users.
	queries["join/meeting-calls"] = fmt.Sprintf(`SELECT count(*)::INTEGER AS n,
		count(*) FILTER (WHERE cr.k IS NULL AND ev.k IS NULL)::INTEGER AS unmatched,
		count(*) FILTER (WHERE cr.k IS NOT NULL AND ev.k IS NOT NULL)::INTEGER AS n_both,
		count(*) FILTER (WHERE cr.k IS NOT NULL AND ev.k IS NULL)::INTEGER AS n_calls,
		count(*) FILTER (WHERE cr.k IS NULL AND ev.k IS NOT NULL)::INTEGER AS n_events
		FROM %s m LEFT JOIN (SELECT DISTINCT joinWebUrl AS k FROM %s) cr ON cr.k = m.joinWebUrl
		LEFT JOIN (SELECT DISTINCT onlineMeeting.joinUrl AS k FROM %s) ev ON ev.k = m.joinWebUrl`,
		table("msft-teams", "online_meetings"), table("msft-teams", "call_records"), table("outlook-cal", "events"))
	queries["join/attendees"] = fmt.Sprintf(`SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE u.id IS NULL)::INTEGER AS unmatched
		FROM %s a LEFT JOIN (SELECT DISTINCT id FROM %s) u ON a.identity.id = u.id`, table("msft-teams", "meeting_attendance"), table("entra-id", "users"))
	res := duckdb(t, queries)
	for _, name := range []string{"join/meeting-calls", "join/attendees"} {
		if r := res[name]; len(r) != 1 || r[0]["n"] == float64(0) || r[0]["unmatched"] != float64(0) {
			t.Errorf("%s: %v, want rows and 0 unmatched", name, r)
		}
	}
	// Meetings that took place and were scheduled join both; ad-hoc ones a
	// call record only; scheduled ones that never took place an event only.
	if r := res["join/meeting-calls"]; len(r) == 1 && (r[0]["n_both"] == float64(0) || r[0]["n_calls"] == float64(0) || r[0]["n_events"] == float64(0)) {
		t.Errorf("meetings joined to both, call records only, events only: %v, want some of each", r[0])
	}
	for name := range joins {
		r := res["join/"+name]
		if len(r) != 1 || r[0]["n"] == float64(0) || r[0]["unmatched"] != float64(0) {
			t.Errorf("%s: DuckDB join of _owner to its parent: %v, want rows and 0 unmatched", name, r)
		}
	}
	if r := res["join/participants"]; len(r) != 1 || r[0]["n"] == float64(0) {
		t.Errorf("call record participants joined to users: %v, want rows", r)
	} else {
		t.Logf("call record participants: %v of %v join no users.id (guests, other tenants)", r[0]["unmatched"], r[0]["n"])
	}
	for k, n := range want {
		if len(res[k]) != 1 || res[k][0]["n"] != float64(n) {
			t.Errorf("%s: DuckDB counts %v, Arrow read %d rows", k, res[k], n)
		}
	}
	if len(want) < 15 {
		t.Errorf("only %d tables exported, want all 15 (users … copilot_interactions)", len(want))
	}
	types := map[string]string{}
	for _, r := range res["types"] {
		types[r["column_name"].(string)] = r["column_type"].(string)
	}
	if types["sentDateTime"] != "TIMESTAMP WITH TIME ZONE" || !strings.HasPrefix(types["toRecipients"], "STRUCT(") && !strings.HasSuffix(types["toRecipients"], "[]") || types["_owner"] != "VARCHAR" {
		t.Errorf("messages column types = %v", types)
	}
	if res["join"][0]["unmatched"] != float64(0) {
		t.Errorf("%v messages have an _owner that is not a users.id", res["join"][0]["unmatched"])
	}
}
