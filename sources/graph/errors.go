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
// sources.ErrConfig and sources.ErrResync; read Code for the ledger.
type Error struct {
	// Status is the HTTP status (0 when no response came).
	Status int
	// Code is Graph's error.code (the inner error's code when the outer one
	// is generic), or the token endpoint's error; never the message.
	Code string
	// RequestID is Graph's request-id, for Microsoft support and the logs.
	RequestID string
	// Advice tells the user what to do (configuration errors).
	Advice string
	// Kind is sources.ErrSkipOwner, sources.ErrConfig, sources.ErrResync or
	// nil (not classified: a bug, or transient errors that ran out).
	Kind error
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

// Unwrap returns the classification, so errors.Is(err, sources.ErrSkipOwner)
// works through an *Error.
func (e *Error) Unwrap() error { return e.Kind }

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

// Codes a connector meets per owner: the owner cannot be read, now or later
// in this run. (ErrorAccessDenied on every owner is a permission problem;
// the pipeline sees that in its counts.)
var skipOwnerCodes = map[string]bool{
	"MailboxNotEnabledForRESTAPI":   true,
	"MailboxNotSupportedForRESTAPI": true,
	"ErrorInvalidUser":              true,
	"ErrorAccessDenied":             true,
	"Request_ResourceNotFound":      true,
	"ResourceNotFound":              true,
	"ErrorMailboxNotFound":          true,
	"UserNotFound":                  true,
	// Copilot interaction history for a user without a Microsoft 365
	// Copilot licence.
	"CopilotLicenseRequired": true,
	"LicenseNotFound":        true,
	"UnlicensedUser":         true,
}

// Codes that mean the job is configured wrongly, with what to tell the user
// (DESIGN.md, "Microsoft Entra ID setup and troubleshooting").
var configAdvice = map[string]string{
	"Authorization_IdentityNotFound": "admin consent has not been granted to the application: have an administrator grant consent (see `m365export consent`)",
	"Authorization_RequestDenied":    "insufficient privileges: if consent was granted only now, a token cached from before consent is in use (wait for it to expire or restart); then check the application permissions granted",
	// Reached only when a freshly issued token is rejected too.
	"InvalidAuthenticationToken": "Graph rejected a freshly issued token: check that the cloud setting matches the tenant's cloud (tokens are not valid across clouds)",
	"PaymentRequired":            "the Teams export API needs protected-API approval and a licensing model (model=A or B)",
}

// Codes of an expired delta token.
var resyncCodes = map[string]bool{
	"syncStateNotFound": true,
	"resyncRequired":    true,
	"SyncStateNotFound": true,
	"ResyncRequired":    true,
	"syncStateInvalid":  true,
}

// classify builds the *Error for a non-2xx response. path is the request
// URL (for the Copilot licence case, which Graph answers with a generic
// code); it is never put into the error.
func classify(status int, header http.Header, body []byte, rawURL string) *Error {
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
	switch {
	case resyncCodes[e.Code] || status == http.StatusGone:
		e.Kind = sources.ErrResync
	case configAdvice[e.Code] != "":
		e.Kind, e.Advice = sources.ErrConfig, configAdvice[e.Code]
	case status == http.StatusPaymentRequired:
		e.Kind, e.Advice = sources.ErrConfig, configAdvice["PaymentRequired"]
	case skipOwnerCodes[e.Code]:
		e.Kind = sources.ErrSkipOwner
	case (status == http.StatusForbidden || status == http.StatusNotFound) && isCopilotUser(rawURL):
		// Copilot without a licence answers 403/404 with a generic code.
		e.Kind = sources.ErrSkipOwner
	}
	return e
}

func known(code string) bool {
	return skipOwnerCodes[code] || configAdvice[code] != "" || resyncCodes[code]
}

func isCopilotUser(rawURL string) bool {
	segs, _ := pathSegments(rawURL)
	return len(segs) >= 3 && strings.EqualFold(segs[0], "copilot") && strings.EqualFold(segs[1], "users")
}
