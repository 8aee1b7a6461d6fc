package graph

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestScopeOf(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Scope
		cost int
	}{
		{"https://graph.microsoft.com/v1.0/users/u1/mailFolders/SentItems/messages?$top=10&$skip=20", Scope{ScopeMailbox, "u1"}, 1},
		{"/v1.0/users/u1/calendar/calendarView?startDateTime=a&endDateTime=b", Scope{ScopeMailbox, "u1"}, 1},
		{"/v1.0/users/u1/mailboxSettings", Scope{ScopeMailbox, "u1"}, 1},
		{"/v1.0/users/u1/chats/getAllMessages?model=A", Scope{ScopeTeamsExport, ""}, 1},
		{"/v1.0/users/u1/chats", Scope{ScopeTeams, ""}, 1},
		{"/v1.0/teams", Scope{ScopeTeams, ""}, 1},
		{"/v1.0/teams/t1/channels/getAllMessages", Scope{ScopeTeamsExport, "t1"}, 1},
		{"/v1.0/teams/t1/channels/c1/messages/delta?$skiptoken=x", Scope{ScopeChannelMessages, "t1"}, 1},
		{"/v1.0/teams/t1/channels/c1/messages/m1/replies", Scope{ScopeChannelMessages, "t1"}, 1},
		{"/v1.0/teams/t1/channels/c1/messages", Scope{ScopeTeams, "t1"}, 1},
		{"/v1.0/teams/t1/allChannels", Scope{ScopeTeams, "t1"}, 1},
		{"/v1.0/users?$select=id&$top=999", Scope{ScopeDirectory, ""}, 1},
		{"/v1.0/users", Scope{ScopeDirectory, ""}, 2},
		{"/v1.0/users?%24select=id", Scope{ScopeDirectory, ""}, 1},
		{"/v1.0/users/delta", Scope{ScopeDirectory, ""}, 2},
		{"/v1.0/groups/g1/members?$top=999", Scope{ScopeDirectory, ""}, 3},
		{"/v1.0/groups/g1/members?$top=10", Scope{ScopeDirectory, ""}, 2},
		{"/v1.0/groups/g1/transitiveMembers?$expand=x", Scope{ScopeDirectory, ""}, 6},
		{"/v1.0/groups?$select=id,displayName", Scope{ScopeDirectory, ""}, 1},
		{"/beta/copilot/users/u1/interactionHistory/getAllEnterpriseInteractions?$top=100", Scope{ScopeOther, "copilot"}, 1},
		{"/v1.0/communications/callRecords", Scope{ScopeOther, "communications"}, 1},
		{"http://127.0.0.1:9/v1.0/users/u2/events", Scope{ScopeMailbox, "u2"}, 1},
	} {
		s, cost := ScopeOf(tc.url)
		if s != tc.want || cost != tc.cost {
			t.Errorf("ScopeOf(%s) = %v %q cost %d, want %v %q cost %d", tc.url, s.Kind, s.ID, cost, tc.want.Kind, tc.want.ID, tc.cost)
		}
	}
}

// fakeClock is a clock that only sleeping moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func TestGovernor_KeepsEveryWindowWithinBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	l := Limits{Mailbox: Rate{100, 6 * time.Second}, Headroom: 0.01}
	g := NewGovernor(l, clk.Now, clk.Sleep)
	s := Scope{Kind: ScopeMailbox, ID: "u"}
	var sent []time.Time
	for range 1000 {
		p, err := g.acquire(t.Context(), s, 1)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clk.Now())
		p.release()
	}
	// Any window of 6 s holds at most 100 requests…
	j := 0
	for i := range sent {
		for sent[i].Sub(sent[j]) >= 6*time.Second {
			j++
		}
		if n := i - j + 1; n > 100 {
			t.Fatalf("%d requests in the 6 s window ending at request %d", n, i)
		}
	}
	// …and the budget is used: 1000 requests take about 60 s, not more.
	if d := sent[len(sent)-1].Sub(sent[0]); d > 61*time.Second || d < 59*time.Second {
		t.Errorf("1000 requests took %v, want about 60s", d)
	}
}

// TestGovernor_CatchUpStaysWithinBudget: a scope that falls behind (late
// workers) catches up by its burst, yet no window exceeds the budget.
func TestGovernor_CatchUpStaysWithinBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{Mailbox: Rate{100, 6 * time.Second}, Headroom: 0.01, Burst: 0.03}, clk.Now, clk.Sleep)
	s := Scope{Kind: ScopeMailbox, ID: "u"}
	rng := uint64(42)
	var sent []time.Time
	late := time.Duration(0)
	for i := range 3000 {
		rng = rng*6364136223846793005 + 1442695040888963407
		if i%7 == 0 { // a worker scheduled late
			d := time.Duration(rng>>40%300) * time.Millisecond
			clk.Sleep(t.Context(), d)
			late += d
		}
		p, err := g.acquire(t.Context(), s, 1)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clk.Now())
		p.release()
	}
	j := 0
	for i := range sent {
		for sent[i].Sub(sent[j]) >= 6*time.Second {
			j++
		}
		if n := i - j + 1; n > 100 {
			t.Fatalf("%d requests in the 6 s window ending at request %d", n, i)
		}
	}
	// Catching up recovers most of the time lost to late workers: 3000
	// requests at 100 per 6 s take 180 s; the late workers lose less than
	// half the time they slept (without a burst they lose nearly all).
	took := sent[len(sent)-1].Sub(sent[0])
	if took > 180*time.Second+late/2 {
		t.Errorf("3000 requests took %v with %v of late starts: too little caught up", took, late)
	}
}

func TestGovernor_DirectoryResourceUnits(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{DirectoryRU: Rate{100, time.Second}}, clk.Now, clk.Sleep)
	start := clk.Now()
	for range 50 {
		p, _ := g.acquire(t.Context(), Scope{Kind: ScopeDirectory}, 3) // group members: 3 RU
		p.release()
	}
	// 150 RU at 100 RU/s: the 50th request goes at 49×3/100 s.
	if d := clk.Now().Sub(start); d != 1470*time.Millisecond {
		t.Errorf("50 requests of 3 RU at 100 RU/s took %v, want 1.47s", d)
	}
}

func TestGovernor_SlowsAfter429AndRecovers(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{PerTeam: Rate{4, time.Second}, Recovery: time.Second}, clk.Now, clk.Sleep)
	s := Scope{Kind: ScopeTeams, ID: "t1"}
	gap := func() time.Duration {
		p, _ := g.acquire(t.Context(), s, 1)
		p.release()
		before := clk.Now()
		p, _ = g.acquire(t.Context(), s, 1)
		p.release()
		return clk.Now().Sub(before)
	}
	if d := gap(); d != 250*time.Millisecond {
		t.Fatalf("gap at full speed = %v, want 250ms", d)
	}
	g.throttled(s, clk.Now(), 2*time.Second)
	g.throttled(s, clk.Now(), 2*time.Second)
	before := clk.Now()
	p, _ := g.acquire(t.Context(), s, 1)
	p.release()
	if d := clk.Now().Sub(before); d < 2*time.Second {
		t.Errorf("first request after a 429 waited %v, want the 2s Retry-After", d)
	}
	if f := g.slowdown(s); f != 4 {
		t.Errorf("slowdown after two 429s = %v, want 4", f)
	}
	// Other scopes are not slowed.
	if f := g.slowdown(Scope{Kind: ScopeTeams, ID: "t2"}); f != 1 {
		t.Errorf("other scope slowdown = %v", f)
	}
	for range 100 {
		clk.Sleep(t.Context(), 1100*time.Millisecond)
		gap()
	}
	if f := g.slowdown(s); f != 1 {
		t.Errorf("slowdown after 429s stopped = %v, want back to 1", f)
	}
}

func TestGovernor_ConcurrentThrottlesHalveOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{Mailbox: Rate{100, time.Second}}, clk.Now, clk.Sleep)
	s := Scope{Kind: ScopeMailbox, ID: "u"}
	sent := clk.Now()
	clk.Sleep(t.Context(), 10*time.Millisecond)
	// Four requests sent together all come back 429.
	for range 4 {
		g.throttled(s, sent, time.Second)
	}
	if f := g.slowdown(s); f != 2 {
		t.Errorf("slowdown after 4 concurrent 429s = %v, want 2", f)
	}
	// A request sent after the slowdown and throttled again halves again.
	g.throttled(s, clk.Now(), time.Second)
	if f := g.slowdown(s); f != 4 {
		t.Errorf("slowdown after a later 429 = %v, want 4", f)
	}
}

func TestGovernor_MailboxConcurrency(t *testing.T) {
	var in, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := in.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		in.Add(-1)
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	l := Limits{MailboxConcurrency: 4}
	c, _ := New(&Options{GraphRoot: srv.URL, Limits: &l})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.Get(t.Context(), "/v1.0/users/u1/messages"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak in flight on one mailbox = %d, want 2..4", p)
	}
}

func TestDirectoryRUFor(t *testing.T) {
	for users, want := range map[int]int{10: 3500, 49: 3500, 50: 5000, 500: 5000, 501: 8000, 100000: 8000} {
		if r := directoryRUFor(users); r.N != want || r.Per != 10*time.Second {
			t.Errorf("DirectoryRUFor(%d) = %+v, want %d per 10s", users, r, want)
		}
	}
}

func TestLimits_Scale(t *testing.T) {
	l := DefaultLimits().scale(100)
	if l.Mailbox != (Rate{10000, 6 * time.Second}) || l.PerTeam != (Rate{4, 10 * time.Millisecond}) || l.MailboxConcurrency != 4 {
		t.Errorf("Scale(100) = %+v", l)
	}
}

func TestGovernor_CancelWhileWaiting(t *testing.T) {
	g := NewGovernor(Limits{ChannelMessages: Rate{1, time.Hour}}, nil, nil)
	s := Scope{Kind: ScopeChannelMessages, ID: "c"}
	p, err := g.acquire(t.Context(), s, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.release()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := g.acquire(ctx, s, 1); err != context.Canceled {
		t.Errorf("acquire during an hour's wait, cancelled = %v", err)
	}
}

func TestGovernor_TeamsLimits(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(DefaultLimits(), clk.Now, clk.Sleep)
	start := clk.Now()
	// getAllMessages of chats and of channels share 200 rps per tenant.
	for i := range 400 {
		s, _ := ScopeOf("/v1.0/users/u" + itoa(i) + "/chats/getAllMessages")
		if i%2 == 1 {
			s, _ = ScopeOf("/v1.0/teams/t" + itoa(i) + "/channels/getAllMessages")
		}
		p, _ := g.acquire(t.Context(), s, 1)
		p.release()
	}
	if d := clk.Now().Sub(start); d < 1990*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("400 getAllMessages took %v, want about 2s at 200 rps", d)
	}
	// One team: 4 rps, whatever the call.
	start = clk.Now()
	for _, u := range []string{"/v1.0/teams/T/channels/getAllMessages", "/v1.0/teams/T/allChannels", "/v1.0/teams/T/channels/c/messages/delta"} {
		for range 4 {
			s, _ := ScopeOf(u)
			p, _ := g.acquire(t.Context(), s, 1)
			p.release()
		}
	}
	// Twelve requests on team T: the delta ones also wait for 60/min per
	// tenant, so at least 11 × 250 ms.
	if d := clk.Now().Sub(start); d < 2750*time.Millisecond {
		t.Errorf("12 requests on one team took %v, want ≥ 2.75s at 4 rps", d)
	}
}

// BenchmarkGovernor_Acquire: the governor's cost per request when it does
// not make anyone wait: ScopeOf plus acquire and release, from all cores
// over many mailboxes (no lock is shared between mailboxes).
func BenchmarkGovernor_Acquire(b *testing.B) {
	l := DefaultLimits().scale(1e9) // every budget effectively unlimited
	g := NewGovernor(l, nil, nil)
	urls := make([]string, 1000)
	for i := range urls {
		urls[i] = "https://graph.microsoft.com/v1.0/users/" + fmt.Sprintf("%08d-0000-4000-8000-000000000000", i) + "/mailFolders/SentItems/messages?$top=100&$skip=200"
	}
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) * 7919
		for pb.Next() {
			i++
			s, cost := ScopeOf(urls[i%len(urls)])
			p, err := g.acquire(context.Background(), s, cost)
			if err != nil {
				b.Fatal(err)
			}
			p.release()
		}
	})
}

func TestGovernor_SpeedUpThatBrings429sWaitsLonger(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{PerTeam: Rate{4, time.Second}, Recovery: time.Second}, clk.Now, clk.Sleep)
	s := Scope{Kind: ScopeTeams, ID: "t"}
	touch := func() { p, _ := g.acquire(t.Context(), s, 1); p.release() }
	g.throttled(s, clk.Now(), 0)
	clk.Sleep(t.Context(), 1100*time.Millisecond)
	touch() // a second without 429s: one step up, from 2 to 1.5
	if f := g.slowdown(s); f != 1.5 {
		t.Fatalf("slowdown after one calm second = %v, want 1.5", f)
	}
	g.throttled(s, clk.Now(), 0) // …which brought a 429 back: 3, and hold 2 s
	clk.Sleep(t.Context(), 1500*time.Millisecond)
	touch()
	if f := g.slowdown(s); f != 3 {
		t.Errorf("slowdown 1.5 s after a 429 that followed a step up = %v, want 3 (hold doubled)", f)
	}
	clk.Sleep(t.Context(), time.Second)
	touch()
	if f := g.slowdown(s); f != 2.25 {
		t.Errorf("slowdown 2.5 s after = %v, want 2.25", f)
	}
}
