package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"m365export/sources"
)

// TokenCredential is azcore's credential interface, named here so callers
// need not import azcore.
type TokenCredential = azcore.TokenCredential

// finalError carries an error the retry loop must not retry (token
// acquisition: azcore already retried it).
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// token is a bearer token ready to send, and the credential generation it
// came from.
type token struct {
	header string
	// renew is when to ask for a new token: two minutes before expiry, or
	// a quarter of the lifetime for short-lived tokens.
	renew time.Time
	gen   uint64
}

// refreshMargin: a token this close to expiry is renewed before use.
const refreshMargin = 2 * time.Minute

// tokenSource keeps the current token where the request path reads it
// without a lock.
type tokenSource struct {
	newCred   func() (TokenCredential, error)
	scope     string
	now       func() time.Time
	mu        sync.Mutex
	cred      TokenCredential
	gen       uint64
	cur       atomic.Pointer[token]
	refreshes atomic.Int64
}

func (s *tokenSource) get(ctx context.Context) (*token, error) {
	if t := s.cur.Load(); t != nil && s.now().Before(t.renew) {
		return t, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.cur.Load(); t != nil && s.now().Before(t.renew) {
		return t, nil
	}
	return s.fetchLocked(ctx)
}

// refresh builds a new credential and fetches a fresh token, unless another
// request already did so since generation gen was used.
func (s *tokenSource) refresh(ctx context.Context, gen uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return nil
	}
	s.cred = nil
	s.gen++
	s.refreshes.Add(1)
	_, err := s.fetchLocked(ctx)
	return err
}

func (s *tokenSource) fetchLocked(ctx context.Context) (*token, error) {
	if s.cred == nil {
		c, err := s.newCred()
		if err != nil {
			return nil, fmt.Errorf("credential: %w", err)
		}
		s.cred = c
	}
	at, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		if e, ok := ClassifyToken(err).(*Error); ok {
			return nil, e // its text says "token endpoint"
		}
		return nil, fmt.Errorf("get token: %w", err)
	}
	now := s.now()
	margin := min(refreshMargin, at.ExpiresOn.Sub(now)/4)
	t := &token{header: "Bearer " + at.Token, renew: at.ExpiresOn.Add(-margin), gen: s.gen}
	s.cur.Store(t)
	return t, nil
}

// tokenErrorBody is the token endpoint's error answer.
type tokenErrorBody struct {
	Error      string `json:"error"`
	ErrorCodes []int  `json:"error_codes"`
}

// AADSTS codes the token endpoint answers for a wrong setup.
const (
	aadstsAppNotFound      = 700016 // application not found in the directory
	aadstsNoFederatedMatch = 70021  // no federated identity record matches the assertion
	aadstsIssuerMismatch   = 700211
	aadstsAudienceMismatch = 700212
	aadstsSubjectMismatch  = 700213
	aadstsTenantNotFound   = 90002
)

// aadstsAdvice is what to tell the user about an AADSTS code.
var aadstsAdvice = map[int]string{
	aadstsAppNotFound:      "the application was not found in the tenant: use the Application (client) ID, not the Object ID, and check the tenant id",
	aadstsNoFederatedMatch: federatedAdvice,
	aadstsIssuerMismatch:   federatedAdvice,
	aadstsAudienceMismatch: federatedAdvice,
	aadstsSubjectMismatch:  federatedAdvice,
	aadstsTenantNotFound:   "the tenant was not found: the tenant id is probably wrong",
}

const federatedAdvice = "the application's federated identity credential does not match the platform identity: compare its issuer, subject and audience with the assertion's"

// ClassifyToken turns a token endpoint refusal (an
// azidentity.AuthenticationFailedError from a credential's GetToken) into
// an *Error wrapping sources.ErrConfig with DESIGN.md's advice; it returns
// other failures (network, assertion provider) unchanged.
func ClassifyToken(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		return err
	}
	status := afe.RawResponse.StatusCode
	var tb tokenErrorBody
	if body, rerr := runtime.Payload(afe.RawResponse); rerr == nil {
		_ = json.Unmarshal(body, &tb)
	}
	e := &Error{Status: status, Code: tb.Error, tokenEndpoint: true}
	for _, c := range tb.ErrorCodes {
		if advice, ok := aadstsAdvice[c]; ok {
			e.Code, e.Advice = "AADSTS"+strconv.Itoa(c), advice
			break
		}
	}
	var ae *assertionError
	if e.Advice == federatedAdvice && errors.As(err, &ae) && ae.claims != nil {
		e.Advice += fmt.Sprintf(" (presented: issuer %q, subject %q, audience %q)", ae.claims.Issuer, ae.claims.Subject, ae.claims.Audience)
	}
	switch {
	case e.Advice != "":
	case status == http.StatusBadRequest:
		e.Advice = "the token endpoint refused the request: the tenant id is probably wrong, or the client id (the Application ID, not the Object ID) does not exist there"
	case status == http.StatusUnauthorized:
		e.Advice = "the token endpoint refused the credential: check the client secret, certificate or assertion"
	default:
		return err
	}
	e.Kind = sources.ErrConfig
	return e
}
