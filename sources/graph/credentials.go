package graph

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"software.sslmate.com/src/go-pkcs12"

	"m365export/sources"
)

// Credentials say how the exporter proves its identity to Entra ID: a
// federated assertion (the recommended setup: no secret held), a client
// certificate or a client secret. Exactly one of them is set.
type Credentials struct {
	// TenantID is the directory (tenant) id.
	TenantID string
	// ClientID is the Application (client) id, not the Object id.
	ClientID string

	// ClientSecret is a client secret (trials only).
	ClientSecret string
	// Certificate is a PEM or PFX (PKCS#12) certificate with its private
	// key; CertificatePassword decrypts a PFX.
	Certificate         []byte
	CertificatePassword []byte
	// Assertion returns a federated identity token (a JWT) each time a
	// token is needed: GCPMetadataAssertion, CognitoAssertion or
	// FileAssertion. It must be safe for concurrent use.
	Assertion func(ctx context.Context) (string, error)

	// Cloud selects the login authority (default Global); AuthorityHost
	// overrides it (an emulator's identity side; HTTPS only, as MSAL wants).
	Cloud         Cloud
	AuthorityHost string
	// Transport sends the token requests (e.g. a client trusting an
	// emulator's CA); nil is azcore's default.
	Transport policy.Transporter
}

// Validate reports every problem of c at once.
func (c *Credentials) Validate() error {
	var errs []error
	if c.TenantID == "" {
		errs = append(errs, errors.New("tenant id is required"))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id is required"))
	}
	n := 0
	for _, set := range []bool{c.ClientSecret != "", len(c.Certificate) > 0, c.Assertion != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, fmt.Errorf("want exactly one of client secret, certificate, federated assertion; have %d", n))
	}
	if h := c.authority(); !strings.HasPrefix(h, "https://") {
		errs = append(errs, fmt.Errorf("authority host %q: HTTPS only", h))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("credentials: %w: %w", sources.ErrConfig, err)
	}
	return nil
}

func (c *Credentials) authority() string {
	if c.AuthorityHost != "" {
		h := c.AuthorityHost
		if !strings.HasSuffix(h, "/") {
			h += "/"
		}
		return h
	}
	if c.Cloud.AuthorityHost != "" {
		return c.Cloud.AuthorityHost
	}
	return Global.AuthorityHost
}

// New builds a fresh credential; pass it (the method value) as
// Options.Credential. Each call makes a new one with an empty token cache,
// which is how the client gets a fresh token after a rejected one.
func (c *Credentials) New() (TokenCredential, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.authority()},
		Transport: c.Transport,
	}
	// Instance discovery asks login.microsoft.com about the authority:
	// needless for the known clouds' hosts and impossible for an emulator.
	disco := c.AuthorityHost != ""
	cred, err := c.build(co, disco)
	if err != nil {
		return nil, fmt.Errorf("credential: %w: %w", sources.ErrConfig, err)
	}
	return cred, nil
}

func (c *Credentials) build(co azcore.ClientOptions, disco bool) (TokenCredential, error) {
	switch {
	case c.Assertion != nil:
		fc := &federatedCred{}
		get := func(ctx context.Context) (string, error) {
			a, err := c.Assertion(ctx)
			if err == nil {
				fc.last.Store(assertionClaims(a))
			}
			return a, err
		}
		inner, err := azidentity.NewClientAssertionCredential(c.TenantID, c.ClientID, get,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disco})
		if err != nil {
			return nil, err
		}
		fc.inner = inner
		return fc, nil
	case len(c.Certificate) > 0:
		certs, key, err := parseCertificate(c.Certificate, c.CertificatePassword)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		return azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disco})
	default:
		return azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disco})
	}
}

// federatedCred remembers the claims of the last assertion it presented, so
// that a refusal can say which issuer, subject and audience Entra ID did not
// match (DESIGN.md's troubleshooting table).
type federatedCred struct {
	inner TokenCredential
	last  atomic.Pointer[claims]
}

// claims are the identifying claims of a federated assertion: the
// workload's identity, neither secret nor personal.
type claims struct{ Issuer, Subject, Audience string }

func (f *federatedCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	t, err := f.inner.GetToken(ctx, o)
	if err != nil {
		return t, &assertionError{err: err, claims: f.last.Load()}
	}
	return t, nil
}

// assertionError is a token refusal with the assertion's claims.
type assertionError struct {
	err    error
	claims *claims
}

func (e *assertionError) Error() string { return e.err.Error() }
func (e *assertionError) Unwrap() error { return e.err }

// assertionClaims reads iss, sub and aud from a JWT without verifying it
// (Entra ID verifies it); nil when it is not a JWT.
func assertionClaims(jwt string) *claims {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return nil
	}
	aud := string(c.Aud)
	var one string
	var many []string
	if json.Unmarshal(c.Aud, &one) == nil {
		aud = one
	} else if json.Unmarshal(c.Aud, &many) == nil {
		aud = strings.Join(many, ",")
	}
	return &claims{Issuer: c.Iss, Subject: c.Sub, Audience: aud}
}

// parseCertificate reads a PEM or PFX certificate with its private key.
// azidentity reads PEM and legacy PFX (3DES, SHA-1); PFX files as OpenSSL 3
// and current Windows write them (AES, SHA-256) need go-pkcs12.
func parseCertificate(data, password []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err == nil {
		return certs, key, nil
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, nil, err
	}
	k, cert, chain, perr := pkcs12.DecodeChain(data, string(password))
	if perr != nil {
		return nil, nil, fmt.Errorf("PFX: %w", perr)
	}
	return append([]*x509.Certificate{cert}, chain...), k, nil
}

// AzureADTokenExchange is the audience Entra ID expects in federated
// assertions (except Cognito's, whose audience is the identity pool id).
const AzureADTokenExchange = "api://AzureADTokenExchange"

// GCPOptions configure GCPMetadataAssertion.
type GCPOptions struct {
	// Host is the metadata server (default $GCE_METADATA_HOST, else
	// metadata.google.internal).
	Host string
	// Audience defaults to AzureADTokenExchange.
	Audience string
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
}

// GCPMetadataAssertion returns an assertion provider that asks the GCP
// metadata server for an ID token of the service account the exporter runs
// as (FIC issuer https://accounts.google.com, subject the account's numeric
// id).
func GCPMetadataAssertion(o *GCPOptions) func(context.Context) (string, error) {
	var opts GCPOptions
	if o != nil {
		opts = *o
	}
	if opts.Host == "" {
		opts.Host = os.Getenv("GCE_METADATA_HOST")
	}
	if opts.Host == "" {
		opts.Host = "metadata.google.internal"
	}
	if opts.Audience == "" {
		opts.Audience = AzureADTokenExchange
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	u := "http://" + opts.Host + "/computeMetadata/v1/instance/service-accounts/default/identity?audience=" +
		url.QueryEscape(opts.Audience) + "&format=full"
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", fmt.Errorf("gcp metadata identity: %w", err)
		}
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := opts.HTTPClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("gcp metadata identity: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return "", fmt.Errorf("gcp metadata identity: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("gcp metadata identity: status %d", resp.StatusCode)
		}
		tok := string(bytes.TrimSpace(b))
		if tok == "" {
			return "", errors.New("gcp metadata identity: empty token")
		}
		return tok, nil
	}
}

// FederatedTokenFileEnv names the file Kubernetes workload identity (and
// other OIDC federations) write the token to.
const FederatedTokenFileEnv = "AZURE_FEDERATED_TOKEN_FILE"

// FileAssertion returns an assertion provider reading the token from path
// ("" = $AZURE_FEDERATED_TOKEN_FILE) on every call, since the platform
// rotates it.
func FileAssertion(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		p := path
		if p == "" {
			p = os.Getenv(FederatedTokenFileEnv)
		}
		if p == "" {
			return "", fmt.Errorf("federated token file: %s is not set: %w", FederatedTokenFileEnv, sources.ErrConfig)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("federated token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("federated token file %s is empty", p)
		}
		return tok, nil
	}
}
