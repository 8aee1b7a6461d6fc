package jobs

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	connectorpkg "m365export/jobs/connector"
	"m365export/jobs/connectors/msftteams"
	"m365export/jobs/tables"
	"m365export/pipeline"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sinks/sinktest"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

const (
	testSalt = "e2e-test-salt"
	testKey  = "e2e-test-key"
)

var testEnv = map[string]string{EnvSalt: testSalt, EnvKey: testKey}

// truthName maps a table to the emulator's collection name.
func truthName(c string) string {
	if c == "copilot_interactions" {
		return "interactions"
	}
	return c
}

func startSim(t *testing.T, users int) *graphsim.Server {
	t.Helper()
	sim, err := graphsim.Start(graphsim.Options{Users: users, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// exportTo runs one export against sim into a fresh directory and returns
// the directory.
func exportTo(t *testing.T, sim *graphsim.Server, dir string, args ...string) ([]*pipeline.Summary, error) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	base := []string{"--demo", "--dest", "file://" + dir + "?metadata=skip", "--state", "mem://", "--concurrency", "4"}
	cfg, err := LoadConfig(append(base, args...), envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)})
}

// readOutput reads every committed Parquet file of a connector with
// Arrow's reader, as canonical rows keyed by collection, each row carrying
// its dt.
func readOutput(t *testing.T, dir, connector string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	root := filepath.Join(dir, connector)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) != 3 || !strings.HasPrefix(parts[1], "dt=") {
			return fmt.Errorf("unexpected file %s", rel)
		}
		schema := tables.Lookup(connector, parts[0])
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rows, err := sinktest.ReadArrow(t.Context(), schema, data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for _, r := range rows {
			out[parts[0]] = append(out[parts[0]], rowKey(parts[1], r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// rowKey renders a row with its dt for comparison; the export time is
// left out (it is the wall clock).
func rowKey(dt string, r sinktest.Row) string {
	r[sinks.ColExportedAt] = nil
	b, _ := json.Marshal(r)
	return dt + " " + string(b)
}

// expected computes, from the emulator's ground truth and the same rules,
// the rows a connector's export must hold for window w.
func expected(t *testing.T, sim *graphsim.Server, connector string, w pipeline.Window, runID string, snapshotDay string) map[string][]string {
	t.Helper()
	rs, err := LoadRules(connector, "pseudonymized", false, "", "", testEnvSecrets())
	if err != nil {
		t.Fatal(err)
	}
	ten := sim.Tenant()
	out := map[string][]string{}
	for _, cs := range mustConnector(t, connector).Collections {
		ownerID := collectionOwnerID(rs, &cs, w)
		schema := tables.Lookup(connector, cs.Name)
		if cs.Owners == connectorpkg.Derived {
			out[cs.Name] = expectedMeetings(t, ten, rs, &cs, schema, w, runID)
			continue
		}
		var sel []string
		if i := strings.Index(cs.First("x", w, defaultSettings()), "$select="); i >= 0 {
			sel = strings.Split(strings.SplitN(cs.First("x", w, defaultSettings())[i+len("$select="):], "&", 2)[0], ",")
		}
		owners := simtruth.Owners(ten, truthName(cs.Name))
		ownerSet := map[string]bool{}
		for _, o := range owners {
			ownerSet[o] = true
		}
		seen := map[string]bool{}
		for _, owner := range owners {
			for _, raw := range simtruth.TruthSelect(ten, truthName(cs.Name), owner, time.Time{}, time.Time{}, sel) {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				dt := snapshotDay
				if cs.TimeField != "" {
					v := m
					keys := strings.Split(cs.TimeField, ".")
					for _, k := range keys[:len(keys)-1] {
						v, _ = v[k].(map[string]any)
					}
					ts, err := pipelineTime(v[keys[len(keys)-1]].(string))
					if err != nil {
						t.Fatal(err)
					}
					if ts.Before(w.From) || !ts.Before(w.To) {
						continue
					}
					dt = ts.UTC().Format("2006-01-02")
				}
				recOwner := ownerID(owner)
				if cs.DedupeKey != nil {
					var key []string
					for _, k := range cs.DedupeKey {
						key = append(key, fmt.Sprint(m[k]))
					}
					if seen[strings.Join(key, "\x00")] {
						continue
					}
					seen[strings.Join(key, "\x00")] = true
					recOwner = "*" // any reader may write it; see normalizeOwners
					if cs.SenderField != "" {
						from, _ := m["from"].(map[string]any)
						user, _ := from["user"].(map[string]any)
						if s, _ := user["id"].(string); ownerSet[s] {
							recOwner = ownerID(s)
						}
					}
				}
				page := append(append([]byte(`{"value":[`), raw...), "]}"...)
				if cs.Single {
					page = raw
				}
				clean, err := rs.Sanitize(cs.First(owner, w, defaultSettings()), page)
				if err != nil {
					t.Fatalf("%s: sanitize: %v", cs.Name, err)
				}
				var elem json.RawMessage = clean
				if !cs.Single {
					var env struct{ Value []json.RawMessage }
					if err := json.Unmarshal(clean, &env); err != nil {
						t.Fatalf("%s: sanitized page: %v", cs.Name, err)
					}
					elem = env.Value[0]
				}
				// The table's allow-list, as the job applies it after the rules.
				if elem, err = cs.Shape().Filter(elem); err != nil {
					t.Fatal(err)
				}
				row, err := sinktest.Expect(schema, sinks.Record{JSON: elem, Owner: recOwner, RunID: runID})
				if err != nil {
					t.Fatal(err)
				}
				out[cs.Name] = append(out[cs.Name], rowKey("dt="+dt, row))
			}
		}
		sort.Strings(out[cs.Name])
	}
	for k, v := range out {
		if len(v) == 0 {
			delete(out, k)
		}
	}
	return out
}

// expectedMeetings computes the rows of a meeting collection (Derived
// owners) from simtruth.Meetings: the meetings of the window's call
// records whose organizer the access policy covers, on the day of the
// call record that found each, _owner the meeting key.
func expectedMeetings(t *testing.T, ten *graphsim.Tenant, rs *rules.Ruleset, cs *connectorpkg.Collection, schema *sinks.Schema,
	w pipeline.Window, runID string) []string {
	t.Helper()
	ownerID := collectionOwnerID(rs, cs, w)
	var out []string
	for _, m := range simtruth.Meetings(ten, w.From, w.To) {
		if m.Denied {
			continue
		}
		// The thread id gives the meeting key as the call record's join
		// URL does (the rules decode either).
		owner := msftteams.MeetingOwner(m.Found, m.Organizer, m.ThreadID)
		recs, urls := []json.RawMessage{m.Meeting}, []string{cs.First(owner, w, defaultSettings())}
		if len(cs.Steps) > 0 {
			recs, urls = m.Attendance, nil
			for j, n := range m.Reports {
				for range n {
					urls = append(urls, "/v1.0/users/"+m.Organizer+"/onlineMeetings/m/attendanceReports/"+m.ReportIDs[j]+"/attendanceRecords")
				}
			}
		}
		for i, raw := range recs {
			url := urls[min(i, len(urls)-1)]
			page, err := stampPage(append(append([]byte(`{"value":[`), raw...), "]}"...), cs.Stamp(owner, url))
			if err != nil {
				t.Fatal(err)
			}
			clean, err := rs.Sanitize(url, page)
			if err != nil {
				t.Fatalf("%s: sanitize: %v", cs.Name, err)
			}
			var env struct{ Value []json.RawMessage }
			if err := json.Unmarshal(clean, &env); err != nil || len(env.Value) != 1 {
				t.Fatalf("%s: sanitized page: %v", cs.Name, err)
			}
			row, err := sinktest.Expect(schema, sinks.Record{JSON: env.Value[0], Owner: ownerID(owner), RunID: runID})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rowKey("dt="+m.Found.Format("2006-01-02"), row))
		}
	}
	sort.Strings(out)
	return out
}

func testEnvSecrets() rules.Secrets {
	return rules.Secrets{Salt: testSalt, Key: testKey}
}

func pipelineTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.9999999", s)
}

// normalizeOwners replaces _owner by "*" in got where want has "*" for the
// same record (a record read by several owners, kept once).
func normalizeOwners(want, got []string) []string {
	wild := map[string]bool{}
	for _, w := range want {
		if strings.Contains(w, `"_owner":"*"`) {
			wild[stripOwner(w)] = true
		}
	}
	out := make([]string, len(got))
	for i, g := range got {
		if s := stripOwner(g); wild[s] {
			out[i] = s
		} else {
			out[i] = g
		}
	}
	sort.Strings(out)
	return out
}

func stripOwner(row string) string {
	i := strings.Index(row, `"_owner":`)
	if i < 0 {
		return row
	}
	j := strings.Index(row[i:], `,"_run_id"`)
	return row[:i] + `"_owner":"*"` + row[i+j:]
}

func TestExport_EveryConnectorMatchesGroundTruth(t *testing.T) {
	sim := startSim(t, 12)
	w := pipeline.Window{From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	for _, connector := range ConnectorNames() {
		t.Run(connector, func(t *testing.T) {
			dir := t.TempDir()
			sums, err := exportTo(t, sim, dir, "--connector", connector, "--since", "2026-11-24", "--until", "2026-11-26")
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			runID := sums[0].RunID
			snapshot := sim.Tenant().Now().Format("2006-01-02")
			want := expected(t, sim, connector, w, runID, snapshot)
			got := readOutput(t, dir, connector)
			if len(want) == 0 {
				t.Fatal("the emulator has no records for this window: the test proves nothing")
			}
			for c := range want {
				got[c] = normalizeOwners(want[c], got[c])
				sort.Strings(want[c])
				want[c] = normalizeOwners(want[c], want[c])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("output differs from ground truth (-want +got):\n%s", diff)
			}
			// The run summary and ledger sit beside the data.
			b, err := os.ReadFile(filepath.Join(dir, connector, "_runs", runID, "shard-0.json"))
			if err != nil {
				t.Fatalf("run summary: %v", err)
			}
			var s pipeline.Summary
			if err := json.Unmarshal(b, &s); err != nil || s.Status != "ok" || s.Ledger.Len() == 0 {
				t.Errorf("run summary status %q ledger %d (%v)", s.Status, s.Ledger.Len(), err)
			}
		})
	}
}

func TestExport_ShardsEqualOneProcess(t *testing.T) {
	sim := startSim(t, 12)
	args := []string{"--connector", "msft-teams", "--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "r1"}
	one := t.TempDir()
	if _, err := exportTo(t, sim, one, args...); err != nil {
		t.Fatal(err)
	}
	shards := t.TempDir()
	for i := range 3 {
		if _, err := exportTo(t, sim, shards, append(args, "--shard", fmt.Sprint(i), "--shards", "3")...); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readOutput(t, one, "msft-teams"), readOutput(t, shards, "msft-teams")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("3 shards differ from one process (-one +shards):\n%s", diff)
	}
}

func TestExport_ConsecutiveWindowsEqualOne(t *testing.T) {
	sim := startSim(t, 8)
	whole, parts := t.TempDir(), t.TempDir()
	if _, err := exportTo(t, sim, whole, "--connector", "outlook-mail", "--since", "2026-11-23", "--until", "2026-11-25", "--run-id", "r"); err != nil {
		t.Fatal(err)
	}
	for _, d := range [][2]string{{"2026-11-23", "2026-11-24"}, {"2026-11-24", "2026-11-25"}} {
		if _, err := exportTo(t, sim, parts, "--connector", "outlook-mail", "--since", d[0], "--until", d[1], "--run-id", "r"); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readOutput(t, whole, "outlook-mail"), readOutput(t, parts, "outlook-mail")
	if len(a["messages"]) == 0 {
		t.Fatal("no messages: the test proves nothing")
	}
	if diff := cmp.Diff(a["messages"], b["messages"]); diff != "" {
		t.Errorf("two windows differ from one (-one +two):\n%s", diff)
	}
}

func TestExport_StateAdvancesAndGuardsSalt(t *testing.T) {
	sim := startSim(t, 6)
	dir, state := t.TempDir(), t.TempDir()
	args := []string{"--connector", "msft-copilot", "--state", "file://" + state + "?metadata=skip", "--lookback", "3d"}
	sums, err := exportTo(t, sim, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	first := sums[0]
	// The second run starts where the first ended: nothing new yet.
	sums, err = exportTo(t, sim, dir, args...)
	if err != nil || len(sums) != 0 {
		t.Fatalf("second run: %v, %d summaries; want nothing to do", err, len(sums))
	}
	// A day later it exports exactly the next day.
	sums, err = exportTo(t, sim, dir, append(args, "--now", sim.Tenant().Now().Add(24*time.Hour).Format(time.RFC3339))...)
	if err != nil {
		t.Fatal(err)
	}
	if !sums[0].WindowFrom.Equal(first.WindowTo) || sums[0].WindowTo.Sub(sums[0].WindowFrom) != 24*time.Hour {
		t.Errorf("third window %v–%v, want the day after %v", sums[0].WindowFrom, sums[0].WindowTo, first.WindowTo)
	}
	// Another salt against the same state is refused, unless a new series.
	cfg, _ := LoadConfig(append([]string{"--demo", "--dest", "file://" + dir + "?metadata=skip"}, args...), envOf(nil), io.Discard)
	env := envOf(map[string]string{EnvSalt: "another-salt", EnvKey: testKey})
	if _, err := Run(t.Context(), cfg, RunOptions{Env: env, Endpoint: simEndpoint(sim)}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "salt changed") {
		t.Errorf("other salt: err = %v, want a usage error about the salt", err)
	}
	// Another email domain handling is part of the rules hash: refused,
	// unless a new series, which then writes h~ domains.
	now := sim.Tenant().Now().Add(24 * time.Hour).Format(time.RFC3339)
	tok := append(args, "--email-domains", "tokenize", "--now", now)
	if _, err := exportTo(t, sim, dir, tok...); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "rules (or --email-domains") {
		t.Errorf("other email domains: err = %v, want a usage error about the rules", err)
	}
	if _, err := exportTo(t, sim, t.TempDir(), append(tok, "--new-series")...); err != nil {
		t.Fatalf("--new-series with --email-domains tokenize: %v", err)
	}
	dir2 := t.TempDir()
	if _, err := exportTo(t, sim, dir2, "--connector", "entra-id", "--since", "2026-11-25", "--until", "2026-11-26", "--email-domains", "tokenize"); err != nil {
		t.Fatal(err)
	}
	rows := fmt.Sprint(readOutput(t, dir2, "entra-id"))
	if !strings.Contains(rows, "@h~") || regexp.MustCompile(`t~[A-Za-z0-9_-]{43}@[A-Za-z0-9-]+\.`).MatchString(rows) {
		t.Errorf("tokenize export: want h~ domains and no plain ones; mail: %s", regexp.MustCompile(`"mail":"[^"]*"`).FindAllString(rows, 3))
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden_Connectors walks the registry: every connector must have
// testdata/connectors/<id>/ with the decoded canonical rows of a one-day
// export of a small emulator tenant (regenerate with -update and review
// the diff like code).
func TestGolden_Connectors(t *testing.T) {
	sim := startSim(t, 4)
	for _, connector := range ConnectorNames() {
		t.Run(connector, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := exportTo(t, sim, dir, "--connector", connector, "--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "golden"); err != nil {
				t.Fatal(err)
			}
			got := readOutput(t, dir, connector)
			var b strings.Builder
			for _, c := range slices.Sorted(maps.Keys(got)) {
				for _, r := range got[c] {
					b.WriteString(c + " " + r + "\n")
				}
			}
			file := filepath.Join("..", "testdata", "connectors", connector, "golden.jsonl")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("connector %s has no golden output (%v): run go test ./jobs -run Golden -update", connector, err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", file, diff)
			}
			for _, cs := range mustConnector(t, connector).Collections {
				if len(got[cs.Name]) == 0 {
					t.Errorf("collection %s has no rows in the golden export: add data to the emulator or widen the window", cs.Name)
				}
			}
		})
	}
}
