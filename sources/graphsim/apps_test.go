package graphsim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"m365export/sources/graphsim"
)

type simHTTP struct {
	t *testing.T
	s *graphsim.Server
}

func (h simHTTP) do(method, path, bearer string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.s.GraphURL()+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.s.HTTPClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func (h simHTTP) token(clientID, assertion string) (int, map[string]any) {
	h.t.Helper()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, err := h.s.HTTPClient().PostForm(h.s.AuthorityHost()+h.s.TenantID()+"/oauth2/v2.0/token", f)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func code(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestStrictApps_TokensOnlyForWhatWasCreatedAndConsented(t *testing.T) {
	s, err := graphsim.Start(graphsim.Options{Users: 20, StrictApps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := simHTTP{t, s}
	assertion, err := s.FederatedToken(graphsim.DefaultSubject, graphsim.AzureADTokenExchange)
	if err != nil {
		t.Fatal(err)
	}

	// The built-in application does not exist in a strict tenant.
	if st, body := h.token(s.ClientID(), assertion); st != 400 || !strings.Contains(body["error_description"].(string), "AADSTS700016") {
		t.Errorf("built-in client id: %d %v", st, body)
	}

	dev, _ := s.PersonToken("dev@contoso.example", graphsim.RoleAppDeveloper)
	nobody, _ := s.PersonToken("nobody@contoso.example")
	pra, _ := s.PersonToken("pra@contoso.example", graphsim.RolePrivilegedRoleAdmin)

	if st, body := h.do("POST", "/v1.0/applications", nobody, map[string]any{"displayName": "x"}); st != 403 || code(body) != "Authorization_RequestDenied" {
		t.Errorf("create without a role: %d %v", st, body)
	}
	st, app := h.do("POST", "/v1.0/applications", dev, map[string]any{"displayName": "exporter"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, app)
	}
	appID, objID := app["appId"].(string), app["id"].(string)
	if st, body := h.do("POST", "/v1.0/applications/"+objID+"/federatedIdentityCredentials", dev, map[string]any{
		"name": "k8s", "issuer": s.TestIssuer(), "subject": graphsim.DefaultSubject, "audiences": []string{graphsim.AzureADTokenExchange}}); st != 201 {
		t.Fatalf("add credential: %d %v", st, body)
	}
	// No service principal yet.
	if st, body := h.token(appID, assertion); st != 401 || !strings.Contains(body["error_description"].(string), "AADSTS7000229") {
		t.Errorf("application without service principal: %d %v", st, body)
	}
	st, sp := h.do("POST", "/v1.0/servicePrincipals", dev, map[string]any{"appId": appID})
	if st != 201 {
		t.Fatalf("service principal: %d %v", st, sp)
	}

	// Not consented: a token without roles, which Graph refuses.
	st, tok := h.token(appID, assertion)
	if st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	access := tok["access_token"].(string)
	if claims := jwtClaims(t, access); claims["roles"] != nil || claims["appid"] != appID {
		t.Errorf("unconsented token claims %v", claims)
	}
	if st, body := h.do("GET", "/v1.0/users", access, nil); st != 401 || code(body) != "Authorization_IdentityNotFound" {
		t.Errorf("unconsented: %d %v", st, body)
	}
	// The application's own token has no business with the directory.
	if st, body := h.do("GET", "/v1.0/applications", access, nil); st != 403 || code(body) != "Authorization_RequestDenied" {
		t.Errorf("app token on /applications: %d %v", st, body)
	}

	// Consent: only Microsoft Graph's app roles, only by a Privileged Role
	// Administrator.
	_, graphSP := h.do("GET", "/v1.0/servicePrincipals(appId='"+graphsim.GraphAppID+"')", dev, nil)
	var roleID string
	for _, r := range graphSP["appRoles"].([]any) {
		if r.(map[string]any)["value"] == "User.Read.All" {
			roleID = r.(map[string]any)["id"].(string)
		}
	}
	grant := map[string]any{"principalId": sp["id"], "resourceId": graphSP["id"], "appRoleId": roleID}
	if st, body := h.do("POST", "/v1.0/servicePrincipals/"+graphSP["id"].(string)+"/appRoleAssignedTo", dev, grant); st != 403 || code(body) != "Authorization_RequestDenied" {
		t.Errorf("grant as Application Developer: %d %v", st, body)
	}
	if st, body := h.do("POST", "/v1.0/servicePrincipals/"+graphSP["id"].(string)+"/appRoleAssignedTo", pra, grant); st != 201 {
		t.Fatalf("grant: %d %v", st, body)
	}
	_, tok = h.token(appID, assertion)
	access = tok["access_token"].(string)
	if st, body := h.do("GET", "/v1.0/users", access, nil); st != 200 {
		t.Errorf("consented: %d %v", st, body)
	}
	if st, body := h.do("GET", "/v1.0/groups", access, nil); st != 403 || code(body) != "Authorization_RequestDenied" {
		t.Errorf("a permission not granted: %d %v", st, body)
	}

	// A subject the credential does not name.
	other, _ := s.FederatedToken("system:serviceaccount:other:sa", graphsim.AzureADTokenExchange)
	if st, body := h.token(appID, other); st != 401 || !strings.Contains(body["error_description"].(string), "AADSTS70021") {
		t.Errorf("other subject: %d %v", st, body)
	}
	apps := s.Apps()
	if len(apps) != 1 || len(apps[0].Granted) != 1 || apps[0].Granted[0] != "User.Read.All" || apps[0].Owners[0] == "" {
		t.Errorf("Apps() = %+v", apps)
	}
}

// Without StrictApps the emulator is as before: no application endpoints,
// the built-in application.
func TestStrictApps_OffByDefault(t *testing.T) {
	s, err := graphsim.Start(graphsim.Options{Users: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PersonToken("x@contoso.example"); err == nil {
		t.Error("PersonToken without StrictApps")
	}
	if s.Apps() != nil {
		t.Error("Apps without StrictApps")
	}
	h := simHTTP{t, s}
	assertion, _ := s.FederatedToken(graphsim.DefaultSubject, graphsim.AzureADTokenExchange)
	st, tok := h.token(s.ClientID(), assertion)
	if st != 200 {
		t.Fatalf("built-in application: %d %v", st, tok)
	}
	if st, body := h.do("GET", "/v1.0/applications", tok["access_token"].(string), nil); st != 400 {
		t.Errorf("/applications without StrictApps: %d %v", st, body)
	}
}

func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
