package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"m365export/sources"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
	"m365export/sources/sourcetest"
)

// The window the graphsim tests read: the last emulated day.
var (
	simTo   = graphsim.DefaultNow
	simFrom = simTo.Add(-24 * time.Hour)
)

func simOptions(f graphsim.Faults) graphsim.Options {
	return graphsim.Options{
		Users:              60, // every user class of the emulator (i mod 50) and some twice
		Seed:               11,
		MessagesPerUserDay: 3, // some mailboxes are empty for a day, others take several pages
		Limits:             simLimits(testLimits()),
		Faults:             f,
		// Mail.Read besides the least-privileged roles: the conformance
		// tests compare whole messages, content included, with the ground
		// truth, and Mail.ReadBasic.All alone leaves the content out.
		Auth: graphsim.Auth{Roles: append(slices.Clone(graphsim.AllRoles), "Mail.Read")},
	}
}

// testLimits are Graph's limits with time running 100× faster: the
// governor is on, and the tests stay quick.
func testLimits() Limits { return DefaultLimits().scale(100) }

// simLimits has the emulator enforce the limits l that a client keeps.
func simLimits(l Limits) graphsim.Limits {
	r := func(x Rate) graphsim.Rate { return graphsim.Rate{N: x.N, Per: x.Per} }
	return graphsim.Limits{
		MailboxConcurrency: l.MailboxConcurrency,
		Mailbox:            r(l.Mailbox),
		TeamsExport:        r(l.TeamsExport),
		TeamsChannelDelta:  r(l.ChannelMessages),
		TeamsOther:         r(l.TeamsOther),
		PerTeam:            r(l.PerTeam),
		Directory:          r(l.DirectoryRU),
		RetryAfter:         "fraction",
	}
}

func startSim(t testing.TB, o graphsim.Options) *graphsim.Server {
	s, err := graphsim.Start(o)
	if err != nil {
		t.Fatalf("start graphsim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// simClient is a client of s that authenticates with the application's
// client secret through the emulator's identity side.
func simClient(t testing.TB, s *graphsim.Server, o *Options) *Client {
	cr := Credentials{TenantID: s.TenantID(), ClientID: s.ClientID(), ClientSecret: s.ClientSecret(),
		AuthorityHost: s.AuthorityHost(), Transport: s.HTTPClient()}
	var opts Options
	if o != nil {
		opts = *o
	}
	opts.GraphRoot = s.GraphURL()
	opts.Credential = cr.New
	if opts.HTTPClient == nil {
		opts.HTTPClient = s.HTTPClient()
	}
	c, err := New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sentItems is the outlook-mail collection as a connector declares it.
func sentItems(c *Client, from, to time.Time, top int) *Collection {
	q := url.Values{
		"$filter":  {"sentDateTime ge " + from.Format(time.RFC3339) + " and sentDateTime lt " + to.Format(time.RFC3339)},
		"$orderby": {"sentDateTime"},
		"$top":     {itoa(top)},
	}.Encode()
	return &Collection{
		Client: c,
		Owners: func(ctx context.Context) ([]string, error) { return userIDs(ctx, c) },
		First: func(owner string) string {
			return "/v1.0/users/" + owner + "/mailFolders/SentItems/messages?" + q
		},
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// testClientOptions: quick retries, the limits the test emulators enforce.
func testClientOptions() *Options {
	l := testLimits()
	return &Options{InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 30, Limits: &l}
}

type simHarness struct {
	t   *testing.T
	ref *graphsim.Server // the tenant as served without faults
}

func newSimHarness(_ context.Context, t *testing.T) (sourcetest.Harness, error) {
	ref := startSim(t, simOptions(graphsim.Faults{}))
	return &simHarness{t: t, ref: ref}, nil
}

func (h *simHarness) MakeSource(_ context.Context, f sourcetest.Faults) (sources.Source, error) {
	var gf graphsim.Faults
	if f.Flaky {
		gf = graphsim.Faults{Seed: 5, ErrorRate: 0.08, ResetRate: 0.04, TruncateRate: 0.04, StormEvery: 23, StormLength: 2}
	}
	if f.Stall {
		gf = graphsim.Faults{SlowRate: 1, SlowDelay: time.Minute}
	}
	s := h.ref
	if gf != (graphsim.Faults{}) {
		s = startSim(h.t, simOptions(gf))
	}
	return sentItems(simClient(h.t, s, testClientOptions()), simFrom, simTo, 2), nil
}

func (h *simHarness) Want(context.Context) (map[string][]json.RawMessage, error) {
	tn := h.ref.Tenant()
	w := map[string][]json.RawMessage{}
	for _, o := range simtruth.Owners(tn, "messages") {
		w[o] = simtruth.Truth(tn, "messages", o, simFrom, simTo)
	}
	return w, nil
}

func (h *simHarness) Broken(context.Context) (map[string]error, error) {
	tn := h.ref.Tenant()
	readable := map[string]bool{}
	for _, o := range simtruth.Owners(tn, "messages") {
		readable[o] = true
	}
	b := map[string]error{}
	for i := range tn.Users() {
		if id := tn.UserID(i); !readable[id] {
			b[id] = sources.ErrSkipOwner // no mailbox, guest, or mailbox denied
		}
	}
	return b, nil
}

func (h *simHarness) Close() {}

func TestCollection_ConformanceOnGraphsim(t *testing.T) {
	sourcetest.Run(t, newSimHarness, nil)
}

func TestGraphsim_FaultyRunRecovers(t *testing.T) {
	// The conformance suite compares records; this checks the faults did
	// happen and were each retried.
	s := startSim(t, simOptions(graphsim.Faults{Seed: 9, ErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.05, StormEvery: 19, StormLength: 2}))
	c := simClient(t, s, testClientOptions())
	col := sentItems(c, simFrom, simTo, 2)
	owners := simtruth.Owners(s.Tenant(), "messages")[:20]
	for _, o := range owners {
		for _, err := range sources.Pages(t.Context(), col, o, "") {
			if err != nil {
				t.Fatalf("owner %s: %v", o, err)
			}
		}
	}
	st, ss := c.Stats(), s.Stats()
	if st.Throttled == 0 || st.ServerErrors == 0 || st.TransportErrors+st.Truncated == 0 {
		t.Errorf("client stats %+v: some kind of fault was never seen", st)
	}
	if st.Retries < ss.Faults {
		t.Errorf("client retried %d times, emulator injected %d faults", st.Retries, ss.Faults)
	}
}

func TestGraphsim_PermanentErrorsClassified(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	c := simClient(t, s, testClientOptions())
	tn := s.Tenant()
	// Copilot for a user without a licence (i mod 5 = 3): skip, as the
	// msft-copilot connector declares.
	cop := &Collection{Client: c, SkipStatuses: []int{403, 404}, First: func(o string) string {
		return "/beta/copilot/users/" + o + "/interactionHistory/getAllEnterpriseInteractions?$top=100"
	}}
	_, err := cop.Page(t.Context(), tn.UserID(3), "")
	if code, ok := isSkip(err); !ok {
		t.Errorf("Copilot without licence = %v (code %q), want ErrSkipOwner", err, code)
	}
	// A deleted user: skip with Request_ResourceNotFound or a mailbox code.
	tn.DeleteUser(1)
	_, err = sentItems(c, simFrom, simTo, 10).Page(t.Context(), tn.UserID(1), "")
	if _, ok := isSkip(err); !ok {
		t.Errorf("deleted user = %v, want ErrSkipOwner", err)
	}
}

func TestGraphsim_ConsentAndRoles(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	c := simClient(t, s, testClientOptions())
	s.SetConsent(false)
	_, err := userIDs(t.Context(), c)
	var ge *Error
	if !errors.Is(err, sources.ErrConfig) || !errors.As(err, &ge) || ge.Code != "Authorization_IdentityNotFound" || ge.Advice == "" {
		t.Errorf("without consent: %v, want ErrConfig Authorization_IdentityNotFound with advice", err)
	}
	// Consent granted without Mail.ReadBasic.All: 403 Authorization_RequestDenied,
	// even after the one fresh token the client tries.
	s.SetConsent(true)
	s.SetRoles(slices.DeleteFunc(slices.Clone(graphsim.AllRoles), func(r string) bool { return r == "Mail.ReadBasic.All" }))
	c = simClient(t, s, testClientOptions())
	_, err = sentItems(c, simFrom, simTo, 10).Page(t.Context(), s.Tenant().UserID(0), "")
	if !errors.Is(err, sources.ErrConfig) || !errors.As(err, &ge) || ge.Code != "Authorization_RequestDenied" {
		t.Errorf("missing role: %v, want ErrConfig Authorization_RequestDenied", err)
	}
	if r := c.Stats().TokenRefreshes; r != 1 {
		t.Errorf("token refreshes = %d, want 1", r)
	}
	// Roles granted now: the stale token is refreshed once and the read works.
	s.SetRoles(graphsim.AllRoles)
	c2 := simClient(t, s, testClientOptions())
	if _, err := sentItems(c2, simFrom, simTo, 10).Page(t.Context(), s.Tenant().UserID(0), ""); err != nil {
		t.Errorf("after the roles were granted: %v", err)
	}
}

func TestGraphsim_TokenEndpointErrors(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	for _, tc := range []struct {
		name string
		set  func(*Credentials)
		code string
	}{
		{"object id instead of client id", func(c *Credentials) { c.ClientID = "00000000-0000-0000-0000-000000000000" }, "AADSTS700016"},
		{"unknown tenant", func(c *Credentials) { c.TenantID = "00000000-0000-0000-0000-00000000abcd" }, "AADSTS90002"},
		{"federated subject mismatch", func(c *Credentials) {
			c.ClientSecret = ""
			c.Assertion = func(context.Context) (string, error) { return s.FederatedToken("someone-else", AzureADTokenExchange) }
		}, ""},
		{"federated audience mismatch", func(c *Credentials) {
			c.ClientSecret = ""
			c.Assertion = func(context.Context) (string, error) { return s.FederatedToken(graphsim.DefaultSubject, "api://wrong") }
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := Credentials{TenantID: s.TenantID(), ClientID: s.ClientID(), ClientSecret: s.ClientSecret(),
				AuthorityHost: s.AuthorityHost(), Transport: s.HTTPClient()}
			tc.set(&cr)
			c, _ := New(&Options{GraphRoot: s.GraphURL(), HTTPClient: s.HTTPClient(), Credential: cr.New})
			_, err := userIDs(t.Context(), c)
			var ge *Error
			if !errors.Is(err, sources.ErrConfig) || !errors.As(err, &ge) || ge.Advice == "" || (tc.code != "" && ge.Code != tc.code) {
				t.Errorf("UserIDs = %v, want ErrConfig %s with advice", err, tc.code)
			}
			if strings.HasPrefix(tc.name, "federated") && !strings.Contains(err.Error(), "presented: issuer \""+s.TestIssuer()) {
				t.Errorf("federated refusal %v does not show the assertion's issuer, subject and audience", err)
			}
		})
	}
	// The matching federated assertion works.
	cr := Credentials{TenantID: s.TenantID(), ClientID: s.ClientID(), AuthorityHost: s.AuthorityHost(), Transport: s.HTTPClient(),
		Assertion: func(context.Context) (string, error) {
			return s.FederatedToken(graphsim.DefaultSubject, AzureADTokenExchange)
		}}
	c, _ := New(&Options{GraphRoot: s.GraphURL(), HTTPClient: s.HTTPClient(), Credential: cr.New})
	ids, err := userIDs(t.Context(), c)
	if err != nil || len(ids) != s.Tenant().Users() {
		t.Errorf("federated: %d users, %v; want %d", len(ids), err, s.Tenant().Users())
	}
}

func TestGraphsim_ChannelDeltaExpiredMeansResync(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	c := simClient(t, s, testClientOptions())
	tn := s.Tenant()
	teams := simtruth.Owners(tn, "channels")
	if len(teams) == 0 {
		t.Fatal("the tenant has no team")
	}
	team := teams[0]
	ch := tn.ChannelID(0, 0)
	col := &Collection{Client: c, First: func(string) string {
		return "/v1.0/teams/" + team + "/channels/" + url.PathEscape(ch) + "/messages/delta?$top=50"
	}}
	var delta string
	for pg, err := range sources.Pages(t.Context(), col, team, "") {
		if err != nil {
			t.Fatalf("delta round: %v", err)
		}
		delta = pg.Delta
	}
	if delta == "" {
		t.Fatal("the last page has no deltaLink")
	}
	if _, err := col.Page(t.Context(), team, delta); err != nil {
		t.Fatalf("a fresh deltaLink: %v", err)
	}
	s.ExpireDeltaTokens()
	if _, err := col.Page(t.Context(), team, delta); !errors.Is(err, sources.ErrResync) {
		t.Errorf("an expired deltaLink = %v, want ErrResync", err)
	}
}

func TestCollection_CheckOnGraphsim(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	col := sentItems(simClient(t, s, testClientOptions()), simFrom, simTo, 10)
	if err := col.Check(t.Context()); err != nil {
		t.Errorf("Check = %v", err)
	}
	s.SetConsent(false)
	col = sentItems(simClient(t, s, testClientOptions()), simFrom, simTo, 10)
	if err := col.Check(t.Context()); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("Check without consent = %v, want ErrConfig", err)
	}
}

func TestOptions_CredentialsFollowTheCloud(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	cr := &Credentials{TenantID: s.TenantID(), ClientID: s.ClientID(), ClientSecret: s.ClientSecret(),
		AuthorityHost: s.AuthorityHost(), Transport: s.HTTPClient()}
	c, err := New(&Options{GraphRoot: s.GraphURL(), HTTPClient: s.HTTPClient(), Credentials: cr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := userIDs(t.Context(), c); err != nil {
		t.Errorf("UserIDs with Options.Credentials = %v", err)
	}
	// One setting: the credentials take the client's cloud…
	gov := &Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s"}
	c, err = New(&Options{Cloud: USGovL5, Credentials: gov})
	if err != nil || c.Root() != "https://dod-graph.microsoft.us" || c.tokens.scope != "https://dod-graph.microsoft.us/.default" {
		t.Errorf("usgov-l5: %v, root %s", err, c.Root())
	}
	// …and credentials set for another cloud are refused.
	gov.Cloud = China
	if _, err := New(&Options{Cloud: Global, Credentials: gov}); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("credentials for china, client for global = %v, want ErrConfig", err)
	}
}

func TestNewHTTPClient_TrustsTheEmulatorCA(t *testing.T) {
	s := startSim(t, simOptions(graphsim.Faults{}))
	pool, err := certPool(s.CACertPEM())
	if err != nil {
		t.Fatal(err)
	}
	hc := NewHTTPClient(pool)
	cr := &Credentials{TenantID: s.TenantID(), ClientID: s.ClientID(), ClientSecret: s.ClientSecret(),
		AuthorityHost: s.AuthorityHost(), Transport: hc}
	c, err := New(&Options{GraphRoot: s.GraphURL(), HTTPClient: hc, Credentials: cr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := userIDs(t.Context(), c); err != nil {
		t.Errorf("UserIDs over TLS with the emulator's CA = %v", err)
	}
	if _, err := certPool([]byte("not pem")); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("CertPool(garbage) = %v, want ErrConfig", err)
	}
}

// chatHarness serves Teams chat messages (getAllMessages per user), the
// Teams export path of the governor.
type chatHarness struct{ simHarness }

func newChatHarness(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
	h, err := newSimHarness(ctx, t)
	if err != nil {
		return nil, err
	}
	return &chatHarness{*h.(*simHarness)}, nil
}

func chatMessages(c *Client, from, to time.Time, top int) *Collection {
	q := url.Values{
		// gt/lt only: a half-open [from, to) asks for gt from−1ms.
		"$filter": {"lastModifiedDateTime gt " + from.Add(-time.Millisecond).Format("2006-01-02T15:04:05.000Z") +
			" and lastModifiedDateTime lt " + to.Format(time.RFC3339)},
		"$top":  {itoa(top)},
		"model": {"B"}, // the exporter's default: no licence check
	}.Encode()
	return &Collection{
		Client: c,
		Owners: func(ctx context.Context) ([]string, error) { return userIDs(ctx, c) },
		First: func(owner string) string {
			return "/v1.0/users/" + owner + "/chats/getAllMessages?" + q
		},
	}
}

func (h *chatHarness) MakeSource(ctx context.Context, f sourcetest.Faults) (sources.Source, error) {
	src, err := h.simHarness.MakeSource(ctx, f)
	if err != nil {
		return nil, err
	}
	return chatMessages(src.(*Collection).Client, simFrom, simTo, 10), nil
}

func (h *chatHarness) Want(context.Context) (map[string][]json.RawMessage, error) {
	tn := h.ref.Tenant()
	w := map[string][]json.RawMessage{}
	for _, o := range simtruth.Owners(tn, "chat_messages") {
		w[o] = simtruth.Truth(tn, "chat_messages", o, simFrom, simTo)
	}
	return w, nil
}

func (h *chatHarness) Broken(context.Context) (map[string]error, error) { return nil, nil }

func TestCollection_ConformanceOnGraphsimChats(t *testing.T) {
	sourcetest.Run(t, newChatHarness, &sourcetest.Opt{
		NoBrokenPartition: "every user can be read for chats (the emulator denies only mail and Copilot)",
		NoEmptyPartition:  "every user of the emulator chats every day",
	})
}

// TestGraphsim_TeamsExportRefusals: an application Microsoft has not
// approved for the protected Teams APIs gets 403 from getAllMessages; on a
// collection declared Protected that is a refusal with the protected-API
// step as advice, and Check turns every owner tried refused into a
// configuration error (graph-api-notes §8 fact 3). A 402 (model=A for a
// user without the licence, fact 2) skips the owner as a refusal.
func TestGraphsim_TeamsExportRefusals(t *testing.T) {
	o := simOptions(graphsim.Faults{})
	o.TeamsUnapproved = true
	s := startSim(t, o)
	c := simClient(t, s, testClientOptions())
	tn := s.Tenant()
	chats := func(model string) *Collection {
		return &Collection{Client: c, Protected: true,
			Owners: func(context.Context) ([]string, error) {
				return []string{tn.UserID(0), tn.UserID(1), tn.UserID(2)}, nil
			},
			First: func(o string) string { return "/v1.0/users/" + o + "/chats/getAllMessages?$top=50" + model }}
	}
	_, err := chats("&model=B").Page(t.Context(), tn.UserID(0), "")
	var ge *Error
	if !errors.Is(err, sources.ErrSkipOwner) || !errors.Is(err, sources.ErrDenied) || !errors.As(err, &ge) ||
		!strings.Contains(ge.Advice, "https://aka.ms/teamsgraph/requestaccess") {
		t.Errorf("unapproved getAllMessages = %v, want a refusal with the protected-API step", err)
	}
	plain := chats("&model=B")
	plain.Protected = false
	if _, err := plain.Page(t.Context(), tn.UserID(0), ""); errors.Is(err, sources.ErrDenied) {
		t.Errorf("a 403 Forbidden on an undeclared collection = %v, want it unclassified", err)
	}
	if err := chats("").Check(t.Context()); !errors.Is(err, sources.ErrConfig) || !errors.As(err, &ge) || ge.Advice != protectedAdvice {
		t.Errorf("Check of an unapproved tenant = %v, want ErrConfig with the protected-API advice", err)
	}

	o = simOptions(graphsim.Faults{})
	s = startSim(t, o)
	c = simClient(t, s, testClientOptions())
	tn = s.Tenant()
	for _, model := range []string{"&model=A", "&model=B", ""} {
		col := &Collection{Client: c, Protected: true, First: func(o string) string {
			return "/v1.0/users/" + o + "/chats/getAllMessages?$top=50" + model
		}}
		_, err := col.Page(t.Context(), tn.UserID(13), "") // a guest: no E5-type licence
		code, skip := isSkip(err)
		switch {
		case model == "&model=A" && (!skip || code != "PaymentRequired" || !errors.Is(err, sources.ErrDenied)):
			t.Errorf("model=A for an unlicensed user = %v, want a PaymentRequired skip and refusal", err)
		case model != "&model=A" && err != nil:
			t.Errorf("%q for an unlicensed user = %v, want a page", model, err)
		}
	}
}
