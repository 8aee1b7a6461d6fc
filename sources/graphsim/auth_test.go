package graphsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func clientOptions(s *Server) azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()}, Transport: s.HTTPClient()}
}

var graphScope = policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}

// graphGet calls Graph with a token from cred.
func graphGet(t *testing.T, s *Server, tok, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.GraphURL()+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuth_ClientSecretCredential(t *testing.T) {
	s, err := Start(Options{Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), s.ClientID(), s.ClientSecret(),
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(t.Context(), graphScope)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if code, body := graphGet(t, s, tok.Token, "/v1.0/users?$top=2"); code != 200 {
		t.Fatalf("users with token: %d %s", code, body)
	}
	if code, body := graphGet(t, s, "", "/v1.0/users"); code != 401 || !strings.Contains(body, "InvalidAuthenticationToken") {
		t.Fatalf("users without token: %d %s", code, body)
	}
	if code, body := graphGet(t, s, tok.Token+"x", "/v1.0/users"); code != 401 {
		t.Fatalf("users with a forged token: %d %s", code, body)
	}
	// a wrong secret fails
	bad, _ := azidentity.NewClientSecretCredential(s.TenantID(), s.ClientID(), "nope",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if _, err := bad.GetToken(t.Context(), graphScope); err == nil || !strings.Contains(err.Error(), "7000215") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestAuth_ClientAssertionCredential_Federated(t *testing.T) {
	s, err := Start(Options{Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(sub, aud string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return s.FederatedToken(sub, aud) }
	}
	cred, err := azidentity.NewClientAssertionCredential(s.TenantID(), s.ClientID(), get(DefaultSubject, AzureADTokenExchange),
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(t.Context(), graphScope)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if code, body := graphGet(t, s, tok.Token, "/v1.0/groups"); code != 200 {
		t.Fatalf("groups: %d %s", code, body)
	}
	wrong, _ := azidentity.NewClientAssertionCredential(s.TenantID(), s.ClientID(), get("someone-else", AzureADTokenExchange),
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	_, err = wrong.GetToken(t.Context(), graphScope)
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || !strings.Contains(err.Error(), "AADSTS70021") {
		t.Fatalf("mismatched subject: %v", err)
	}
}

func TestAuth_FederatedPoolAudience(t *testing.T) {
	const pool = "us-east-1:0d3b5f2c-1111-2222-3333-444455556666"
	s, err := Start(Options{Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s2, err := Start(Options{Users: 5, Auth: Auth{Federated: []Federation{{Issuer: s.TestIssuer(), Subject: "us-east-1:identity", Audience: pool, Key: &s.auth.issuerKey.PublicKey}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	cred, err := azidentity.NewClientAssertionCredential(s2.TenantID(), s2.ClientID(),
		func(context.Context) (string, error) { return s.FederatedToken("us-east-1:identity", pool) },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(s2), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cred.GetToken(t.Context(), graphScope); err != nil {
		t.Fatalf("GetToken with an identity pool audience: %v", err)
	}
}

func TestAuth_ClientCertificateCredential(t *testing.T) {
	s, err := Start(Options{Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	certs, key, err := s.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientCertificateCredential(s.TenantID(), s.ClientID(), certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(t.Context(), graphScope)
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if code, body := graphGet(t, s, tok.Token, "/v1.0/teams"); code != 200 {
		t.Fatalf("teams: %d %s", code, body)
	}
}

func TestAuth_Diagnoses(t *testing.T) {
	s, err := Start(Options{Users: 5, Auth: Auth{Roles: []string{"User.Read.All"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := func(tenant string, f url.Values) (int, map[string]any) {
		resp, err := s.HTTPClient().PostForm(s.AuthorityHost()+tenant+"/oauth2/v2.0/token", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	form := func(client string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {s.ClientSecret()},
			"scope": {"https://graph.microsoft.com/.default"}}
	}
	if code, m := post(s.TenantID(), form("00000000-0000-0000-0000-000000000000")); code != 400 || m["error"] != "unauthorized_client" || !strings.Contains(m["error_description"].(string), "AADSTS700016") {
		t.Errorf("unknown client id: %d %v", code, m)
	}
	if code, _ := post("11111111-2222-3333-4444-555555555555", form(s.ClientID())); code != 400 {
		t.Errorf("unknown tenant: %d, want 400", code)
	}
	// Granted User.Read.All only: users work, mail is denied.
	h := &harness{t: t, s: s, c: s.HTTPClient()}
	h.token = h.getToken(url.Values{"client_secret": {s.ClientSecret()}})
	if code, _, b := h.get("/v1.0/users"); code != 200 {
		t.Errorf("users: %d %s", code, b)
	}
	if code, _, b := h.get("/v1.0/users/" + s.Tenant().UserID(0) + "/mailboxSettings"); code != 403 || !strings.Contains(string(b), "Authorization_RequestDenied") {
		t.Errorf("missing role: %d %s", code, b)
	}
	// Without consent tokens carry no roles.
	s.SetConsent(false)
	h.token = h.getToken(url.Values{"client_secret": {s.ClientSecret()}})
	if code, _, b := h.get("/v1.0/users"); code != 401 || !strings.Contains(string(b), "Authorization_IdentityNotFound") {
		t.Errorf("no consent: %d %s", code, b)
	}
	// openid configuration issuer matches the authority's scheme and host.
	resp, err := s.HTTPClient().Get(s.AuthorityHost() + s.TenantID() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var oc map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&oc)
	if !strings.HasPrefix(oc["issuer"], s.AuthorityHost()) || oc["token_endpoint"] == "" || oc["authorization_endpoint"] == "" {
		t.Errorf("openid configuration: %v", oc)
	}
}

func TestAuth_TokenExpiresAndPlainGraph(t *testing.T) {
	clk := newClock()
	s, err := Start(Options{Users: 5, PlainGraph: true, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.GraphURL(), "http://127.0.0.1:") || !strings.HasPrefix(s.AuthorityHost(), "https://127.0.0.1:") {
		t.Fatalf("GraphURL %s, AuthorityHost %s", s.GraphURL(), s.AuthorityHost())
	}
	h := &harness{t: t, s: s, c: s.HTTPClient()}
	h.token = h.getToken(url.Values{"client_secret": {s.ClientSecret()}})
	if code, _, b := h.get("/v1.0/users"); code != 200 {
		t.Fatalf("plain Graph with a token: %d %s", code, b)
	}
	clk.add(2 * time.Hour)
	if code, _, b := h.get("/v1.0/users"); code != 401 || !strings.Contains(string(b), "expired") {
		t.Fatalf("expired token: %d %s", code, b)
	}
}

// contentRoles are AllRoles and Mail.Read, for tests that compare messages
// whole, content included, with the ground truth (Mail.ReadBasic.All alone
// leaves the content out).
var contentRoles = append(slices.Clone(AllRoles), "Mail.Read")

// TestAuth_BasicPermissionsLeaveOutContent: with Mail.ReadBasic.All or
// Calendars.ReadBasic.All alone, messages and events come without their
// content (basicOmits), even when $select names it; with Mail.Read and
// Calendars.Read they carry it.
func TestAuth_BasicPermissionsLeaveOutContent(t *testing.T) {
	content := []string{"body", "bodyPreview", "uniqueBody"}
	for _, tc := range []struct {
		roles    []string
		wantBody bool
	}{
		{[]string{"Mail.ReadBasic.All", "Calendars.ReadBasic.All"}, false},
		{[]string{"Mail.Read", "Calendars.Read"}, true},
	} {
		s, err := Start(Options{Users: 8, Auth: Auth{Roles: tc.roles}})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, s: s, c: s.HTTPClient()}
		h.token = h.getToken(url.Values{"client_secret": {s.ClientSecret()}})
		from := s.Tenant().Now().Add(-7 * 24 * time.Hour).UTC().Truncate(24 * time.Hour)
		to := from.Add(7 * 24 * time.Hour)
		f, tt := from.Format(time.RFC3339), to.Format(time.RFC3339)
		for _, sel := range []string{"", "&$select=subject,body,bodyPreview"} {
			var events, messages int
			for i := range 8 {
				u := s.Tenant().UserID(i)
				for _, p := range []string{
					"/v1.0/users/" + u + "/calendar/calendarView?startDateTime=" + f + "&endDateTime=" + tt + sel,
					"/v1.0/users/" + u + "/mailFolders/SentItems/messages?" + url.PathEscape("$filter=sentDateTime ge "+f+" and sentDateTime lt "+tt) + sel,
				} {
					code, _, b := h.get(p)
					if code == 404 && strings.Contains(string(b), "MailboxNotEnabledForRESTAPI") {
						continue // a user without a mailbox
					}
					if code != 200 {
						t.Fatalf("%v %s: %d %s", tc.roles, p, code, b)
					}
					var page struct{ Value []map[string]json.RawMessage }
					if err := json.Unmarshal(b, &page); err != nil {
						t.Fatal(err)
					}
					if strings.Contains(p, "calendarView") {
						events += len(page.Value)
					} else {
						messages += len(page.Value)
					}
					for _, rec := range page.Value {
						if _, ok := rec["subject"]; !ok {
							t.Fatalf("%v %s: a record without its subject: %v", tc.roles, p, rec)
						}
						_, hasBody := rec["body"]
						if hasBody != tc.wantBody {
							t.Fatalf("%v %s: body present %v, want %v", tc.roles, p, hasBody, tc.wantBody)
						}
						if !tc.wantBody {
							for _, c := range content {
								if _, ok := rec[c]; ok {
									t.Fatalf("%v %s: %s served to a basic permission", tc.roles, p, c)
								}
							}
						}
					}
				}
			}
			if events == 0 || messages == 0 {
				t.Fatalf("%v: %d events and %d messages in a week of 8 users; the check needs some", tc.roles, events, messages)
			}
		}
		s.Close()
	}
}
