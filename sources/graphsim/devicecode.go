package graphsim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The OAuth 2.0 device authorization grant (RFC 8628) as the Microsoft
// identity platform documents it ("Microsoft identity platform and the OAuth
// 2.0 device authorization grant flow", v2-oauth2-device-code), for a person
// signing in through a public client such as the Azure CLI:
//
//   - POST /{tenant}/oauth2/v2.0/devicecode with client_id and scope answers
//     device_code, user_code, verification_uri, expires_in (900: the user has
//     15 minutes), interval (5) and message, the text to show the user. As
//     documented, there is no verification_uri_complete.
//   - The client polls POST /{tenant}/oauth2/v2.0/token with grant_type
//     urn:ietf:params:oauth:grant-type:device_code, client_id and
//     device_code (MSAL sends grant_type device_code, which is accepted
//     too). Until the person signs in: 400 authorization_pending
//     (AADSTS70016); if they refuse: 400 authorization_declined; an unknown
//     device code: 400 bad_verification_code; once expires_in has passed:
//     400 expired_token (AADSTS70019). Then: the token response (token_type,
//     scope, expires_in, access_token, an id_token since the scope holds
//     openid and a refresh_token since it holds offline_access, both of
//     which MSAL always adds). grant_type refresh_token with that refresh
//     token gives the person new tokens.
//   - {tenant} is the tenant's id or domain, or organizations or common
//     (documented for this flow; consumers is not: no personal accounts here);
//     their OpenID configuration names the token endpoint under the same
//     segment and the issuer with the {tenantid} placeholder, as Entra's do.
//
// A person approves or declines a pending code through the test hooks
// Server.ApproveDeviceCode and Server.DeclineDeviceCode, not through a web
// page; the verification_uri is Microsoft's own.
//
// Assumptions where Microsoft's pages are silent or the emulator simplifies:
// only the Azure CLI's public client (AzureCLIClientID) is registered for
// public client flows (other client ids: AADSTS700016, as for an unknown
// application); the user code is 9 characters from A–Z and 0–9 (the
// documented examples show 8 or 9); the AADSTS codes of
// authorization_declined and bad_verification_code (70000) and of an
// unknown refresh token (invalid_grant, 9002313) are modelled; a device
// code answered once (approved, declined or expired) is spent and then
// answers bad_verification_code; the id_token and refresh_token are issued
// whether or not the scope names openid and offline_access; refresh tokens
// do not expire and are not single-use; the token response carries
// client_info (MSAL asks for it with client_info=1); the granted scope
// echoes the requested one; polling faster than interval is not answered
// slow_down (MSAL Go polls from 50 ms up to 5 s whatever the interval, and
// Entra is not documented to refuse it).

// AzureCLIClientID is the Application (client) ID of the Microsoft Azure
// CLI, the public client Microsoft publishes in every tenant.
const AzureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// DeviceCodeGrantType is the grant_type of the device code token request.
const DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// isDeviceCodeGrant reports whether grant is the device code grant: the
// documented URN, or "device_code", which MSAL (Go, and the Azure CLI's
// Python) sends and Entra therefore accepts.
func isDeviceCodeGrant(grant string) bool {
	return grant == DeviceCodeGrantType || grant == "device_code"
}

// DeviceLoginURL is the verification_uri the device-code endpoint answers,
// Microsoft's page where a person enters the user code.
const DeviceLoginURL = "https://microsoft.com/devicelogin"

const (
	deviceCodeLifetime = 15 * time.Minute
	deviceCodeInterval = 5
	userCodeAlphabet   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
)

// deviceGrant is one pending device authorization.
type deviceGrant struct {
	device, user string
	clientID     string
	scope        string
	expires      time.Time
	state        deviceState
	token        string // the person's access token, once approved
	upn          string
	roles        []string
}

// personSession is what a refresh token stands for: a person signed in
// through a public client, with their directory roles.
type personSession struct {
	clientID, scope, upn string
	roles                []string
}

// deviceCodes are the device authorizations of an authority, by device
// code and by user code.
type deviceCodes struct {
	mu       sync.Mutex
	byDevice map[string]*deviceGrant
	byUser   map[string]*deviceGrant
	refresh  map[string]personSession // by refresh token
}

// multiTenant reports whether tenant is one of the authority's segments
// that stand for any work or school tenant.
func multiTenant(tenant string) bool {
	return strings.EqualFold(tenant, "organizations") || strings.EqualFold(tenant, "common")
}

// openIDMulti is the OpenID configuration of organizations or common.
func (a *authority) openIDMulti(w http.ResponseWriter, tenant string) {
	base := a.s.base + "/" + tenant
	writeJSONValue(w, 200, map[string]any{
		"issuer":                                a.s.base + "/{tenantid}/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   nil,
	})
}

// deviceAuthorization answers POST /{tenant}/oauth2/v2.0/devicecode.
func (a *authority) deviceAuthorization(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		a.oauthError(w, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !a.knownTenant(tenant) && !multiTenant(tenant) {
		a.oauthError(w, 400, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if err := r.ParseForm(); err != nil {
		a.oauthError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	f := r.PostForm
	cid := f.Get("client_id")
	switch {
	case cid == "":
		a.oauthError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	case cid != AzureCLIClientID:
		a.oauthError(w, 400, "unauthorized_client", 700016, "Application with identifier '"+cid+"' was not found in the directory '"+a.s.tenant.Domain()+"'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
		return
	case strings.TrimSpace(f.Get("scope")) == "":
		a.oauthError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	user, err := randomCode(9)
	if err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	dev := make([]byte, 96)
	if _, err := rand.Read(dev); err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	g := &deviceGrant{device: base64.RawURLEncoding.EncodeToString(dev), user: user, clientID: cid,
		scope: f.Get("scope"), expires: a.s.opts.Clock().Add(deviceCodeLifetime)}
	dc := &a.devices
	dc.mu.Lock()
	if dc.byDevice == nil {
		dc.byDevice, dc.byUser, dc.refresh = map[string]*deviceGrant{}, map[string]*deviceGrant{}, map[string]personSession{}
	}
	dc.byDevice[g.device], dc.byUser[g.user] = g, g
	dc.mu.Unlock()
	writeJSONValue(w, 200, map[string]any{
		"user_code":        g.user,
		"device_code":      g.device,
		"verification_uri": DeviceLoginURL,
		"expires_in":       int(deviceCodeLifetime.Seconds()),
		"interval":         deviceCodeInterval,
		"message":          "To sign in, use a web browser to open the page " + DeviceLoginURL + " and enter the code " + g.user + " to authenticate.",
	})
}

// randomCode returns n characters drawn uniformly from userCodeAlphabet.
func randomCode(n int) (string, error) {
	b := make([]byte, n)
	out := make([]byte, 0, n)
	for len(out) < n {
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		for _, c := range b {
			// 252 = 7 * 36: rejecting the rest keeps the draw uniform.
			if c < 252 && len(out) < n {
				out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// deviceToken answers the token request of the device code grant.
func (a *authority) deviceToken(w http.ResponseWriter, f url.Values, tenant string) {
	if !a.knownTenant(tenant) && !multiTenant(tenant) {
		a.oauthError(w, 400, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	if f.Get("device_code") == "" {
		a.oauthError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'device_code'.")
		return
	}
	dc := &a.devices
	dc.mu.Lock()
	g := dc.byDevice[f.Get("device_code")]
	if g == nil || g.clientID != f.Get("client_id") {
		dc.mu.Unlock()
		a.oauthError(w, 400, "bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid.")
		return
	}
	now := a.s.opts.Clock()
	if !now.Before(g.expires) {
		delete(dc.byDevice, g.device)
		delete(dc.byUser, g.user)
		dc.mu.Unlock()
		a.oauthError(w, 400, "expired_token", 70019, "Verification code expired.")
		return
	}
	state, tok := g.state, g.token
	sess := personSession{clientID: g.clientID, scope: g.scope, upn: g.upn, roles: g.roles}
	if state != devicePending {
		// Answered once: the device code is spent.
		delete(dc.byDevice, g.device)
		delete(dc.byUser, g.user)
	}
	dc.mu.Unlock()
	switch state {
	case devicePending:
		a.oauthError(w, 400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return
	case deviceDeclined:
		a.oauthError(w, 400, "authorization_declined", 70000, "The user declined the authorization request.")
		return
	}
	a.personTokens(w, tok, sess)
}

// refreshToken answers the refresh token grant for a person signed in
// with a device code: a new access token (PersonToken's, with the same
// directory roles), id token and refresh token. The old refresh token stays
// valid (Entra's are not single-use).
func (a *authority) refreshToken(w http.ResponseWriter, f url.Values, tenant string) {
	if !a.knownTenant(tenant) && !multiTenant(tenant) {
		a.oauthError(w, 400, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		return
	}
	dc := &a.devices
	dc.mu.Lock()
	sess, ok := dc.refresh[f.Get("refresh_token")]
	dc.mu.Unlock()
	if !ok || sess.clientID != f.Get("client_id") {
		a.oauthError(w, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	}
	if sc := f.Get("scope"); sc != "" {
		sess.scope = sc
	}
	tok, err := a.s.PersonToken(sess.upn, sess.roles...)
	if err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	a.personTokens(w, tok, sess)
}

// personTokens answers the token response of a person's sign-in: the
// access token tok, an id token and client_info for the person, and a new
// refresh token for sess.
func (a *authority) personTokens(w http.ResponseWriter, tok string, sess personSession) {
	_, claims, _, _, err := parseJWT(tok)
	if err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	oid, _ := claims["oid"].(string)
	exp, _ := claims["exp"].(float64)
	now := a.s.opts.Clock()
	idTok, err := signES256(a.signKey, map[string]any{"aud": sess.clientID, "iss": a.s.base + "/" + a.tenantID + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix() - 300, "exp": int64(exp), "oid": oid, "sub": oid, "tid": a.tenantID,
		"preferred_username": sess.upn, "name": sess.upn, "ver": "2.0"}, map[string]any{"kid": a.signKeyID()})
	if err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	rb := make([]byte, 96)
	if _, err := rand.Read(rb); err != nil {
		a.oauthError(w, 500, "server_error", 90033, "A transient error has occurred.")
		return
	}
	rt := base64.RawURLEncoding.EncodeToString(rb)
	dc := &a.devices
	dc.mu.Lock()
	dc.refresh[rt] = sess
	dc.mu.Unlock()
	ci, _ := json.Marshal(map[string]string{"uid": oid, "utid": a.tenantID})
	life := int64(exp) - now.Unix()
	writeJSONValue(w, 200, map[string]any{"token_type": "Bearer", "scope": sess.scope, "expires_in": life,
		"ext_expires_in": life, "access_token": tok, "id_token": idTok, "refresh_token": rt,
		"client_info": base64.RawURLEncoding.EncodeToString(ci)})
}

// signKeyID names the key that signs tokens, as the kid header of Entra's
// id tokens does: the SHA-256 of its public key (PKIX), base64url.
func (a *authority) signKeyID() string {
	der, err := x509.MarshalPKIXPublicKey(&a.signKey.PublicKey)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ApproveDeviceCode is a person signing in with userCode (shown to them by
// the device-code prompt) and consenting: upn with the named directory
// roles, as for PersonToken. The client's next poll gets the same
// delegated token PersonToken gives. It needs Options.StrictApps, and the
// code must be pending and not expired.
func (s *Server) ApproveDeviceCode(userCode, upn string, roles ...string) error {
	g, err := s.auth.pendingDevice(userCode)
	if err != nil {
		return err
	}
	tok, err := s.PersonToken(upn, roles...)
	if err != nil {
		return err
	}
	dc := &s.auth.devices
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if g.state != devicePending {
		return fmt.Errorf("graphsim: device code %s is no longer pending", userCode)
	}
	g.state, g.token, g.upn, g.roles = deviceApproved, tok, upn, slices.Clone(roles)
	return nil
}

// DeclineDeviceCode is the person refusing the sign-in of userCode: the
// client's next poll gets authorization_declined.
func (s *Server) DeclineDeviceCode(userCode string) error {
	g, err := s.auth.pendingDevice(userCode)
	if err != nil {
		return err
	}
	dc := &s.auth.devices
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if g.state != devicePending {
		return fmt.Errorf("graphsim: device code %s is no longer pending", userCode)
	}
	g.state = deviceDeclined
	return nil
}

// pendingDevice finds the pending, unexpired authorization of userCode.
func (a *authority) pendingDevice(userCode string) (*deviceGrant, error) {
	dc := &a.devices
	dc.mu.Lock()
	defer dc.mu.Unlock()
	g := dc.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	switch {
	case g == nil:
		return nil, fmt.Errorf("graphsim: no device code %q", userCode)
	case !a.s.opts.Clock().Before(g.expires):
		return nil, fmt.Errorf("graphsim: device code %s has expired", userCode)
	case g.state != devicePending:
		return nil, fmt.Errorf("graphsim: device code %s is no longer pending", userCode)
	}
	return g, nil
}
