package jobs

import (
	"errors"
	"strings"
	"testing"

	"m365export/pipeline"
	"m365export/sources"
	"m365export/sources/graphsim"
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
	sim := startSimWith(t, graphsim.Options{Users: 60, TeamsLicenses: true})
	sums, err := exportTo(t, sim, "", teamsArgs(sim)...)
	if err != nil {
		t.Fatalf("default model: %v", err)
	}
	for _, c := range sums[0].Collections {
		if c.Skipped != 0 || c.Failed != 0 {
			t.Errorf("default model: %s skipped %d and failed %d owners, want none", c.Name, c.Skipped, c.Failed)
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

	none := startSimWith(t, graphsim.Options{Users: 6, TeamsLicenses: true, TeamsUnlicensed: true})
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
	}
}
