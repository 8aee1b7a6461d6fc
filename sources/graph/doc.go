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
// both the login authority and the Graph root, and the token scope
// "<root>/.default"), the Credentials (client secret, certificate in PEM or
// PFX, or a federated assertion from GCP's metadata server, AWS Cognito or
// a token file), retry bounds (MaxAttempts, MaxBackoff: 10 tries, waits
// capped at 5 minutes) and the throttle Limits (DefaultLimits are Graph's
// documented ones; tests run them faster). One Client, and so one
// Governor, serves every worker of a tenant. A token is sent over plain
// HTTP only to a loopback host, and only to the host of the Graph root.
//
// Typical use:
//
//	c, err := graph.New(&graph.Options{Cloud: graph.Global, Credentials: &graph.Credentials{
//		TenantID: tenant, ClientID: appID, Assertion: graph.GCPMetadataAssertion(nil)}})
//	col := &graph.Collection{Client: c,
//		First:  func(u string) string { return "/v1.0/users/" + u + "/mailFolders/SentItems/messages?…" }}
//	for page, err := range sources.Pages(ctx, col, owner, "") { … }
//
// # Errors
//
// Every failed request returns an *Error (errors.As) carrying the HTTP
// status, Graph's error.code and the request id, and wrapping one of
// sources.ErrSkipOwner (this owner cannot be read: no mailbox, invalid
// user, access denied on one mailbox, deleted, unlicensed),
// sources.ErrConfig (consent, permissions, tenant or client id; Advice
// carries the troubleshooting advice) or sources.ErrResync (a delta token
// expired), and sources.ErrDenied when access was refused. Retries that ran
// out wrap ErrExhausted as well.
//
// Graph's codes are read in one place: Classify(status, code) maps an
// answer to its Class (a pure function over the tables in errors.go; the
// decisions that depend on the collection, such as Copilot's generic
// 403/404 for an unlicensed user, are data of that collection:
// Collection.SkipCodes and SkipStatuses). ClassifyToken does the same for
// the token endpoint's AADSTS codes. Callers read the Class, never codes.
package graph
