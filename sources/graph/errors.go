package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"m365export/sources"
)

// ErrExhausted is wrapped by the error of a request whose retries ran out
// (throttled or failing transiently every time within MaxAttempts).
var ErrExhausted = errors.New("retries exhausted")

// Error is a Graph request that failed: an error status, or a token that
// could not be had. Classify it with errors.Is against sources.ErrSkipOwner,
// sources.ErrConfig, sources.ErrResync and sources.ErrDenied; read Code for
// the ledger and Advice for the user.
type Error struct {
	// Status is the HTTP status (0 when no response came).
	Status int
	// Code is Graph's error.code (the inner error's code when the outer one
	// is generic), or the token endpoint's error; never the message.
	Code string
	// RequestID is Graph's request-id, for Microsoft support and the logs.
	RequestID string
	// Class is what the answer means: Kind, Denied, Advice, FreshToken.
	Class
	// Body is the error body as Graph returned it.
	Body []byte
	// RetryAfter is what the last answer's Retry-After asked for (429,
	// 503), when retries ran out: how long to defer the owner.
	RetryAfter time.Duration

	// tokenEndpoint: the login authority refused, not Graph.
	tokenEndpoint bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.tokenEndpoint {
		b.WriteString("token endpoint")
	} else {
		b.WriteString("graph")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Advice != "" {
		b.WriteString(": ")
		b.WriteString(e.Advice)
	}
	return b.String()
}

// ErrorCode returns Graph's error code, for the run's ledger.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorAdvice returns what to do about the error ("" if nothing to say),
// for callers that aggregate errors (every owner refused).
func (e *Error) ErrorAdvice() string { return e.Advice }

// Unwrap returns the classification, so errors.Is(err, sources.ErrSkipOwner)
// and errors.Is(err, sources.ErrDenied) work through an *Error.
func (e *Error) Unwrap() []error {
	switch {
	case e.Kind != nil && e.Denied:
		return []error{e.Kind, sources.ErrDenied}
	case e.Kind != nil:
		return []error{e.Kind}
	case e.Denied:
		return []error{sources.ErrDenied}
	}
	return nil
}

// errorBody is Graph's error envelope (graph-api-notes §5).
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		InnerError *struct {
			Code      string `json:"code"`
			RequestID string `json:"request-id"`
		} `json:"innerError"`
		InnerError2 *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
}

// Class is what one Graph answer means to the exporter. Classify and
// ClassifyToken are the only places that read Graph's and the token
// endpoint's codes: everything else reads a Class (errors.Is, errors.As).
type Class struct {
	// Kind is sources.ErrSkipOwner, sources.ErrConfig, sources.ErrResync or
	// nil (not classified: a bug, or transient errors that ran out).
	Kind error
	// Denied: access was refused (sources.ErrDenied). One owner may be
	// blocked by a policy; every owner denied means a missing permission.
	Denied bool
	// Advice tells the user what to do (configuration errors).
	Advice string
	// FreshToken: a new token may cure the answer (an expired or revoked
	// token, or privileges missing because the token predates consent);
	// the client retries such an answer once with one.
	FreshToken bool
}

// Codes a connector meets per owner: the owner cannot be read, now or later
// in this run. (ErrorAccessDenied on every owner is a permission problem;
// the pipeline sees that in its counts, by sources.ErrDenied.)
var skipOwnerCodes = map[string]bool{
	"MailboxNotEnabledForRESTAPI":   true,
	"MailboxNotSupportedForRESTAPI": true,
	"ErrorInvalidUser":              true,
	"ErrorAccessDenied":             true,
	"Request_ResourceNotFound":      true,
	"ResourceNotFound":              true,
	"ErrorMailboxNotFound":          true,
	"UserNotFound":                  true,
}

// Codes that refuse access (sources.ErrDenied), whatever their kind.
var deniedCodes = map[string]bool{
	"ErrorAccessDenied":           true,
	"Authorization_RequestDenied": true,
}

// Codes that mean the job is configured wrongly, with what to tell the user
// (DESIGN.md, "Microsoft Entra ID setup and troubleshooting").
var configAdvice = map[string]string{
	"Authorization_IdentityNotFound": "admin consent has not been granted to the application: have an administrator grant consent (see `m365export consent`)",
	"Authorization_RequestDenied":    "insufficient privileges: if consent was granted only now, a token cached from before consent is in use (wait for it to expire or restart); then check the application permissions granted",
	// Reached only when a freshly issued token is rejected too.
	"InvalidAuthenticationToken": "Graph rejected a freshly issued token: check that the cloud setting matches the tenant's cloud (tokens are not valid across clouds)",
}

// paymentAdvice explains a 402, which Graph answers only for the Teams
// export APIs (getAllMessages) under a licensing model the user or team is
// not licensed for (graph-api-notes §8 fact 2). One owner is skipped; every
// owner refused means the model is wrong for the tenant.
const paymentAdvice = "the Teams export APIs (getAllMessages) refused the licensing model: model A needs a supported (E5-type) licence for every user concerned and is meant for security and compliance applications; set --teams-model B (analytics) or none"

// protectedAdvice explains a 403 from a protected Teams API (Collection.
// Protected) with a code Classify does not know: Microsoft has not approved
// the application's access request (fact 3; the body Graph sends then is
// not documented, so the status is what counts).
const protectedAdvice = "the Teams export APIs (chat and channel getAllMessages) are protected APIs: request access for the application with Microsoft's form, https://aka.ms/teamsgraph/requestaccess (see `m365export consent`), and run again once Microsoft has approved it"

// Codes of an expired delta token.
var resyncCodes = map[string]bool{
	"syncStateNotFound": true,
	"resyncRequired":    true,
	"SyncStateNotFound": true,
	"ResyncRequired":    true,
	"syncStateInvalid":  true,
}

// Classify maps one Graph answer, its HTTP status and error code, to its
// Class. It is a pure function of its arguments; the decisions that depend
// on the collection too are the collection's (Collection.SkipCodes and
// SkipStatuses, declared with the connector).
func Classify(status int, code string) Class {
	var c Class
	switch {
	case resyncCodes[code] || status == http.StatusGone:
		c.Kind = sources.ErrResync
	case configAdvice[code] != "":
		c.Kind, c.Advice = sources.ErrConfig, configAdvice[code]
	case skipOwnerCodes[code]:
		c.Kind = sources.ErrSkipOwner
	case status == http.StatusPaymentRequired:
		// A licence one user lacks: skip it; a refusal, so that every
		// owner refused is a configuration error naming the setting.
		c.Kind, c.Denied, c.Advice = sources.ErrSkipOwner, true, paymentAdvice
	}
	c.Denied = c.Denied || deniedCodes[code]
	c.FreshToken = (status == http.StatusUnauthorized && (code == "InvalidAuthenticationToken" || code == "")) ||
		(status == http.StatusForbidden && code == "Authorization_RequestDenied")
	return c
}

// classify builds the *Error for a non-2xx response.
func classify(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, Body: body, RequestID: header.Get("request-id")}
	var eb errorBody
	if len(body) > 0 && json.Unmarshal(body, &eb) == nil {
		e.Code = eb.Error.Code
		inner := ""
		if ie := eb.Error.InnerError; ie != nil {
			inner = ie.Code
			if e.RequestID == "" {
				e.RequestID = ie.RequestID
			}
		}
		if ie := eb.Error.InnerError2; ie != nil && inner == "" {
			inner = ie.Code
		}
		// A specific inner code beats a generic outer one.
		if inner != "" && (e.Code == "" || !known(e.Code)) && known(inner) {
			e.Code = inner
		}
	}
	e.Class = Classify(status, e.Code)
	return e
}

// classifyProtected classifies, for a protected Teams API, a 403 whose
// code Classify does not know: Microsoft's refusal of an application it
// has not approved. A refusal skips the owner; every owner refused is a
// configuration error with the advice (pipeline, Collection.Check).
func (e *Error) classifyProtected() { e.classifyDenied(protectedAdvice) }

// classifyDenied classifies a 403 whose code Classify does not know as a
// refusal of the owner with advice (Collection.DeniedAdvice).
func (e *Error) classifyDenied(advice string) {
	if e.Kind != nil || e.tokenEndpoint || e.Status != http.StatusForbidden || known(e.Code) {
		return
	}
	e.Kind, e.Denied, e.Advice = sources.ErrSkipOwner, true, advice
}

func known(code string) bool {
	return skipOwnerCodes[code] || configAdvice[code] != "" || resyncCodes[code]
}
