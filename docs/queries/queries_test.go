// Package queries holds example SQL for people analysts (*.sql, for DuckDB
// over the views `m365export ddl --engine duckdb` creates) and the test
// that runs each over an export of the Graph emulator and compares its
// result with the emulator's ground truth; it has no Go code of its own.
package queries

import (
	"encoding/json"
	"fmt"
	"io"
	"m365export/sinks/sinktest"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the IANA zones, whatever the machine has

	"m365export/jobs"
	"m365export/jobs/connector"
	"m365export/jobs/tables"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// emulatorZones are the Windows zones the emulator gives mailboxes and
// their IANA zones (CLDR windowsZones, territory 001), written here
// independently of windows_zones.sql, which the test checks against them.
var emulatorZones = map[string]string{
	"Pacific Standard Time":   "America/Los_Angeles",
	"Eastern Standard Time":   "America/New_York",
	"W. Europe Standard Time": "Europe/Berlin",
	"GMT Standard Time":       "Europe/London",
	"Singapore Standard Time": "Asia/Singapore",
	"E. Africa Standard Time": "Africa/Nairobi",
}

// TestWindowsZones_MapToRealIANAZones: every row of windows_zones.sql
// names a zone Go's time zone database knows, no Windows name twice, and
// the emulator's zones map as CLDR says.
func TestWindowsZones_MapToRealIANAZones(t *testing.T) {
	zones := windowsZones(t)
	if len(zones) < 100 {
		t.Errorf("windows_zones.sql has %d zones, want the CLDR list (over 100)", len(zones))
	}
	for w, iana := range zones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q → %q: %v", w, iana, err)
		}
	}
	for w, iana := range emulatorZones {
		if zones[w] != iana {
			t.Errorf("windows_zones.sql maps %q to %q, want %q", w, zones[w], iana)
		}
	}
}

var zoneRowRE = regexp.MustCompile(`^\s*\('([^']+)', '([^']+)'\)[,;]$`)

func windowsZones(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("windows_zones.sql")
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := zoneRowRE.FindStringSubmatch(line); m != nil {
			if _, dup := zones[m[1]]; dup {
				t.Errorf("windows_zones.sql: %q twice", m[1])
			}
			zones[m[1]] = m[2]
		}
	}
	return zones
}

// TestQueries_AnswerAsTheEmulatorsTruth exports two weeks of the emulator
// (ids kept, so the test can name people), registers the tables with the
// exporter's own DuckDB DDL and windows_zones.sql, runs every query of
// this directory in DuckDB and compares each result, row by row, with what
// the emulator's ground truth (simtruth) says the answer is.
func TestQueries_AnswerAsTheEmulatorsTruth(t *testing.T) {
	sim, err := graphsim.Start(graphsim.Options{Users: 30, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	tenant := sim.Tenant()
	until := tenant.Now().UTC().Truncate(24 * time.Hour)
	since := until.AddDate(0, 0, -14)

	dir := t.TempDir()
	connectors := []string{"entra-id", "outlook-cal", "outlook-mail", "msft-copilot"}
	env := func(string) string { return "" }
	cfg, err := jobs.LoadConfig([]string{"--demo", "--connector", strings.Join(connectors, ","), "--ids", "kept",
		"--dest", "file://" + dir + "?metadata=skip", "--state", "mem://", "--concurrency", "4",
		"--since", since.Format(time.DateOnly), "--until", until.Format(time.DateOnly)}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Run(t.Context(), cfg, jobs.RunOptions{Env: env, Endpoint: &jobs.Endpoint{
		GraphURL: sim.GraphURL(), AuthorityHost: sim.AuthorityHost(), TenantID: sim.TenantID(),
		ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), HTTPClient: sim.HTTPClient(), Now: tenant.Now(),
	}}); err != nil {
		t.Fatal(err)
	}

	ddl, err := tables.DDL(tables.DDLOptions{Engine: tables.DuckDB, Dest: "file://" + dir, Connectors: connectors})
	if err != nil {
		t.Fatal(err)
	}
	zonesSQL, err := os.ReadFile("windows_zones.sql")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.sql")
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{"0setup": ddl + ";\n" + string(zonesSQL) + "\nSELECT 1 AS ok"}
	for _, f := range files {
		if f == "windows_zones.sql" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		queries[strings.TrimSuffix(f, ".sql")] = string(b)
	}
	got := duckdb(t, queries)

	truth := newTruth(t, tenant, since, until)
	want := map[string][]map[string]any{
		"meeting_hours_per_week": truth.meetingHours(),
		"mail_network":           truth.mailNetwork(),
		"copilot_by_department":  truth.copilotByDepartment(),
		"outside_working_hours":  truth.outsideWorkingHours(),
	}
	for name := range queries {
		if name == "0setup" {
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s.sql: no ground truth in the test for this query", name)
			continue
		}
		if len(w) == 0 {
			t.Errorf("%s: the ground truth is empty; the test would prove nothing", name)
		}
		compareRows(t, name, w, got[name])
	}
}

// compareRows compares DuckDB's rows with the truth's, in order, cell by
// cell: numbers within 0.006 (results are rounded to 2 or 3 places),
// the rest as text.
func compareRows(t *testing.T, name string, want, got []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d\n got: %v\nwant: %v", name, len(got), len(want), head(got), head(want))
		return
	}
	for i := range want {
		for k, wv := range want[i] {
			gv, ok := got[i][k]
			if !ok {
				t.Errorf("%s row %d: no column %q (have %v)", name, i, k, got[i])
				continue
			}
			if wf, ok := wv.(float64); ok {
				gf, err := strconv.ParseFloat(fmt.Sprint(gv), 64)
				if err != nil || math.Abs(gf-wf) > 0.006 {
					t.Errorf("%s row %d %s = %v, want %v (row %v)", name, i, k, gv, wv, want[i])
				}
				continue
			}
			if fmt.Sprint(gv) != fmt.Sprint(wv) {
				t.Errorf("%s row %d %s = %v, want %v (row %v)", name, i, k, gv, wv, want[i])
			}
		}
	}
}

func head(rows []map[string]any) []map[string]any {
	if len(rows) > 5 {
		return rows[:5]
	}
	return rows
}

// truth answers the queries' questions from the emulator's ground truth.
type truth struct {
	t            *testing.T
	tenant       *graphsim.Tenant
	since, until time.Time
	users        []userRec
}

type userRec struct {
	ID         string `json:"id"`
	Mail       string `json:"mail"`
	Department string `json:"department"`
}

func newTruth(t *testing.T, tenant *graphsim.Tenant, since, until time.Time) *truth {
	tr := &truth{t: t, tenant: tenant, since: since, until: until}
	// The users' properties the queries read (Graph's default set lacks
	// department).
	for _, raw := range simtruth.TruthSelect(tenant, "users", "", time.Time{}, time.Time{}, []string{"id", "mail", "department"}) {
		var u userRec
		tr.decode(raw, &u)
		tr.users = append(tr.users, u)
	}
	return tr
}

func (tr *truth) decode(raw json.RawMessage, v any) {
	if err := json.Unmarshal(raw, v); err != nil {
		tr.t.Fatalf("ground truth record: %v", err)
	}
}

// records lists a user-owned collection's records in the window, by
// owner, as the emulator serves them for the exporter's request (its
// $select: the emulator generates what a request selects).
func (tr *truth) records(coll string) map[string][]json.RawMessage {
	table := coll
	if coll == "interactions" {
		table = "copilot_interactions"
	}
	var sel []string
	for _, c := range connector.All() {
		for _, cs := range c.Collections {
			if cs.Name != table {
				continue
			}
			first := cs.First("x", connector.Window{From: tr.since, To: tr.until}, connector.Settings{})
			if _, q, ok := strings.Cut(first, "$select="); ok {
				q, _, _ = strings.Cut(q, "&")
				sel = strings.Split(q, ",")
			}
		}
	}
	out := map[string][]json.RawMessage{}
	for _, owner := range simtruth.Owners(tr.tenant, coll) {
		out[owner] = simtruth.TruthSelect(tr.tenant, coll, owner, tr.since, tr.until, sel)
	}
	return out
}

// graphTime is a dateTimeTimeZone; the emulator's zone names are IANA,
// UTC or one of emulatorZones.
type graphTime struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

func (tr *truth) instant(g graphTime) time.Time {
	zone := g.TimeZone
	if z, ok := emulatorZones[zone]; ok {
		zone = z
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		tr.t.Fatalf("time zone %q: %v", g.TimeZone, err)
	}
	v, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", g.DateTime, loc)
	if err != nil {
		tr.t.Fatalf("dateTime %q: %v", g.DateTime, err)
	}
	return v.UTC()
}

func (tr *truth) meetingHours() []map[string]any {
	type key struct {
		person string
		week   string
	}
	type agg struct {
		n     int
		hours float64
	}
	sums := map[key]*agg{}
	for owner, recs := range tr.records("events") {
		for _, raw := range recs {
			var e struct {
				Start, End  graphTime
				IsAllDay    bool
				IsCancelled bool
				ShowAs      string
				Attendees   []json.RawMessage
			}
			tr.decode(raw, &e)
			start := tr.instant(e.Start)
			// The export holds the events that start in the window.
			if start.Before(tr.since) || !start.Before(tr.until) {
				continue
			}
			if e.IsCancelled || e.IsAllDay || e.ShowAs == "free" || e.ShowAs == "workingElsewhere" || len(e.Attendees) == 0 {
				continue
			}
			day := start.Truncate(24 * time.Hour)
			monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
			k := key{owner, monday.Format(time.DateOnly)}
			if sums[k] == nil {
				sums[k] = &agg{}
			}
			sums[k].n++
			sums[k].hours += tr.instant(e.End).Sub(start).Hours()
		}
	}
	var out []map[string]any
	for k, a := range sums {
		out = append(out, map[string]any{"person": k.person, "week": k.week, "meetings": a.n, "hours": math.Round(a.hours*100) / 100})
	}
	sortRows(out, "person", "week")
	return out
}

type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
	} `json:"emailAddress"`
}

type message struct {
	ID                                        string
	SentDateTime                              time.Time
	ToRecipients, CcRecipients, BccRecipients []recipient
}

func (tr *truth) mailNetwork() []map[string]any {
	byMail := map[string]string{}
	for _, u := range tr.users {
		if u.Mail != "" {
			byMail[strings.ToLower(u.Mail)] = u.ID
		}
	}
	type edge struct{ from, to string }
	msgs := map[edge]map[string]bool{}
	for owner, recs := range tr.records("messages") {
		for _, raw := range recs {
			var m message
			tr.decode(raw, &m)
			for _, r := range slices.Concat(m.ToRecipients, m.CcRecipients, m.BccRecipients) {
				to, ok := byMail[strings.ToLower(r.EmailAddress.Address)]
				if !ok || to == owner {
					continue
				}
				e := edge{owner, to}
				if msgs[e] == nil {
					msgs[e] = map[string]bool{}
				}
				msgs[e][m.ID] = true
			}
		}
	}
	var out []map[string]any
	for e, ids := range msgs {
		out = append(out, map[string]any{"sender": e.from, "recipient": e.to, "messages": len(ids)})
	}
	sortRows(out, "sender", "recipient")
	return out
}

func (tr *truth) copilotByDepartment() []map[string]any {
	recs := tr.records("interactions")
	type agg struct{ people, users, prompts int }
	by := map[string]*agg{}
	for _, u := range tr.users {
		d := u.Department
		if d == "" {
			d = "(none)"
		}
		if by[d] == nil {
			by[d] = &agg{}
		}
		a := by[d]
		a.people++
		if len(recs[u.ID]) > 0 {
			a.users++
		}
		for _, raw := range recs[u.ID] {
			var c struct{ InteractionType string }
			tr.decode(raw, &c)
			if c.InteractionType == "userPrompt" {
				a.prompts++
			}
		}
	}
	var out []map[string]any
	for d, a := range by {
		out = append(out, map[string]any{"department": d, "people": a.people, "copilot_users": a.users,
			"adoption": math.Round(float64(a.users)/float64(a.people)*1000) / 1000, "prompts": a.prompts})
	}
	sortRows(out, "department")
	return out
}

func (tr *truth) outsideWorkingHours() []map[string]any {
	msgs := tr.records("messages")
	var out []map[string]any
	for _, owner := range simtruth.Owners(tr.tenant, "mailbox_settings") {
		settings := simtruth.Truth(tr.tenant, "mailbox_settings", owner, time.Time{}, time.Time{})
		if len(settings) != 1 {
			tr.t.Fatalf("mailbox settings of %s: %d records", owner, len(settings))
		}
		var s struct {
			TimeZone     string
			WorkingHours struct {
				DaysOfWeek         []string
				StartTime, EndTime string
				TimeZone           struct{ Name string }
			}
		}
		tr.decode(settings[0], &s)
		zone := s.WorkingHours.TimeZone.Name
		if zone == "" {
			zone = s.TimeZone
		}
		iana, ok := emulatorZones[zone]
		if !ok {
			tr.t.Fatalf("mailbox settings of %s: zone %q is not one of the emulator's", owner, zone)
		}
		loc, err := time.LoadLocation(iana)
		if err != nil {
			tr.t.Fatal(err)
		}
		start, end := s.WorkingHours.StartTime[:8], s.WorkingHours.EndTime[:8]
		sent, outside := 0, 0
		for _, raw := range msgs[owner] {
			var m message
			tr.decode(raw, &m)
			local := m.SentDateTime.In(loc)
			clock := local.Format(time.TimeOnly)
			sent++
			if !slices.Contains(s.WorkingHours.DaysOfWeek, strings.ToLower(local.Weekday().String())) || clock < start || clock >= end {
				outside++
			}
		}
		if sent > 0 {
			out = append(out, map[string]any{"person": owner, "sent": sent, "sent_outside_hours": outside})
		}
	}
	sortRows(out, "person")
	return out
}

// sortRows orders rows by the given text columns, as the queries' ORDER BY
// does (DuckDB compares VARCHAR bytewise, like Go).
func sortRows(rows []map[string]any, cols ...string) {
	slices.SortFunc(rows, func(a, b map[string]any) int {
		for _, c := range cols {
			if d := strings.Compare(fmt.Sprint(a[c]), fmt.Sprint(b[c])); d != 0 {
				return d
			}
		}
		return 0
	})
}

// duckdb runs queries in DuckDB (sinktest.DuckDB).
func duckdb(t *testing.T, queries map[string]string) map[string][]map[string]any {
	t.Helper()
	return sinktest.DuckDB(t, queries)
}
