package setup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"m365export/sources/entra"
)

// TerraformProvider is the azuread provider's version constraint the
// emitted configuration pins: major version 3, whose attribute names it
// uses (client_id on azuread_service_principal, application_id = the
// application's resource id on federated identity credentials; version 2
// had application_id and application_object_id there).
const TerraformProvider = "~> 3.0"

// EmitTerraform writes a Terraform configuration for the azuread provider
// that creates the objects Apply and Grant make (application, service
// principal, federated identity credentials, app role assignments), from
// the same declaration, with import blocks (Terraform 1.5 and later) for
// the objects that already exist, so that Terraform adopts them instead of
// creating duplicates. Reading what exists needs Client; with a nil Client
// the configuration has no import blocks.
func (s *Setup) EmitTerraform(ctx context.Context, w io.Writer) error {
	wants, err := Desired(s.Opts)
	if err != nil {
		return err
	}
	var g *graphRoles
	if s.Client != nil {
		if g, err = s.graphRoles(ctx); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by m365export setup --emit terraform for %s.
# The same objects as m365export setup apply and grant. terraform apply as a
# Cloud Application Administrator creates the application, its service
# principal and federated credentials; the app role assignments (admin
# consent) need a Privileged Role Administrator.

terraform {
  required_version = ">= 1.5"
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = %s
    }
  }
}

data "azuread_client_config" "current" {}

data "azuread_service_principal" "msgraph" {
  client_id = %s
}
`, strings.Join(s.Opts.Connectors, ", "), hclString(TerraformProvider), hclString(entra.GraphAppID))
	for _, want := range wants {
		var st *state
		if s.Client != nil {
			if st, err = s.find(ctx, want); err != nil {
				return err
			}
		}
		writeApp(&b, want, st, g)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// TerraformName is the resource name of an application's objects.
func TerraformName(displayName string) string {
	var b strings.Builder
	for i, r := range displayName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// PermissionName is the suffix of a permission's app role assignment.
func PermissionName(perm string) string {
	return strings.ToLower(strings.ReplaceAll(perm, ".", "_"))
}

func writeApp(b *strings.Builder, want App, st *state, g *graphRoles) {
	n := TerraformName(want.DisplayName)
	fmt.Fprintf(b, `
resource "azuread_application" %s {
  display_name     = %s
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]

  required_resource_access {
    resource_app_id = %s
`, hclString(n), hclString(want.DisplayName), hclString(entra.GraphAppID))
	for _, p := range want.Permissions {
		fmt.Fprintf(b, `
    resource_access {
      id   = data.azuread_service_principal.msgraph.app_role_ids[%s]
      type = "Role"
    }
`, hclString(p))
	}
	fmt.Fprintf(b, `  }
}

resource "azuread_service_principal" %s {
  client_id = azuread_application.%s.client_id
  owners    = [data.azuread_client_config.current.object_id]
}
`, hclString(n), n)
	for _, f := range want.Federated {
		fmt.Fprintf(b, `
resource "azuread_application_federated_identity_credential" %s {
  application_id = azuread_application.%s.id
  display_name   = %s
  description    = %s
  issuer         = %s
  subject        = %s
  audiences      = [%s]
}
`, hclString(n+"_"+TerraformName(strings.TrimPrefix(f.Name, ManagedPrefix))), n, hclString(f.Name), hclString(f.Description),
			hclString(f.Issuer), hclString(f.Subject), hclString(f.Audience))
	}
	for _, p := range want.Permissions {
		fmt.Fprintf(b, `
resource "azuread_app_role_assignment" %s {
  app_role_id         = data.azuread_service_principal.msgraph.app_role_ids[%s]
  principal_object_id = azuread_service_principal.%s.object_id
  resource_object_id  = data.azuread_service_principal.msgraph.object_id
}
`, hclString(n+"_"+PermissionName(p)), hclString(p), n)
	}
	if st == nil || st.app == nil {
		return
	}
	// Import blocks: the provider's import ids (version 3).
	imp := func(to, id string) {
		fmt.Fprintf(b, "\nimport {\n  to = %s\n  id = %s\n}\n", to, hclString(id))
	}
	imp("azuread_application."+n, "/applications/"+st.app.ID)
	if st.sp != nil {
		imp("azuread_service_principal."+n, "/servicePrincipals/"+st.sp.ID)
	}
	for _, f := range want.Federated {
		i := slices.IndexFunc(st.fics, func(x entra.FederatedCredential) bool { return sameFIC(f, x) })
		if i >= 0 {
			imp("azuread_application_federated_identity_credential."+n+"_"+TerraformName(strings.TrimPrefix(f.Name, ManagedPrefix)),
				st.app.ID+"/federatedIdentityCredential/"+st.fics[i].ID)
		}
	}
	if g == nil {
		return
	}
	for _, p := range want.Permissions {
		i := slices.IndexFunc(st.granted, func(a entra.AppRoleAssignment) bool { return a.ResourceID == g.sp.ID && a.AppRoleID == g.byV[p] })
		if i >= 0 {
			imp("azuread_app_role_assignment."+n+"_"+PermissionName(p), g.sp.ID+"/appRoleAssignment/"+st.granted[i].ID)
		}
	}
}

// hclString quotes s as an HCL string literal (JSON's escapes, and no
// template interpolation).
func hclString(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	q := strings.ReplaceAll(strings.TrimSuffix(buf.String(), "\n"), "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}
