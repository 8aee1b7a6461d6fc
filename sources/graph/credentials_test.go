package graph

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"m365export/sources"
)

// fakeIdentity is the identity side MSAL needs (DESIGN.md, "Testing
// authentication against the emulator"): an OpenID configuration and a
// token endpoint, over TLS on loopback.
type fakeIdentity struct {
	srv    *httptest.Server
	mu     sync.Mutex
	forms  []map[string]string
	tokens atomic.Int32
	// refuse, when set, is the token endpoint's answer.
	refuse func(w http.ResponseWriter)
}

func newFakeIdentity(t *testing.T) *fakeIdentity {
	f := &fakeIdentity{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := f.srv.URL
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		tenant := parts[0]
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			fmt.Fprintf(w, `{"issuer":"%s/%s/v2.0","token_endpoint":"%s/%s/oauth2/v2.0/token","authorization_endpoint":"%s/%s/oauth2/v2.0/authorize"}`,
				base, tenant, base, tenant, base, tenant)
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			form := map[string]string{}
			for k := range r.PostForm {
				form[k] = r.PostForm.Get(k)
			}
			f.mu.Lock()
			f.forms = append(f.forms, form)
			refuse := f.refuse
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if refuse != nil {
				refuse(w)
				return
			}
			n := f.tokens.Add(1)
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3600,"access_token":"tok-%d"}`, n)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdentity) lastForm() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		return nil
	}
	return f.forms[len(f.forms)-1]
}

func (f *fakeIdentity) creds() Credentials {
	return Credentials{
		TenantID:      "11111111-2222-3333-4444-555555555555",
		ClientID:      "client-app-id",
		AuthorityHost: f.srv.URL,
		Transport:     f.srv.Client(),
	}
}

// graphEcho answers 200 and records the Authorization header.
func graphEcho(t *testing.T) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte(`{"value":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &auths
}

func selfSignedPEM(t *testing.T) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m365export-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
}

func TestCredentials_EachKindGetsAToken(t *testing.T) {
	id := newFakeIdentity(t)
	for _, tc := range []struct {
		name  string
		set   func(*Credentials)
		check func(form map[string]string) string
	}{
		{"secret", func(c *Credentials) { c.ClientSecret = "s3cret" }, func(f map[string]string) string {
			if f["client_secret"] != "s3cret" {
				return "no client_secret in the token request"
			}
			return ""
		}},
		{"certificate", func(c *Credentials) { c.Certificate = selfSignedPEM(t) }, func(f map[string]string) string {
			if f["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f["client_assertion"] == "" {
				return "no signed client_assertion"
			}
			return ""
		}},
		{"certificate-pfx-aes", func(c *Credentials) {
			c.Certificate, _ = os.ReadFile("testdata/client-aes-test-only.pfx")
			c.CertificatePassword = []byte("test-only")
		}, func(f map[string]string) string {
			if f["client_assertion"] == "" {
				return "no signed client_assertion"
			}
			return ""
		}},
		{"federated", func(c *Credentials) {
			c.Assertion = func(context.Context) (string, error) { return "platform.jwt.token", nil }
		}, func(f map[string]string) string {
			if f["client_assertion"] != "platform.jwt.token" {
				return "the platform token was not presented as client_assertion"
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := id.creds()
			tc.set(&cr)
			graph, auths := graphEcho(t)
			c, err := New(&Options{GraphRoot: graph.URL, Credential: cr.New, Limits: &Limits{}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(t.Context(), "/v1.0/users"); err != nil {
				t.Fatalf("Get = %v", err)
			}
			form := id.lastForm()
			if msg := tc.check(form); msg != "" {
				t.Error(msg)
			}
			if strings.Fields(form["scope"])[0] != "https://graph.microsoft.com/.default" || form["client_id"] != "client-app-id" || form["grant_type"] != "client_credentials" {
				t.Errorf("token request form = %v", form)
			}
			if got := (*auths)[0]; !strings.HasPrefix(got, "Bearer tok-") {
				t.Errorf("Authorization = %q", got)
			}
		})
	}
}

func TestCredentials_CertificateFormats(t *testing.T) {
	for _, tc := range []struct {
		name, file, password string
	}{
		{"pem", "", ""},
		{"pfx-3des-sha1", "testdata/client-3des-test-only.pfx", "test-only"},
		{"pfx-aes-sha256", "testdata/client-aes-test-only.pfx", "test-only"},
	} {
		data := selfSignedPEM(t)
		if tc.file != "" {
			var err error
			if data, err = os.ReadFile(tc.file); err != nil {
				t.Fatal(err)
			}
		}
		certs, key, err := parseCertificate(data, []byte(tc.password))
		if err != nil || len(certs) != 1 || key == nil {
			t.Errorf("%s: %d certificates, key %T, %v", tc.name, len(certs), key, err)
		}
		if _, _, err := parseCertificate(data, []byte("wrong")); tc.password != "" && err == nil {
			t.Errorf("%s with a wrong password parsed", tc.name)
		}
	}
}

func TestCredentials_TokenEndpointRefusalIsConfigError(t *testing.T) {
	id := newFakeIdentity(t)
	graph, _ := graphEcho(t)
	for _, tc := range []struct {
		body, code, advice string
		status             int
	}{
		{`{"error":"unauthorized_client","error_description":"AADSTS700016: x","error_codes":[700016]}`, "AADSTS700016", "Application (client) ID", 400},
		{`{"error":"invalid_request","error_description":"AADSTS700213: x","error_codes":[700213]}`, "AADSTS700213", "issuer, subject and audience", 400},
		{`{"error":"invalid_request","error_description":"x"}`, "invalid_request", "tenant id", 400},
	} {
		id.mu.Lock()
		id.refuse = func(w http.ResponseWriter) { w.WriteHeader(tc.status); w.Write([]byte(tc.body)) }
		id.mu.Unlock()
		cr := id.creds()
		cr.ClientSecret = "s"
		c, _ := New(&Options{GraphRoot: graph.URL, Credential: cr.New, Limits: &Limits{}})
		_, err := c.Get(t.Context(), "/v1.0/users")
		var ge *Error
		if !errors.Is(err, sources.ErrConfig) || !errors.As(err, &ge) || ge.Code != tc.code || !strings.Contains(ge.Advice, tc.advice) {
			t.Errorf("Get with token refusal %s = %v, want ErrConfig with code %s and advice about %q", tc.body, err, tc.code, tc.advice)
		}
		if strings.Contains(fmt.Sprint(err), `"s"`) {
			t.Errorf("error %v shows the secret", err)
		}
	}
}

func TestCredentials_NewCredentialAfterRejectedToken(t *testing.T) {
	id := newFakeIdentity(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeGraphError(w, 401, "InvalidAuthenticationToken")
			return
		}
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	cr := id.creds()
	cr.ClientSecret = "s"
	c, _ := New(&Options{GraphRoot: srv.URL, Credential: cr.New, Limits: &Limits{}})
	if _, err := c.Get(t.Context(), "/v1.0/users"); err != nil {
		t.Fatal(err)
	}
	// azidentity answers a second GetToken from its cache: only a new
	// credential asks the endpoint again.
	if n := id.tokens.Load(); n != 2 {
		t.Errorf("token endpoint served %d tokens, want 2", n)
	}
}

func TestCredentials_Validate(t *testing.T) {
	for _, cr := range []Credentials{
		{},
		{TenantID: "t", ClientID: "c"},
		{TenantID: "t", ClientID: "c", ClientSecret: "s", Certificate: []byte("x")},
		{TenantID: "t", ClientID: "c", ClientSecret: "s", AuthorityHost: "http://127.0.0.1:1"},
	} {
		if err := cr.Validate(); !errors.Is(err, sources.ErrConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig", cr, err)
		}
	}
	cr := Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s"}
	if err := cr.Validate(); err != nil {
		t.Errorf("Validate(valid) = %v", err)
	}
	bad := Credentials{TenantID: "t", ClientID: "c", Certificate: []byte("not a cert")}
	if _, err := bad.New(); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("New(bad certificate) = %v, want ErrConfig", err)
	}
}

func TestGCPMetadataAssertion(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		if r.Header.Get("Metadata-Flavor") != "Google" {
			w.WriteHeader(403)
			return
		}
		w.Write([]byte("gcp.id.token\n"))
	}))
	defer srv.Close()
	get := GCPMetadataAssertion(&GCPOptions{Host: strings.TrimPrefix(srv.URL, "http://")})
	tok, err := get(t.Context())
	if err != nil || tok != "gcp.id.token" {
		t.Fatalf("assertion = %q, %v", tok, err)
	}
	if got.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/identity" || got.URL.Query().Get("audience") != AzureADTokenExchange {
		t.Errorf("metadata request %s", got.URL)
	}
}

func TestFileAssertion_ReadsEachTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get := FileAssertion(p)
	if tok, err := get(t.Context()); err != nil || tok != "first" {
		t.Fatalf("assertion = %q, %v", tok, err)
	}
	if err := os.WriteFile(p, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _ := get(t.Context()); tok != "rotated" {
		t.Errorf("after rotation = %q", tok)
	}
	t.Setenv(FederatedTokenFileEnv, p)
	if tok, _ := FileAssertion("")(t.Context()); tok != "rotated" {
		t.Errorf("from %s = %q", FederatedTokenFileEnv, tok)
	}
	t.Setenv(FederatedTokenFileEnv, "")
	if _, err := FileAssertion("")(t.Context()); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("unset env = %v, want ErrConfig", err)
	}
}

var _ = json.Marshal
