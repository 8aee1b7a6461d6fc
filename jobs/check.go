package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"m365export/jobs/connector"
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
		fail("token from %s for tenant %s, client %s:\n      %s", r.creds.AuthorityHost, r.creds.TenantID, r.creds.ClientID, diagnose(graph.ClassifyToken(err)))
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
	var needed []string // every checked connector's permissions
	for _, spec := range specs {
		name := spec.Name
		need := spec.Permissions(cfg.needs())
		needed = append(needed, need...)
		missing := connector.Missing(need, roles)
		switch {
		case len(roles) == 0:
			fail("%s: the token carries no application permission: admin consent has not been granted (see m365export consent)", name)
		case len(missing) > 0:
			fail("%s: permissions not granted: %s; add them as Application permissions and grant admin consent again", name, strings.Join(missing, ", "))
		default:
			ok("%s: permissions %s", name, strings.Join(need, ", "))
		}
		// 3. One page of each collection.
		owners := newOwnerCache(r.client, cfg)
		owners.deriveUsers = checkDeriveUsers
		w0 := pipeline.Window{From: mustNow(cfg, r).Add(-24 * time.Hour).UTC().Truncate(24 * time.Hour), To: mustNow(cfg, r).UTC().Truncate(24 * time.Hour)}
		set := cfg.settings()
		for _, cs := range cfg.plan(spec) {
			first := cs.First
			src := &graph.Collection{Client: r.client, Owners: owners.lister(&cs, w0),
				SkipCodes: cs.SkipCodes, SkipStatuses: cs.SkipStatuses, Protected: cs.Protected, DeniedAdvice: cs.DeniedAdvice,
				First: func(owner string) string { return first(owner, w0, set) }}
			if err := src.Check(ctx); err != nil {
				fail("%s/%s: %s", name, cs.Name, diagnose(err))
				continue
			}
			ok("%s/%s: readable", name, cs.Name)
		}
	}
	// 4. Least privilege and the mailbox scope (issue 17).
	warnExtraRoles(w, roles, needed)
	if _, err := checkMailboxScope(ctx, w, r.client, cfg, specs); err != nil {
		fail("mailbox scope: %s", diagnose(err))
	}
	return checkResult(problems)
}

// checkDeriveUsers is how many users' listings (calendars) check reads to
// find derived owners (online meetings) to probe: a sample, not a request
// per user of the tenant.
const checkDeriveUsers = 20

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

// diagnose explains a failure by the advice its classifier attached (the
// token endpoint's and Graph's codes are read in sources/graph only).
func diagnose(err error) string {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Advice != "" {
		return fmt.Sprintf("%d %s: %s.", ge.Status, ge.Code, ge.Advice)
	}
	return err.Error()
}
