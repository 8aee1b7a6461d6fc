package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"m365export/pipeline"
	"m365export/sources/graph"
)

// ErrCheckFailed: the preflight found a problem (its report says which).
var ErrCheckFailed = errors.New("check failed")

// Check is the preflight of "m365export check": it gets a token, compares
// its roles with the connector's scopes, reads one page of each collection
// and turns failures into diagnoses. It writes a report to o.Out and
// returns an error wrapping ErrUsage when anything is wrong.
func Check(ctx context.Context, cfg *Config, o RunOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	cfg.Dest, cfg.State = "mem://", "mem://" // check writes nothing
	if err := cfg.Validate(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, o: o, log: o.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	defer r.close()
	if cfg.Demo {
		if err := r.useDemo(); err != nil {
			return err
		}
	}
	if err := r.openGraph(); err != nil {
		return err
	}
	w := o.Out
	problems := 0
	fail := func(format string, a ...any) {
		problems++
		fmt.Fprintf(w, "FAIL  "+format+"\n", a...)
	}
	ok := func(format string, a ...any) { fmt.Fprintf(w, "ok    "+format+"\n", a...) }

	// 1. A token.
	cred, err := r.creds.New()
	if err != nil {
		fail("credential: %v", err)
		return checkResult(problems)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.scope}})
	if err != nil {
		fail("token from %s for tenant %s, client %s:\n      %s", r.creds.AuthorityHost, r.creds.TenantID, r.creds.ClientID, diagnoseToken(err))
		return checkResult(problems)
	}
	ok("token for tenant %s, client %s", r.creds.TenantID, r.creds.ClientID)

	// 2. Its roles against the scopes.
	roles, err := tokenRoles(tok.Token)
	if err != nil {
		fail("token: %v", err)
	}
	specs, err := cfg.connectors()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	for _, spec := range specs {
		connector := spec.Name
		var missing []string
		for _, s := range spec.Scopes {
			if !slices.Contains(roles, s) {
				missing = append(missing, s)
			}
		}
		switch {
		case len(roles) == 0:
			fail("%s: the token carries no application permission: admin consent has not been granted (see m365export consent)", connector)
		case len(missing) > 0:
			fail("%s: permissions not granted: %s; add them as Application permissions and grant admin consent again", connector, strings.Join(missing, ", "))
		default:
			ok("%s: permissions %s", connector, strings.Join(spec.Scopes, ", "))
		}
		// 3. One page of each collection.
		owners := newOwnerCache(r.client, cfg)
		w0 := pipeline.Window{From: mustNow(cfg, r).Add(-24 * time.Hour).UTC().Truncate(24 * time.Hour), To: mustNow(cfg, r).UTC().Truncate(24 * time.Hour)}
		for _, cs := range spec.Plan(cfg.NoGroups) {
			first := cs.First
			src := &graph.Collection{Client: r.client, Owners: owners.lister(&cs, w0),
				First: func(owner string) string { return first(owner, w0) }}
			if err := src.Check(ctx); err != nil {
				fail("%s/%s: %s", connector, cs.Name, diagnoseGraph(err))
				continue
			}
			ok("%s/%s: readable", connector, cs.Name)
		}
	}
	return checkResult(problems)
}

func checkResult(problems int) error {
	if problems == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w: %d problem(s), see above", ErrUsage, ErrCheckFailed, problems)
}

func mustNow(cfg *Config, r *runner) time.Time {
	now, _ := cfg.now()
	if e := r.o.Endpoint; e != nil && !e.Now.IsZero() && cfg.Now == "" {
		now = e.Now
	}
	return now
}

// tokenRoles decodes the roles claim of a JWT access token (no signature
// check: the token is only read, never trusted for anything).
func tokenRoles(jwt string) ([]string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("access token payload: %w", err)
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, fmt.Errorf("access token claims: %w", err)
	}
	return claims.Roles, nil
}

// diagnoseToken explains a token endpoint failure (DESIGN.md's table).
func diagnoseToken(err error) string {
	var afe *azidentity.AuthenticationFailedError
	body := ""
	status := 0
	if errors.As(err, &afe) && afe.RawResponse != nil {
		status = afe.RawResponse.StatusCode
		if b, rerr := io.ReadAll(afe.RawResponse.Body); rerr == nil {
			body = string(b)
		}
	}
	switch {
	case strings.Contains(body, "AADSTS700016") || strings.Contains(err.Error(), "AADSTS700016"):
		return "AADSTS700016: the application was not found in the directory. Use the Application (client) ID, not the Object ID, and check the tenant id."
	case strings.Contains(body, "AADSTS7002") || strings.Contains(body, "AADSTS700213") || strings.Contains(body, "AADSTS70021"):
		return "the federated credential does not match the assertion (issuer, subject or audience): compare the application's federated credential with the platform identity. " + firstLine(body)
	case status == 400:
		return "400 Bad Request from the token endpoint: the tenant id is probably wrong, so the client id does not exist there."
	case status == 401:
		return "401 from the token endpoint: the client secret, certificate or assertion was refused. " + firstLine(body)
	}
	return err.Error()
}

// diagnoseGraph explains a Graph failure by its error code.
func diagnoseGraph(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case "Authorization_IdentityNotFound":
			return "401 Authorization_IdentityNotFound: admin consent has not been granted; have an administrator grant it (m365export consent)."
		case "Authorization_RequestDenied":
			return "403 Authorization_RequestDenied: insufficient privileges. Right after consent this is a token cached from before: wait for it to expire or restart; otherwise check the granted roles."
		}
		if ge.Advice != "" {
			return fmt.Sprintf("%d %s: %s", ge.Status, ge.Code, ge.Advice)
		}
	}
	return err.Error()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
