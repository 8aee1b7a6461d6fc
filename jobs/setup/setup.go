// Package setup is "m365export setup": the Entra ID application the
// exporter runs as, made from the connectors' declaration (issue 17).
//
// Desired state comes from the registry (the least-privileged permissions
// the connectors need, jobs.Scopes) and the command line (federated
// identity credentials, one application for all connectors or one per
// connector). Plan compares it with what Graph holds and lists the changes,
// including permissions and credentials the application no longer needs;
// Apply makes them, so that a second Apply changes nothing; Grant assigns
// the permissions to the service principal (the admin consent). Steps that
// are not Graph calls (Microsoft's approval for the protected Teams APIs,
// an Exchange Online scope for mailboxes) are listed for a person. A
// refusal (Graph's 403) names the directory role to ask for; nothing is
// pre-checked.
package setup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"

	"m365export/jobs"
	"m365export/jobs/connector"
	"m365export/sources/entra"
)

// ManagedPrefix starts the name of every federated identity credential
// setup manages; those with other names are someone else's and kept.
const ManagedPrefix = "m365export-"

// Federated is a federated identity credential to create.
type Federated struct {
	Name, Issuer, Subject, Audience, Description string
}

// GCP trusts a Google service account (its numeric unique id), as Cloud
// Run and GKE present it.
func GCP(serviceAccountID string) Federated {
	return Federated{Name: ManagedPrefix + "gcp", Issuer: "https://accounts.google.com", Subject: serviceAccountID,
		Audience: "api://AzureADTokenExchange", Description: "m365export on GCP: service account " + serviceAccountID}
}

// AWS trusts an Amazon Cognito identity: subject the identity id, audience
// the identity pool id.
func AWS(identityID, poolID string) Federated {
	return Federated{Name: ManagedPrefix + "aws", Issuer: "https://cognito-identity.amazonaws.com", Subject: identityID,
		Audience: poolID, Description: "m365export on AWS: Cognito identity " + identityID}
}

// OIDC trusts another issuer (a Kubernetes cluster's, for instance);
// audience "" is api://AzureADTokenExchange.
func OIDC(issuer, subject, audience string) Federated {
	if audience == "" {
		audience = "api://AzureADTokenExchange"
	}
	return Federated{Name: ManagedPrefix + "oidc", Issuer: issuer, Subject: subject, Audience: audience,
		Description: "m365export: " + subject}
}

// Options are what setup is asked for.
type Options struct {
	Connectors []string
	Needs      jobs.Needs
	// PerConnector makes one application per connector (psoxy's default)
	// instead of one for all.
	PerConnector bool
	// DisplayName of the application (default "m365export"; per connector
	// "m365export-<connector>").
	DisplayName string
	// Adopt is the Application (client) ID or Object ID of an existing
	// application to manage (one application only).
	Adopt string
	// Federated are the credentials the application trusts.
	Federated []Federated
	// MailboxGroup is the group (its mail address) that Exchange Online
	// limits the application's mailbox access to; "" for none. The runs
	// then scope users by that group (--include-group), so it implies
	// Needs.GroupScope.
	MailboxGroup string
	// TenantID and LoginHost give the admin-consent URL.
	TenantID, LoginHost string
}

// App is one application as desired.
type App struct {
	DisplayName string
	Connectors  []string
	Permissions []string // Graph application permissions, sorted
	Federated   []Federated
}

// Desired lists the applications the options ask for.
func Desired(o Options) ([]App, error) {
	if len(o.Connectors) == 0 {
		return nil, fmt.Errorf("%w: --connector is required", jobs.ErrUsage)
	}
	cs, err := connector.Resolve(o.Connectors)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jobs.ErrUsage, err)
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	groups := [][]string{names}
	if o.PerConnector {
		if o.Adopt != "" && len(names) > 1 {
			return nil, fmt.Errorf("%w: --adopt names one application; with --per-connector give one connector", jobs.ErrUsage)
		}
		groups = nil
		for _, n := range names {
			groups = append(groups, []string{n})
		}
	}
	if o.MailboxGroup != "" {
		// The runs name the scope's group with --include-group: they read
		// its members.
		o.Needs.GroupScope = true
	}
	seen := map[string]bool{}
	for _, f := range o.Federated {
		if f.Issuer == "" || f.Subject == "" || f.Audience == "" {
			return nil, fmt.Errorf("%w: federated credential %s needs an issuer, a subject and an audience", jobs.ErrUsage, f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: two federated credentials named %s", jobs.ErrUsage, f.Name)
		}
		seen[f.Name] = true
	}
	var out []App
	for _, g := range groups {
		perms, err := jobs.Scopes(g, o.Needs)
		if err != nil {
			return nil, err
		}
		sort.Strings(perms)
		name := o.DisplayName
		switch {
		case name == "" && o.PerConnector:
			name = "m365export-" + g[0]
		case name == "":
			name = "m365export"
		case o.PerConnector:
			name += "-" + g[0]
		}
		out = append(out, App{DisplayName: name, Connectors: g, Permissions: perms, Federated: o.Federated})
	}
	return out, nil
}

// Setup runs plan, apply and grant against Graph as a signed-in person.
type Setup struct {
	Client *entra.Client
	Opts   Options
	// Out receives the plan and what was done.
	Out io.Writer
}

// Refusal is Graph's 403 for an operation, with the directory role that
// would allow it. It wraps jobs.ErrUsage (exit 2): retrying will not help,
// a person with the role will.
type Refusal struct {
	Op    string // what was refused, e.g. "create the application"
	Roles string // the roles to ask for, least-privileged first
	Err   error
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s: Graph refused to %s (%v): sign in as %s", jobs.ErrUsage, r.Op, r.Err, r.Roles)
}

func (r *Refusal) Unwrap() []error { return []error{jobs.ErrUsage, r.Err} }

// The roles to name in refusals: psoxy's setup guide and Microsoft's
// least-privileged roles by task.
const (
	rolesCreate = "a Cloud Application Administrator (the least-privileged role that creates applications; " +
		"where users may not register applications, an Application Developer also may), then remove the role: the caller stays the application's owner"
	rolesChange = "an owner of the application (no directory role needed) or a Cloud Application Administrator"
	rolesGrant  = "a Privileged Role Administrator (the least-privileged role that grants Microsoft Graph's application permissions)"
)

func refuse(op, roles string, err error) error {
	if entra.IsDenied(err) {
		return &Refusal{Op: op, Roles: roles, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// state is what Graph holds for one desired application.
type state struct {
	want    App
	app     *entra.Application
	fics    []entra.FederatedCredential
	owners  []entra.DirectoryObject
	sp      *entra.ServicePrincipal
	granted []entra.AppRoleAssignment
}

// graphRoles resolves permission names to Graph's app role ids.
type graphRoles struct {
	sp   *entra.ServicePrincipal
	byV  map[string]string
	byID map[string]string
}

func (s *Setup) graphRoles(ctx context.Context) (*graphRoles, error) {
	sp, err := s.Client.ServicePrincipalByAppID(ctx, entra.GraphAppID)
	if err != nil {
		return nil, fmt.Errorf("read Microsoft Graph's service principal: %w", err)
	}
	if sp == nil {
		return nil, errors.New("the tenant has no service principal for Microsoft Graph (appId " + entra.GraphAppID + ")")
	}
	g := &graphRoles{sp: sp, byV: map[string]string{}, byID: map[string]string{}}
	for _, r := range sp.AppRoles {
		if r.IsEnabled && slices.Contains(r.AllowedMemberTypes, "Application") {
			g.byV[r.Value] = r.ID
			g.byID[r.ID] = r.Value
		}
	}
	return g, nil
}

func (g *graphRoles) ids(perms []string) ([]string, error) {
	out := make([]string, len(perms))
	for i, p := range perms {
		id, ok := g.byV[p]
		if !ok {
			return nil, fmt.Errorf("no application permission %q among those Microsoft Graph publishes", p)
		}
		out[i] = id
	}
	return out, nil
}

// find reads the current state of a desired application.
func (s *Setup) find(ctx context.Context, want App) (*state, error) {
	st := &state{want: want}
	var err error
	switch {
	case s.Opts.Adopt != "":
		st.app, err = s.Client.ApplicationByAppID(ctx, s.Opts.Adopt)
		if entra.IsNotFound(err) {
			st.app, err = s.Client.Application(ctx, s.Opts.Adopt)
		}
		if entra.IsNotFound(err) {
			return nil, fmt.Errorf("%w: --adopt %s: no application with that Application (client) ID or Object ID", jobs.ErrUsage, s.Opts.Adopt)
		}
		if err != nil {
			return nil, fmt.Errorf("read application %s: %w", s.Opts.Adopt, err)
		}
	default:
		apps, err := s.Client.ApplicationsNamed(ctx, want.DisplayName)
		if err != nil {
			return nil, fmt.Errorf("look up application %q: %w", want.DisplayName, err)
		}
		switch len(apps) {
		case 0:
		case 1:
			st.app = &apps[0]
		default:
			return nil, fmt.Errorf("%w: %d applications are named %q: name the one to manage with --adopt (its Application (client) ID)", jobs.ErrUsage, len(apps), want.DisplayName)
		}
	}
	if st.app == nil {
		return st, nil
	}
	if st.fics, err = s.Client.FederatedCredentials(ctx, st.app.ID); err != nil {
		return nil, fmt.Errorf("read federated credentials of %s: %w", st.app.AppID, err)
	}
	if st.owners, err = s.Client.Owners(ctx, st.app.ID); err != nil {
		return nil, fmt.Errorf("read owners of %s: %w", st.app.AppID, err)
	}
	if st.sp, err = s.Client.ServicePrincipalByAppID(ctx, st.app.AppID); err != nil {
		return nil, fmt.Errorf("read service principal of %s: %w", st.app.AppID, err)
	}
	if st.sp != nil {
		if st.granted, err = s.Client.AppRoleAssignments(ctx, st.sp.ID); err != nil {
			return nil, fmt.Errorf("read permissions granted to %s: %w", st.app.AppID, err)
		}
	}
	return st, nil
}

// Change is one difference between what is desired and what Graph holds.
type Change struct {
	// Op is "+" (create or add), "~" (update) or "-" (remove).
	Op, What string
}

func (c Change) String() string { return c.Op + " " + c.What }

// Result is what Plan found, or Apply or Grant did, for one application.
type Result struct {
	App                 App
	ObjectID, ClientID  string // "" while the application does not exist
	ServicePrincipalID  string
	Changes             []Change
	ungrantedPermission []string
}

// Plan lists the changes Apply would make, without making any.
func (s *Setup) Plan(ctx context.Context) ([]Result, error) { return s.run(ctx, false) }

// Apply makes the changes Plan lists.
func (s *Setup) Apply(ctx context.Context) ([]Result, error) { return s.run(ctx, true) }

func (s *Setup) run(ctx context.Context, apply bool) ([]Result, error) {
	wants, err := Desired(s.Opts)
	if err != nil {
		return nil, err
	}
	g, err := s.graphRoles(ctx)
	if err != nil {
		return nil, err
	}
	me, err := s.Client.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the signed-in person: %w", err)
	}
	var out []Result
	for _, want := range wants {
		roleIDs, err := g.ids(want.Permissions)
		if err != nil {
			return out, err
		}
		st, err := s.find(ctx, want)
		if err != nil {
			return out, err
		}
		r, err := s.reconcile(ctx, st, g, roleIDs, me.ID, apply)
		out = append(out, r)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// reconcile diffs one application and, when apply, makes the changes.
func (s *Setup) reconcile(ctx context.Context, st *state, g *graphRoles, roleIDs []string, me string, apply bool) (Result, error) {
	want := st.want
	r := Result{App: want}
	add := func(op, what string) { r.Changes = append(r.Changes, Change{op, what}) }
	c := s.Client

	// The application and its requested permissions.
	if st.app == nil {
		add("+", fmt.Sprintf("application %q requesting %s", want.DisplayName, strings.Join(want.Permissions, ", ")))
		if apply {
			a, err := c.CreateApplication(ctx, entra.Application{DisplayName: want.DisplayName, SignInAudience: "AzureADMyOrg",
				RequiredResourceAccess: setGraphRoles(nil, roleIDs)})
			if err != nil {
				return r, refuse("create the application", rolesCreate, err)
			}
			st.app = a
			if st.owners, err = c.Owners(ctx, a.ID); err != nil {
				return r, fmt.Errorf("read owners of %s: %w", a.AppID, err)
			}
		}
	} else {
		have := requestedRoles(st.app.RequiredResourceAccess)
		for _, id := range roleIDs {
			if !slices.Contains(have, id) {
				add("+", "permission "+g.byID[id]+" (requested)")
			}
		}
		for _, id := range have {
			if !slices.Contains(roleIDs, id) {
				add("-", "permission "+roleName(g, id)+" (no longer needed)")
			}
		}
		if changed(have, roleIDs) && apply {
			if err := c.SetRequiredResourceAccess(ctx, st.app.ID, setGraphRoles(st.app.RequiredResourceAccess, roleIDs)); err != nil {
				return r, refuse("change the application's permissions", rolesChange, err)
			}
		}
	}
	if st.app != nil {
		r.ObjectID, r.ClientID = st.app.ID, st.app.AppID
	}

	// The caller as owner, so that the directory role can be removed.
	// (Creating the application makes its creator an owner.)
	if st.app != nil && !slices.ContainsFunc(st.owners, func(o entra.DirectoryObject) bool { return o.ID == me }) {
		add("+", "owner: the signed-in person")
		if apply {
			if err := c.AddOwner(ctx, st.app.ID, me); err != nil {
				return r, refuse("add the signed-in person as owner", rolesChange, err)
			}
		}
	}

	// Federated identity credentials: remove managed ones no longer wanted
	// (first: a new one may reuse the name), then add the missing.
	for _, f := range st.fics {
		if !strings.HasPrefix(f.Name, ManagedPrefix) || slices.ContainsFunc(want.Federated, func(w Federated) bool { return sameFIC(w, f) }) {
			continue
		}
		add("-", fmt.Sprintf("federated credential %s (issuer %s, subject %s; no longer needed)", f.Name, f.Issuer, f.Subject))
		if apply {
			if err := c.DeleteFederatedCredential(ctx, st.app.ID, f.ID); err != nil {
				return r, refuse("remove federated credential "+f.Name, rolesChange, err)
			}
		}
	}
	for _, w := range want.Federated {
		if slices.ContainsFunc(st.fics, func(f entra.FederatedCredential) bool { return sameFIC(w, f) }) {
			continue
		}
		add("+", fmt.Sprintf("federated credential %s (issuer %s, subject %s, audience %s)", w.Name, w.Issuer, w.Subject, w.Audience))
		if apply {
			_, err := c.AddFederatedCredential(ctx, st.app.ID, entra.FederatedCredential{Name: w.Name, Issuer: w.Issuer,
				Subject: w.Subject, Audiences: []string{w.Audience}, Description: w.Description})
			if err != nil {
				return r, refuse("add federated credential "+w.Name, rolesChange, err)
			}
		}
	}

	// The service principal.
	if st.sp == nil {
		add("+", "service principal")
		if apply {
			sp, err := c.CreateServicePrincipal(ctx, st.app.AppID)
			if err != nil {
				return r, refuse("create the service principal", rolesChange, err)
			}
			st.sp = sp
		}
	}
	if st.sp != nil {
		r.ServicePrincipalID = st.sp.ID
	}
	r.ungrantedPermission = ungranted(st, g, want.Permissions)
	return r, nil
}

func sameFIC(w Federated, f entra.FederatedCredential) bool {
	return w.Name == f.Name && w.Issuer == f.Issuer && w.Subject == f.Subject && len(f.Audiences) == 1 && f.Audiences[0] == w.Audience
}

func roleName(g *graphRoles, id string) string {
	if v, ok := g.byID[id]; ok {
		return v
	}
	return id
}

// requestedRoles are the Graph app role ids an application requests.
func requestedRoles(rra []entra.RequiredResourceAccess) []string {
	var out []string
	for _, r := range rra {
		if r.ResourceAppID != entra.GraphAppID {
			continue
		}
		for _, a := range r.ResourceAccess {
			if a.Type == "Role" {
				out = append(out, a.ID)
			}
		}
	}
	return out
}

func changed(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return !slices.Equal(a, b)
}

// setGraphRoles returns rra with Graph's application permissions replaced
// by roleIDs; other resources and delegated scopes stay as they are.
func setGraphRoles(rra []entra.RequiredResourceAccess, roleIDs []string) []entra.RequiredResourceAccess {
	out := []entra.RequiredResourceAccess{}
	graph := entra.RequiredResourceAccess{ResourceAppID: entra.GraphAppID, ResourceAccess: []entra.ResourceAccess{}}
	for _, r := range rra {
		if r.ResourceAppID != entra.GraphAppID {
			out = append(out, r)
			continue
		}
		for _, a := range r.ResourceAccess {
			if a.Type != "Role" {
				graph.ResourceAccess = append(graph.ResourceAccess, a)
			}
		}
	}
	for _, id := range roleIDs {
		graph.ResourceAccess = append(graph.ResourceAccess, entra.ResourceAccess{ID: id, Type: "Role"})
	}
	return append(out, graph)
}

// ungranted lists the wanted permissions not yet assigned.
func ungranted(st *state, g *graphRoles, perms []string) []string {
	var out []string
	for _, p := range perms {
		if !slices.ContainsFunc(st.granted, func(a entra.AppRoleAssignment) bool {
			return a.ResourceID == g.sp.ID && a.AppRoleID == g.byV[p]
		}) {
			out = append(out, p)
		}
	}
	return out
}

// Grant assigns each application's permissions to its service principal
// (admin consent) and revokes Graph permissions it no longer needs.
// Without the role it writes the admin-consent URL and the consent
// document to Out and returns the Refusal.
func (s *Setup) Grant(ctx context.Context) ([]Result, error) {
	wants, err := Desired(s.Opts)
	if err != nil {
		return nil, err
	}
	g, err := s.graphRoles(ctx)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, want := range wants {
		st, err := s.find(ctx, want)
		if err != nil {
			return out, err
		}
		if st.app == nil || st.sp == nil {
			return out, fmt.Errorf("%w: application %q has no service principal yet: run m365export setup apply first", jobs.ErrUsage, want.DisplayName)
		}
		r := Result{App: want, ObjectID: st.app.ID, ClientID: st.app.AppID, ServicePrincipalID: st.sp.ID}
		roleIDs, err := g.ids(want.Permissions)
		if err != nil {
			return out, err
		}
		for i, id := range roleIDs {
			if slices.ContainsFunc(st.granted, func(a entra.AppRoleAssignment) bool { return a.ResourceID == g.sp.ID && a.AppRoleID == id }) {
				continue
			}
			r.Changes = append(r.Changes, Change{"+", "grant " + want.Permissions[i]})
			if _, err := s.Client.Assign(ctx, g.sp.ID, st.sp.ID, id); err != nil {
				out = append(out, r)
				return out, s.grantRefused(ctx, want, st.app.AppID, err)
			}
		}
		for _, a := range st.granted {
			if a.ResourceID != g.sp.ID || slices.Contains(roleIDs, a.AppRoleID) {
				continue
			}
			r.Changes = append(r.Changes, Change{"-", "revoke " + roleName(g, a.AppRoleID) + " (no longer needed)"})
			if err := s.Client.Unassign(ctx, g.sp.ID, a.ID); err != nil {
				out = append(out, r)
				return out, s.grantRefused(ctx, want, st.app.AppID, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Setup) grantRefused(ctx context.Context, want App, clientID string, err error) error {
	ref := refuse("grant admin consent to the application's permissions", rolesGrant, err)
	var rf *Refusal
	if errors.As(ref, &rf) && s.Out != nil {
		tenant := s.Opts.TenantID
		if tenant == "" { // the signed-in person's tenant
			if tok, err := s.Client.Token(ctx); err == nil {
				tenant = tokenTenant(tok)
			}
		}
		fmt.Fprintf(s.Out, "Admin consent needs a Privileged Role Administrator. Send them this URL:\n\n  %s\n\nor the document below (m365export consent).\n\n", ConsentURL(s.Opts.LoginHost, tenant, clientID))
		if err := jobs.WriteConsent(s.Out, jobs.ConsentOptions{Connectors: want.Connectors, Needs: s.Opts.Needs, TenantID: tenant, ClientID: clientID}); err != nil {
			return errors.Join(ref, err)
		}
	}
	return ref
}

// tokenTenant reads the tid claim of a JWT access token ("" if none); the
// token is only read, never trusted for anything.
func tokenTenant(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.TID
}

// ConsentURL is the admin-consent URL of an application.
func ConsentURL(loginHost, tenantID, clientID string) string {
	if loginHost == "" {
		loginHost = "https://login.microsoftonline.com"
	}
	return fmt.Sprintf("%s/%s/adminconsent?client_id=%s", strings.TrimSuffix(loginHost, "/"), url.PathEscape(tenantID), url.QueryEscape(clientID))
}

// PersonSteps are the steps outside Graph that the application needs, for
// a person to take: Microsoft's approval of the protected Teams APIs, and
// the Exchange Online scope of its mailbox access when a group is named.
func PersonSteps(a App, clientID, spID, mailboxGroup string) []string {
	if clientID == "" {
		clientID = "<Application (client) ID>"
	}
	if spID == "" {
		spID = "<service principal Object ID>"
	}
	var out []string
	cs, err := connector.Resolve(a.Connectors)
	if err != nil {
		return nil
	}
	var protected, meetings []string
	mailbox := false
	for _, c := range cs {
		for i := range c.Collections {
			col := &c.Collections[i]
			if col.Protected {
				protected = append(protected, connector.Table{Connector: c, Collection: col}.Endpoint())
			}
			if col.DeniedAdvice != "" {
				meetings = append(meetings, c.Name+"/"+col.Name)
			}
		}
		if jobs.ReadsMailboxes(c.Permissions(connector.Needs{})) {
			mailbox = true
		}
	}
	if len(protected) > 0 {
		out = append(out, fmt.Sprintf("Teams protected APIs: request Microsoft's approval for application %s at https://aka.ms/teamsgraph/requestaccess, naming %s (m365export consent gives the reasons to state). Until approved, getAllMessages answers 403 and check says so.",
			clientID, strings.Join(protected, ", ")))
	}
	if len(meetings) > 0 {
		// A Teams application access policy (Microsoft: "Configure
		// application access policy"): the collections that declare
		// DeniedAdvice are refused without it.
		out = append(out, fmt.Sprintf("Teams application access policy for online meetings (Teams PowerShell, as a Teams Administrator), for %s:\n"+
			"      Connect-MicrosoftTeams\n"+
			"      New-CsApplicationAccessPolicy -Identity m365export-meetings -AppIds \"%s\" -Description \"m365export: online meetings and attendance\"\n"+
			"      Grant-CsApplicationAccessPolicy -PolicyName m365export-meetings -Global   (or -Identity \"<user object id>\" per organizer)\n"+
			"    It can take up to 30 minutes to apply; until then Graph answers 403 and check says so.",
			strings.Join(meetings, ", "), clientID))
	}
	if mailbox && mailboxGroup != "" {
		out = append(out, fmt.Sprintf("Exchange Online mailbox scope (Exchange Online PowerShell, as an Exchange Administrator): limit application %s to the mailboxes of %s's members with an application access policy, which restricts the permissions setup grant consents to:\n"+
			"      New-ApplicationAccessPolicy -AppId %s -PolicyScopeGroupId %s -AccessRight RestrictAccess -Description \"m365export\"\n"+
			"    or with RBAC for Applications, Microsoft's successor; its grants are independent of Entra ID's, so then revoke Mail.ReadBasic.All, Calendars.Read and MailboxSettings.Read in Entra ID (the scoped Exchange roles replace them):\n"+
			"      New-ServicePrincipal -AppId %s -ObjectId %s -DisplayName m365export\n"+
			"      New-ManagementScope -Name m365export -RecipientRestrictionFilter \"MemberOfGroup -eq '<distinguished name of %s>'\"\n"+
			"      New-ManagementRoleAssignment -App %s -Role \"Application Mail.ReadBasic\" -CustomResourceScope m365export   (likewise \"Application Calendars.Read\", \"Application MailboxSettings.Read\")\n"+
			"    Run the exporter with --include-group naming the same group: a mailbox outside the scope answers access denied (a skip in the ledger), and check compares the two.",
			clientID, mailboxGroup, clientID, mailboxGroup, clientID, spID, mailboxGroup, spID))
	}
	return out
}

// Write prints results as plan or apply output.
func Write(w io.Writer, verb string, rs []Result, mailboxGroup string) {
	for _, r := range rs {
		id := r.ClientID
		if id == "" {
			id = "(to be created)"
		}
		fmt.Fprintf(w, "application %q, Application (client) ID %s, for %s\n", r.App.DisplayName, id, strings.Join(r.App.Connectors, ", "))
		if len(r.Changes) == 0 {
			fmt.Fprintf(w, "  no changes: %s\n", verb)
		}
		for _, c := range r.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
		if len(r.ungrantedPermission) > 0 {
			fmt.Fprintf(w, "  admin consent missing for %s: m365export setup grant (as a Privileged Role Administrator)\n", strings.Join(r.ungrantedPermission, ", "))
		}
		for _, st := range PersonSteps(r.App, r.ClientID, r.ServicePrincipalID, mailboxGroup) {
			fmt.Fprintf(w, "  step for a person: %s\n", st)
		}
	}
}
