package jobs

import (
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/pipeline"
	"m365export/sources"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// teamsArgs export msft-teams for the emulator's last day.
func teamsArgs(sim *graphsim.Server, extra ...string) []string {
	now := sim.Tenant().Now().UTC()
	return append([]string{"--connector", "msft-teams", "--since", now.AddDate(0, 0, -1).Format("2006-01-02"),
		"--until", now.Format("2006-01-02"), "--run-id", "r"}, extra...)
}

// skippedBy counts, per collection, the ledger's skipped owners with code.
func skippedBy(sums []*pipeline.Summary, code string) map[string]int {
	out := map[string]int{}
	for _, s := range sums {
		for _, e := range s.Ledger.All() {
			if e.Status == "skipped" && e.Code == code {
				out[e.Collection]++
			}
		}
	}
	return out
}

// TestExport_TeamsModel: against an emulator that checks model=A's
// licence (graph-api-notes §8 fact 2), the default model B exports every
// owner; --teams-model A skips the unlicensed users and the teams with an
// unlicensed member, with Graph's code in the ledger, and does not fail
// the run (a skip is not a failure); a tenant where no user holds the
// licence is a configuration error naming --teams-model.
func TestExport_TeamsModel(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 60})
	sums, err := exportTo(t, sim, "", teamsArgs(sim)...)
	if err != nil {
		t.Fatalf("default model: %v", err)
	}
	// The meetings of organizers the Teams access policy leaves out are
	// skipped, whatever the model.
	now := sim.Tenant().Now().UTC().Truncate(24 * time.Hour)
	refused := 0
	for _, m := range simtruth.Meetings(sim.Tenant(), now.AddDate(0, 0, -1), now) {
		if m.Denied {
			refused++
		}
	}
	for _, c := range sums[0].Collections {
		want := 0
		if c.Name == "online_meetings" || c.Name == "meeting_attendance" {
			want = refused
		}
		if c.Skipped != want || c.Failed != 0 {
			t.Errorf("default model: %s skipped %d and failed %d owners, want %d and none", c.Name, c.Skipped, c.Failed, want)
		}
	}

	sums, err = exportTo(t, sim, "", teamsArgs(sim, "--teams-model", "A")...)
	if got := exitOf(err); got != 0 && got != 3 {
		t.Fatalf("--teams-model A: exit %d (%v), want 0 or 3: unlicensed owners are skipped", got, err)
	}
	skipped := skippedBy(sums, "PaymentRequired")
	if skipped["chat_messages"] != 1 { // user 13, the one guest
		t.Errorf("--teams-model A: owners skipped with PaymentRequired %v, want the one unlicensed user in chat_messages", skipped)
	}
	for _, c := range sums[0].Collections {
		if c.Failed != 0 || (c.Name == "chat_messages" && c.OK == 0) {
			t.Errorf("--teams-model A: %s: %d ok, %d failed; want the licensed owners read and none failed", c.Name, c.OK, c.Failed)
		}
	}

	none := startSimWith(t, graphsim.Options{Users: 6, TeamsUnlicensed: true})
	_, err = exportTo(t, none, "", teamsArgs(none, "--teams-model", "A")...)
	if exitOf(err) != 2 || !errors.Is(err, sources.ErrConfig) || !strings.Contains(err.Error(), "--teams-model") {
		t.Errorf("--teams-model A, no user licensed: %v (exit %d), want a configuration error naming --teams-model", err, exitOf(err))
	}
	if _, err := exportTo(t, none, "", teamsArgs(none, "--teams-model", "none")...); err != nil {
		t.Errorf("--teams-model none, no user licensed: %v, want a complete export", err)
	}
}

// TestTeams_ProtectedAPIsUnapproved: an application Microsoft has not
// approved for the protected Teams APIs (fact 3): check names the step,
// and the export fails as a configuration error naming it.
func TestTeams_ProtectedAPIsUnapproved(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 6, TeamsUnapproved: true})
	out, err := runCheck(t, sim, "--connector", "msft-teams")
	if !errors.Is(err, ErrCheckFailed) {
		t.Errorf("check: %v, want a failed check", err)
	}
	for _, c := range []string{"chat_messages", "channel_messages"} {
		if !strings.Contains(out, "FAIL  msft-teams/"+c+": 403 Forbidden: the Teams export APIs") {
			t.Errorf("check does not diagnose %s:\n%s", c, out)
		}
	}
	if !strings.Contains(out, "https://aka.ms/teamsgraph/requestaccess") || !strings.Contains(out, "ok    msft-teams/chats: readable") {
		t.Errorf("check report:\n%s", out)
	}
	_, err = exportTo(t, sim, "", teamsArgs(sim)...)
	if exitOf(err) != 2 || !strings.Contains(err.Error(), "access denied for all") || !strings.Contains(err.Error(), "https://aka.ms/teamsgraph/requestaccess") {
		t.Errorf("export: %v (exit %d), want exit 2 naming the protected-API request", err, exitOf(err))
	}
}

// TestConfig_NationalCloudRefusesGlobalOnly: getAllMessages exists in the
// global cloud only (fact 10): a national cloud refuses the collections
// that read it before any request, naming them and the cloud.
func TestConfig_NationalCloudRefusesGlobalOnly(t *testing.T) {
	for _, cloud := range []string{"usgov-l4", "usgov-l5", "china"} {
		cfg, err := LoadConfig([]string{"--demo", "--connector", "outlook-mail,msft-teams", "--cloud", cloud}, envOf(testEnv), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Validate()
		if !errors.Is(err, ErrUsage) {
			t.Fatalf("--cloud %s: %v, want a usage error", cloud, err)
		}
		for _, w := range []string{"--cloud " + cloud, "msft-teams/chat_messages and msft-teams/channel_messages", "global cloud only"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--cloud %s: %q lacks %q", cloud, err, w)
			}
		}
		if strings.Contains(err.Error(), "outlook-mail") {
			t.Errorf("--cloud %s: %q refuses outlook-mail too", cloud, err)
		}
		cfg.Connector = "outlook-mail"
		if err := cfg.Validate(); err != nil {
			t.Errorf("--cloud %s, outlook-mail: %v", cloud, err)
		}
		cfg.Connector, cfg.Tables = "msft-teams", []string{"online_meetings", "meeting_attendance"}
		if err := cfg.Validate(); err != nil {
			t.Errorf("--cloud %s, msft-teams --tables without getAllMessages: %v", cloud, err)
		}
	}
}

// TestConfig_TeamsModel: --teams-model comes from the flag, the
// environment or the YAML key, defaults to B, accepts none (no model
// parameter on the request), and refuses anything else.
func TestConfig_TeamsModel(t *testing.T) {
	yml := t.TempDir() + "/job.yaml"
	if err := os.WriteFile(yml, []byte("teams_model: A\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := pipeline.Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	chat, _ := connector.Lookup("msft-teams")
	for _, tc := range []struct {
		args  []string
		env   map[string]string
		query string // the model part of chat getAllMessages' first request
	}{
		{nil, nil, "&model=B&"},
		{[]string{"--teams-model", "none"}, nil, "?$top=50&$filter="},
		{nil, map[string]string{"M365EXPORT_TEAMS_MODEL": "a"}, "&model=A&"},
		{[]string{"--config", yml}, nil, "&model=A&"},
		{[]string{"--config", yml, "--teams-model", "B"}, nil, "&model=B&"},
	} {
		env := map[string]string{}
		maps.Copy(env, testEnv)
		maps.Copy(env, tc.env)
		cfg, err := LoadConfig(append([]string{"--demo", "--connector", "msft-teams"}, tc.args...), envOf(env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		}
		for _, cs := range chat.Collections {
			if cs.Name == "chat_messages" {
				if got := cs.First("u", w, cfg.settings()); !strings.Contains(got, tc.query) {
					t.Errorf("%v %v: first request %s, want it to contain %s", tc.args, tc.env, got, tc.query)
				}
			}
		}
	}
	cfg, err := LoadConfig([]string{"--demo", "--connector", "msft-teams", "--teams-model", "C"}, envOf(testEnv), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `--teams-model "C"`) {
		t.Errorf("--teams-model C: %v, want a usage error naming it", err)
	}
}
