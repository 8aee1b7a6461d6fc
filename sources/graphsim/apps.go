package graphsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The tenant's application objects (Options.StrictApps, issue 17):
// applications, their federated identity credentials and owners, service
// principals, app role assignments and Microsoft Graph's own service
// principal with its app roles, served at Graph's documented paths to people
// signed in with delegated tokens (Server.PersonToken) that carry their
// directory roles (the wids claim). The token endpoint then issues the
// exporter's tokens only to applications created here, with the federated
// credentials set here and the roles granted here.
//
// Who may do what follows Microsoft's least-privileged roles by task, as
// psoxy's setup guide uses them: creating an application needs Application
// Developer, Cloud Application Administrator, Application Administrator or
// Global Administrator (the emulated tenant is one where users may not
// register applications); changing an application or creating its service
// principal needs one of the last three or ownership of the application;
// granting Microsoft Graph's application permissions (app role assignments
// on Graph's service principal) needs Privileged Role Administrator or
// Global Administrator. Without it Graph answers 403
// Authorization_RequestDenied "Insufficient privileges to complete the
// operation.". Assumptions where Microsoft's pages are silent: the app role
// ids of the emulated Graph service principal are the emulator's own (real
// tenants publish other ids; clients resolve them by value, as they must),
// a delegated token's scp is not checked (the Azure CLI's token carries
// the scopes these calls need), the creator of an application becomes its
// owner whatever the role (Microsoft documents it for Application
// Developer), the messages of the 400 and 409 answers are modelled rather
// than quoted, and the application access policy of the emulated tenant
// (its users i mod 50 = 23) applies to every application.

// GraphAppID is the Application (client) ID of Microsoft Graph, the same in
// every tenant.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// Directory roles a person may hold (their display names); PersonToken
// puts their role template ids into the wids claim, as Entra does.
const (
	RoleGlobalAdmin          = "Global Administrator"
	RoleCloudAppAdmin        = "Cloud Application Administrator"
	RoleAppAdmin             = "Application Administrator"
	RoleAppDeveloper         = "Application Developer"
	RolePrivilegedRoleAdmin  = "Privileged Role Administrator"
	msgInsufficientPrivilege = "Insufficient privileges to complete the operation."
)

// roleTemplates are the directory roles' template ids (Microsoft Entra
// built-in roles reference).
var roleTemplates = map[string]string{
	RoleGlobalAdmin:         "62e90394-69f5-4237-9190-012177145e10",
	RoleCloudAppAdmin:       "158c047a-c907-4556-b7ef-446551a6b5f7",
	RoleAppAdmin:            "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	RoleAppDeveloper:        "cf1c38e5-3621-4004-a7cb-879624dced7c",
	RolePrivilegedRoleAdmin: "e8611ab8-c189-46e8-94e1-60213ab1f814",
}

// graphAppRoles are the application permissions Graph's service principal
// publishes in the emulator: every role the connectors use, those that
// imply them, and a few more.
func graphAppRoles() []string {
	set := map[string]bool{}
	for _, r := range AllRoles {
		set[r] = true
	}
	for _, alts := range implied {
		for _, r := range alts {
			set[r] = true
		}
	}
	for _, r := range []string{"Chat.ReadBasic.All", "Mail.Read", "Calendars.ReadBasic.All", "OnlineMeetings.Read.All",
		"OnlineMeetingArtifact.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Sites.Read.All",
		"Files.Read.All", "Reports.Read.All"} {
		set[r] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

type dirApp struct {
	ID             string           `json:"id"`
	AppID          string           `json:"appId"`
	DisplayName    string           `json:"displayName"`
	SignInAudience string           `json:"signInAudience"`
	RRA            []resourceAccess `json:"requiredResourceAccess"`
	fics           []*dirFIC
	owners         []string
}

type resourceAccess struct {
	ResourceAppID  string `json:"resourceAppId"`
	ResourceAccess []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"resourceAccess"`
}

type dirFIC struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description"`
}

type dirSP struct {
	ID          string    `json:"id"`
	AppID       string    `json:"appId"`
	DisplayName string    `json:"displayName"`
	AppRoles    []appRole `json:"appRoles"`
	owners      []string
}

type appRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName"`
	Description        string   `json:"description"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
	Origin             string   `json:"origin"`
}

type dirAssignment struct {
	ID                   string `json:"id"`
	AppRoleID            string `json:"appRoleId"`
	CreatedDateTime      string `json:"createdDateTime"`
	PrincipalID          string `json:"principalId"`
	PrincipalType        string `json:"principalType"`
	PrincipalDisplayName string `json:"principalDisplayName"`
	ResourceID           string `json:"resourceId"`
	ResourceDisplayName  string `json:"resourceDisplayName"`
}

type dirPerson struct {
	ID, UPN string
	roles   []string
}

// directory holds the application objects; nil unless Options.StrictApps.
type directory struct {
	s           *Server
	mu          sync.Mutex
	seq         uint64
	apps        []*dirApp
	sps         []*dirSP
	assignments []*dirAssignment
	people      map[string]*dirPerson // by object id
	graphSP     *dirSP
	approved    map[string]bool // appId → protected Teams APIs approved
	scopes      map[string]int  // appId → the group its mailbox access is scoped to
}

func newDirectory(s *Server) *directory {
	d := &directory{s: s, people: map[string]*dirPerson{}, approved: map[string]bool{}, scopes: map[string]int{}}
	g := &dirSP{ID: d.uuid("sp", GraphAppID), AppID: GraphAppID, DisplayName: "Microsoft Graph"}
	for _, v := range graphAppRoles() {
		g.AppRoles = append(g.AppRoles, appRole{ID: d.uuid("approle", v), Value: v, DisplayName: v, Description: v,
			AllowedMemberTypes: []string{"Application"}, IsEnabled: true, Origin: "Application"})
	}
	d.graphSP = g
	d.sps = append(d.sps, g)
	return d
}

// uuid derives a stable id from the tenant's seed and the parts.
func (d *directory) uuid(parts ...string) string {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(d.s.tenant.seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])
	return string(appendUUID(nil, hi&^0xf000|0x4000, lo&^(3<<62)|1<<63))
}

func (d *directory) next(kind string) string {
	d.seq++
	return d.uuid(kind, fmt.Sprint(d.seq))
}

// PersonToken signs in a person of the tenant's administration (created on
// first use, by user principal name) holding the named directory roles, and
// returns a delegated access token for Graph such as the Azure CLI would
// get for them (valid one hour). It needs Options.StrictApps.
func (s *Server) PersonToken(upn string, roles ...string) (string, error) {
	d := s.dir
	if d == nil {
		return "", fmt.Errorf("graphsim: PersonToken needs Options.StrictApps")
	}
	wids := []string{}
	for _, r := range roles {
		id, ok := roleTemplates[r]
		if !ok {
			return "", fmt.Errorf("graphsim: unknown directory role %q", r)
		}
		wids = append(wids, id)
	}
	d.mu.Lock()
	var p *dirPerson
	for _, q := range d.people {
		if strings.EqualFold(q.UPN, upn) {
			p = q
		}
	}
	if p == nil {
		p = &dirPerson{ID: d.uuid("person", strings.ToLower(upn)), UPN: upn}
		d.people[p.ID] = p
	}
	p.roles = slices.Clone(roles)
	d.mu.Unlock()
	now := s.opts.Clock()
	a := s.auth
	return signES256(a.signKey, map[string]any{"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + a.tenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix() - 300, "exp": now.Add(time.Hour).Unix(), "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		"tid": a.tenantID, "oid": p.ID, "sub": p.ID, "upn": upn, "idtyp": "user", "ver": "1.0", "wids": wids,
		"scp": "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All Directory.AccessAsUser.All"}, nil)
}

// ApproveProtectedAPIs records Microsoft's approval of the application
// (by Application (client) ID) for the protected Teams APIs: with
// Options.StrictApps, getAllMessages answers 403 to an application until
// then, as to every application with Options.TeamsUnapproved.
func (s *Server) ApproveProtectedAPIs(appID string) {
	if s.dir == nil {
		return // without StrictApps, Options.TeamsUnapproved decides
	}
	s.dir.mu.Lock()
	s.dir.approved[appID] = true
	s.dir.mu.Unlock()
}

// ScopeMailboxes limits the application's access to mailboxes (mail,
// calendar, mailbox settings) to the members of group g, as Exchange
// Online's RBAC for Applications or an application access policy does: a
// mailbox outside answers 403 ErrorAccessDenied. g < 0 removes the scope.
// It needs Options.StrictApps (without it, it does nothing).
func (s *Server) ScopeMailboxes(appID string, g int) {
	if s.dir == nil {
		return // needs StrictApps
	}
	s.dir.mu.Lock()
	if g < 0 {
		delete(s.dir.scopes, appID)
	} else {
		s.dir.scopes[appID] = g
	}
	s.dir.mu.Unlock()
}

// AppInfo is what the emulator holds about an application setup created.
type AppInfo struct {
	ObjectID, AppID, DisplayName string
	// Permissions are the Graph application permissions the application
	// requests (requiredResourceAccess), Granted those assigned to its
	// service principal (admin consent), both by value, sorted.
	Permissions, Granted []string
	// Federated are its federated identity credentials.
	Federated []Federation
	// Owners are the object ids of its owners; ServicePrincipal the id of
	// its service principal ("" when none).
	Owners           []string
	ServicePrincipal string
}

// Apps lists the applications of the tenant (Options.StrictApps), in the
// order they were created.
func (s *Server) Apps() []AppInfo {
	d := s.dir
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []AppInfo
	for _, a := range d.apps {
		ai := AppInfo{ObjectID: a.ID, AppID: a.AppID, DisplayName: a.DisplayName, Owners: slices.Clone(a.owners)}
		for _, r := range a.RRA {
			if r.ResourceAppID != GraphAppID {
				continue
			}
			for _, ra := range r.ResourceAccess {
				if v := d.roleValue(ra.ID); v != "" && ra.Type == "Role" {
					ai.Permissions = append(ai.Permissions, v)
				}
			}
		}
		for _, f := range a.fics {
			for _, aud := range f.Audiences {
				ai.Federated = append(ai.Federated, Federation{Issuer: f.Issuer, Subject: f.Subject, Audience: aud})
			}
		}
		if sp := d.spByAppID(a.AppID); sp != nil {
			ai.ServicePrincipal = sp.ID
			ai.Granted = d.granted(sp.ID)
		}
		sort.Strings(ai.Permissions)
		out = append(out, ai)
	}
	return out
}

func (d *directory) roleValue(id string) string {
	for _, r := range d.graphSP.AppRoles {
		if r.ID == id {
			return r.Value
		}
	}
	return ""
}

func (d *directory) spByAppID(appID string) *dirSP {
	for _, sp := range d.sps {
		if strings.EqualFold(sp.AppID, appID) {
			return sp
		}
	}
	return nil
}

func (d *directory) appByAppID(appID string) *dirApp {
	for _, a := range d.apps {
		if strings.EqualFold(a.AppID, appID) {
			return a
		}
	}
	return nil
}

// granted lists the Graph permissions assigned to service principal spID.
func (d *directory) granted(spID string) []string {
	var out []string
	for _, as := range d.assignments {
		if as.PrincipalID == spID && as.ResourceID == d.graphSP.ID {
			if v := d.roleValue(as.AppRoleID); v != "" {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// clientIdentity is what the token endpoint knows of a client id.
type clientIdentity struct {
	federated []Federation
	roles     []string
	consent   bool
	sp        string
	secret    string // "": none accepted
	code      int    // non-zero: refuse with this AADSTS code and msg
	msg       string
}

// identity resolves a client id for the token endpoint; ok false means no
// such application (AADSTS700016); id.code an application without service
// principal.
func (d *directory) identity(cid string) (id clientIdentity, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.appByAppID(cid)
	if a == nil {
		return id, false
	}
	sp := d.spByAppID(cid)
	if sp == nil {
		id.code, id.msg = 7000229, "The client application "+cid+" is missing service principal in the tenant "+d.s.auth.tenantID+"."
		return id, true
	}
	for _, f := range a.fics {
		for _, aud := range f.Audiences {
			id.federated = append(id.federated, Federation{Issuer: f.Issuer, Subject: f.Subject, Audience: aud})
		}
	}
	id.roles = d.granted(sp.ID)
	id.consent = len(id.roles) > 0
	id.sp = sp.ID
	return id, true
}

// gate answers what Graph answers an application for the tenant-side steps
// a person takes outside Graph (protected Teams APIs, mailbox scope).
func (d *directory) gate(appID string, rt route) *apiError {
	d.mu.Lock()
	approved := d.approved[appID]
	g, scoped := d.scopes[appID]
	d.mu.Unlock()
	switch rt.class {
	case clsTeamsExport:
		if !approved {
			return &apiError{status: 403, code: "Forbidden", msg: "Invoked API requires Protected API access in application-only context when not using Resource Specific Consent. Visit https://docs.microsoft.com/en-us/graph/teams-protected-apis for more details."}
		}
	case clsMailbox:
		if !scoped {
			return nil
		}
		t := d.s.tenant
		u, ok := t.userIndex(rt.userID)
		if !ok {
			return nil // the handler answers for an unknown user
		}
		for k, n := 0, t.groupSize(g); k < n; k++ {
			if m, _ := t.groupMember(g, k); m == u {
				return nil
			}
		}
		return &apiError{status: 403, code: "ErrorAccessDenied", msg: "Access to OData is disabled: blocked by tenant configured AppOnly AccessPolicy settings."}
	}
	return nil
}

// ---------------------------------------------------------------------------
// HTTP side: the directory endpoints.

// serveDirectory serves the application endpoints; false when rest is not
// one of them (the Graph router takes it).
func (d *directory) serve(rc *reqCtx, rest string) bool {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	first := segs[0]
	base, key, _ := strings.Cut(first, "(")
	if !strings.EqualFold(base, "applications") && !strings.EqualFold(base, "servicePrincipals") && !strings.EqualFold(base, "me") {
		return false
	}
	p, e := d.caller(rc)
	if e != nil {
		d.s.fail(rc, e)
		return true
	}
	d.mu.Lock()
	status, body, e := d.route(rc, p, strings.ToLower(base), key, segs[1:])
	d.mu.Unlock()
	if e != nil {
		d.s.fail(rc, e)
		return true
	}
	if status == http.StatusNoContent {
		d.s.headers(rc)
		rc.w.WriteHeader(status)
		return true
	}
	b, err := json.Marshal(body)
	if err != nil {
		d.s.fail(rc, &apiError{status: 500, code: "InternalServerError", msg: err.Error()})
		return true
	}
	d.s.writeJSON(rc, status, b)
	return true
}

// caller verifies the delegated token and returns its person.
func (d *directory) caller(rc *reqCtx) (*dirPerson, *apiError) {
	tok, ok := strings.CutPrefix(rc.r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Access token is empty."}
	}
	hdr, claims, signed, sig, err := parseJWT(tok)
	if err != nil || verifyJWT(hdr, signed, sig, &d.s.auth.signKey.PublicKey) != nil {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "IDX14100: JWT is not well formed or its signature is invalid."}
	}
	if exp, _ := claims["exp"].(float64); int64(exp) < d.s.opts.Clock().Unix() {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Lifetime validation failed, the token is expired."}
	}
	if tid, _ := claims["tid"].(string); tid != d.s.auth.tenantID {
		return nil, &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Access token validation failure. Invalid audience."}
	}
	oid, _ := claims["oid"].(string)
	d.mu.Lock()
	p := d.people[oid]
	d.mu.Unlock()
	if idtyp, _ := claims["idtyp"].(string); idtyp != "user" || p == nil {
		// An application's own token: the exporter's identity has no
		// business here (it holds no Application.ReadWrite permission).
		return nil, &apiError{status: 403, code: "Authorization_RequestDenied", msg: msgInsufficientPrivilege}
	}
	return p, nil
}

func (p *dirPerson) has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.roles, r) {
			return true
		}
	}
	return false
}

func dirDenied() *apiError {
	return &apiError{status: 403, code: "Authorization_RequestDenied", msg: msgInsufficientPrivilege}
}

func dirNotFound(id string) *apiError {
	return &apiError{status: 404, code: "Request_ResourceNotFound", msg: "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."}
}

func dirBadRequest(msg string) *apiError {
	return &apiError{status: 400, code: "Request_BadRequest", msg: msg}
}

type list struct {
	Context string `json:"@odata.context"`
	Value   any    `json:"value"`
}

// route dispatches one directory request (d.mu held).
func (d *directory) route(rc *reqCtx, p *dirPerson, base, key string, rest []string) (int, any, *apiError) {
	m := rc.r.Method
	ctx := d.s.graphBase + "/v1.0/$metadata#"
	switch base {
	case "me":
		if len(rest) != 0 || m != http.MethodGet {
			return 0, nil, dirBadRequest("Unsupported request.")
		}
		return 200, map[string]any{"@odata.context": ctx + "users/$entity", "id": p.ID, "userPrincipalName": p.UPN}, nil
	case "applications":
		return d.applications(rc, p, key, rest, ctx)
	default:
		return d.servicePrincipals(rc, p, key, rest, ctx)
	}
}

// altKey parses (appId='x') into x; "" when key is empty.
func altKey(key string) (string, *apiError) {
	if key == "" {
		return "", nil
	}
	k := strings.TrimSuffix(key, ")")
	v, ok := strings.CutPrefix(k, "appId=")
	if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", dirBadRequest("Invalid alternate key: " + key)
	}
	return v[1 : len(v)-1], nil
}

var appAdmins = []string{RoleGlobalAdmin, RoleCloudAppAdmin, RoleAppAdmin}

func (d *directory) findApp(key string, rest []string) (*dirApp, []string, *apiError) {
	appID, e := altKey(key)
	if e != nil {
		return nil, nil, e
	}
	if appID != "" {
		if a := d.appByAppID(appID); a != nil {
			return a, rest, nil
		}
		return nil, nil, dirNotFound(appID)
	}
	if len(rest) == 0 {
		return nil, rest, nil
	}
	for _, a := range d.apps {
		if strings.EqualFold(a.ID, rest[0]) {
			return a, rest[1:], nil
		}
	}
	return nil, nil, dirNotFound(rest[0])
}

func (d *directory) applications(rc *reqCtx, p *dirPerson, key string, rest []string, ctx string) (int, any, *apiError) {
	m := rc.r.Method
	a, rest, e := d.findApp(key, rest)
	if e != nil {
		return 0, nil, e
	}
	if a == nil { // the collection
		switch m {
		case http.MethodGet:
			name, err := displayNameFilter(rc.r.URL.Query().Get("$filter"))
			if err != nil {
				return 0, nil, dirBadRequest(err.Error())
			}
			out := []*dirApp{}
			for _, x := range d.apps {
				if name == "" || x.DisplayName == name {
					out = append(out, x)
				}
			}
			return 200, list{ctx + "applications", out}, nil
		case http.MethodPost:
			if !p.has(append(appAdmins, RoleAppDeveloper)...) {
				return 0, nil, dirDenied()
			}
			var in dirApp
			if err := json.NewDecoder(rc.r.Body).Decode(&in); err != nil || in.DisplayName == "" {
				return 0, nil, dirBadRequest("Property displayName is required.")
			}
			if e := d.checkRRA(in.RRA); e != nil {
				return 0, nil, e
			}
			in.ID, in.AppID = d.next("app"), d.next("appid")
			if in.SignInAudience == "" {
				in.SignInAudience = "AzureADMyOrg"
			}
			in.owners = []string{p.ID} // the creator owns what it creates
			d.apps = append(d.apps, &in)
			return 201, &in, nil
		}
		return 0, nil, &apiError{status: 405, code: "Request_BadRequest", msg: "The HTTP method '" + m + "' is not allowed on this resource."}
	}
	mayChange := p.has(appAdmins...) || slices.Contains(a.owners, p.ID)
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		return 200, a, nil
	case len(rest) == 0 && m == http.MethodPatch:
		if !mayChange {
			return 0, nil, dirDenied()
		}
		var in struct {
			RRA *[]resourceAccess `json:"requiredResourceAccess"`
		}
		if err := json.NewDecoder(rc.r.Body).Decode(&in); err != nil {
			return 0, nil, dirBadRequest("Invalid request body.")
		}
		if in.RRA != nil {
			if e := d.checkRRA(*in.RRA); e != nil {
				return 0, nil, e
			}
			a.RRA = *in.RRA
		}
		return 204, nil, nil
	case len(rest) == 1 && strings.EqualFold(rest[0], "federatedIdentityCredentials"):
		switch m {
		case http.MethodGet:
			out := []*dirFIC{}
			out = append(out, a.fics...)
			return 200, list{ctx + "applications('" + a.ID + "')/federatedIdentityCredentials", out}, nil
		case http.MethodPost:
			if !mayChange {
				return 0, nil, dirDenied()
			}
			var f dirFIC
			if err := json.NewDecoder(rc.r.Body).Decode(&f); err != nil || f.Name == "" || f.Issuer == "" || f.Subject == "" || len(f.Audiences) != 1 {
				return 0, nil, dirBadRequest("A federated identity credential needs name, issuer, subject and exactly one audience.")
			}
			for _, x := range a.fics {
				if x.Name == f.Name || x.Issuer == f.Issuer && x.Subject == f.Subject {
					return 0, nil, dirBadRequest("FederatedIdentityCredential with name " + f.Name + " or the same issuer and subject already exists.")
				}
			}
			if len(a.fics) >= 20 {
				return 0, nil, dirBadRequest("An application may have at most 20 federated identity credentials.")
			}
			f.ID = d.next("fic")
			a.fics = append(a.fics, &f)
			return 201, &f, nil
		}
	case len(rest) == 2 && strings.EqualFold(rest[0], "federatedIdentityCredentials") && m == http.MethodDelete:
		if !mayChange {
			return 0, nil, dirDenied()
		}
		for i, f := range a.fics {
			if f.ID == rest[1] || f.Name == rest[1] {
				a.fics = slices.Delete(a.fics, i, i+1)
				return 204, nil, nil
			}
		}
		return 0, nil, dirNotFound(rest[1])
	case len(rest) == 1 && strings.EqualFold(rest[0], "owners") && m == http.MethodGet:
		out := []map[string]string{}
		for _, o := range a.owners {
			out = append(out, d.directoryObject(o))
		}
		return 200, list{ctx + "directoryObjects", out}, nil
	case len(rest) == 2 && strings.EqualFold(rest[0], "owners") && rest[1] == "$ref" && m == http.MethodPost:
		if !mayChange {
			return 0, nil, dirDenied()
		}
		id, e := d.refID(rc)
		if e != nil {
			return 0, nil, e
		}
		if slices.Contains(a.owners, id) {
			return 0, nil, dirBadRequest("One or more added object references already exist for the following modified properties: 'owners'.")
		}
		a.owners = append(a.owners, id)
		return 204, nil, nil
	}
	return 0, nil, dirBadRequest("Unsupported request on applications.")
}

func (d *directory) directoryObject(id string) map[string]string {
	if p, ok := d.people[id]; ok {
		return map[string]string{"@odata.type": "#microsoft.graph.user", "id": id, "userPrincipalName": p.UPN}
	}
	return map[string]string{"@odata.type": "#microsoft.graph.servicePrincipal", "id": id}
}

// refID reads {"@odata.id": ".../directoryObjects/{id}"} and checks the
// object exists.
func (d *directory) refID(rc *reqCtx) (string, *apiError) {
	var in map[string]string
	if err := json.NewDecoder(rc.r.Body).Decode(&in); err != nil {
		return "", dirBadRequest("Invalid request body.")
	}
	ref := in["@odata.id"]
	i := strings.LastIndex(ref, "/directoryObjects/")
	if i < 0 {
		return "", dirBadRequest("Invalid @odata.id: " + ref)
	}
	id := ref[i+len("/directoryObjects/"):]
	if _, ok := d.people[id]; ok {
		return id, nil
	}
	for _, sp := range d.sps {
		if sp.ID == id {
			return id, nil
		}
	}
	return "", dirNotFound(id)
}

func (d *directory) checkRRA(rra []resourceAccess) *apiError {
	for _, r := range rra {
		if r.ResourceAppID != GraphAppID {
			continue
		}
		for _, ra := range r.ResourceAccess {
			if ra.Type == "Role" && d.roleValue(ra.ID) == "" {
				return dirBadRequest("Invalid value specified for property 'resourceAccess' of resource 'Application': app role " + ra.ID + " does not exist on Microsoft Graph.")
			}
		}
	}
	return nil
}

// displayNameFilter parses the only $filter the emulator takes on
// applications: displayName eq 'x'.
func displayNameFilter(f string) (string, error) {
	if f == "" {
		return "", nil
	}
	v, ok := strings.CutPrefix(f, "displayName eq ")
	if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
		return "", fmt.Errorf("unsupported $filter %q (the emulator takes displayName eq 'x')", f)
	}
	return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
}

func (d *directory) servicePrincipals(rc *reqCtx, p *dirPerson, key string, rest []string, ctx string) (int, any, *apiError) {
	m := rc.r.Method
	appID, e := altKey(key)
	if e != nil {
		return 0, nil, e
	}
	var sp *dirSP
	switch {
	case appID != "":
		if sp = d.spByAppID(appID); sp == nil {
			return 0, nil, dirNotFound(appID)
		}
	case len(rest) > 0:
		for _, x := range d.sps {
			if strings.EqualFold(x.ID, rest[0]) {
				sp = x
			}
		}
		if sp == nil {
			return 0, nil, dirNotFound(rest[0])
		}
		rest = rest[1:]
	}
	if sp == nil { // the collection
		if m != http.MethodPost {
			return 0, nil, dirBadRequest("Unsupported request on servicePrincipals.")
		}
		var in struct {
			AppID string `json:"appId"`
		}
		if err := json.NewDecoder(rc.r.Body).Decode(&in); err != nil || in.AppID == "" {
			return 0, nil, dirBadRequest("Property appId is required.")
		}
		a := d.appByAppID(in.AppID)
		if a == nil {
			return 0, nil, dirBadRequest("The appId '" + in.AppID + "' of the service principal does not reference a valid application object.")
		}
		if !p.has(appAdmins...) && !slices.Contains(a.owners, p.ID) {
			return 0, nil, dirDenied()
		}
		if d.spByAppID(in.AppID) != nil {
			return 0, nil, &apiError{status: 409, code: "Request_MultipleObjectsWithSameKeyValue", msg: "The service principal cannot be created, updated, or restored because the service principal name " + in.AppID + " is already in use."}
		}
		n := &dirSP{ID: d.next("sp"), AppID: a.AppID, DisplayName: a.DisplayName, AppRoles: []appRole{}, owners: []string{p.ID}}
		d.sps = append(d.sps, n)
		return 201, n, nil
	}
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		return 200, sp, nil
	case len(rest) == 1 && strings.EqualFold(rest[0], "appRoleAssignments") && m == http.MethodGet:
		out := []*dirAssignment{}
		for _, as := range d.assignments {
			if as.PrincipalID == sp.ID {
				out = append(out, as)
			}
		}
		return 200, list{ctx + "servicePrincipals('" + sp.ID + "')/appRoleAssignments", out}, nil
	case len(rest) == 1 && strings.EqualFold(rest[0], "appRoleAssignedTo") && m == http.MethodGet:
		out := []*dirAssignment{}
		for _, as := range d.assignments {
			if as.ResourceID == sp.ID {
				out = append(out, as)
			}
		}
		return 200, list{ctx + "servicePrincipals('" + sp.ID + "')/appRoleAssignedTo", out}, nil
	case len(rest) == 1 && strings.EqualFold(rest[0], "appRoleAssignedTo") && m == http.MethodPost:
		if sp == d.graphSP && !p.has(RoleGlobalAdmin, RolePrivilegedRoleAdmin) {
			return 0, nil, dirDenied()
		}
		var in dirAssignment
		if err := json.NewDecoder(rc.r.Body).Decode(&in); err != nil {
			return 0, nil, dirBadRequest("Invalid request body.")
		}
		if in.ResourceID != sp.ID {
			return 0, nil, dirBadRequest("resourceId must be the service principal of the request URL.")
		}
		var principal *dirSP
		for _, x := range d.sps {
			if x.ID == in.PrincipalID {
				principal = x
			}
		}
		if principal == nil {
			return 0, nil, dirNotFound(in.PrincipalID)
		}
		var role string
		for _, r := range sp.AppRoles {
			if r.ID == in.AppRoleID {
				role = r.Value
			}
		}
		if role == "" {
			return 0, nil, dirBadRequest("Permission being assigned was not found on application '" + sp.AppID + "'.")
		}
		for _, as := range d.assignments {
			if as.PrincipalID == in.PrincipalID && as.ResourceID == sp.ID && as.AppRoleID == in.AppRoleID {
				return 0, nil, dirBadRequest("Permission being assigned already exists on the object.")
			}
		}
		sum := sha256.Sum256([]byte(d.next("assignment")))
		in.ID = base64.RawURLEncoding.EncodeToString(sum[:])
		in.PrincipalType = "ServicePrincipal"
		in.PrincipalDisplayName = principal.DisplayName
		in.ResourceDisplayName = sp.DisplayName
		in.CreatedDateTime = d.s.opts.Clock().UTC().Format(time.RFC3339)
		d.assignments = append(d.assignments, &in)
		return 201, &in, nil
	case len(rest) == 2 && strings.EqualFold(rest[0], "appRoleAssignedTo") && m == http.MethodDelete:
		if sp == d.graphSP && !p.has(RoleGlobalAdmin, RolePrivilegedRoleAdmin) {
			return 0, nil, dirDenied()
		}
		for i, as := range d.assignments {
			if as.ID == rest[1] && as.ResourceID == sp.ID {
				d.assignments = slices.Delete(d.assignments, i, i+1)
				return 204, nil, nil
			}
		}
		return 0, nil, dirNotFound(rest[1])
	}
	return 0, nil, dirBadRequest("Unsupported request on servicePrincipals.")
}
