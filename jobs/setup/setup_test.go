package setup_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"m365export/jobs"
	"m365export/jobs/setup"
	"m365export/sources/entra"
	"m365export/sources/graphsim"
)

func startSim(t *testing.T) *graphsim.Server {
	t.Helper()
	s, err := graphsim.Start(graphsim.Options{Users: 60, StrictApps: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// person returns a directory client signed in as upn with roles.
func person(t *testing.T, s *graphsim.Server, upn string, roles ...string) *entra.Client {
	t.Helper()
	tok, err := s.PersonToken(upn, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return &entra.Client{GraphURL: s.GraphURL(), HTTP: s.HTTPClient(), Token: func(context.Context) (string, error) { return tok, nil }}
}

var all = []string{"entra-id", "outlook-cal", "outlook-mail", "msft-teams", "msft-copilot"}

func opts(connectors ...string) setup.Options {
	return setup.Options{Connectors: connectors, TenantID: "t", Federated: []setup.Federated{setup.GCP("123456789012345678901")}}
}

func changes(rs []setup.Result) []string {
	var out []string
	for _, r := range rs {
		for _, c := range r.Changes {
			out = append(out, c.String())
		}
	}
	return out
}

func TestApply_EmptyTenantThenNoOp(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin)
	su := &setup.Setup{Client: admin, Opts: opts(all...)}

	plan, err := su.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Apps()) != 0 {
		t.Fatal("plan created something")
	}
	want := []string{`+ application "m365export" requesting`, "+ federated credential m365export-gcp", "+ service principal"}
	got := changes(plan)
	if len(got) != len(want) {
		t.Fatalf("plan on an empty tenant: %q; want %d changes", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("plan change %d = %q; want prefix %q", i, got[i], want[i])
		}
	}

	if _, err := su.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	apps := s.Apps()
	if len(apps) != 1 {
		t.Fatalf("apply made %d applications; want 1", len(apps))
	}
	a := apps[0]
	need, err := jobs.Scopes(all, jobs.Needs{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(need)
	if !slices.Equal(a.Permissions, need) {
		t.Errorf("requested %v; want %v", a.Permissions, need)
	}
	if len(a.Granted) != 0 {
		t.Errorf("apply granted %v: consent is grant's", a.Granted)
	}
	if a.ServicePrincipal == "" {
		t.Error("no service principal")
	}
	me, _ := admin.Me(ctx)
	if !slices.Equal(a.Owners, []string{me.ID}) {
		t.Errorf("owners %v; want the caller %s", a.Owners, me.ID)
	}
	if len(a.Federated) != 1 || a.Federated[0] != (graphsim.Federation{Issuer: "https://accounts.google.com", Subject: "123456789012345678901", Audience: "api://AzureADTokenExchange"}) {
		t.Errorf("federated %+v", a.Federated)
	}

	counted := &counter{next: admin.HTTP.Transport}
	admin.HTTP = &http.Client{Transport: counted}
	again, err := su.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := changes(again); len(c) != 0 {
		t.Errorf("second apply changed %q", c)
	}
	if counted.writes != 0 || counted.reads == 0 {
		t.Errorf("second apply sent %d writes (%d reads); want none", counted.writes, counted.reads)
	}
	if len(s.Apps()) != 1 {
		t.Error("second apply made another application")
	}
}

func TestApply_RemovesWhatIsNoLongerNeeded(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin, graphsim.RolePrivilegedRoleAdmin)
	su := &setup.Setup{Client: admin, Opts: opts(all...)}
	if _, err := su.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := su.Grant(ctx); err != nil {
		t.Fatal(err)
	}
	o := opts("entra-id")
	o.Federated = []setup.Federated{setup.OIDC("https://k8s.example/issuer", "system:serviceaccount:m365:exporter", "")}
	su.Opts = o
	plan, err := su.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changes(plan), "\n")
	for _, w := range []string{"- permission Mail.ReadBasic.All (no longer needed)", "- federated credential m365export-gcp", "+ federated credential m365export-oidc"} {
		if !strings.Contains(got, w) {
			t.Errorf("plan lacks %q:\n%s", w, got)
		}
	}
	if _, err := su.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	gr, err := su.Grant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(changes(gr), "\n"), "- revoke Mail.ReadBasic.All") {
		t.Errorf("grant did not revoke: %q", changes(gr))
	}
	need, _ := jobs.Scopes([]string{"entra-id"}, jobs.Needs{})
	slices.Sort(need)
	a := s.Apps()[0]
	if !slices.Equal(a.Permissions, need) || !slices.Equal(a.Granted, need) {
		t.Errorf("requested %v, granted %v; want %v", a.Permissions, a.Granted, need)
	}
	if len(a.Federated) != 1 || a.Federated[0].Issuer != "https://k8s.example/issuer" {
		t.Errorf("federated %+v", a.Federated)
	}
}

func TestApply_PerConnector(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin)
	o := opts("entra-id", "outlook-mail")
	o.PerConnector = true
	if _, err := (&setup.Setup{Client: admin, Opts: o}).Apply(ctx); err != nil {
		t.Fatal(err)
	}
	apps := s.Apps()
	if len(apps) != 2 || apps[0].DisplayName != "m365export-entra-id" || apps[1].DisplayName != "m365export-outlook-mail" {
		t.Fatalf("apps %+v", apps)
	}
	need, _ := jobs.Scopes([]string{"outlook-mail"}, jobs.Needs{})
	slices.Sort(need)
	if !slices.Equal(apps[1].Permissions, need) {
		t.Errorf("outlook-mail requests %v; want %v", apps[1].Permissions, need)
	}
}

func TestApply_Adopts(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin)
	existing, err := admin.CreateApplication(ctx, entra.Application{DisplayName: "People analytics (made in the portal)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{existing.AppID, existing.ID} {
		o := opts("entra-id")
		o.Adopt = key
		rs, err := (&setup.Setup{Client: admin, Opts: o}).Apply(ctx)
		if err != nil {
			t.Fatalf("adopt %s: %v", key, err)
		}
		if rs[0].ClientID != existing.AppID {
			t.Errorf("adopted %s; want %s", rs[0].ClientID, existing.AppID)
		}
	}
	apps := s.Apps()
	if len(apps) != 1 || len(apps[0].Permissions) == 0 || apps[0].ServicePrincipal == "" || len(apps[0].Federated) != 1 {
		t.Fatalf("adopting made or left %+v", apps)
	}
	o := opts("entra-id")
	o.Adopt = "11111111-2222-3333-4444-555555555555"
	_, err = (&setup.Setup{Client: admin, Opts: o}).Apply(ctx)
	if !errors.Is(err, jobs.ErrUsage) || !strings.Contains(err.Error(), "no application with that Application (client) ID or Object ID") {
		t.Errorf("adopting an unknown id: %v", err)
	}
}

// An application someone else created, with the caller as owner, is
// updated without any directory role; without role or ownership, each
// refusal names the role to ask for and is a usage error (exit 2).
func TestRefusals_NameTheRole(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin)
	if _, err := (&setup.Setup{Client: admin, Opts: opts("entra-id")}).Apply(ctx); err != nil {
		t.Fatal(err)
	}
	app := s.Apps()[0]

	nobody := person(t, s, "nobody@contoso.example")
	_, err := (&setup.Setup{Client: nobody, Opts: opts("outlook-mail")}).Apply(ctx) // a new name: create
	var rf *setup.Refusal
	if !errors.As(err, &rf) || !errors.Is(err, jobs.ErrUsage) || !strings.Contains(err.Error(), "Cloud Application Administrator") ||
		!strings.Contains(err.Error(), "Authorization_RequestDenied") {
		t.Errorf("create without a role: %v", err)
	}
	o := opts("entra-id", "outlook-mail")
	o.Adopt = app.AppID
	_, err = (&setup.Setup{Client: nobody, Opts: o}).Apply(ctx)
	if !errors.As(err, &rf) || !strings.Contains(err.Error(), "an owner of the application") {
		t.Errorf("update without role or ownership: %v", err)
	}

	me, err := nobody.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.AddOwner(ctx, app.ObjectID, me.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (&setup.Setup{Client: nobody, Opts: o}).Apply(ctx); err != nil {
		t.Errorf("an owner without a role could not update: %v", err)
	}

	var out bytes.Buffer
	o.TenantID = "" // the consent URL names the signed-in person's tenant
	_, err = (&setup.Setup{Client: admin, Opts: o, Out: &out}).Grant(ctx)
	if !errors.As(err, &rf) || !errors.Is(err, jobs.ErrUsage) || !strings.Contains(err.Error(), "Privileged Role Administrator") {
		t.Errorf("grant without the role: %v", err)
	}
	for _, w := range []string{"/" + s.TenantID() + "/adminconsent?client_id=" + app.AppID, "# Admin consent for m365export"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("grant refused without printing %q:\n%s", w, out.String())
		}
	}
	if g := s.Apps()[0].Granted; len(g) != 0 {
		t.Errorf("refused grant granted %v", g)
	}
}

func TestPlan_PersonSteps(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin)
	o := opts(all...)
	o.MailboxGroup = "analytics-scope@contoso.example"
	rs, err := (&setup.Setup{Client: admin, Opts: o}).Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	setup.Write(&out, "up to date", rs, o.MailboxGroup)
	for _, w := range []string{"https://aka.ms/teamsgraph/requestaccess", "/chats/getAllMessages", "/channels/getAllMessages",
		"New-ApplicationAccessPolicy -AppId " + rs[0].ClientID + " -PolicyScopeGroupId analytics-scope@contoso.example",
		"New-ManagementRoleAssignment -App " + rs[0].ServicePrincipalID, "--include-group",
		"admin consent missing for",
		"New-CsApplicationAccessPolicy -Identity m365export-meetings -AppIds \"" + rs[0].ClientID + "\"",
		"Grant-CsApplicationAccessPolicy -PolicyName m365export-meetings -Global", "msft-teams/online_meetings, msft-teams/meeting_attendance"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("plan output lacks %q:\n%s", w, out.String())
		}
	}
}

// counter counts the requests a client sends, reads and writes apart.
type counter struct {
	next          http.RoundTripper
	reads, writes int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		c.reads++
	} else {
		c.writes++
	}
	return c.next.RoundTrip(r)
}
