package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"m365export/sources"
	"m365export/sources/sourcetest"
)

// fakeHarness serves mail of a few users, some of whom cannot be read.
type fakeHarness struct {
	t     *testing.T
	f     *fakeGraph
	flaky bool
}

func newFakeHarness(_ context.Context, t *testing.T) (sourcetest.Harness, error) {
	f := newFakeGraph(t, 8, 4)
	f.addBroken("no-mailbox", http.StatusNotFound, "MailboxNotEnabledForRESTAPI")
	f.addBroken("invalid-user", http.StatusNotFound, "ErrorInvalidUser")
	f.addBroken("denied", http.StatusForbidden, "ErrorAccessDenied")
	f.addBroken("deleted", http.StatusNotFound, "Request_ResourceNotFound")
	f.addBroken("no-consent", http.StatusUnauthorized, "Authorization_IdentityNotFound")
	f.addBroken("delta-expired", http.StatusGone, "")
	f.addBroken("sync-state", http.StatusBadRequest, "syncStateNotFound")
	return &fakeHarness{t: t, f: f}, nil
}

func (h *fakeHarness) MakeSource(_ context.Context, fl sourcetest.Faults) (sources.Source, error) {
	h.f.flaky.Store(fl.Flaky)
	h.flaky = h.flaky || fl.Flaky
	h.f.stall.Store(fl.Stall)
	c, err := New(fastOptions(h.f.srv.URL))
	if err != nil {
		return nil, err
	}
	return mailCollection(c), nil
}

func mailCollection(c *Client) *Collection {
	return &Collection{
		Client: c,
		Owners: func(ctx context.Context) ([]string, error) { return userIDs(ctx, c) },
		First: func(owner string) string {
			return "/v1.0/users/" + owner + "/messages?$select=id,subject&$top=4"
		},
		Headers: http.Header{"Prefer": {"odata.maxpagesize=4"}},
	}
}

func (h *fakeHarness) Want(context.Context) (map[string][]json.RawMessage, error) {
	w := map[string][]json.RawMessage{}
	for _, u := range h.f.users {
		if _, bad := h.f.broken[u]; !bad {
			w[u] = h.f.msgs[u]
		}
	}
	return w, nil
}

func (h *fakeHarness) Broken(context.Context) (map[string]error, error) {
	return map[string]error{
		"no-mailbox":    sources.ErrSkipOwner,
		"invalid-user":  sources.ErrSkipOwner,
		"denied":        sources.ErrSkipOwner,
		"deleted":       sources.ErrSkipOwner,
		"no-consent":    sources.ErrConfig,
		"delta-expired": sources.ErrResync,
		"sync-state":    sources.ErrResync,
	}, nil
}

func (h *fakeHarness) Close() {
	if n := h.f.faultN.Load(); h.flaky && n < int64(3*len(faultKinds)) {
		h.t.Errorf("the flaky run saw only %d requests: not every fault was served", n)
	}
}

func TestCollection_Conformance(t *testing.T) {
	sourcetest.Run(t, newFakeHarness, nil)
}

func TestCollection_ResendsHeadersOnNextLinks(t *testing.T) {
	f := newFakeGraph(t, 7, 2)
	c, err := New(fastOptions(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	col := &Collection{
		Client:  c,
		First:   func(string) string { return "/v1.0/users?$count=true" },
		Headers: http.Header{"Consistencylevel": {"eventual"}},
	}
	pages := 0
	for pg, err := range sources.Pages(t.Context(), col, "", "") {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages > 1 && pg.URL == "" {
			t.Error("page without URL")
		}
	}
	if pages < 2 {
		t.Fatalf("%d pages, want several", pages)
	}
	for i, h := range f.headers {
		if got := h.Get("ConsistencyLevel"); got != "eventual" {
			t.Errorf("request %d: ConsistencyLevel = %q, want eventual", i, got)
		}
		if got := h.Get("x-ms-throttle-priority"); got != "low" {
			t.Errorf("request %d (directory): x-ms-throttle-priority = %q, want low", i, got)
		}
	}
}

func TestUserIDs_PagesThroughAll(t *testing.T) {
	f := newFakeGraph(t, 10, 2)
	c, err := New(fastOptions(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := userIDs(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, f.users) {
		t.Errorf("UserIDs = %v, want %v", ids, f.users)
	}
	if n := f.n.Load(); n != 4 { // 10 users, 3 a page
		t.Errorf("%d requests, want 4", n)
	}
}

func TestCollection_DeltaLinkOnLastPage(t *testing.T) {
	srv := newStaticServer(t, `{"value":[{"id":"a"}],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x\u0026y=1"}`)
	c, err := New(fastOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	col := &Collection{Client: c, First: func(string) string { return "/v1.0/users/delta" }}
	pg, err := col.Page(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x&y=1"; pg.Delta != want || pg.Next != "" {
		t.Errorf("Page = Next %q Delta %q, want Next \"\" Delta %q", pg.Next, pg.Delta, want)
	}
}

func TestIsSkip_GivesCode(t *testing.T) {
	f := newFakeGraph(t, 1, 2)
	f.addBroken("x", http.StatusNotFound, "MailboxNotEnabledForRESTAPI")
	c, _ := New(fastOptions(f.srv.URL))
	_, err := mailCollection(c).Page(t.Context(), "x", "")
	code, ok := isSkip(err)
	if !ok || code != "MailboxNotEnabledForRESTAPI" {
		t.Errorf("IsSkip(%v) = %q, %v; want MailboxNotEnabledForRESTAPI, true", err, code, ok)
	}
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) || coded.ErrorCode() != "MailboxNotEnabledForRESTAPI" {
		t.Errorf("error %v has no ErrorCode", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 404 || ge.RequestID != "req-404" {
		t.Errorf("error = %#v, want *Error with status 404 and request id", ge)
	}
}

func TestCollection_RefusesSelfLink(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"@odata.nextLink":"` + srv.URL + `/v1.0/users?$skiptoken=a","value":[]}`))
	}))
	defer srv.Close()
	c, _ := New(fastOptions(srv.URL))
	col := &Collection{Client: c, First: func(string) string { return "/v1.0/users?$skiptoken=a" }}
	if _, err := col.Page(t.Context(), "", ""); err == nil {
		t.Error("a page linking to itself was accepted")
	}
}
