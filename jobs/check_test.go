package jobs

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"m365export/sources/graphsim"
)

func runCheck(t *testing.T, sim *graphsim.Server, args ...string) (string, error) {
	t.Helper()
	cfg, err := LoadConfig(append([]string{"--demo"}, args...), envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = Check(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim), Out: &out})
	return out.String(), err
}

func TestCheck_Diagnoses(t *testing.T) {
	sim := startSim(t, 6)
	out, err := runCheck(t, sim, "--connector", "outlook-mail,msft-teams")
	if err != nil {
		t.Fatalf("healthy tenant: %v\n%s", err, out)
	}
	if !strings.Contains(out, "ok    outlook-mail/messages: readable") {
		t.Errorf("report lacks the messages read:\n%s", out)
	}

	for _, tc := range []struct {
		name  string
		setup func()
		args  []string
		want  []string
	}{
		{name: "object id instead of client id", args: []string{"--client-id", "00000000-0000-0000-0000-0000000000aa"},
			want: []string{"AADSTS700016", "Application (client) ID, not the Object ID"}},
		{name: "wrong tenant", args: []string{"--tenant-id", "11111111-1111-1111-1111-111111111111"},
			want: []string{"tenant id is probably wrong"}},
		{name: "no consent", setup: func() { sim.SetConsent(false) },
			want: []string{"carries no application permission", "Authorization_IdentityNotFound", "admin consent has not been granted"}},
		{name: "missing role", setup: func() {
			sim.SetConsent(true)
			sim.SetRoles(slices.DeleteFunc(slices.Clone(graphsim.AllRoles), func(r string) bool { return r == "Mail.ReadBasic.All" }))
		}, want: []string{"permissions not granted: Mail.ReadBasic.All", "outlook-mail/messages: 403 Authorization_RequestDenied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			out, err := runCheck(t, sim, append([]string{"--connector", "outlook-mail"}, tc.args...)...)
			if !errors.Is(err, ErrUsage) || !errors.Is(err, ErrCheckFailed) {
				t.Errorf("err = %v, want a failed check (exit 2)", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
