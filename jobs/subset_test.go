package jobs

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"m365export/pipeline"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// readState reads a state object under dir, nil if there is none.
func readState(t *testing.T, path string) *state {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// TestTables_MeetingsPastCallRecordRetention: a msft-teams window 40 to 45
// days back is refused in full (call_records' 30-day retention), with an
// error that names --tables and the meeting tables; --tables
// online_meetings,meeting_attendance exports it, exactly the ground truth
// of those tables (meetings found only through calendar events among
// them, with attendance), writes no other table, and keeps its state apart
// from the connector's; a normal run of a recent window afterwards, on the
// same --state, is exact and moves only the connector's watermark.
func TestTables_MeetingsPastCallRecordRetention(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 40, HistoryDays: 50, Limits: graphsim.Limits{Disabled: true}})
	day := 24 * time.Hour
	now := sim.Tenant().Now()
	old := pipeline.Window{From: now.Add(-45 * day).Truncate(day), To: now.Add(-40 * day).Truncate(day)}
	stateDir := t.TempDir()
	stateURL := "file://" + stateDir + "?metadata=skip"
	export := func(dir string, args ...string) ([]*pipeline.Summary, error) {
		t.Helper()
		base := []string{"--demo", "--dest", "file://" + dir + "?metadata=skip", "--state", stateURL, "--concurrency", "4", "--connector", "msft-teams"}
		cfg, err := LoadConfig(append(base, args...), envOf(testEnv), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)})
	}
	window := []string{"--since", old.From.Format(time.DateOnly), "--until", old.To.Format(time.DateOnly)}

	// The whole connector: refused, naming the way out, nothing written.
	refused := t.TempDir()
	_, err := export(refused, window...)
	if exitOf(err) != 2 || !strings.Contains(err.Error(), "call_records") || !strings.Contains(err.Error(), "--tables ") ||
		!strings.Contains(err.Error(), "online_meetings,meeting_attendance") {
		t.Fatalf("a full run of %v: %v (exit %d), want exit 2 naming call_records and --tables …online_meetings,meeting_attendance", old, err, exitOf(err))
	}
	if ents, _ := os.ReadDir(refused); len(ents) != 0 {
		t.Errorf("the refused run wrote %d entries to --dest", len(ents))
	}

	// The meeting tables alone.
	eventOnly, attended := 0, 0
	for _, m := range simtruth.Meetings(sim.Tenant(), old.From, old.To) {
		if !m.CallStart.IsZero() {
			t.Fatalf("meeting %s found by a call record %v past retention", m.ThreadID, m.CallStart)
		}
		if !m.Denied {
			eventOnly++
			for _, n := range m.Reports {
				attended += n
			}
		}
	}
	if eventOnly == 0 || attended == 0 {
		t.Fatalf("the window has %d meetings and %d attendance rows: the test proves nothing", eventOnly, attended)
	}
	dir := t.TempDir()
	if _, err := export(dir, append(window, "--tables", "online_meetings,meeting_attendance")...); err != nil {
		t.Fatalf("--tables online_meetings,meeting_attendance: %v", err)
	}
	tables := "online_meetings.meeting_attendance"
	runID := "w" + old.From.Format("20060102T150405") + "-" + old.To.Format("20060102T150405") + "-" + tables
	want := expected(t, sim, "msft-teams", old, runID, "")
	got := readOutput(t, dir, "msft-teams")
	for _, c := range []string{"online_meetings", "meeting_attendance"} {
		if !slices.Equal(got[c], want[c]) {
			t.Errorf("%s: %d rows, want the ground truth's %d; the first that differs:\n%s\nwant\n%s", c, len(got[c]), len(want[c]), firstDiff(got[c], want[c]), firstDiff(want[c], got[c]))
		}
	}
	if len(got["online_meetings"]) < eventOnly || len(got["meeting_attendance"]) != attended {
		t.Errorf("%d meetings and %d attendance rows, want %d meetings found through events and %d rows", len(got["online_meetings"]), len(got["meeting_attendance"]), eventOnly, attended)
	}
	for c := range got {
		if c != "online_meetings" && c != "meeting_attendance" {
			t.Errorf("--tables wrote table %s", c)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "msft-teams", "_runs", runID)); err != nil {
		t.Errorf("no run summary under the --tables run's id: %v", err)
	}
	fullState := filepath.Join(stateDir, "msft-teams", "state-shard-0-of-1.json")
	subState := filepath.Join(stateDir, "msft-teams", "tables-"+tables, "state-shard-0-of-1.json")
	if st := readState(t, fullState); st != nil {
		t.Errorf("the --tables run wrote the connector's state (watermark %v)", st.Watermark)
	}
	if st := readState(t, subState); st == nil || !st.Watermark.Equal(old.To) || st.Pending != nil {
		t.Errorf("the --tables run's state %+v, want watermark %v and nothing pending", st, old.To)
	}

	// A normal run of a recent window: exact, and its own watermark.
	recent := pipeline.Window{From: now.Add(-2 * day).Truncate(day), To: now.Add(-day).Truncate(day)}
	dir2 := t.TempDir()
	if _, err := export(dir2, "--since", recent.From.Format(time.DateOnly), "--until", recent.To.Format(time.DateOnly), "--run-id", "recent"); err != nil {
		t.Fatalf("the normal run after the --tables run: %v", err)
	}
	want2 := expected(t, sim, "msft-teams", recent, "recent", now.Format(time.DateOnly))
	got2 := readOutput(t, dir2, "msft-teams")
	for c, rows := range want2 {
		if !slices.Equal(got2[c], rows) {
			t.Errorf("normal run, %s: %d rows, want the ground truth's %d", c, len(got2[c]), len(rows))
		}
	}
	if len(got2["call_records"]) == 0 || len(got2["online_meetings"]) == 0 {
		t.Errorf("the normal run has %d call records and %d meetings: the test proves nothing", len(got2["call_records"]), len(got2["online_meetings"]))
	}
	if st := readState(t, fullState); st == nil || !st.Watermark.Equal(recent.To) {
		t.Errorf("the connector's state %+v, want watermark %v", st, recent.To)
	}
	if st := readState(t, subState); st == nil || !st.Watermark.Equal(old.To) {
		t.Errorf("the normal run moved the --tables run's state to %+v", st)
	}
}

// TestTables_Usage: --tables naming a table the connector does not have,
// or with several connectors, is a usage error (exit 2) that names the
// connector's tables; the environment and the YAML file set it too.
func TestTables_Usage(t *testing.T) {
	load := func(env map[string]string, args ...string) error {
		t.Helper()
		cfg, err := LoadConfig(append([]string{"--demo"}, args...), envOf(env), io.Discard)
		if err != nil {
			return err
		}
		return cfg.Validate()
	}
	err := load(testEnv, "--connector", "msft-teams", "--tables", "online_meetings,meetings")
	if exitOf(err) != 2 || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "no table meetings") ||
		!strings.Contains(err.Error(), "call_records,online_meetings,meeting_attendance") {
		t.Errorf("an unknown table: %v (exit %d), want exit 2 naming msft-teams' tables", err, exitOf(err))
	}
	if err := load(testEnv, "--connector", "msft-teams,outlook-cal", "--tables", "online_meetings"); exitOf(err) != 2 || !strings.Contains(err.Error(), "single --connector") {
		t.Errorf("--tables with two connectors: %v, want exit 2", err)
	}
	env := map[string]string{EnvName("tables"): "meeting_attendance, online_meetings"}
	for k, v := range testEnv {
		env[k] = v
	}
	cfg, err := LoadConfig([]string{"--demo", "--connector", "msft-teams"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if key := cfg.tablesKey(mustConnector(t, "msft-teams")); key != "online_meetings.meeting_attendance" {
		t.Errorf("M365EXPORT_TABLES: the run's tables are %q, want online_meetings.meeting_attendance in the plan's order", key)
	}
	yml := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(yml, []byte("connector: msft-teams\ntables: [call_records]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = LoadConfig([]string{"--demo", "--config", yml}, envOf(testEnv), io.Discard); err != nil {
		t.Fatal(err)
	}
	if key := cfg.tablesKey(mustConnector(t, "msft-teams")); key != "call_records" {
		t.Errorf("tables in the YAML file: %q, want call_records", key)
	}
	if cfg, err = LoadConfig([]string{"--demo", "--config", yml, "--tables", "online_meetings"}, envOf(testEnv), io.Discard); err != nil {
		t.Fatal(err)
	}
	if key := cfg.tablesKey(mustConnector(t, "msft-teams")); key != "online_meetings" {
		t.Errorf("--tables over the YAML file's: %q, want the flag's online_meetings alone", key)
	}
}

// TestTables_ResumeAfterStop: a --tables run stopped after a checkpoint
// leaves it under the run's own folder at --state (never the connector's
// checkpoints); the next attempt resumes from it, and the output equals
// the ground truth of the two tables.
func TestTables_ResumeAfterStop(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 40, HistoryDays: 50,
		Faults: graphsim.Faults{Seed: 3, SlowRate: 0.1, SlowDelay: 100 * time.Millisecond}})
	day := 24 * time.Hour
	now := sim.Tenant().Now()
	w := pipeline.Window{From: now.Add(-45 * day).Truncate(day), To: now.Add(-40 * day).Truncate(day)}
	dir, stateDir := t.TempDir(), t.TempDir()
	args := []string{"--demo", "--dest", "file://" + dir + "?metadata=skip", "--state", "file://" + stateDir + "?metadata=skip",
		"--connector", "msft-teams", "--tables", "online_meetings,meeting_attendance", "--run-id", "old",
		"--since", w.From.Format(time.DateOnly), "--until", w.To.Format(time.DateOnly), "--concurrency", "2", "--checkpoint-every", "1ms"}
	want := expected(t, sim, "msft-teams", w, "old", "")
	cpFile := filepath.Join(stateDir, "msft-teams", "tables-online_meetings.meeting_attendance", "checkpoints", "shard-0-of-1", "online_meetings.json")
	cfg, err := LoadConfig(args, envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := runUntilCheckpoint(t, cfg, sim, cpFile, 3)
	var cp checkpointFile
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	done := len(cp.Checkpoint.Owners)
	if _, err := os.Stat(filepath.Join(stateDir, "msft-teams", "checkpoints")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the --tables run wrote the connector's checkpoints: %v", err)
	}
	if cfg, err = LoadConfig(args, envOf(testEnv), io.Discard); err != nil {
		t.Fatal(err)
	}
	sums, err := Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)})
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	for _, c := range sums[0].Collections {
		if c.Name == "online_meetings" && c.FromCheckpoint < done {
			t.Errorf("resumed attempt took %d meetings from the checkpoint, which names %d", c.FromCheckpoint, done)
		}
	}
	got := readOutput(t, dir, "msft-teams")
	for _, c := range []string{"online_meetings", "meeting_attendance"} {
		if len(want[c]) == 0 || !slices.Equal(got[c], want[c]) {
			t.Errorf("%s after the resumed attempt: %d rows, want the ground truth's %d", c, len(got[c]), len(want[c]))
		}
	}
	if len(got) != 2 {
		t.Errorf("the --tables run wrote %d tables, want 2", len(got))
	}
}

// TestTables_RefusesAnotherSalt: a first --tables run whose salt is not
// that of the connector's state is a usage error (its pseudonyms would
// not join with the full runs'), unless --new-series.
func TestTables_RefusesAnotherSalt(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 8, Limits: graphsim.Limits{Disabled: true}})
	stateURL := "file://" + t.TempDir() + "?metadata=skip"
	export := func(env map[string]string, args ...string) error {
		t.Helper()
		base := []string{"--demo", "--dest", "file://" + t.TempDir() + "?metadata=skip", "--state", stateURL, "--concurrency", "4",
			"--connector", "msft-teams", "--since", "2026-11-25", "--until", "2026-11-26"}
		cfg, err := LoadConfig(append(base, args...), envOf(env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(t.Context(), cfg, RunOptions{Env: envOf(env), Endpoint: simEndpoint(sim)})
		return err
	}
	if err := export(testEnv); err != nil {
		t.Fatal(err)
	}
	other := map[string]string{}
	for k, v := range testEnv {
		other[k] = v
	}
	other[EnvSalt] = testSalt + "-another"
	err := export(other, "--tables", "online_meetings")
	if exitOf(err) != 2 || !strings.Contains(err.Error(), "--tables: the salt changed") || !strings.Contains(err.Error(), "--new-series") {
		t.Errorf("a --tables run with another salt: %v (exit %d), want exit 2 naming the salt and --new-series", err, exitOf(err))
	}
	if err := export(other, "--tables", "online_meetings", "--new-series"); err != nil {
		t.Errorf("with --new-series: %v", err)
	}
	if err := export(testEnv, "--tables", "meeting_attendance"); err != nil {
		t.Errorf("a --tables run with the connector's salt: %v", err)
	}
}

// TestTables_CheckAndPermissions: with --tables, check asks for and probes
// only those tables: an application granted exactly the permissions of
// msft-teams' meeting tables passes check --tables
// online_meetings,meeting_attendance and exports them, while check of the
// whole connector fails on the permissions it lacks.
func TestTables_CheckAndPermissions(t *testing.T) {
	meetings := []string{"online_meetings", "meeting_attendance"}
	roles := mustConnector(t, "msft-teams").Permissions(Needs{Tables: meetings})
	all := mustConnector(t, "msft-teams").Permissions(Needs{})
	if slices.Contains(roles, "Chat.Read.All") || !slices.Contains(roles, "OnlineMeetings.Read.All") || !slices.Contains(roles, "CallRecords.Read.All") {
		t.Fatalf("the meeting tables need %v: want the meetings' and the call records' (derivation), not the chats'", roles)
	}
	if len(roles) >= len(all) {
		t.Fatalf("the meeting tables need %v, no fewer than the connector's %v", roles, all)
	}
	sim := startSimWith(t, graphsim.Options{Users: 30, Auth: graphsim.Auth{Roles: roles}, Limits: graphsim.Limits{Disabled: true}})
	out, err := runCheck(t, sim, "--connector", "msft-teams", "--tables", "online_meetings,meeting_attendance")
	if err != nil {
		t.Fatalf("check --tables: %v\n%s", err, out)
	}
	for _, c := range meetings {
		if !strings.Contains(out, "msft-teams/"+c+": readable") {
			t.Errorf("check --tables does not find %s readable:\n%s", c, out)
		}
	}
	if strings.Contains(out, "chat_messages") || strings.Contains(out, "msft-teams/call_records") {
		t.Errorf("check --tables probes tables it was not given:\n%s", out)
	}
	if out, err := runCheck(t, sim, "--connector", "msft-teams"); !errors.Is(err, ErrCheckFailed) || !strings.Contains(out, "permissions not granted") {
		t.Errorf("check of the whole connector with the meeting tables' permissions: %v, want a failed check naming the permissions\n%s", err, out)
	}
	dir := t.TempDir()
	if _, err := exportTo(t, sim, dir, "--connector", "msft-teams", "--tables", "online_meetings,meeting_attendance",
		"--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "least"); err != nil {
		t.Fatalf("export --tables with the meeting tables' permissions: %v", err)
	}
	w := pipeline.Window{From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	want := expected(t, sim, "msft-teams", w, "least", "")
	got := readOutput(t, dir, "msft-teams")
	for _, c := range meetings {
		if len(want[c]) == 0 || !slices.Equal(got[c], want[c]) {
			t.Errorf("%s: %d rows, want the ground truth's %d", c, len(got[c]), len(want[c]))
		}
	}
}
