package graphsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]{9}) to authenticate`)

// deviceCred is the Azure SDK's device code credential for the Azure CLI's
// client against s (tenant: the tenant id, its domain or organizations);
// the user code it prompts with is sent on codes.
func deviceCred(t *testing.T, s *Server, tenant string, codes chan<- azidentity.DeviceCodeMessage) *azidentity.DeviceCodeCredential {
	t.Helper()
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientID: AzureCLIClientID, TenantID: tenant, ClientOptions: clientOptions(s), DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			codes <- m
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

type tokenResult struct {
	tok string
	err error
}

func getToken(cred *azidentity.DeviceCodeCredential) <-chan tokenResult {
	ch := make(chan tokenResult, 1)
	go func() {
		tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
		ch <- tokenResult{tok.Token, err}
	}()
	return ch
}

// The documented flow through the Azure SDK (MSAL Go): the prompt names
// Microsoft's page and the user code; approving it gives the person's
// delegated token, with which Graph's application endpoints answer by the
// person's directory role.
func TestDeviceCode_ApproveGivesPersonToken(t *testing.T) {
	for _, tenant := range []string{"", "domain", "organizations"} {
		t.Run("tenant="+tenant, func(t *testing.T) {
			s, err := Start(Options{Users: 5, StrictApps: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ten := s.TenantID()
			switch tenant {
			case "domain":
				ten = s.tenant.Domain()
			case "organizations":
				ten = tenant
			}
			codes := make(chan azidentity.DeviceCodeMessage, 1)
			cred := deviceCred(t, s, ten, codes)
			res := getToken(cred)
			var m azidentity.DeviceCodeMessage
			select {
			case m = <-codes:
			case r := <-res:
				t.Fatalf("no prompt: %v", r.err)
			}
			if m.VerificationURL != DeviceLoginURL || !strings.Contains(m.Message, DeviceLoginURL) || userCodeRE.FindStringSubmatch(m.Message)[1] != m.UserCode {
				t.Fatalf("prompt %+v", m)
			}
			if err := s.ApproveDeviceCode(m.UserCode, "admin@contoso.example", RoleCloudAppAdmin); err != nil {
				t.Fatal(err)
			}
			r := <-res
			if r.err != nil {
				t.Fatalf("GetToken: %v", r.err)
			}
			_, claims, _, _, err := parseJWT(r.tok)
			if err != nil || claims["upn"] != "admin@contoso.example" || claims["idtyp"] != "user" || claims["appid"] != AzureCLIClientID {
				t.Fatalf("token claims %v (%v)", claims, err)
			}
			if code, body := graphGet(t, s, r.tok, "/v1.0/applications"); code != 200 {
				t.Fatalf("applications as the person: %d %s", code, body)
			}
			if err := s.ApproveDeviceCode(m.UserCode, "admin@contoso.example"); err == nil {
				t.Error("a redeemed code approved again")
			}
			// Another scope: MSAL redeems the refresh token, without a prompt.
			// (A prompt instead would poll until the deadline.)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			tok2, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/Application.ReadWrite.All"}})
			if err != nil {
				t.Fatalf("GetToken through the refresh token: %v", err)
			}
			if len(codes) != 0 {
				t.Error("prompted again instead of redeeming the refresh token")
			}
			if _, c2, _, _, err := parseJWT(tok2.Token); err != nil || c2["upn"] != "admin@contoso.example" || tok2.Token == r.tok {
				t.Errorf("refreshed token claims %v (%v)", c2, err)
			}
			if code, body := graphGet(t, s, tok2.Token, "/v1.0/applications"); code != 200 {
				t.Fatalf("applications with the refreshed token: %d %s", code, body)
			}
		})
	}
}

// A declined sign-in and an expired code end the polling with the
// documented errors; either code is then spent.
func TestDeviceCode_DeclinedAndExpired(t *testing.T) {
	var skew atomic.Int64
	s, err := Start(Options{Users: 5, StrictApps: true, Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := wirePost(t, s)
	start := func() (device, user string) {
		st, body := post(s.TenantID()+"/oauth2/v2.0/devicecode", url.Values{"client_id": {AzureCLIClientID}, "scope": {"https://graph.microsoft.com/.default openid"}})
		if st != 200 {
			t.Fatalf("devicecode: %d %v", st, body)
		}
		return body["device_code"].(string), body["user_code"].(string)
	}
	poll := func(device string) string {
		st, body := post(s.TenantID()+"/oauth2/v2.0/token", url.Values{"grant_type": {DeviceCodeGrantType}, "client_id": {AzureCLIClientID}, "device_code": {device}})
		if st != 400 {
			t.Fatalf("poll: %d %v", st, body)
		}
		return body["error"].(string)
	}

	dev, user := start()
	if e := poll(dev); e != "authorization_pending" {
		t.Fatalf("before the person acts: %s", e)
	}
	if err := s.DeclineDeviceCode(user); err != nil {
		t.Fatal(err)
	}
	if e := poll(dev); e != "authorization_declined" {
		t.Errorf("declined: %s", e)
	}
	if e := poll(dev); e != "bad_verification_code" {
		t.Errorf("declined code polled again: %s", e)
	}
	if err := s.ApproveDeviceCode(user, "late@contoso.example"); err == nil {
		t.Error("a declined code approved")
	}

	dev, user = start()
	skew.Store(int64(15 * time.Minute))
	if err := s.ApproveDeviceCode(user, "late@contoso.example"); err == nil {
		t.Error("an expired code approved")
	}
	if e := poll(dev); e != "expired_token" {
		t.Errorf("expired: %s", e)
	}
	if e := poll(dev); e != "bad_verification_code" {
		t.Errorf("expired code polled again: %s", e)
	}
}

// wirePost posts a form to the emulator's authority and decodes the JSON answer.
func wirePost(t *testing.T, s *Server) func(path string, f url.Values) (int, map[string]any) {
	return func(path string, f url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := s.HTTPClient().PostForm(s.AuthorityHost()+path, f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
}

// The protocol's refusals, on the wire.
func TestDeviceCode_Errors(t *testing.T) {
	s, err := Start(Options{Users: 5, StrictApps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := wirePost(t, s)
	dc := s.TenantID() + "/oauth2/v2.0/devicecode"
	for _, c := range []struct {
		path string
		form url.Values
		code string
	}{
		{dc, url.Values{"client_id": {"11111111-1111-1111-1111-111111111111"}, "scope": {"openid"}}, "unauthorized_client"},
		{dc, url.Values{"client_id": {AzureCLIClientID}}, "invalid_request"},
		{"consumers/oauth2/v2.0/devicecode", url.Values{"client_id": {AzureCLIClientID}, "scope": {"openid"}}, "invalid_request"},
		{s.TenantID() + "/oauth2/v2.0/token", url.Values{"grant_type": {DeviceCodeGrantType}, "client_id": {AzureCLIClientID}, "device_code": {"nope"}}, "bad_verification_code"},
		{s.TenantID() + "/oauth2/v2.0/token", url.Values{"grant_type": {DeviceCodeGrantType}, "client_id": {AzureCLIClientID}}, "invalid_request"},
		{s.TenantID() + "/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {AzureCLIClientID}, "refresh_token": {"nope"}}, "invalid_grant"},
		// client credentials stay refused outside the tenant
		{"organizations/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "scope": {"https://graph.microsoft.com/.default"}}, "invalid_request"},
	} {
		if st, body := post(c.path, c.form); st != http.StatusBadRequest || body["error"] != c.code {
			t.Errorf("%s %v: %d %v, want 400 %s", c.path, c.form, st, body, c.code)
		}
	}
	st, body := post(dc, url.Values{"client_id": {AzureCLIClientID}, "scope": {"https://graph.microsoft.com/.default openid"}})
	if st != 200 || body["expires_in"] != float64(900) || body["interval"] != float64(5) || body["verification_uri"] != DeviceLoginURL {
		t.Fatalf("devicecode: %d %v", st, body)
	}
	dev, _ := body["device_code"].(string)
	tok := url.Values{"grant_type": {DeviceCodeGrantType}, "client_id": {AzureCLIClientID}, "device_code": {dev}}
	if st, body := post(s.TenantID()+"/oauth2/v2.0/token", tok); st != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("poll before sign-in: %d %v", st, body)
	}
	if err := s.ApproveDeviceCode(body["user_code"].(string), "pra@contoso.example", "No Such Role"); err == nil {
		t.Error("unknown role approved")
	}
}
