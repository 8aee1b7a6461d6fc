package graphsim

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a wall clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)} }

func TestLimits_MailboxRate(t *testing.T) {
	clk := newClock()
	h := start(t, Options{Users: 10, Clock: clk.now, Limits: Limits{Mailbox: Rate{5, time.Hour}, TimeScale: 0.01}})
	p := "/v1.0/users/" + h.s.Tenant().UserID(0) + "/mailboxSettings"
	for i := 0; i < 5; i++ {
		if code, _, b := h.get(p); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, b)
		}
	}
	code, hdr, b := h.get(p)
	if code != 429 || !strings.Contains(string(b), `"ApplicationThrottled"`) {
		t.Fatalf("request 6: %d %s, want 429 ApplicationThrottled", code, b)
	}
	if ra := hdr.Get("Retry-After"); ra != "36" { // one hour scaled by 0.01
		t.Fatalf("Retry-After = %q, want 36", ra)
	}
	if code, _, _ := h.get("/v1.0/users/" + h.s.Tenant().UserID(1) + "/mailboxSettings"); code != 200 {
		t.Fatalf("another mailbox: %d, want 200", code)
	}
	clk.add(36 * time.Second)
	if code, _, b := h.get(p); code != 200 {
		t.Fatalf("after the window: %d %s", code, b)
	}
	if st := h.s.Stats(); st.Throttled != 1 || st.ByEndpoint[epMailboxSettings].Throttled != 1 || st.ByEndpoint[epMailboxSettings].Served != 7 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestLimits_MailboxConcurrency(t *testing.T) {
	l := Limits{}
	lm := newLimiter(&l, 10, newClock().now)
	rt := route{ep: epMessages, class: clsMailbox, userID: "u1"}
	req, _ := http.NewRequest("GET", "https://x/v1.0/users/u1/messages", nil)
	var rel []func()
	for i := 0; i < 4; i++ {
		r, e := lm.admit(rt, req)
		if e != nil {
			t.Fatalf("request %d in flight: %v", i+1, e)
		}
		rel = append(rel, r)
	}
	_, e := lm.admit(rt, req)
	if e == nil || e.status != 429 || e.code != "ApplicationThrottled" || !strings.Contains(e.msg, "MailboxConcurrency") {
		t.Fatalf("5th in flight: %v, want 429 MailboxConcurrency", e)
	}
	if _, e := lm.admit(route{ep: epMessages, class: clsMailbox, userID: "u2"}, req); e != nil {
		t.Fatalf("another mailbox: %v", e)
	}
	rel[0]()
	if _, e := lm.admit(rt, req); e != nil {
		t.Fatalf("after one finished: %v", e)
	}
}

func TestLimits_ChannelDelta60PerMinute(t *testing.T) {
	clk := newClock()
	h := start(t, Options{Users: 40, Clock: clk.now, Limits: Limits{PerTeam: Rate{N: -1}, RetryAfter: "fraction"}})
	tn := h.s.Tenant()
	p := "/v1.0/teams/" + tn.GroupID(teamGroup(0)) + "/channels/" + tn.ChannelID(0, 0) + "/messages/delta"
	for i := 0; i < 60; i++ {
		if code, _, b := h.get(p); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, b)
		}
	}
	clk.add(15500 * time.Millisecond)
	code, hdr, _ := h.get(p)
	if code != 429 {
		t.Fatalf("request 61: %d, want 429", code)
	}
	if ra := hdr.Get("Retry-After"); ra != "44.500" {
		t.Fatalf("Retry-After = %q, want 44.500", ra)
	}
}

func TestLimits_DirectoryResourceUnits(t *testing.T) {
	clk := newClock()
	h := start(t, Options{Users: 40, Clock: clk.now, Limits: Limits{Directory: Rate{10, 10 * time.Second}, RetryAfter: "none"}})
	for i := 0; i < 5; i++ { // GET users costs 2
		if code, _, b := h.get("/v1.0/users?$top=999"); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, b)
		}
	}
	code, hdr, _ := h.get("/v1.0/users?$top=999")
	if code != 429 || hdr.Get("Retry-After") != "" {
		t.Fatalf("over budget: %d Retry-After %q, want 429 without Retry-After", code, hdr.Get("Retry-After"))
	}
	if got := ruCost(route{ep: epUsers}, mustReq("/v1.0/users?$select=id&$top=999")); got != 1 {
		t.Fatalf("cost of users with $select = %d, want 1", got)
	}
	if got := ruCost(route{ep: epMembers}, mustReq("/v1.0/groups/x/members?$top=999")); got != 3 {
		t.Fatalf("cost of members = %d, want 3", got)
	}
}

func mustReq(p string) *http.Request {
	r, _ := http.NewRequest("GET", "https://127.0.0.1"+p, nil)
	return r
}

func TestFaults_Storm(t *testing.T) {
	h := start(t, Options{Users: 10, Faults: Faults{StormEvery: 10, StormLength: 3}})
	var codes []int
	for i := 0; i < 13; i++ {
		code, _, _ := h.get("/v1.0/groups")
		codes = append(codes, code)
	}
	want := []int{429, 429, 429, 200, 200, 200, 200, 200, 200, 200, 429, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
}

func TestFaults_ErrorsResetsTruncation(t *testing.T) {
	h := start(t, Options{Users: 10, Faults: Faults{ErrorRate: 1}})
	code, _, b := h.get("/v1.0/users")
	if code < 500 || !strings.Contains(string(b), `"error"`) {
		t.Fatalf("ErrorRate 1: %d %s", code, b)
	}
	s, err := Start(Options{Users: 10, Auth: Auth{Anonymous: true}, Faults: Faults{ResetRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if resp, err := s.HTTPClient().Get(s.GraphURL() + "/v1.0/users"); err == nil {
		resp.Body.Close()
		t.Fatalf("ResetRate 1: got %d, want a transport error", resp.StatusCode)
	}
	s2, err := Start(Options{Users: 10, Auth: Auth{Anonymous: true}, Faults: Faults{TruncateRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	resp, err := s2.HTTPClient().Get(s2.GraphURL() + "/v1.0/users")
	if err != nil {
		t.Fatalf("TruncateRate 1: %v", err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatal("TruncateRate 1: body read without error")
	}
	if st := s2.Stats(); st.Faults != 1 {
		t.Fatalf("faults counted = %d, want 1", st.Faults)
	}
}

func TestFaults_Reproducible(t *testing.T) {
	f := Faults{Seed: 42, ErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.05, SlowRate: 0.1}
	a, b := newFaulter(&f), newFaulter(&f)
	var hits int
	for i := 0; i < 1000; i++ {
		da, db := a.next(), b.next()
		if da != db {
			t.Fatalf("decision %d differs: %+v vs %+v", i, da, db)
		}
		if da.status != 0 || da.reset || da.truncate {
			hits++
		}
	}
	if hits < 120 || hits > 280 { // 20% of 1000, loosely
		t.Fatalf("%d faults in 1000 requests, want about 200", hits)
	}
}

func TestFaults_UsersDeletedMidRun(t *testing.T) {
	h := start(t, Options{Users: 30, Faults: Faults{DeleteUsers: 3, DeleteAfter: 2}})
	for i := 0; i < 2; i++ {
		if recs, _, _ := h.all("/v1.0/users?$top=999"); len(recs) != 30 {
			t.Fatalf("before deletion: %d users", len(recs))
		}
	}
	recs, _, _ := h.all("/v1.0/users?$top=999")
	if len(recs) != 27 || len(truthOwners(h.s.Tenant(), "chats")) != 27 {
		t.Fatalf("after deletion: %d users, want 27", len(recs))
	}
}

func TestLimits_RetryAfterFormats(t *testing.T) {
	lm := &limiter{}
	for _, c := range []struct {
		mode string
		d    time.Duration
		want string
	}{{"", 1500 * time.Millisecond, "2"}, {"int", 10 * time.Millisecond, "1"}, {"fraction", 249 * time.Millisecond, "0.249"}, {"none", time.Second, ""}} {
		lm.l.RetryAfter = c.mode
		if got := lm.retryAfter(c.d); got != c.want {
			t.Errorf("retryAfter(%s, %v) = %q, want %q", c.mode, c.d, got, c.want)
		}
	}
}
