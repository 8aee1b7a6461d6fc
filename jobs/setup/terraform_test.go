package setup_test

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"m365export/jobs/setup"
	"m365export/sources/graphsim"
)

// v3Arguments are the arguments of azuread provider 3.x's resources and
// data sources the configuration uses, as their documentation names them;
// v2Only are names version 3 removed or renamed.
var v3Arguments = map[string][]string{
	"azuread_application":                               {"display_name", "sign_in_audience", "owners", "required_resource_access"},
	"azuread_service_principal":                         {"client_id", "owners"},
	"azuread_application_federated_identity_credential": {"application_id", "display_name", "description", "issuer", "subject", "audiences"},
	"azuread_app_role_assignment":                       {"app_role_id", "principal_object_id", "resource_object_id"},
}

var v2Only = []string{"application_object_id", ".application_id"}

func TestEmitTerraform_MatchesWhatApplyCreated(t *testing.T) {
	ctx := context.Background()
	s := startSim(t)
	admin := person(t, s, "admin@contoso.example", graphsim.RoleCloudAppAdmin, graphsim.RolePrivilegedRoleAdmin)
	o := opts(all...)
	o.Federated = append(o.Federated, setup.OIDC("https://k8s.example/issuer", "system:serviceaccount:m365:exporter", ""))
	su := &setup.Setup{Client: admin, Opts: o}
	if _, err := su.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := su.Grant(ctx); err != nil {
		t.Fatal(err)
	}
	app := s.Apps()[0]

	var buf bytes.Buffer
	if err := su.EmitTerraform(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	src := buf.Bytes()
	for _, bad := range v2Only {
		if bytes.Contains(src, []byte(bad)) {
			t.Errorf("configuration uses version 2's %q", bad)
		}
	}
	f, diags := hclsyntax.ParseConfig(src, "m365export.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %v\n%s", diags, src)
	}
	body := f.Body.(*hclsyntax.Body)

	str := func(b *hclsyntax.Body, name string) string {
		t.Helper()
		a, ok := b.Attributes[name]
		if !ok {
			t.Errorf("missing attribute %s", name)
			return ""
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() || v.Type() != cty.String {
			return "<expr>" // not a literal string
		}
		return v.AsString()
	}
	strList := func(b *hclsyntax.Body, name string) []string {
		v, d := b.Attributes[name].Expr.Value(nil)
		if d.HasErrors() {
			t.Fatalf("%s: %v", name, d)
		}
		var out []string
		for _, e := range v.AsValueSlice() {
			out = append(out, e.AsString())
		}
		return out
	}
	// traversal renders an expression such as x.y["k"].
	traversal := func(e hclsyntax.Expression) string {
		return strings.TrimSpace(string(e.Range().SliceBytes(src)))
	}

	byType := map[string][]*hclsyntax.Block{}
	var imports []*hclsyntax.Block
	var version string
	for _, b := range body.Blocks {
		switch b.Type {
		case "resource":
			byType[b.Labels[0]] = append(byType[b.Labels[0]], b)
			var names []string
			for n := range b.Body.Attributes {
				names = append(names, n)
			}
			for _, n := range names {
				if !slices.Contains(v3Arguments[b.Labels[0]], n) {
					t.Errorf("%s.%s: attribute %s is not an argument of azuread 3.x", b.Labels[0], b.Labels[1], n)
				}
			}
		case "import":
			imports = append(imports, b)
		case "terraform":
			for _, rp := range b.Body.Blocks {
				if rp.Type == "required_providers" {
					v, d := rp.Body.Attributes["azuread"].Expr.Value(nil)
					if d.HasErrors() {
						t.Fatal(d)
					}
					version = v.GetAttr("version").AsString()
					if src := v.GetAttr("source").AsString(); src != "hashicorp/azuread" {
						t.Errorf("provider source %s", src)
					}
				}
			}
		}
	}
	if version != "~> 3.0" {
		t.Errorf("provider pinned to %q; want ~> 3.0", version)
	}

	apps := byType["azuread_application"]
	if len(apps) != 1 || str(apps[0].Body, "display_name") != app.DisplayName || str(apps[0].Body, "sign_in_audience") != "AzureADMyOrg" {
		t.Fatalf("azuread_application: %d blocks", len(apps))
	}
	var requested []string
	for _, rra := range apps[0].Body.Blocks {
		if rra.Type != "required_resource_access" || str(rra.Body, "resource_app_id") != graphsim.GraphAppID {
			t.Errorf("block %s", rra.Type)
			continue
		}
		for _, ra := range rra.Body.Blocks {
			id := traversal(ra.Body.Attributes["id"].Expr)
			k, ok := strings.CutPrefix(id, `data.azuread_service_principal.msgraph.app_role_ids["`)
			if !ok || str(ra.Body, "type") != "Role" {
				t.Errorf("resource_access id %s", id)
			}
			requested = append(requested, strings.TrimSuffix(k, `"]`))
		}
	}
	sort.Strings(requested)
	if !slices.Equal(requested, app.Permissions) {
		t.Errorf("terraform requests %v; apply requested %v", requested, app.Permissions)
	}

	sps := byType["azuread_service_principal"]
	if len(sps) != 1 || traversal(sps[0].Body.Attributes["client_id"].Expr) != "azuread_application."+apps[0].Labels[1]+".client_id" {
		t.Errorf("azuread_service_principal: %d blocks", len(sps))
	}

	var fics []graphsim.Federation
	for _, b := range byType["azuread_application_federated_identity_credential"] {
		if traversal(b.Body.Attributes["application_id"].Expr) != "azuread_application."+apps[0].Labels[1]+".id" {
			t.Errorf("%s: application_id %s", b.Labels[1], traversal(b.Body.Attributes["application_id"].Expr))
		}
		auds := strList(b.Body, "audiences")
		if len(auds) != 1 {
			t.Fatalf("audiences %v", auds)
		}
		fics = append(fics, graphsim.Federation{Issuer: str(b.Body, "issuer"), Subject: str(b.Body, "subject"), Audience: auds[0]})
	}
	if !slices.Equal(fics, app.Federated) {
		t.Errorf("terraform credentials %+v; apply made %+v", fics, app.Federated)
	}

	var granted []string
	for _, b := range byType["azuread_app_role_assignment"] {
		id := traversal(b.Body.Attributes["app_role_id"].Expr)
		k, _ := strings.CutPrefix(id, `data.azuread_service_principal.msgraph.app_role_ids["`)
		granted = append(granted, strings.TrimSuffix(k, `"]`))
		if traversal(b.Body.Attributes["principal_object_id"].Expr) != "azuread_service_principal."+sps[0].Labels[1]+".object_id" ||
			traversal(b.Body.Attributes["resource_object_id"].Expr) != "data.azuread_service_principal.msgraph.object_id" {
			t.Errorf("%s: principal or resource", b.Labels[1])
		}
	}
	sort.Strings(granted)
	if !slices.Equal(granted, app.Granted) {
		t.Errorf("terraform assigns %v; grant assigned %v", granted, app.Granted)
	}

	// Import blocks for everything that exists, by the provider's ids.
	ids := map[string]string{}
	for _, b := range imports {
		ids[traversal(b.Body.Attributes["to"].Expr)] = str(b.Body, "id")
	}
	n := apps[0].Labels[1]
	if ids["azuread_application."+n] != "/applications/"+app.ObjectID || ids["azuread_service_principal."+n] != "/servicePrincipals/"+app.ServicePrincipal {
		t.Errorf("imports %v", ids)
	}
	wantImports := 2 + len(app.Federated) + len(app.Granted)
	if len(ids) != wantImports {
		t.Errorf("%d import blocks; want %d", len(ids), wantImports)
	}
	for to, id := range ids {
		switch {
		case strings.HasPrefix(to, "azuread_application_federated_identity_credential."):
			if !strings.HasPrefix(id, app.ObjectID+"/federatedIdentityCredential/") {
				t.Errorf("import %s id %s", to, id)
			}
		case strings.HasPrefix(to, "azuread_app_role_assignment."):
			if !strings.Contains(id, "/appRoleAssignment/") {
				t.Errorf("import %s id %s", to, id)
			}
		}
	}
}

// Without a client (nothing to read), the configuration has no import
// blocks and still parses.
func TestEmitTerraform_Offline(t *testing.T) {
	var buf bytes.Buffer
	if err := (&setup.Setup{Opts: opts("entra-id")}).EmitTerraform(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(buf.Bytes(), "m365export.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "import" {
			t.Error("import block without anything to import")
		}
	}
}
