package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// harness is a started emulator with a token.
type harness struct {
	t     *testing.T
	s     *Server
	c     *http.Client
	token string
}

func start(t *testing.T, o Options) *harness {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	h := &harness{t: t, s: s, c: s.HTTPClient()}
	if !o.Auth.Anonymous {
		h.token = h.getToken(url.Values{"client_secret": {s.ClientSecret()}})
	}
	return h
}

func (h *harness) getToken(extra url.Values) string {
	h.t.Helper()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {h.s.ClientID()}, "scope": {"https://graph.microsoft.com/.default"}}
	for k, v := range extra {
		f[k] = v
	}
	resp, err := h.c.PostForm(h.s.AuthorityHost()+h.s.TenantID()+"/oauth2/v2.0/token", f)
	if err != nil {
		h.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &tr) != nil {
		h.t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	return tr.AccessToken
}

// get fetches a Graph URL (absolute, or a path below GraphURL).
func (h *harness) get(u string) (int, http.Header, []byte) {
	h.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = h.s.GraphURL() + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("GET %s: read: %v", u, err)
	}
	return resp.StatusCode, resp.Header, b
}

type pageBody struct {
	Context string            `json:"@odata.context"`
	Next    string            `json:"@odata.nextLink"`
	Delta   string            `json:"@odata.deltaLink"`
	Value   []json.RawMessage `json:"value"`
}

// all follows nextLinks from u and returns every record and the pages.
func (h *harness) all(u string) ([]json.RawMessage, int, string) {
	h.t.Helper()
	var recs []json.RawMessage
	pages := 0
	for u != "" {
		code, _, b := h.get(u)
		if code != 200 {
			h.t.Fatalf("GET %s = %d %s", u, code, b)
		}
		var p pageBody
		if err := json.Unmarshal(b, &p); err != nil {
			h.t.Fatalf("GET %s: invalid JSON: %v\n%s", u, err, b)
		}
		recs = append(recs, p.Value...)
		pages++
		if p.Delta != "" {
			return recs, pages, p.Delta
		}
		u = p.Next
	}
	return recs, pages, ""
}

func compact(t *testing.T, xs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(xs))
	for i, x := range xs {
		var b bytes.Buffer
		if err := json.Compact(&b, x); err != nil {
			t.Fatalf("record %d is not JSON: %v: %s", i, err, x)
		}
		out[i] = b.String()
	}
	return out
}

func equalRecords(t *testing.T, what string, want, got []json.RawMessage) {
	t.Helper()
	w, g := compact(t, want), compact(t, got)
	if len(w) != len(g) {
		t.Fatalf("%s: got %d records, want %d", what, len(g), len(w))
	}
	for i := range w {
		if w[i] != g[i] {
			t.Fatalf("%s: record %d differs:\n got %s\nwant %s", what, i, g[i], w[i])
		}
	}
}

func ids(t *testing.T, recs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(recs))
	for i, r := range recs {
		var x struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r, &x); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out[i] = x.ID
	}
	return out
}

func TestUsers_PagingReturnsEveryUserOnce(t *testing.T) {
	h := start(t, Options{Users: 2100, Seed: 7})
	recs, pages, _ := h.all("/v1.0/users?$top=999&$select=id,displayName,mail")
	if len(recs) != 2100 || pages != 3 {
		t.Fatalf("got %d users in %d pages, want 2100 in 3", len(recs), pages)
	}
	seen := map[string]bool{}
	for i, id := range ids(t, recs) {
		if seen[id] {
			t.Fatalf("user %s served twice", id)
		}
		seen[id] = true
		if id != h.s.Tenant().UserID(i) {
			t.Fatalf("user %d = %s, want %s", i, id, h.s.Tenant().UserID(i))
		}
	}
	equalRecords(t, "default select", truth(h.s.Tenant(), "users", "", time.Time{}, time.Time{})[:100], func() []json.RawMessage {
		r, _, _ := h.all("/v1.0/users?$top=100")
		return r[:100]
	}())
}

func TestUsers_TopOutOfRange(t *testing.T) {
	h := start(t, Options{Users: 10})
	code, _, b := h.get("/v1.0/users?$top=1000")
	if code != 400 || !strings.Contains(string(b), "between 1 and 999") {
		t.Fatalf("$top=1000: %d %s", code, b)
	}
}

func TestMessages_WindowMatchesTruth(t *testing.T) {
	h := start(t, Options{Users: 60, Seed: 3, Auth: Auth{Roles: contentRoles}})
	tn := h.s.Tenant()
	from := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	total := 0
	for _, owner := range truthOwners(tn, "messages")[:12] {
		want := truth(tn, "messages", owner, from, to)
		u := fmt.Sprintf("/v1.0/users/%s/mailFolders('SentItems')/messages?$filter=sentDateTime ge %s and sentDateTime lt %s&$orderby=sentDateTime&$top=7",
			owner, from.Format(time.RFC3339), to.Format(time.RFC3339))
		u = strings.ReplaceAll(u, " ", "%20")
		got, _, _ := h.all(u)
		equalRecords(t, "messages of "+owner, want, got)
		total += len(got)
	}
	if total == 0 {
		t.Fatal("no messages on a weekday")
	}
}

func TestMessages_InefficientFilter(t *testing.T) {
	h := start(t, Options{Users: 5})
	u := "/v1.0/users/" + h.s.Tenant().UserID(0) + "/mailFolders/SentItems/messages?$filter=sentDateTime%20ge%202026-11-26T00:00:00Z&$orderby=receivedDateTime"
	code, _, b := h.get(u)
	if code != 400 || !strings.Contains(string(b), `"InefficientFilter"`) {
		t.Fatalf("got %d %s, want 400 InefficientFilter", code, b)
	}
}

func TestErrors_UserClasses(t *testing.T) {
	h := start(t, Options{Users: 50})
	tn := h.s.Tenant()
	cases := []struct {
		user int
		path string
		code int
		err  string
	}{
		{7, "/mailFolders/SentItems/messages", 404, "MailboxNotEnabledForRESTAPI"},
		{13, "/mailboxSettings", 404, "MailboxNotEnabledForRESTAPI"},
		{23, "/calendar/calendarView?startDateTime=2026-11-26T00:00:00Z&endDateTime=2026-11-27T00:00:00Z", 403, "ErrorAccessDenied"},
		{3, "/interactionHistory/getAllEnterpriseInteractions", 403, "Forbidden"},
	}
	for _, c := range cases {
		p := "/v1.0/users/" + tn.UserID(c.user) + c.path
		if strings.HasPrefix(c.path, "/interactionHistory") {
			p = "/beta/copilot/users/" + tn.UserID(c.user) + c.path
		}
		code, _, b := h.get(p)
		var e struct {
			Error struct {
				Code       string
				InnerError map[string]string
			}
		}
		if err := json.Unmarshal(b, &e); err != nil || code != c.code || e.Error.Code != c.err || e.Error.InnerError["request-id"] == "" {
			t.Errorf("GET %s = %d %s, want %d %s", c.path, code, b, c.code, c.err)
		}
	}
	tn.DeleteUser(5)
	code, _, b := h.get("/v1.0/users/" + tn.UserID(5) + "/mailboxSettings")
	if code != 404 || !strings.Contains(string(b), "Request_ResourceNotFound") {
		t.Errorf("deleted user: %d %s", code, b)
	}
}

func TestStart_LoopbackOnly(t *testing.T) {
	if s, err := Start(Options{Listen: "0.0.0.0:0"}); err == nil {
		s.Close()
		t.Fatal("Start on 0.0.0.0 succeeded")
	}
}
