// Package graphsim emulates Microsoft Graph and the Microsoft identity
// platform for one synthetic tenant, on loopback, so that the exporter can
// be tried, tested and measured without a real tenant. It owns the tenant
// model, the wire format, the identity side, limits and faults; it imports
// no other m365export package.
//
// # Tenant
//
// Everything is derived from Options.Seed: user i, group g, chat c and every
// record are pure functions of (seed, indices), generated on demand, so
// 100,000 users cost almost no memory and the same seed always gives the
// same tenant. Ids carry their index (obfuscated and checked), so
// /users/{id}/… needs no lookup table. Data exists for HistoryDays before
// the emulated clock Options.Now (default DefaultNow, 2026-11-27T12:00Z) and
// never at or after it (calendar events also 14 days after it); weekdays
// are busier than weekends.
//
// User classes are placed by index (i mod 50): 7 has no mailbox (mail,
// calendar and settings answer 404 MailboxNotEnabledForRESTAPI), 13 is a
// guest (no mailbox, no Copilot), 23 has its mailbox blocked by an
// application access policy (403 ErrorAccessDenied), 31 is disabled; users
// with i mod 5 = 3 have no Copilot licence (403 Forbidden on Copilot).
// Deleted users (Tenant.DeleteUser, Faults.DeleteUsers) answer 404
// Request_ResourceNotFound. User 0 is always an ordinary licensed member.
// There are users/10 groups (at least 9): group 0 is "All Company" with
// every user, the others have 3–40 members; every third group (g mod 3 = 1)
// is a team with 1–5 channels (channel 0 is General). Each user is in 15
// chat slots (one-on-one, group and meeting chats over a ring of users).
//
// # Graph endpoints
//
// Under /v1.0 (and the same under /beta). Paths match in slash or OData
// key form (users/x, users('x')) and in any case of names (getallMessages);
// getAllMessages' next links take the key form Microsoft documents
// (Options.SlashFormLinks: the slash form).
//
//	GET /users                    $top ≤ 999 (default 100), $select,
//	                              $filter=accountEnabled eq true|false, userType eq 'Member'|'Guest'
//	GET /users/delta              $select; nextLink, then deltaLink; later rounds list
//	                              users deleted since as @removed {"reason":"changed"}
//	GET /users/{id}               $select
//	GET /groups                   $top ≤ 999, $select
//	GET /groups/delta             $select; nextLink, then deltaLink (groups do not change)
//	GET /groups/{id}/members      $top ≤ 999, $select (directoryObjects with @odata.type)
//	GET /users/{id}/mailboxSettings
//	GET /users/{id}/calendar/calendarView?startDateTime=&endDateTime=   (also /calendarView)
//	                              $top ≤ 1000 (default 10), $select; events overlapping the range
//	GET /users/{id}/mailFolders/SentItems/messages   (also mailFolders('SentItems'))
//	                              $top ≤ 1000 (default 10), $select,
//	                              $filter=sentDateTime ge|gt|le|lt X [and …],
//	                              $orderby=sentDateTime [asc|desc] (default order: newest first);
//	                              400 InefficientFilter when $orderby's property is not the
//	                              first one filtered
//	GET /teams                    $top ≤ 999, $select; only id, displayName, description
//	GET /teams/{id}               the whole team
//	GET /teams/{id}/allChannels   (also /channels)
//	GET /users/{id}/chats         $top ≤ 50; $select ignored (chat-list documents none)
//	GET /users/{id}/chats/getAllMessages?$filter=lastModifiedDateTime gt X and lastModifiedDateTime lt Y&model=B
//	                              only gt/lt; $top ≤ 1000 (default 20); each chat's message
//	                              is served to every participant; 402 PaymentRequired for
//	                              model=A and an unlicensed user (off with Options.NoTeamsLicenceCheck;
//	                              every user with Options.TeamsUnlicensed);
//	                              403 on a tenant not approved for protected APIs
//	                              (Options.TeamsUnapproved)
//	GET /teams/{id}/channels/getAllMessages   same filter rules; replies carry replyToId
//	GET /teams/{id}/channels/{id}/messages/delta   root messages; $top ≤ 50; deltaLink;
//	                              later rounds serve new and edited roots and deleted ones as
//	                              @removed {"reason":"deleted"}; 410 resyncRequired (with
//	                              Location) for tokens older than DeltaTokenTTL or issued
//	                              before ExpireDeltaTokens
//	GET /communications/callRecords   $filter on startDateTime; pages of 60; no
//	                              participants or sessions; organizer (deprecated) null,
//	                              organizer_v2 unexpanded; nothing older than 30 days
//	GET /communications/callRecords/{id}   $select, $expand=participants_v2
//	GET /users/{id}/onlineMeetings?$filter=JoinWebUrl eq '…'   the meeting of a group call
//	                              record (about 2 in 3 scheduled: an event in the
//	                              organizer's calendar; the rest ad hoc) or of a Teams
//	                              calendar event (scheduled, never held: no reports), to its
//	                              organizer only (others: empty value[]); 400 without the
//	                              filter; 403 "No application access policy found for this
//	                              app." without the Teams policy (Options.NoMeetingPolicy;
//	                              organizers i mod 50 = 41 always); a never-held meeting
//	                              gone after its event was listed (Faults.GoneMeetingEvery)
//	GET /users/{id}/onlineMeetings/{id}/attendanceReports   1 to 3 reports (sessions)
//	GET /users/{id}/onlineMeetings/{id}/attendanceReports/{id}/attendanceRecords   pages of
//	                              3; 404 for a report gone (Faults.GoneReportEvery); see meetings.go
//	GET /copilot/users/{id}/interactionHistory/getAllEnterpriseInteractions   (v1.0; /beta as psoxy)
//	                              $filter=createdDateTime gt … and createdDateTime lt …
//	                              [and appClass eq '…']; $top ≤ 100
//
// With Options.StrictApps (apps.go), to people signed in with
// Server.PersonToken (their directory roles in wids), also the application
// objects of m365export setup: GET /me; GET|POST /applications ($filter
// displayName eq), GET|PATCH /applications/{id} and
// /applications(appId='…'), GET|POST|DELETE
// /applications/{id}/federatedIdentityCredentials[/{id}], GET
// /applications/{id}/owners, POST /applications/{id}/owners/$ref; POST
// /servicePrincipals, GET /servicePrincipals/{id} and
// /servicePrincipals(appId='…') (Microsoft Graph's own, with its app
// roles), GET /servicePrincipals/{id}/appRoleAssignments, GET|POST|DELETE
// /servicePrincipals/{id}/appRoleAssignedTo[/{id}]; 403
// Authorization_RequestDenied without the role.
//
// Pages link with @odata.nextLink: the request URL with an opaque
// $skiptoken bound to the path. $count=true adds @odata.count to the first
// page. Errors have Graph's body
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
//
// # Identity
//
// One TLS listener (a CA and certificate made at Start; CACertPEM,
// HTTPClient) serves /{tenant}/v2.0/.well-known/openid-configuration and
// POST /{tenant}/oauth2/v2.0/token (client_credentials with client_secret,
// a certificate assertion signed by ClientCertificate's key, or a federated
// assertion matching Auth.Federated, by default one from FederatedToken).
// Unknown tenant: 400 AADSTS90002; unknown client id: 400 unauthorized_client
// AADSTS700016; wrong secret: 401 AADSTS7000215; federated mismatch: 401
// AADSTS700211/70021. Tokens carry the granted roles (Auth.Roles, SetRoles);
// without consent (Auth.NoConsent, SetConsent) they carry none and Graph
// answers 401 Authorization_IdentityNotFound; a missing role answers 403
// Authorization_RequestDenied; no or bad token answers 401
// InvalidAuthenticationToken (unless Auth.Anonymous). With a ReadBasic
// permission alone (Mail.ReadBasic.All, Calendars.ReadBasic.All) messages
// and events come without their body, bodyPreview and uniqueBody, as the
// permissions reference says, even when $select names them (basicOmits).
// A person signs in
// with the device authorization grant (devicecode.go): POST
// /{tenant}/oauth2/v2.0/devicecode for the Azure CLI's public client, then
// the token endpoint's device code grant answers authorization_pending until
// a test approves the user code (Server.ApproveDeviceCode: PersonToken's
// token, with an id token and a refresh token for the refresh_token grant)
// or declines it (DeclineDeviceCode), expired_token after 15 minutes;
// {tenant} may also be organizations or common. Clients use
//
//	azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{
//		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
//		Transport: s.HTTPClient()}, DisableInstanceDiscovery: true}
//
// # Limits
//
// Limits enforces, in fixed windows that TimeScale can shrink: 4 requests
// in flight and 10,000 per 10 minutes per mailbox (429 ApplicationThrottled
// "…MailboxConcurrency limit"), Teams rates per tenant (getAllMessages 200/s,
// channel messages/delta 60/min, others 30/s; 4/s per team), and directory
// resource units. Retry-After is whole seconds, fractional, or absent
// (Limits.RetryAfter). Stats counts requests, served pages and records,
// throttled and failed requests by endpoint.
//
// # Faults
//
// Faults injects, reproducibly from Faults.Seed and the request sequence:
// 5xx answers, connection resets, truncated bodies, slow responses,
// throttling storms and users deleted mid-run.
//
// # Ground truth
//
// The oracle, package m365export/sources/graphsim/simtruth (test support:
// only tests and benchmarks import it), lists what the emulator serves per
// collection, owner and half-open window, so tests compare an export with
// it exactly. It reads the emulator through Tenant.Records and a few
// accessors of the directory's shape. testdata holds a golden of the
// seed-1 tenant that pins the generator.
//
// # Command
//
// m365export graphsim --listen 127.0.0.1:8080 --users N --seed S [--now T]
// runs the emulator and prints the Graph root, authority host, tenant and
// client ids, the client secret and the path of the CA certificate.
package graphsim
