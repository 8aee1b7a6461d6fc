package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"m365export/sources"
)

func newStaticServer(t *testing.T, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// scripted answers requests from a script, one step per request, then 200.
type scripted struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter)
	auth  []string
	n     int
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	var step func(http.ResponseWriter)
	if s.n < len(s.steps) {
		step = s.steps[s.n]
	}
	s.n++
	s.mu.Unlock()
	if step != nil {
		step(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"value":[{"id":"ok"}]}`))
}

func status(code int, graphCode, retryAfter string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeGraphError(w, code, graphCode)
	}
}

// fakeSleep records waits instead of sleeping, and moves a fake clock.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
	t     time.Time
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.t = f.now().Add(d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) now() time.Time {
	if f.t.IsZero() {
		f.t = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	}
	return f.t
}

func (f *fakeSleep) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"120", 2 * time.Minute, true},
		{"0.249", 249 * time.Millisecond, true},
		{"0.0001", time.Millisecond, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"0", 0, false},
		{"-2", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestGet_RetriesTransientFailures(t *testing.T) {
	sc := &scripted{steps: []func(http.ResponseWriter){
		status(429, "ApplicationThrottled", "2"),
		status(503, "serviceNotAvailable", "0.249"),
		status(500, "UnknownError", ""),
		status(502, "", ""),
		status(504, "UnknownError", ""),
		status(429, "TooManyRequests", (&fakeSleep{}).now().Add(90*time.Second+14*time.Second).Format(http.TimeFormat)),
	}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	fs := &fakeSleep{}
	c, err := New(&Options{GraphRoot: srv.URL, Sleep: fs.sleep, Now: fs.Now, Limits: &Limits{}, MaxBackoff: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(t.Context(), "/v1.0/users/u1/messages")
	if err != nil {
		t.Fatalf("Get = %v", err)
	}
	if resp.Attempts != 7 || string(resp.Body) != `{"value":[{"id":"ok"}]}` {
		t.Errorf("Get = %d attempts, body %q", resp.Attempts, resp.Body)
	}
	if len(fs.waits) != 6 {
		t.Fatalf("waits = %v, want 6", fs.waits)
	}
	if fs.waits[0] != 2*time.Second || fs.waits[1] != 249*time.Millisecond {
		t.Errorf("Retry-After waits = %v, %v; want 2s, 249ms", fs.waits[0], fs.waits[1])
	}
	// Exponential backoff with jitter from 1s: first in [0.5s, 1.5s], second in [1s, 3s].
	if w := fs.waits[2]; w < 500*time.Millisecond || w > 1500*time.Millisecond {
		t.Errorf("first backoff = %v, want 0.5s..1.5s", w)
	}
	if w := fs.waits[4]; w < 2*time.Second || w > 6*time.Second {
		t.Errorf("third backoff = %v, want 2s..6s", w)
	}
	if w := fs.waits[5]; w != time.Minute {
		t.Errorf("HTTP-date Retry-After 90s capped = %v, want 1m", w)
	}
	st := c.Stats()
	if st.Retries != 6 || st.Throttled != 2 || st.ServerErrors != 4 || st.Requests != 7 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestGet_RetriesResetsAndTruncatedBodies(t *testing.T) {
	f := newFakeGraph(t, 2, 2)
	steps := []string{"reset", "truncated", "cut-json"}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := int(n.Add(1)) - 1; i < len(steps) {
			f.fault(w, steps[i])
			return
		}
		f.serve(w, r)
	}))
	defer srv.Close()
	fs := &fakeSleep{}
	c, _ := New(&Options{GraphRoot: srv.URL, Sleep: fs.sleep, Now: fs.Now, Limits: &Limits{}})
	col := &Collection{Client: c, First: func(string) string { return "/v1.0/users" }}
	pg, err := col.Page(t.Context(), "", "")
	if err != nil {
		t.Fatalf("Page = %v", err)
	}
	if !strings.Contains(string(pg.Body), `"value":[{"id":`) {
		t.Errorf("body = %s", pg.Body)
	}
	st := c.Stats()
	if st.TransportErrors != 1 || st.Truncated != 2 || st.Retries != 3 {
		t.Errorf("Stats = %+v, want 1 transport error, 2 truncated, 3 retries", st)
	}
}

func TestGet_GivesUpAfterMaxAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		writeGraphError(w, 503, "serviceNotAvailable")
	}))
	defer srv.Close()
	fs := &fakeSleep{}
	c, _ := New(&Options{GraphRoot: srv.URL, Sleep: fs.sleep, Now: fs.Now, MaxAttempts: 4, Limits: &Limits{}})
	resp, err := c.Get(t.Context(), "/v1.0/users")
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Get = %v, want ErrExhausted", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 503 || ge.Code != "serviceNotAvailable" || ge.RetryAfter != 7*time.Second {
		t.Errorf("error = %v, want a 503 *Error", err)
	}
	if resp == nil || resp.Status != 503 || c.Stats().Requests != 4 || len(fs.waits) != 3 {
		t.Errorf("resp %v, %d requests, %d waits; want 503, 4, 3", resp, c.Stats().Requests, len(fs.waits))
	}
}

func TestGet_ErrorBodyIntact(t *testing.T) {
	body := `{"error":{"code":"ErrorInvalidUser","message":"The requested user 'x' is invalid.","innerError":{"request-id":"abc","date":"2026-11-28T00:00:00"}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "kept")
		w.WriteHeader(404)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c, _ := New(fastOptions(srv.URL))
	resp, err := c.Get(t.Context(), "/v1.0/users/x/messages")
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("Get = %v, want *Error", err)
	}
	if ge.Status != 404 || ge.Code != "ErrorInvalidUser" || ge.RequestID != "abc" || !errors.Is(err, sources.ErrSkipOwner) {
		t.Errorf("error = %+v", ge)
	}
	if resp == nil || string(resp.Body) != body || resp.Header.Get("X-Custom") != "kept" || resp.Status != 404 {
		t.Errorf("response = %+v, want body and headers intact", resp)
	}
	if strings.Contains(err.Error(), "invalid.") {
		t.Errorf("error text %q carries Graph's message", err)
	}
}

// TestCollection_DeclaredSkips: a collection's own skip codes and
// statuses turn an error the shared classifier left alone into a skip,
// and only that.
func TestCollection_DeclaredSkips(t *testing.T) {
	c := &Collection{SkipCodes: []string{"CopilotLicenseRequired"}, SkipStatuses: []int{403, 404}}
	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{
		{403, "Forbidden", sources.ErrSkipOwner},
		{404, "NotFound", sources.ErrSkipOwner},
		{400, "CopilotLicenseRequired", sources.ErrSkipOwner},
		{400, "BadRequest", nil},
		{403, "Authorization_RequestDenied", sources.ErrConfig}, // classified already: kept
	} {
		e := classify(tc.status, http.Header{}, []byte(fmt.Sprintf(`{"error":{"code":%q}}`, tc.code)))
		c.classifySkip(fmt.Errorf("first page: %w", e))
		if e.Kind != tc.want {
			t.Errorf("%d %s: kind %v, want %v", tc.status, tc.code, e.Kind, tc.want)
		}
		plain := classify(tc.status, http.Header{}, []byte(fmt.Sprintf(`{"error":{"code":%q}}`, tc.code)))
		(&Collection{}).classifySkip(plain)
		if tc.want == sources.ErrSkipOwner && plain.Kind != nil {
			t.Errorf("%d %s: a collection without declared skips classified it as %v", tc.status, tc.code, plain.Kind)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		url    string
		want   error
	}{
		{404, "MailboxNotEnabledForRESTAPI", "/v1.0/users/u/messages", sources.ErrSkipOwner},
		{404, "ErrorInvalidUser", "/v1.0/users/u/messages", sources.ErrSkipOwner},
		{403, "ErrorAccessDenied", "/v1.0/users/u/messages", sources.ErrSkipOwner},
		{404, "Request_ResourceNotFound", "/v1.0/groups/g/members", sources.ErrSkipOwner},
		{403, "Authorization_RequestDenied", "/v1.0/users", sources.ErrConfig},
		{401, "Authorization_IdentityNotFound", "/v1.0/users", sources.ErrConfig},
		{402, "PaymentRequired", "/v1.0/users/u/chats/getAllMessages", sources.ErrSkipOwner},
		{410, "", "/v1.0/users/delta", sources.ErrResync},
		{400, "syncStateNotFound", "/v1.0/users/delta", sources.ErrResync},
		{400, "resyncRequired", "/v1.0/users/delta", sources.ErrResync},
		{400, "InefficientFilter", "/v1.0/users/u/messages", nil},
		{403, "Forbidden", "/v1.0/users/u/messages", nil},
	} {
		body := fmt.Sprintf(`{"error":{"code":%q,"message":"m"}}`, tc.code)
		e := classify(tc.status, http.Header{}, []byte(body))
		if e.Kind != tc.want || e.Code != tc.code {
			t.Errorf("classify(%d %s %s) = kind %v code %q, want %v", tc.status, tc.code, tc.url, e.Kind, e.Code, tc.want)
		}
		if tc.want == sources.ErrConfig && e.Advice == "" {
			t.Errorf("classify(%d %s): configuration error without advice", tc.status, tc.code)
		}
	}
	// 402 (a Teams export API's licence) skips one owner and is a
	// refusal: every owner refused is a configuration error naming the
	// setting.
	if e := classify(402, http.Header{}, []byte(`{"error":{"code":"PaymentRequired"}}`)); !e.Denied || !strings.Contains(e.Advice, "--teams-model") {
		t.Errorf("classify(402) = %+v, want a refusal whose advice names --teams-model", e.Class)
	}
	// A specific inner code beats a generic outer one.
	e := classify(404, http.Header{}, []byte(`{"error":{"code":"NotFound","innerError":{"code":"MailboxNotEnabledForRESTAPI"}}}`))
	if e.Code != "MailboxNotEnabledForRESTAPI" || e.Kind != sources.ErrSkipOwner {
		t.Errorf("inner code: %+v", e)
	}
}

func TestNew_RefusesTokenOverPlainHTTPToRemoteHost(t *testing.T) {
	cred := func() (TokenCredential, error) { return &countingCred{}, nil }
	if _, err := New(&Options{GraphRoot: "http://graph.example.com", Credential: cred}); !errors.Is(err, sources.ErrConfig) {
		t.Errorf("New(plain HTTP remote root) = %v, want ErrConfig", err)
	}
	for _, root := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://graph.example.com"} {
		if _, err := New(&Options{GraphRoot: root, Credential: cred}); err != nil {
			t.Errorf("New(%s) = %v, want ok", root, err)
		}
	}
	// Without a token, plain HTTP anywhere is harmless.
	if _, err := New(&Options{GraphRoot: "http://graph.example.com"}); err != nil {
		t.Errorf("New(plain HTTP, no credential) = %v", err)
	}
}

func TestGet_RefusesOtherHosts(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	c, _ := New(&Options{GraphRoot: srv.URL, Credential: func() (TokenCredential, error) { return &countingCred{}, nil }})
	for _, u := range []string{"https://evil.example/v1.0/users", srv.URL + ".evil.example/v1.0/users", "http://127.0.0.2:1/v1.0/users"} {
		if _, err := c.Get(t.Context(), u); !errors.Is(err, sources.ErrConfig) {
			t.Errorf("Get(%s) = %v, want ErrConfig", u, err)
		}
	}
	if n.Load() != 0 {
		t.Errorf("%d requests reached the server", n.Load())
	}
}

func TestClient_Clouds(t *testing.T) {
	for _, tc := range []struct {
		name, root, scope, authority string
	}{
		{"global", "https://graph.microsoft.com", "https://graph.microsoft.com/.default", "https://login.microsoftonline.com/"},
		{"usgov-l4", "https://graph.microsoft.us", "https://graph.microsoft.us/.default", "https://login.microsoftonline.us/"},
		{"usgov-l5", "https://dod-graph.microsoft.us", "https://dod-graph.microsoft.us/.default", "https://login.microsoftonline.us/"},
		{"china", "https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default", "https://login.chinacloudapi.cn/"},
	} {
		cl, err := LookupCloud(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		cred := &countingCred{}
		c, err := New(&Options{Cloud: cl, Credential: func() (TokenCredential, error) { return cred, nil }})
		if err != nil {
			t.Fatal(err)
		}
		cr := Credentials{TenantID: "t", ClientID: "c", ClientSecret: "s", Cloud: cl}
		if c.Root() != tc.root || c.tokens.scope != tc.scope || cr.authority() != tc.authority {
			t.Errorf("cloud %s: root %s scope %s authority %s", tc.name, c.Root(), c.tokens.scope, cr.authority())
		}
	}
	if _, err := LookupCloud("mars"); err == nil {
		t.Error("LookupCloud(mars) succeeded")
	}
}

// countingCred hands out tokens t1, t2, … one per credential built.
type countingCred struct {
	token string
	gets  atomic.Int32
}

func (c *countingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.gets.Add(1)
	tok := c.token
	if tok == "" {
		tok = "t"
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestGet_RefreshesRejectedTokenOnce(t *testing.T) {
	var built atomic.Int32
	factory := func() (TokenCredential, error) {
		n := built.Add(1)
		return &countingCred{token: fmt.Sprintf("t%d", n)}, nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer t1" {
			writeGraphError(w, 401, "InvalidAuthenticationToken")
			return
		}
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	c, _ := New(&Options{GraphRoot: srv.URL, Credential: factory, Limits: &Limits{}})
	for range 3 {
		if _, err := c.Get(t.Context(), "/v1.0/users"); err != nil {
			t.Fatalf("Get = %v", err)
		}
	}
	if built.Load() != 2 || c.Stats().TokenRefreshes != 1 || c.Stats().Requests != 4 {
		t.Errorf("credentials built %d, refreshes %d, requests %d; want 2, 1, 4", built.Load(), c.Stats().TokenRefreshes, c.Stats().Requests)
	}

	// A token rejected again after the refresh is not retried forever.
	always := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeGraphError(w, 401, "InvalidAuthenticationToken")
	}))
	defer always.Close()
	built.Store(0)
	c, _ = New(&Options{GraphRoot: always.URL, Credential: factory, Limits: &Limits{}})
	_, err := c.Get(t.Context(), "/v1.0/users")
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 401 || !errors.Is(err, sources.ErrConfig) || built.Load() != 2 || c.Stats().Requests != 2 {
		t.Errorf("Get = %v with %d credentials, %d requests; want a 401 after 2, 2", err, built.Load(), c.Stats().Requests)
	}
}

func TestGet_CancelDuringRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeGraphError(w, 429, "ApplicationThrottled")
	}))
	defer srv.Close()
	c, _ := New(&Options{GraphRoot: srv.URL})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.Get(ctx, "/v1.0/users/u/messages")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
}

func TestGet_ThrottledScopeSlowsDown(t *testing.T) {
	sc := &scripted{steps: []func(http.ResponseWriter){status(429, "ApplicationThrottled", "1")}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	fs := &fakeSleep{}
	c, _ := New(&Options{GraphRoot: srv.URL, Sleep: fs.sleep, Now: fs.Now})
	if _, err := c.Get(t.Context(), "/v1.0/users/u1/messages"); err != nil {
		t.Fatal(err)
	}
	g := c.Governor()
	if s := g.slowdown(Scope{Kind: ScopeMailbox, ID: "u1"}); s != 2 {
		t.Errorf("throttled mailbox slowdown = %v, want 2", s)
	}
	if s := g.slowdown(Scope{Kind: ScopeMailbox, ID: "u2"}); s != 1 {
		t.Errorf("other mailbox slowdown = %v, want 1", s)
	}
}

func TestGet_LogsRetriesWithoutIdentifiers(t *testing.T) {
	sc := &scripted{steps: []func(http.ResponseWriter){status(429, "ApplicationThrottled", "0.001"), status(503, "serviceNotAvailable", "0.001")}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	c, _ := New(&Options{GraphRoot: srv.URL, Logger: log, Limits: &Limits{}})
	if _, err := c.Get(t.Context(), "/v1.0/users/alice@contoso.example/messages"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("log = %s, want 2 lines", out)
	}
	for _, l := range lines {
		for _, want := range []string{`"level":"WARN"`, `"request_id":"req-`, `"client_request_id":"`, `"attempt":`, `"retry_after":`, `"scope":"mailbox"`} {
			if !strings.Contains(l, want) {
				t.Errorf("log line %s lacks %s", l, want)
			}
		}
	}
	if strings.Contains(out, "alice") {
		t.Errorf("log carries the owner id: %s", out)
	}
}

func TestGet_TransportErrorHidesURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	fs := &fakeSleep{}
	c, _ := New(&Options{GraphRoot: srv.URL, Limits: &Limits{}, MaxAttempts: 2, Sleep: fs.sleep, Now: fs.Now})
	_, err := c.Get(t.Context(), "/v1.0/users/alice@contoso.example/messages")
	if !errors.Is(err, ErrExhausted) || strings.Contains(err.Error(), "alice") {
		t.Errorf("Get = %v, want ErrExhausted without the owner id", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestGet_SendsOneClientRequestIDPerRequest(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("client-request-id"))
		mu.Unlock()
		if n.Add(1) == 1 {
			writeGraphError(w, 503, "serviceNotAvailable")
			return
		}
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	fs := &fakeSleep{}
	c, _ := New(&Options{GraphRoot: srv.URL, Limits: &Limits{}, Sleep: fs.sleep, Now: fs.Now})
	for range 2 {
		if _, err := c.Get(t.Context(), "/v1.0/users"); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] == ids[2] || len(ids[0]) != 36 || ids[0][14] != '4' {
		t.Errorf("client-request-ids = %q, want one UUIDv4 per request, kept across its retries", ids)
	}
}

// expiringCred hands out tokens that expire an hour after the fake clock's
// now.
type expiringCred struct {
	clk  *fakeClock
	gets atomic.Int32
}

func (c *expiringCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.gets.Add(1)
	return azcore.AccessToken{Token: fmt.Sprint("t", n), ExpiresOn: c.clk.Now().Add(time.Hour)}, nil
}

func TestGet_RenewsTokenBeforeExpiry(t *testing.T) {
	srv, auths := graphEcho(t)
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cred := &expiringCred{clk: clk}
	c, _ := New(&Options{GraphRoot: srv.URL, Limits: &Limits{}, Now: clk.Now, Sleep: clk.Sleep,
		Credential: func() (TokenCredential, error) { return cred, nil }})
	get := func() {
		if _, err := c.Get(t.Context(), "/v1.0/users"); err != nil {
			t.Fatal(err)
		}
	}
	get()
	clk.Sleep(t.Context(), 50*time.Minute)
	get() // still valid for 10 minutes: no new token
	clk.Sleep(t.Context(), 9*time.Minute)
	get() // one minute left: renewed first
	if n := cred.gets.Load(); n != 2 {
		t.Errorf("GetToken called %d times, want 2", n)
	}
	if got := (*auths)[2]; got != "Bearer t2" {
		t.Errorf("third request sent %q, want the renewed token", got)
	}
}
