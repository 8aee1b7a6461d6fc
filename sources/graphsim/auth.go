package graphsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Auth configures the identity side and how Graph checks tokens.
type Auth struct {
	// TenantID, ClientID and ClientSecret of the one registered
	// application; derived from the seed when empty.
	TenantID, ClientID, ClientSecret string
	// Roles are the application permissions granted by admin consent and
	// put into tokens' roles claim; nil means AllRoles.
	Roles []string
	// NoConsent: admin consent was never granted. Tokens are still issued
	// (as Entra does) but carry no roles, and Graph answers 401
	// Authorization_IdentityNotFound.
	NoConsent bool
	// Anonymous lets Graph requests through without a token.
	Anonymous bool
	// Federated lists the application's federated identity credentials.
	// When nil, one credential trusts the built-in test issuer
	// (TestIssuer) for subject DefaultSubject and audience
	// api://AzureADTokenExchange.
	Federated []Federation
	// TokenLifetime of access tokens (default 1h).
	TokenLifetime time.Duration
}

// Federation is one federated identity credential: a client assertion is
// accepted when its iss, sub and aud equal these and its signature verifies
// with Key (nil: the built-in test issuer's key).
type Federation struct {
	Issuer, Subject, Audience string
	Key                       crypto.PublicKey
}

// DefaultSubject is the subject of the default federated credential.
const DefaultSubject = "system:serviceaccount:m365export:exporter"

// AzureADTokenExchange is the audience Entra expects in federated
// assertions (AWS Cognito tokens carry the identity pool id instead).
const AzureADTokenExchange = "api://AzureADTokenExchange"

// AllRoles are every application permission the connectors use, each the
// least-privileged one its API's page names.
var AllRoles = []string{"User.Read.All", "GroupMember.Read.All", "MailboxSettings.Read", "Calendars.Read", "Calendars.ReadBasic.All",
	"Mail.ReadBasic.All", "Team.ReadBasic.All", "Channel.ReadBasic.All", "Chat.Read.All",
	"ChannelMessage.Read.All", "CallRecords.Read.All", "AiEnterpriseInteraction.Read.All",
	"OnlineMeetings.Read.All", "OnlineMeetingArtifact.Read.All"}

// implied lists permissions that also satisfy a role.
var implied = map[string][]string{
	"User.Read.All":         {"Directory.Read.All", "User.ReadWrite.All"},
	"GroupMember.Read.All":  {"Group.Read.All", "Directory.Read.All"},
	"Chat.ReadBasic.All":    {"Chat.Read.All", "Chat.ReadWrite.All"},
	"Mail.ReadBasic.All":    {"Mail.Read", "Mail.ReadBasic"},
	"Team.ReadBasic.All":    {"Directory.Read.All", "Group.Read.All"},
	"Channel.ReadBasic.All": {"ChannelSettings.Read.All", "Group.Read.All"},
	"Chat.Read.All":         {"Chat.ReadWrite.All"},
	// calendarView's least-privileged application permission
	// (user-list-calendarview); with it alone Graph leaves out the events'
	// content (basicOmits).
	"Calendars.ReadBasic.All": {"Calendars.Read", "Calendars.ReadWrite"},
}

// basicOmits lists, for a ReadBasic permission, the permission that reads
// everything and the properties Graph leaves out of records read with the
// basic one alone. Microsoft's permissions reference: Mail.ReadBasic.All
// reads mail "except for body, bodyPreview, uniqueBody, attachments,
// extensions, and any extended properties"; Calendars.ReadBasic reads
// events "except for properties such as body, attachments, and
// extensions". bodyPreview is the body's first characters, so the emulator
// leaves it out of events too (an assumption: the reference says "such
// as"). That Graph omits such a property even when $select names it, rather
// than refusing the request, is also an assumption.
var basicOmits = map[string]struct {
	full  string
	omits []string
}{
	"Mail.ReadBasic.All":      {"Mail.Read", []string{"body", "bodyPreview", "uniqueBody"}},
	"Calendars.ReadBasic.All": {"Calendars.Read", []string{"body", "bodyPreview"}},
}

// basicSelect returns the properties a request may see: sel (nil: fields)
// less those its token's basic permission leaves out (basicOmits). It is
// sel itself when the token reads everything or auth is off.
func basicSelect(rc *reqCtx, sel map[string]bool, fields []string) map[string]bool {
	b, ok := basicOmits[rc.rt.role]
	if !ok || !rc.authed || hasRole(rc.roles, b.full) {
		return sel
	}
	out := map[string]bool{}
	if sel == nil {
		for _, f := range fields {
			out[f] = true
		}
	} else {
		maps.Copy(out, sel)
	}
	for _, f := range b.omits {
		delete(out, f)
	}
	return out
}

// authority is the identity side: keys, certificates and the token endpoint.
type authority struct {
	s                          *Server
	tenantID, clientID, secret string
	caCert                     *x509.Certificate
	caPEM                      []byte
	serverCert                 tls.Certificate
	signKey                    *ecdsa.PrivateKey // access tokens
	issuerKey                  *ecdsa.PrivateKey // built-in test issuer
	mu                         sync.Mutex
	roles                      []string
	consent                    bool
	clientCert                 *x509.Certificate
	clientKey                  *rsa.PrivateKey
	verified                   sync.Map // access token -> *claims
	federated                  []Federation
	lifetime                   time.Duration
	servicePrincipal           string
	devices                    deviceCodes // devicecode.go
}

func newAuthority(s *Server, ip net.IP) (*authority, error) {
	o := s.opts.Auth
	t := s.tenant
	a := &authority{s: s, tenantID: o.TenantID, clientID: o.ClientID, secret: o.ClientSecret,
		consent: !o.NoConsent, lifetime: o.TokenLifetime}
	if a.tenantID == "" {
		a.tenantID = t.ID()
	} else {
		t.opts.tenantID = a.tenantID
	}
	if a.clientID == "" {
		a.clientID = string(t.appendObjID(nil, kSecret, 1))
	}
	if a.secret == "" {
		a.secret = "sim~" + string(appendB64(nil, t.h(kSecret, 2, 0, 0), t.h(kSecret, 3, 0, 0), t.h(kSecret, 4, 0, 0)))
	}
	a.servicePrincipal = string(t.appendObjID(nil, kSecret, 5))
	if a.lifetime <= 0 {
		a.lifetime = time.Hour
	}
	a.roles = o.Roles
	if a.roles == nil {
		a.roles = AllRoles
	}
	var err error
	if a.signKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	if a.issuerKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("test issuer key: %w", err)
	}
	a.federated = o.Federated
	if a.federated == nil {
		a.federated = []Federation{{Issuer: s.base + "/test-issuer", Subject: DefaultSubject, Audience: AzureADTokenExchange}}
	}
	if err := a.makeCerts(ip); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authority) makeCerts(ip net.IP) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "graphsim test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	if a.caCert, err = x509.ParseCertificate(caDER); err != nil {
		return fmt.Errorf("ca certificate: %w", err)
	}
	a.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip != nil && !ip.IsUnspecified() {
		ips = append(ips, ip)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, leaf, a.caCert, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	a.serverCert = tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}
	return nil
}

// TenantID, ClientID and ClientSecret of the registered application.
func (s *Server) TenantID() string     { return s.auth.tenantID }
func (s *Server) ClientID() string     { return s.auth.clientID }
func (s *Server) ClientSecret() string { return s.auth.secret }

// CACertPEM is the certificate of the CA that signed the server's.
func (s *Server) CACertPEM() []byte { return s.auth.caPEM }

// HTTPClient returns a client that trusts the emulator's CA (one client
// per Server, safe for concurrent use; HTTP/2 where the server offers it).
func (s *Server) HTTPClient() *http.Client {
	s.clientOnce.Do(func() {
		pool := x509.NewCertPool()
		pool.AddCert(s.auth.caCert)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
		s.client = &http.Client{Transport: tr}
	})
	return s.client
}

// TestIssuer is the issuer URL of the built-in federated token issuer.
func (s *Server) TestIssuer() string { return s.base + "/test-issuer" }

// FederatedToken returns a JWT from the built-in test issuer for subject
// and audience, valid for ten minutes: what a workload identity platform
// would hand the exporter to present as client assertion.
func (s *Server) FederatedToken(subject, audience string) (string, error) {
	now := s.opts.Clock()
	return signES256(s.auth.issuerKey, map[string]any{"iss": s.TestIssuer(), "sub": subject, "aud": audience,
		"iat": now.Unix(), "nbf": now.Unix() - 60, "exp": now.Add(10 * time.Minute).Unix()}, nil)
}

// ClientCertificate returns the certificate registered on the application
// and its key (RSA 2048, made on first use), for client certificate
// assertions (azidentity.NewClientCertificateCredential).
func (s *Server) ClientCertificate() ([]*x509.Certificate, crypto.PrivateKey, error) {
	a := s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clientCert == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, fmt.Errorf("client key: %w", err)
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "m365export client"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, nil, fmt.Errorf("client certificate: %w", err)
		}
		if a.clientCert, err = x509.ParseCertificate(der); err != nil {
			return nil, nil, fmt.Errorf("client certificate: %w", err)
		}
		a.clientKey = key
	}
	return []*x509.Certificate{a.clientCert}, a.clientKey, nil
}

// SetRoles changes the granted permissions for tokens issued from now on
// (tokens already issued keep their roles, as in Entra).
func (s *Server) SetRoles(roles []string) {
	s.auth.mu.Lock()
	s.auth.roles = slices.Clone(roles)
	s.auth.mu.Unlock()
}

// SetConsent grants or withdraws admin consent for tokens issued from now on.
func (s *Server) SetConsent(granted bool) {
	s.auth.mu.Lock()
	s.auth.consent = granted
	s.auth.mu.Unlock()
}

// ---------------------------------------------------------------------------
// HTTP side.

func (a *authority) serve(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(segs) == 4 && segs[1] == "v2.0" && segs[2] == ".well-known" && segs[3] == "openid-configuration" && multiTenant(segs[0]):
		a.openIDMulti(w, segs[0]) // devicecode.go
	case len(segs) == 4 && segs[1] == "v2.0" && segs[2] == ".well-known" && segs[3] == "openid-configuration":
		a.openID(w, segs[0])
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "devicecode":
		a.deviceAuthorization(w, r, segs[0]) // devicecode.go
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token":
		a.token(w, r, segs[0])
	default:
		http.NotFound(w, r)
	}
}

func (a *authority) knownTenant(t string) bool {
	return strings.EqualFold(t, a.tenantID) || strings.EqualFold(t, a.s.tenant.Domain())
}

func (a *authority) openID(w http.ResponseWriter, tenant string) {
	if !a.knownTenant(tenant) {
		a.oauthError(w, 400, "invalid_tenant", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	base := a.s.base + "/" + a.tenantID
	writeJSONValue(w, 200, map[string]any{
		"issuer":                                base + "/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "WW",
	})
}

func writeJSONValue(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *authority) oauthError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := a.s.opts.Clock().UTC()
	writeJSONValue(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, a.s.newRequestID(), a.s.newRequestID(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
	})
}

func (a *authority) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		a.oauthError(w, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		a.oauthError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	switch g := f.Get("grant_type"); { // devicecode.go
	case isDeviceCodeGrant(g):
		a.deviceToken(w, f, tenant)
		return
	case g == "refresh_token":
		a.refreshToken(w, f, tenant)
		return
	}
	if !a.knownTenant(tenant) {
		a.oauthError(w, 400, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if f.Get("grant_type") != "client_credentials" {
		a.oauthError(w, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+f.Get("grant_type")+"'.")
		return
	}
	cid := f.Get("client_id")
	id, known := a.identity(cid)
	if !known {
		a.oauthError(w, 400, "unauthorized_client", 700016, "Application with identifier '"+cid+"' was not found in the directory '"+a.s.tenant.Domain()+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
		return
	}
	if id.code != 0 {
		a.oauthError(w, 401, "invalid_client", id.code, id.msg)
		return
	}
	if sc := f.Get("scope"); !slices.ContainsFunc(strings.Fields(sc), func(x string) bool { return strings.HasSuffix(x, "/.default") }) {
		a.oauthError(w, 400, "invalid_scope", 1002012, "The provided value for scope "+sc+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	switch {
	case f.Get("client_secret") != "":
		if id.secret == "" || f.Get("client_secret") != id.secret {
			a.oauthError(w, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+cid+"'.")
			return
		}
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			a.oauthError(w, 400, "invalid_request", 50027, "Invalid JWT token: client_assertion_type is not supported.")
			return
		}
		if code, msg := a.checkAssertion(f.Get("client_assertion"), cid, id.federated); code != 0 {
			a.oauthError(w, 401, "invalid_client", code, msg)
			return
		}
	default:
		a.oauthError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	roles, consent := id.roles, id.consent
	now := a.s.opts.Clock()
	claims := map[string]any{"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + a.tenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix() - 300, "exp": now.Add(a.lifetime).Unix(), "appid": cid,
		"tid": a.tenantID, "oid": id.sp, "sub": id.sp, "idtyp": "app", "ver": "1.0"}
	if consent {
		claims["roles"] = roles
	}
	tok, err := signES256(a.signKey, claims, nil)
	if err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	writeJSONValue(w, 200, map[string]any{"token_type": "Bearer", "expires_in": int(a.lifetime.Seconds()),
		"ext_expires_in": int(a.lifetime.Seconds()), "access_token": tok})
}

// identity is what the token endpoint knows of client id cid: the built-in
// application of Auth, or with Options.StrictApps an application setup
// created (apps.go). known false: no such application.
func (a *authority) identity(cid string) (id clientIdentity, known bool) {
	if a.s.dir != nil {
		return a.s.dir.identity(cid)
	}
	if cid != a.clientID {
		return id, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return clientIdentity{federated: a.federated, roles: a.roles, consent: a.consent, sp: a.servicePrincipal, secret: a.secret}, true
}

// checkAssertion verifies a client certificate assertion (header x5t or
// x5t#S256) or a federated assertion; it returns an AADSTS code and message
// on failure.
func (a *authority) checkAssertion(jwt, clientID string, federated []Federation) (int, string) {
	hdr, claims, signed, sig, err := parseJWT(jwt)
	if err != nil {
		return 50027, "Invalid JWT token. The token is malformed."
	}
	now := a.s.opts.Clock().Unix()
	if exp, ok := claims["exp"].(float64); !ok || int64(exp) < now-300 {
		return 700024, "Client assertion is not within its valid time range."
	}
	x5t, _ := hdr["x5t"].(string)
	x5tS, _ := hdr["x5t#S256"].(string)
	if x5t != "" || x5tS != "" {
		a.mu.Lock()
		cert := a.clientCert
		a.mu.Unlock()
		if cert == nil {
			return 700027, "Client assertion contains an invalid signature. [Reason - The key was not found.]"
		}
		s1 := sha1.Sum(cert.Raw)
		s256 := sha256.Sum256(cert.Raw)
		match := func(got string, sum []byte) bool {
			return got != "" && (got == base64.RawURLEncoding.EncodeToString(sum) || got == base64.StdEncoding.EncodeToString(sum))
		}
		if !match(x5t, s1[:]) && !match(x5tS, s256[:]) {
			return 700027, "Client assertion contains an invalid signature. [Reason - The key was not found.]"
		}
		if err := verifyJWT(hdr, signed, sig, cert.PublicKey); err != nil {
			return 700027, "Client assertion contains an invalid signature. [Reason - " + err.Error() + "]"
		}
		if claims["iss"] != clientID || claims["sub"] != clientID {
			return 700021, "Client assertion application identifier doesn't match 'client_id' parameter."
		}
		aud, _ := claims["aud"].(string)
		if !strings.HasSuffix(aud, "/oauth2/v2.0/token") && !strings.HasSuffix(aud, "/v2.0") && !strings.HasSuffix(aud, "/oauth2/token") {
			return 700212, "No matching federated identity record found for presented assertion audience '" + aud + "'."
		}
		return 0, ""
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	auds := audiences(claims["aud"])
	var issuerKnown bool
	for _, fc := range federated {
		if fc.Issuer != iss || fc.Issuer == "" {
			continue
		}
		issuerKnown = true
		if fc.Subject != sub || !slices.Contains(auds, fc.Audience) {
			continue
		}
		key := fc.Key
		if key == nil {
			key = &a.issuerKey.PublicKey
		}
		if err := verifyJWT(hdr, signed, sig, key); err != nil {
			return 700027, "Client assertion contains an invalid signature."
		}
		return 0, ""
	}
	if !issuerKnown {
		return 700211, "No matching federated identity record found for presented assertion issuer '" + iss + "'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
	}
	return 70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '" + iss + "'. Assertion Subject: '" + sub + "'. Assertion Audience: '" + strings.Join(auds, ",") + "'."
}

func audiences(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// tokenClaims are what Graph needs from a verified access token.
type tokenClaims struct {
	exp      int64
	tid      string
	roles    []string
	hasRoles bool
	appid    string
}

// authorize checks the request's bearer token against the route's role.
func (s *Server) authorize(rc *reqCtx) *apiError {
	if s.opts.Auth.Anonymous {
		return nil
	}
	a := s.auth
	h := rc.r.Header.Get("Authorization")
	if h == "" {
		return &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Access token is empty."}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Access token validation failure. Invalid audience."}
	}
	var c *tokenClaims
	if v, ok := a.verified.Load(tok); ok {
		c = v.(*tokenClaims)
	} else {
		hdr, claims, signed, sig, err := parseJWT(tok)
		if err != nil || verifyJWT(hdr, signed, sig, &a.signKey.PublicKey) != nil {
			return &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "IDX14100: JWT is not well formed or its signature is invalid."}
		}
		c = &tokenClaims{}
		if exp, ok := claims["exp"].(float64); ok {
			c.exp = int64(exp)
		}
		c.tid, _ = claims["tid"].(string)
		c.appid, _ = claims["appid"].(string)
		if rs, ok := claims["roles"].([]any); ok {
			c.hasRoles = true
			for _, r := range rs {
				if s, ok := r.(string); ok {
					c.roles = append(c.roles, s)
				}
			}
		}
		a.verified.Store(tok, c)
	}
	rc.appID = c.appid
	if c.exp < s.opts.Clock().Unix() {
		return &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Lifetime validation failed, the token is expired."}
	}
	if c.tid != a.tenantID {
		return &apiError{status: 401, code: "InvalidAuthenticationToken", msg: "Access token validation failure. Invalid audience."}
	}
	if !c.hasRoles {
		return &apiError{status: 401, code: "Authorization_IdentityNotFound", msg: "The identity of the calling application could not be established."}
	}
	if !hasRole(c.roles, rc.rt.role) {
		return &apiError{status: 403, code: "Authorization_RequestDenied", msg: "Insufficient privileges to complete the operation."}
	}
	rc.authed, rc.roles = true, c.roles
	return nil
}

func hasRole(roles []string, need string) bool {
	if need == "" || slices.Contains(roles, need) {
		return true
	}
	for _, alt := range implied[need] {
		if slices.Contains(roles, alt) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Minimal JWT (JWS compact) signing and verification.

func signES256(key *ecdsa.PrivateKey, claims map[string]any, extraHdr map[string]any) (string, error) {
	hdr := map[string]any{"alg": "ES256", "typ": "JWT"}
	for k, v := range extraHdr {
		hdr[k] = v
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func parseJWT(tok string) (hdr, claims map[string]any, signed string, sig []byte, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, "", nil, errors.New("not a compact JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, nil, "", nil, err
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, nil, "", nil, err
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, nil, "", nil, err
	}
	return hdr, claims, parts[0] + "." + parts[1], sig, nil
}

func verifyJWT(hdr map[string]any, signed string, sig []byte, key crypto.PublicKey) error {
	d := sha256.Sum256([]byte(signed))
	alg, _ := hdr["alg"].(string)
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if alg != "ES256" || len(sig) != 64 {
			return errors.New("unsupported algorithm " + alg)
		}
		if !ecdsa.Verify(k, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("signature mismatch")
		}
		return nil
	case *rsa.PublicKey:
		switch alg {
		case "RS256":
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig)
		case "PS256":
			return rsa.VerifyPSS(k, crypto.SHA256, d[:], sig, nil)
		}
		return errors.New("unsupported algorithm " + alg)
	}
	return errors.New("unsupported key type")
}
