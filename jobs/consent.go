package jobs

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"m365export/jobs/connector"
)

// loginHosts are the login authorities of the national clouds.
var loginHosts = map[string]string{
	"global":   "https://login.microsoftonline.com",
	"usgov-l4": "https://login.microsoftonline.us",
	"usgov-l5": "https://login.microsoftonline.us",
	"china":    "https://login.chinacloudapi.cn",
}

// ConsentOptions name the application an administrator consents for.
type ConsentOptions struct {
	Connectors []string
	Needs      Needs // what the runs read besides their collections
	TenantID   string
	ClientID   string
	Cloud      string
}

// WriteScopes prints the application permissions the connectors need, one
// per line: the superset for one shared Entra ID application.
func WriteScopes(w io.Writer, connectors []string, n Needs) error {
	scopes, err := Scopes(connectors, n)
	if err != nil {
		return err
	}
	for _, s := range scopes {
		fmt.Fprintln(w, s)
	}
	return nil
}

// WriteConsent prints, as Markdown, what an administrator follows to set up
// and consent to the application for the named connectors.
func WriteConsent(w io.Writer, o ConsentOptions) error {
	scopes, err := Scopes(o.Connectors, o.Needs)
	if err != nil {
		return err
	}
	var errs []string
	if o.TenantID == "" {
		errs = append(errs, "--tenant-id is required")
	}
	if o.ClientID == "" {
		errs = append(errs, "--client-id is required (the Application (client) ID)")
	}
	if o.Cloud == "" {
		o.Cloud = "global"
	}
	login, ok := loginHosts[o.Cloud]
	if !ok {
		errs = append(errs, fmt.Sprintf("--cloud %q: want global, usgov-l4, usgov-l5 or china", o.Cloud))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrUsage, strings.Join(errs, "; "))
	}
	consentURL := fmt.Sprintf("%s/%s/adminconsent?client_id=%s", login, url.PathEscape(o.TenantID), url.QueryEscape(o.ClientID))
	fmt.Fprintf(w, `# Admin consent for m365export (%s)

Tenant: %s
Application (client) ID: %s

m365export reads Microsoft 365 metadata for people analytics and writes it
pseudonymized; it never reads mail bodies, attachments or message content
that the rules do not redact. Every permission below is an **Application**
permission (none is Delegated) and every one is read-only.

## 1. Create the application (if not done yet)

Least-privileged role: **Cloud Application Administrator** (only to create the
application; its creator stays its owner).

Entra admin center → App registrations → New registration; single tenant; no
redirect URI. Note the **Application (client) ID** (not the Object ID: the
token endpoint answers AADSTS700016 for an Object ID). Without the portal,
`+"`m365export setup apply`"+` does steps 1 to 3 (see its --help).

## 2. Let the exporter authenticate without a secret

Certificates & secrets → Federated credentials → Add credential:

| platform | issuer | subject | audience |
|---|---|---|---|
| GCP (Cloud Run, GKE) | https://accounts.google.com | the service account's numeric unique id | api://AzureADTokenExchange |
| AWS (Cognito) | https://cognito-identity.amazonaws.com | the Cognito identity id | the identity **pool id** |
| Kubernetes / other OIDC | the cluster's issuer URL | system:serviceaccount:NAMESPACE:NAME | api://AzureADTokenExchange |

## 3. Add the permissions

API permissions → Add a permission → Microsoft Graph → **Application permissions**:

`, strings.Join(o.Connectors, ", "), o.TenantID, o.ClientID)
	for _, s := range scopes {
		fmt.Fprintf(w, "- `%s`\n", s)
	}
	fmt.Fprintf(w, `
## 4. Grant admin consent

Least-privileged role: **Privileged Role Administrator**. Open, signed in as
such an administrator, and accept:

%s

or press "Grant admin consent for <tenant>" on the API permissions page, or
run `+"`m365export setup grant --connector %s`"+` as such an administrator.
`, consentURL, strings.Join(o.Connectors, ","))
	step := 5
	teamsTrouble := ""
	if writeProtected(w, o.Connectors, step) {
		step++
		teamsTrouble = `- 403 Forbidden from getAllMessages: Microsoft has not approved the
  application for the protected Teams APIs (yet): see step 5.
- 402 PaymentRequired: --teams-model A, and the user (or a member of the
  team) lacks a licence for model A; model B has no per-user licence
  requirement.
`
	}
	if writeAccessPolicy(w, o.Connectors, o.ClientID, step) {
		teamsTrouble += fmt.Sprintf(`- 403 "No application access policy found for this app." from
  onlineMeetings: the Teams application access policy of step %d is
  missing, not granted to the organizer, or not applied yet.
`, step)
		step++
	}
	fmt.Fprintf(w, `
## %d. Check

    m365export check --connector %s --tenant-id %s --client-id %s

Troubleshooting:
- AADSTS700016 / unauthorized_client: the Object ID was used instead of the
  Application (client) ID, or the tenant id is wrong.
- Authorization_IdentityNotFound: admin consent has not been granted.
- Authorization_RequestDenied right after consent: a token cached from before
  consent; wait for it to expire (up to an hour) or restart, then check again.
- 400 from the token endpoint: the tenant id is wrong.
%s`, step, strings.Join(o.Connectors, ","), o.TenantID, o.ClientID, teamsTrouble)
	return nil
}

// protectedAPIs lists the named connectors' collections that read one of
// Microsoft's protected Teams APIs (connector.Collection.Protected).
func protectedAPIs(names []string) []connector.Table {
	cs, err := connector.Resolve(names)
	if err != nil {
		return nil
	}
	var out []connector.Table
	for _, c := range cs {
		for i := range c.Collections {
			if c.Collections[i].Protected {
				out = append(out, connector.Table{Connector: c, Collection: &c.Collections[i]})
			}
		}
	}
	return out
}

// writeProtected writes, as step n, the request for Microsoft's approval
// of the protected Teams APIs the connectors read (graph-api-notes §8
// fact 3), if they read any, and reports whether it did.
func writeProtected(w io.Writer, names []string, n int) bool {
	ts := protectedAPIs(names)
	if len(ts) == 0 {
		return false
	}
	fmt.Fprintf(w, `
## %d. Request access to Microsoft's protected Teams APIs

Microsoft must approve the application before it may call these APIs with
application permissions, beyond the permissions and consent above; until
then Graph refuses them with 403, `+"`m365export check`"+` says so, and an export
stops with exit 2. Submit Microsoft's request form,
https://aka.ms/teamsgraph/requestaccess, for the Application (client) ID
above, naming these APIs:

`, n)
	for _, t := range ts {
		fmt.Fprintf(w, "- `GET %s` (%s %s)\n", t.Endpoint(), t.Connector.Name, t.Name)
	}
	fmt.Fprint(w, `
Why: the exporter reads the metadata of chat and channel messages across
the organisation (who wrote to whom and when, replies, reactions and
mentions) for people analytics; the rules remove message text, subjects and
attachments before anything is written. It calls them with the licensing
model of `+"`--teams-model`"+` (default B, whose documented uses include analytics
and insights; A is restricted to security and compliance applications).
Approval is not immediate; run the check below once Microsoft confirms it.
These APIs exist in the global cloud only: in a national cloud the
exporter refuses these collections.
`)
	return true
}

// writeAccessPolicy writes, as step n, the Teams application access policy
// the connectors' online meeting collections need
// (connector.Collection.DeniedAdvice), if they read any, and reports
// whether it did.
func writeAccessPolicy(w io.Writer, names []string, clientID string, n int) bool {
	cs, err := connector.Resolve(names)
	if err != nil {
		return false
	}
	var ts []connector.Table
	for _, c := range cs {
		for i := range c.Collections {
			if c.Collections[i].DeniedAdvice != "" {
				ts = append(ts, connector.Table{Connector: c, Collection: &c.Collections[i]})
			}
		}
	}
	if len(ts) == 0 {
		return false
	}
	fmt.Fprintf(w, `
## %d. Allow the application to read online meetings

Reading online meetings and their attendance reports with application
permissions needs, besides the permissions above, a Teams application access
policy that names the application (Microsoft: "Configure application access
policy"). A Teams administrator runs, in PowerShell with the MicrosoftTeams
module:

    Connect-MicrosoftTeams
    New-CsApplicationAccessPolicy -Identity m365export-meetings -AppIds "%s" -Description "m365export: online meetings and attendance"
    Grant-CsApplicationAccessPolicy -PolicyName m365export-meetings -Global

To cover only some organizers, grant it per user instead of -Global:

    Grant-CsApplicationAccessPolicy -PolicyName m365export-meetings -Identity "<user object id>"

A policy can take up to 30 minutes to apply. Until it does, Graph answers
403 ("No application access policy found for this app."): `+"`m365export check`"+`
says so, an organizer the policy does not cover is skipped (in the ledger
with Graph's code), and an export whose every organizer is refused stops
with exit 2. The collections that need it:

`, n, clientID)
	for _, t := range ts {
		fmt.Fprintf(w, "- %s %s (`GET %s` and the requests it leads to)\n", t.Connector.Name, t.Name, t.Endpoint())
	}
	return true
}
