package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"m365export/jobs"
	"m365export/sources/entra"
	"m365export/sources/graphsim"
)

// fakeAz puts an `az` on PATH that prints, as `az account get-access-token
// --output json` does, the token in dir/token (the test signs people in
// by writing their emulator token there).
func fakeAz(t *testing.T) (signIn func(token string)) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		"case \"$*\" in *'account get-access-token --resource '*' --output json'*) cat " + filepath.Join(dir, "token.json") + ";; *) echo \"unexpected: $*\" >&2; exit 1;; esac\n"
	writeFile(t, filepath.Join(dir, "az"), []byte(script))
	if err := os.Chmod(filepath.Join(dir, "az"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func(token string) {
		b, _ := json.Marshal(map[string]any{"accessToken": token, "expires_on": time.Now().Add(time.Hour).Unix(), "tokenType": "Bearer"})
		writeFile(t, filepath.Join(dir, "token.json"), b)
	}
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runCmd(args ...string) runResult {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// TestSetup_EmptyTenantToExport goes from an empty emulated tenant (no
// application) through setup plan, apply (refused without the role, then
// twice as a Cloud Application Administrator), check (naming the missing
// consent), grant (refused to a Cloud Application Administrator, then as a
// Privileged Role Administrator), check (naming the missing step for a
// person: the protected Teams APIs), the person's step switched on in the
// emulator, check passing, and an export of every connector, all through
// the application setup made and its federated credential.
func TestSetup_EmptyTenantToExport(t *testing.T) {
	sim, err := graphsim.Start(graphsim.Options{Users: 30, StrictApps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	signIn := fakeAz(t)
	as := func(upn string, roles ...string) {
		tok, err := sim.PersonToken(upn, roles...)
		if err != nil {
			t.Fatal(err)
		}
		signIn(tok)
	}
	conn := jobs.ConnectorNames()
	setupArgs := func(verb string) []string {
		return []string{"setup", verb, "--connector", strings.Join(conn, ","), "--tenant-id", sim.TenantID(),
			"--oidc-issuer", sim.TestIssuer(), "--oidc-subject", graphsim.DefaultSubject,
			"--graph-url", sim.GraphURL(), "--ca-file", ca}
	}

	as("nobody@contoso.example")
	r := runCmd(setupArgs("plan")...)
	if r.code != exitOK || !strings.Contains(r.stdout, `+ application "m365export"`) || !strings.Contains(r.stdout, "step for a person: Teams protected APIs") {
		t.Fatalf("plan: %s", r)
	}
	r = runCmd(setupArgs("apply")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "Cloud Application Administrator") || len(sim.Apps()) != 0 {
		t.Fatalf("apply without a role: %s", r)
	}

	as("admin@contoso.example", graphsim.RoleCloudAppAdmin)
	if r = runCmd(setupArgs("apply")...); r.code != exitOK {
		t.Fatalf("apply: %s", r)
	}
	if r = runCmd(setupArgs("apply")...); r.code != exitOK || !strings.Contains(r.stdout, "no changes") || strings.Contains(r.stdout, "\n  + ") {
		t.Fatalf("second apply: %s", r)
	}
	apps := sim.Apps()
	if len(apps) != 1 {
		t.Fatalf("%d applications", len(apps))
	}
	clientID := apps[0].AppID

	tokenFile := filepath.Join(t.TempDir(), "token")
	assertion, err := sim.FederatedToken(graphsim.DefaultSubject, graphsim.AzureADTokenExchange)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, tokenFile, []byte(assertion))
	exporterArgs := func(client string) []string {
		return []string{"--connector", "all", "--tenant-id", sim.TenantID(), "--client-id", client,
			"--auth", "federated-file", "--token-file", tokenFile,
			"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--ca-file", ca,
			"--now", sim.Tenant().Now().Format(time.RFC3339)}
	}
	check := func() runResult { return runCmd(append([]string{"check"}, exporterArgs(clientID)...)...) }

	if r = runCmd(append([]string{"check"}, exporterArgs(apps[0].ObjectID)...)...); r.code != exitUsage || !strings.Contains(r.stdout, "AADSTS700016") {
		t.Errorf("check with the Object ID as client id: %s", r)
	}
	if r = check(); r.code != exitUsage || !strings.Contains(r.stdout, "admin consent has not been granted") {
		t.Errorf("check before grant: %s", r)
	}

	r = runCmd(setupArgs("grant")...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "Privileged Role Administrator") || !strings.Contains(r.stdout, "adminconsent?client_id="+clientID) {
		t.Fatalf("grant without the role: %s", r)
	}
	as("pra@contoso.example", graphsim.RolePrivilegedRoleAdmin)
	if r = runCmd(setupArgs("grant")...); r.code != exitOK {
		t.Fatalf("grant: %s", r)
	}
	if r = runCmd(setupArgs("grant")...); r.code != exitOK || !strings.Contains(r.stdout, "every permission granted") {
		t.Fatalf("second grant: %s", r)
	}

	// The same objects as Terraform, adopting what exists.
	r = runCmd(append(setupArgs("plan")[:1], append([]string{"--emit", "terraform"}, setupArgs("plan")[2:]...)...)...)
	if r.code != exitOK {
		t.Fatalf("setup --emit terraform: %s", r)
	}
	if _, d := hclsyntax.ParseConfig([]byte(r.stdout), "m365export.tf", hcl.InitialPos); d.HasErrors() {
		t.Errorf("emitted terraform does not parse: %v", d)
	}
	if !strings.Contains(r.stdout, `id = "/applications/`+apps[0].ObjectID+`"`) {
		t.Errorf("no import block for the application:\n%s", r.stdout)
	}

	// Consent given; the person's step (Microsoft's approval of the
	// protected Teams APIs) not yet: check names it for both collections.
	r = check()
	if r.code != exitUsage {
		t.Fatalf("check before the protected-API approval: %s", r)
	}
	for _, coll := range []string{"msft-teams/chat_messages", "msft-teams/channel_messages"} {
		if !strings.Contains(r.stdout, "FAIL  "+coll+": 403 Forbidden") {
			t.Errorf("check does not name %s as refused:\n%s", coll, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "FAIL"); n != 2 {
		t.Errorf("%d failures before the approval; want the 2 protected APIs:\n%s", n, r.stdout)
	}

	sim.ApproveProtectedAPIs(clientID)
	if r = check(); r.code != exitOK || strings.Contains(r.stdout, "WARN") {
		t.Fatalf("check after every step: %s", r)
	}

	// An export of every connector through the application setup made.
	dest, state := t.TempDir(), t.TempDir()
	t.Setenv("M365EXPORT_SALT", "setup-test-salt")
	t.Setenv("M365EXPORT_ENCRYPTION_KEY", "setup-test-key")
	r = runCmd(append(exporterArgs(clientID), "--dest", "file://"+dest+"?metadata=skip", "--state", "file://"+state+"?metadata=skip",
		"--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "setup")...)
	if r.code != exitOK {
		t.Fatalf("export: %s", r)
	}
	for _, c := range conn {
		m, _ := filepath.Glob(filepath.Join(dest, c, "*", "dt=*", "*.parquet"))
		if len(m) == 0 {
			t.Errorf("export wrote no Parquet for %s", c)
		}
	}

	// A permission no connector needs, granted by hand: check warns.
	pra, err := sim.PersonToken("pra@contoso.example", graphsim.RolePrivilegedRoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	cl := &entra.Client{GraphURL: sim.GraphURL(), HTTP: sim.HTTPClient(), Token: func(context.Context) (string, error) { return pra, nil }}
	gsp, err := cl.ServicePrincipalByAppID(context.Background(), entra.GraphAppID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(gsp.AppRoles, func(r entra.AppRole) bool { return r.Value == "Directory.Read.All" })
	if _, err := cl.Assign(context.Background(), gsp.ID, apps[0].ServicePrincipal, gsp.AppRoles[i].ID); err != nil {
		t.Fatal(err)
	}
	if r = check(); r.code != exitOK || !strings.Contains(r.stdout, "WARN  the token carries permissions the connectors checked do not need: Directory.Read.All") {
		t.Errorf("check with an extra permission: %s", r)
	}
}

// A scoped application: the exporter's --include-group and the
// application's Exchange scope disagree, check says so; the export skips
// the mailboxes outside with ErrorAccessDenied (never a failed owner).
func TestSetup_MailboxScopeDisagreement(t *testing.T) {
	sim, err := graphsim.Start(graphsim.Options{Users: 30, StrictApps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	signIn := fakeAz(t)
	tok, err := sim.PersonToken("admin@contoso.example", graphsim.RoleCloudAppAdmin, graphsim.RolePrivilegedRoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	signIn(tok)
	for _, verb := range []string{"apply", "grant"} {
		r := runCmd("setup", verb, "--connector", "outlook-mail", "--tenant-id", sim.TenantID(), "--mailbox-group", "scope@contoso.example",
			"--oidc-issuer", sim.TestIssuer(), "--oidc-subject", graphsim.DefaultSubject, "--graph-url", sim.GraphURL(), "--ca-file", ca)
		if r.code != exitOK {
			t.Fatalf("setup %s: %s", verb, r)
		}
		if verb == "apply" && !strings.Contains(r.stdout, "New-ApplicationAccessPolicy") {
			t.Errorf("apply does not print the Exchange step:\n%s", r.stdout)
		}
	}
	clientID := sim.Apps()[0].AppID
	tokenFile := filepath.Join(t.TempDir(), "token")
	assertion, err := sim.FederatedToken(graphsim.DefaultSubject, graphsim.AzureADTokenExchange)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, tokenFile, []byte(assertion))
	// The run names group g; the application is first scoped to another
	// group that lacks some of g's members.
	g, other := scopeGroups(t, sim)
	sim.ScopeMailboxes(clientID, other)
	args := []string{"--connector", "outlook-mail", "--tenant-id", sim.TenantID(), "--client-id", clientID,
		"--auth", "federated-file", "--token-file", tokenFile, "--include-group", sim.Tenant().GroupID(g),
		"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--ca-file", ca,
		"--now", sim.Tenant().Now().Format(time.RFC3339)}
	r := runCmd(append([]string{"check"}, args...)...)
	if !strings.Contains(r.stdout, "WARN  mailbox scope:") || !strings.Contains(r.stdout, "answer ErrorAccessDenied") {
		t.Errorf("check does not report the disagreement: %s", r)
	}
	sim.ScopeMailboxes(clientID, g)
	r = runCmd(append([]string{"check"}, args...)...)
	if strings.Contains(r.stdout, "WARN  mailbox scope:") || !strings.Contains(r.stdout, "ok    mailbox scope") {
		t.Errorf("check with agreeing scopes: %s", r)
	}

	sim.ScopeMailboxes(clientID, other)
	dest, state := t.TempDir(), t.TempDir()
	t.Setenv("M365EXPORT_SALT", "setup-test-salt")
	t.Setenv("M365EXPORT_ENCRYPTION_KEY", "setup-test-key")
	r = runCmd(append(args, "--dest", "file://"+dest+"?metadata=skip", "--state", "file://"+state+"?metadata=skip",
		"--since", "2026-11-25", "--until", "2026-11-26", "--run-id", "scoped")...)
	if r.code == exitPartial || r.code == exitFailed {
		t.Fatalf("export with mailboxes outside the scope: %s", r)
	}
	runs, _ := filepath.Glob(filepath.Join(dest, "outlook-mail", "_runs", "scoped", "*.json"))
	if len(runs) == 0 {
		t.Fatalf("no run summary; %s", r)
	}
	b, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ErrorAccessDenied")) || !bytes.Contains(b, []byte(`"skipped"`)) {
		t.Errorf("the ledger does not record the scoped-out mailboxes as skipped with ErrorAccessDenied:\n%.2000s", b)
	}
}

// scopeGroups picks a group g (not All Company) with at least three
// members, none of them a user whose mailbox the emulator's tenant denies
// by policy, and another group lacking at least one of g's members.
func scopeGroups(t *testing.T, sim *graphsim.Server) (g, other int) {
	t.Helper()
	tn := sim.Tenant()
	members := func(g int) map[int]bool {
		out := map[int]bool{}
		for _, rec := range tn.Records("group_members", tn.GroupID(g), time.Time{}, time.Time{}, nil) {
			var m struct{ ID string }
			if err := json.Unmarshal(rec, &m); err != nil {
				t.Fatal(err)
			}
			if u, ok := tn.UserIndex(m.ID); ok {
				out[u] = true
			}
		}
		return out
	}
	for g = 1; g < tn.Groups(); g++ {
		mg := members(g)
		if len(mg) < 3 || slices.ContainsFunc(keys(mg), func(u int) bool { return u%50 == 23 }) {
			continue
		}
		for other = 1; other < tn.Groups(); other++ {
			mo := members(other)
			if other != g && slices.ContainsFunc(keys(mg), func(u int) bool { return !mo[u] }) {
				return g, other
			}
		}
	}
	t.Fatal("no pair of groups fits")
	return 0, 0
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// --emit terraform without signing in: a configuration without import
// blocks; bad input exits 2 before any sign-in.
func TestSetup_EmitOfflineAndBadInput(t *testing.T) {
	r := runCmd("setup", "--emit", "terraform", "--connector", "entra-id", "--sign-in", "none")
	if r.code != exitOK || !strings.Contains(r.stdout, `resource "azuread_application" "m365export"`) || strings.Contains(r.stdout, "import {") {
		t.Errorf("offline emit: %s", r)
	}
	for _, args := range [][]string{
		{"setup", "apply", "--connector", "nope", "--sign-in", "none"},
		{"setup", "apply", "--connector", "entra-id", "--sign-in", "none"},
		{"setup", "destroy", "--connector", "entra-id"},
		{"setup", "plan", "--connector", "entra-id", "--aws-identity-id", "x"},
		{"setup", "plan"},
		{"setup", "--emit", "pulumi", "--connector", "entra-id"},
	} {
		if r := runCmd(args...); r.code != exitUsage || r.stderr == "" {
			t.Errorf("%q: %s", args, r)
		}
	}
}
