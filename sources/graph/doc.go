// Package graph is the Microsoft Graph client every Graph connector reads
// through: authentication (azidentity credentials, national clouds), paging
// by @odata.nextLink used verbatim, the one retry loop of the project, a
// throttle governor kept near Graph's documented limits, and the
// classification of Graph's errors by error.code.
//
// The client sits on plain net/http and returns the response bytes exactly
// as Graph sent them (status, headers and error bodies included): the
// sanitizer needs the whole envelope and typed models would lose fidelity.
//
// A connector is declared as data with Collection (first URL per owner,
// headers, throttle scope); Collection implements sources.Source.
//
// # Config
//
// Options selects the cloud (Global, USGovL4, USGovL5, China: one setting for
// both the login authority and the Graph root), the credential factory
// (Credentials.New: client secret, certificate, or a federated assertion
// from GCP's metadata server, AWS Cognito or a token file), retry bounds
// (MaxAttempts, MaxBackoff) and the throttle Limits (DefaultLimits are
// Graph's documented ones; Limits.Scale runs them faster for tests).
// A token is sent over plain HTTP only to a loopback host, and only to the
// host of the configured Graph root.
//
// # Errors
//
// Every failed request returns an *Error (errors.As) carrying the HTTP
// status, Graph's error.code and the request id, and wrapping one of
// sources.ErrSkipOwner (this owner cannot be read: no mailbox, invalid
// user, access denied on one mailbox, deleted, unlicensed),
// sources.ErrConfig (consent, permissions, tenant or client id; the message
// carries the troubleshooting advice) or sources.ErrResync (a delta token
// expired). Retries that ran out wrap ErrExhausted as well.
package graph
