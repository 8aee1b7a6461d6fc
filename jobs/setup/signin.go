package setup

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"m365export/jobs"
	"m365export/sources/entra"
	"m365export/sources/graph"
)

// AzureCLIClientID is the Application (client) ID of the Microsoft Azure
// CLI, the public client application the device-code sign-in goes
// through: Microsoft publishes it in every tenant, pre-authorized for
// Microsoft Graph's directory scopes, so a person can sign in before any
// application of ours exists (an application of our own would need the
// very registration and consent setup is about to make). It is the client
// whose tokens `az account get-access-token` returns, as psoxy's Terraform
// uses them.
const AzureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

// SignIn says how the person running setup signs in.
type SignIn struct {
	// Method is "az" (the Azure CLI's token: az login first) or
	// "device-code".
	Method   string
	TenantID string
	Cloud    graph.Cloud
	// GraphURL and AuthorityHost override the cloud's (testing).
	GraphURL, AuthorityHost string
	// CAFile is an extra CA certificate to trust (testing).
	CAFile string
	// Prompt receives the device-code instructions.
	Prompt io.Writer
}

// Client returns a directory client signed in as the person.
func (s SignIn) Client() (*entra.Client, error) {
	root := s.Cloud.GraphRoot
	if s.GraphURL != "" {
		root = strings.TrimSuffix(strings.TrimSuffix(s.GraphURL, "/"), "/v1.0")
	}
	var roots *x509.CertPool
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --ca-file: %w", jobs.ErrUsage, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --ca-file %s holds no PEM certificate", jobs.ErrUsage, s.CAFile)
		}
	}
	hc := graph.NewHTTPClient(roots)
	tok, err := s.tokenFunc(hc)
	if err != nil {
		return nil, err
	}
	return &entra.Client{GraphURL: root, HTTP: hc, Token: tok}, nil
}

// tokenFunc returns a function giving the person's token, cached until
// five minutes before it expires.
func (s SignIn) tokenFunc(hc *http.Client) (func(context.Context) (string, error), error) {
	var get func(context.Context) (azcore.AccessToken, error)
	scope := s.Cloud.GraphRoot + "/.default"
	switch s.Method {
	case "az", "":
		get = func(ctx context.Context) (azcore.AccessToken, error) {
			return azToken(ctx, s.Cloud.GraphRoot, s.TenantID)
		}
	case "device-code":
		host := s.Cloud.AuthorityHost
		if s.AuthorityHost != "" {
			host = s.AuthorityHost
		}
		tenant := s.TenantID
		if tenant == "" {
			tenant = "organizations"
		}
		prompt := s.Prompt
		if prompt == nil {
			prompt = os.Stderr
		}
		refusals := &oauthRefusals{next: hc}
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientID: AzureCLIClientID, TenantID: tenant,
			ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: host}, Transport: refusals},
			// Instance discovery asks login.microsoftonline.com about the
			// authority: needless for the known clouds' hosts (MSAL trusts
			// them) and impossible for an overridden one (an emulator).
			DisableInstanceDiscovery: s.AuthorityHost != "",
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				_, err := fmt.Fprintln(prompt, m.Message)
				return err
			},
		})
		if err != nil {
			return nil, fmt.Errorf("device-code sign-in: %w", err)
		}
		get = func(ctx context.Context) (azcore.AccessToken, error) {
			refusals.reset()
			t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				return t, deviceCodeError(ctx, err, refusals)
			}
			return t, nil
		}
	default:
		return nil, fmt.Errorf("%w: --sign-in %q: want az or device-code", jobs.ErrUsage, s.Method)
	}
	var mu sync.Mutex
	var cur azcore.AccessToken
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if cur.Token != "" && time.Until(cur.ExpiresOn) > 5*time.Minute {
			return cur.Token, nil
		}
		t, err := get(ctx)
		if err != nil {
			return "", err
		}
		cur = t
		return t.Token, nil
	}, nil
}

// deviceCodeError says what went wrong with a device-code sign-in: the
// person declined it (a refusal: exit 2, as Graph's 403s), the code expired
// before anyone signed in with it (exit 1: run again), or another refusal
// of the token endpoint, named by its OAuth error and AADSTS message.
func deviceCodeError(ctx context.Context, err error, r *oauthRefusals) error {
	code, desc := r.last()
	switch {
	case code == "authorization_declined":
		return fmt.Errorf("%w: device-code sign-in: the sign-in was declined (%s); run the command again and accept it", jobs.ErrUsage, desc)
	case code == "expired_token" || (errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil):
		return fmt.Errorf("device-code sign-in: the code expired before anyone signed in with it (Entra gives 15 minutes); run the command again and sign in promptly")
	case code != "":
		return fmt.Errorf("device-code sign-in refused: %s: %s", code, desc)
	}
	return fmt.Errorf("device-code sign-in: %w", err)
}

// oauthRefusals passes requests to next and remembers the OAuth error of
// the last 400 from a token endpoint. MSAL Go reads the body of every 400
// while it polls for a device code (to tell authorization_pending from the
// rest) and leaves it empty, so azidentity's error cannot tell a declined
// sign-in from an expired code. Error responses hold no token.
type oauthRefusals struct {
	next       policy.Transporter
	mu         sync.Mutex
	code, desc string
}

func (o *oauthRefusals) Do(req *http.Request) (*http.Response, error) {
	resp, err := o.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read to the end; a close error changes nothing
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return nil, fmt.Errorf("reading the token endpoint's answer: %w", rerr)
	}
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		// The description's first line, without trace and correlation ids.
		desc, _, _ := strings.Cut(e.Desc, "\n")
		desc, _, _ = strings.Cut(desc, " Trace ID:")
		o.mu.Lock()
		o.code, o.desc = e.Error, strings.TrimSpace(desc)
		o.mu.Unlock()
	}
	return resp, nil
}

func (o *oauthRefusals) reset() {
	o.mu.Lock()
	o.code, o.desc = "", ""
	o.mu.Unlock()
}

func (o *oauthRefusals) last() (code, desc string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.code, o.desc
}

// azToken runs `az account get-access-token` for Graph. The token never
// appears in an error or a log.
func azToken(ctx context.Context, graphRoot, tenant string) (azcore.AccessToken, error) {
	args := []string{"account", "get-access-token", "--resource", graphRoot, "--output", "json"}
	if tenant != "" {
		args = append(args, "--tenant", tenant)
	}
	cmd := exec.CommandContext(ctx, "az", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return azcore.AccessToken{}, fmt.Errorf("%w: --sign-in az needs the Azure CLI (az) on PATH; or use --sign-in device-code", jobs.ErrUsage)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return azcore.AccessToken{}, fmt.Errorf("%w: az account get-access-token failed (run az login first): %s", jobs.ErrUsage, msg)
	}
	var t struct {
		AccessToken string `json:"accessToken"`
		ExpiresOn   int64  `json:"expires_on"`
	}
	if err := json.Unmarshal(out, &t); err != nil || t.AccessToken == "" {
		return azcore.AccessToken{}, errors.New("az account get-access-token: its output holds no accessToken")
	}
	exp := time.Unix(t.ExpiresOn, 0)
	if t.ExpiresOn == 0 {
		exp = time.Now().Add(10 * time.Minute)
	}
	return azcore.AccessToken{Token: t.AccessToken, ExpiresOn: exp}, nil
}
