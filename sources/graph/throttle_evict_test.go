package graph

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// count returns how many limiters set holds.
func (set *limiterSet) count() int {
	n := 0
	set.m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// limiterOf returns the limiter set holds for id, or nil.
func (set *limiterSet) limiterOf(id string) *limiter {
	if v, ok := set.m.Load(id); ok {
		return v.(*limiter)
	}
	return nil
}

func mailboxURL(i int) string {
	return fmt.Sprintf("https://graph.microsoft.com/v1.0/users/%08d-0000-4000-8000-000000000000/mailFolders/SentItems/messages?$top=100&$skip=%d", i, i)
}

// TestGovernor_ForgetsMailboxesAtRest: 100,000 mailboxes, one after
// another, leave a bounded number of limiters, and no key shares memory
// with the request URL it came from.
func TestGovernor_ForgetsMailboxesAtRest(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(DefaultLimits(), clk.Now, clk.Sleep)
	most := 0
	for i := range 100_000 {
		url := mailboxURL(i)
		s, cost := ScopeOf(url)
		p, err := g.acquire(t.Context(), s, cost)
		if err != nil {
			t.Fatal(err)
		}
		p.release()
		if i%997 == 0 {
			most = max(most, g.mailboxes.count())
			g.mailboxes.m.Range(func(k, _ any) bool {
				key := k.(string)
				if k := uintptr(unsafe.Pointer(unsafe.StringData(key))); k >= uintptr(unsafe.Pointer(unsafe.StringData(url))) &&
					k < uintptr(unsafe.Pointer(unsafe.StringData(url)))+uintptr(len(url)) {
					t.Fatalf("limiter key %q points into the request URL", key)
				}
				return true
			})
		}
		clk.Sleep(t.Context(), 100*time.Millisecond) // 10 mailboxes a second
	}
	// A mailbox is at rest some 6 s (its burst) after its request: about
	// 60 are busy at any time; sweeps come every sweepMin new limiters.
	most = max(most, g.mailboxes.count())
	if most > 2*sweepMin {
		t.Errorf("at most %d limiters alive over 100,000 mailboxes, want ≤ %d", most, 2*sweepMin)
	}
	if n := g.mailboxes.evicted.Load(); n < 90_000 {
		t.Errorf("%d limiters evicted over 100,000 mailboxes, want most of them", n)
	}
}

// TestGovernor_EvictionRacesWithAcquire: goroutines hammer a few
// mailboxes, now and then holding a request or leaving the mailbox idle,
// while others churn through fresh mailboxes (forcing sweeps) and one
// sweeps all the time: no mailbox ever has more than MailboxConcurrency
// requests in flight, and each rated mailbox's booked slots keep its rate.
// Unrated, a mailbox is at rest whenever nothing is in flight, so sweeps
// evict it all the time.
func TestGovernor_EvictionRacesWithAcquire(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate Rate
	}{
		{"rated", Rate{1000, time.Second}}, // one per ms, no burst
		{"unrated", Rate{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hammer(t, Limits{MailboxConcurrency: 4, Mailbox: tc.rate})
		})
	}
}

func hammer(t *testing.T, l Limits) {
	type slotKey struct{}
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	// A request's slot is its booking time plus its own wait (the fake
	// clock also moves when other goroutines sleep).
	sleep := func(ctx context.Context, d time.Duration) error {
		if w, ok := ctx.Value(slotKey{}).(*time.Duration); ok {
			*w = d
		}
		return clk.Sleep(ctx, d)
	}
	g := NewGovernor(l, clk.Now, sleep)
	const hot, perHot, rounds = 3, 6, 1000
	var (
		inFlight [hot]atomic.Int32
		mu       sync.Mutex
		slots    [hot][]time.Time
		seen     [hot]map[*limiter]bool
		stop     atomic.Bool
		wg, bg   sync.WaitGroup
	)
	for m := range hot {
		seen[m] = map[*limiter]bool{}
		for w := range perHot {
			wg.Go(func() {
				var wait time.Duration
				ctx := context.WithValue(t.Context(), slotKey{}, &wait)
				s := Scope{Kind: ScopeMailbox, ID: fmt.Sprintf("hot-%d", m)}
				for i := range rounds {
					wait = 0
					p, err := g.acquire(ctx, s, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if n := inFlight[m].Add(1); n > int32(l.MailboxConcurrency) {
						t.Errorf("%d requests in flight on %s, want ≤ %d", n, s.ID, l.MailboxConcurrency)
					}
					mu.Lock()
					slots[m] = append(slots[m], p.reserved.Add(wait))
					seen[m][p.held] = true
					mu.Unlock()
					switch (i + w) % 8 {
					case 0: // a slow request: the clock moves past its slot
						time.Sleep(20 * time.Microsecond)
					default:
						runtime.Gosched()
					}
					inFlight[m].Add(-1)
					p.release()
					if (i+w)%2 == 1 { // leave the mailbox idle for a moment
						time.Sleep(20 * time.Microsecond)
					}
				}
			})
		}
	}
	for c := range 2 {
		bg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				p, err := g.acquire(t.Context(), Scope{Kind: ScopeMailbox, ID: fmt.Sprintf("churn-%d-%d", c, i)}, 1)
				if err != nil {
					t.Error(err)
					return
				}
				p.release()
				clk.Sleep(t.Context(), 100*time.Microsecond)
				if i%64 == 63 { // let the hot goroutines run
					time.Sleep(20 * time.Microsecond)
				}
			}
		})
	}
	bg.Go(func() {
		for !stop.Load() {
			g.mailboxes.sweep(clk.Now().UnixNano())
			time.Sleep(time.Microsecond)
		}
	})
	wg.Wait()
	stop.Store(true)
	bg.Wait()

	evictions := 0
	for m := range hot {
		evictions += len(seen[m]) - 1
		if len(slots[m]) != perHot*rounds {
			t.Fatalf("hot-%d: %d requests, want %d", m, len(slots[m]), perHot*rounds)
		}
		if l.Mailbox.zero() {
			continue
		}
		interval := l.Mailbox.Per / time.Duration(l.Mailbox.N)
		slices.SortFunc(slots[m], time.Time.Compare)
		for i := 1; i < len(slots[m]); i++ {
			if d := slots[m][i].Sub(slots[m][i-1]); d < interval {
				t.Fatalf("hot-%d: slots %d and %d are %v apart, want ≥ %v", m, i-1, i, d, interval)
			}
		}
	}
	t.Logf("hot mailboxes' limiters evicted %d times; %d limiters evicted in all", evictions, g.mailboxes.evicted.Load())
	if evictions == 0 {
		t.Errorf("no hot mailbox's limiter was evicted: no eviction raced with acquire")
	}
}

// TestGovernor_KeepsSlowedAndPausedLimiters: a sweep keeps a mailbox slowed
// by a 429 (its slowdown still reported), one whose hold was doubled, and a
// paused scope; each goes once it is back at rest.
func TestGovernor_KeepsSlowedAndPausedLimiters(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	g := NewGovernor(Limits{Mailbox: Rate{100, time.Second}, Recovery: time.Second}, clk.Now, clk.Sleep)
	slow := Scope{Kind: ScopeMailbox, ID: "slow"}
	hold := Scope{Kind: ScopeMailbox, ID: "hold"}
	paused := Scope{Kind: ScopeOther, ID: "copilot"}
	touch := func(s Scope) {
		p, err := g.acquire(t.Context(), s, 1)
		if err != nil {
			t.Fatal(err)
		}
		p.release()
	}
	sweep := func() {
		now := clk.Now().UnixNano()
		g.mailboxes.sweep(now)
		g.others.sweep(now)
	}
	touch(slow)
	g.throttled(slow, clk.Now(), 0)
	// hold: a 429 right after a step up doubles its hold to 2 s.
	touch(hold)
	g.throttled(hold, clk.Now(), 0)
	clk.Sleep(t.Context(), 1100*time.Millisecond)
	touch(hold) // 2 → 1.5
	g.throttled(hold, clk.Now(), 0)
	touch(paused)
	g.throttled(paused, clk.Now(), time.Hour)
	slowL, holdL, pausedL := g.mailboxes.limiterOf("slow"), g.mailboxes.limiterOf("hold"), g.others.limiterOf("copilot")

	clk.Sleep(t.Context(), 10*time.Minute)
	sweep()
	if l := g.mailboxes.limiterOf("slow"); l != slowL {
		t.Fatalf("sweep evicted the limiter of a mailbox slowed by a 429")
	}
	if f := g.slowdown(slow); f != 2 {
		t.Errorf("Slowdown after a sweep = %v, want 2", f)
	}
	if g.others.limiterOf("copilot") != pausedL {
		t.Fatalf("sweep evicted a paused scope's limiter")
	}
	start := clk.Now()
	touch(paused)
	if d := clk.Now().Sub(start); d != 50*time.Minute {
		t.Errorf("request on the paused scope after a sweep waited %v, want the rest of the hour", d)
	}

	// Used at a calm pace, both mailboxes step back to full speed.
	for range 10 {
		touch(slow)
		touch(hold)
		clk.Sleep(t.Context(), 2100*time.Millisecond)
	}
	if f, h := g.slowdown(slow), g.slowdown(hold); f != 1 || h != 1 {
		t.Fatalf("slowdowns after 20 calm seconds = %v, %v, want 1", f, h)
	}
	clk.Sleep(t.Context(), 10*time.Second)
	sweep()
	if g.mailboxes.limiterOf("slow") != nil {
		t.Errorf("sweep kept a mailbox back at full speed and at rest")
	}
	if g.mailboxes.limiterOf("hold") != holdL {
		t.Errorf("sweep evicted a mailbox whose hold was doubled")
	}
	if g.others.limiterOf("copilot") != nil {
		t.Errorf("sweep kept a scope whose pause is over")
	}
}

// TestGovernor_Stale429KeepsLimiter: a 429 of a request booked before the
// last slowdown does not slow a mailbox back at full speed, but keeps its
// limiter until hold has passed since that 429 and its pause has left the
// burst full again.
func TestGovernor_Stale429KeepsLimiter(t *testing.T) {
	// 100/s with a burst of 6: slack is 5 × 1/95 s ≈ 52.6 ms.
	l := Limits{Mailbox: Rate{100, time.Second}, Burst: 0.05, Recovery: time.Second}
	s := Scope{Kind: ScopeMailbox, ID: "u"}
	for _, tc := range []struct {
		retryAfter time.Duration
		kept       []time.Duration // after the stale 429
		evicted    time.Duration
	}{
		{0, []time.Duration{500 * time.Millisecond, time.Second}, time.Second + time.Millisecond},
		// Paused until 1.5 s; at 1.52 s the burst is not yet full.
		{1500 * time.Millisecond, []time.Duration{1200 * time.Millisecond, 1520 * time.Millisecond}, 1560 * time.Millisecond},
	} {
		clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
		g := NewGovernor(l, clk.Now, clk.Sleep)
		touch := func() {
			p, err := g.acquire(t.Context(), s, 1)
			if err != nil {
				t.Fatal(err)
			}
			p.release()
		}
		touch()
		stale := clk.Now() // a request booked before the 429 below
		clk.Sleep(t.Context(), 10*time.Millisecond)
		g.throttled(s, clk.Now(), 0)
		for range 10 {
			clk.Sleep(t.Context(), 1100*time.Millisecond)
			touch()
		}
		if f := g.slowdown(s); f != 1 {
			t.Fatalf("slowdown after 11 calm seconds = %v, want 1", f)
		}
		clk.Sleep(t.Context(), 5*time.Second)
		at := clk.Now()
		g.throttled(s, stale, tc.retryAfter)
		if f := g.slowdown(s); f != 1 {
			t.Fatalf("slowdown after a stale 429 = %v, want 1", f)
		}
		l := g.mailboxes.limiterOf(s.ID)
		for _, d := range tc.kept {
			g.mailboxes.sweep(at.Add(d).UnixNano())
			if g.mailboxes.limiterOf(s.ID) != l {
				t.Errorf("Retry-After %v: sweep %v after a stale 429 evicted the limiter", tc.retryAfter, d)
			}
		}
		g.mailboxes.sweep(at.Add(tc.evicted).UnixNano())
		if g.mailboxes.limiterOf(s.ID) != nil {
			t.Errorf("Retry-After %v: sweep %v after a stale 429 kept the limiter", tc.retryAfter, tc.evicted)
		}
	}
}

// TestGovernor_EvictionKeepsRateSchedule: a mailbox used, left idle, then
// used again books the same slots (and reports the same slowdowns) whether
// or not a sweep evicted its limiter while it was idle, and when it was
// evicted, the same as a fresh limiter. Idle gaps run from none to past
// every condition of being at rest: burst refilled, 429 and step up long
// over.
func TestGovernor_EvictionKeepsRateSchedule(t *testing.T) {
	l := Limits{Mailbox: Rate{100, 6 * time.Second}, Headroom: 0.01, Burst: 0.03, Recovery: time.Second}
	s := Scope{Kind: ScopeMailbox, ID: "u"}
	t0 := time.Unix(1_800_000_000, 0)
	// run books n requests on g, starting at once (a burst), with workers
	// sometimes late, and 429s on the requests in at429; it returns each
	// slot's offset from its start and the slowdown after it.
	run := func(g *Governor, clk *fakeClock, n int, at429 ...int) (slots []time.Duration, slow []float64) {
		start := clk.Now()
		rng := uint64(7)
		for i := range n {
			rng = rng*6364136223846793005 + 1442695040888963407
			if i%5 == 4 {
				clk.Sleep(t.Context(), time.Duration(rng>>40%400)*time.Millisecond)
			}
			p, err := g.acquire(t.Context(), s, 1)
			if err != nil {
				t.Fatal(err)
			}
			slots = append(slots, clk.Now().Sub(start))
			if slices.Contains(at429, i) {
				g.throttled(s, p.reserved, 300*time.Millisecond)
			}
			p.release()
			slow = append(slow, g.slowdown(s))
		}
		return slots, slow
	}
	// trial books phase 1 (unless fresh), idles gap, sweeps (if sweep),
	// then books phase 2 and returns its schedule.
	trial := func(fresh, sweep bool, at429 int, gap time.Duration) (slots []time.Duration, slow []float64, evicted bool) {
		clk := &fakeClock{t: t0}
		g := NewGovernor(l, clk.Now, clk.Sleep)
		if !fresh {
			run(g, clk, 300, at429)
		}
		clk.Sleep(t.Context(), gap)
		if sweep {
			before := g.mailboxes.limiterOf(s.ID)
			g.mailboxes.sweep(clk.Now().UnixNano())
			evicted = g.mailboxes.limiterOf(s.ID) != before
		}
		slots, slow = run(g, clk, 300, 8, 250)
		return slots, slow, evicted
	}
	freshSlots, freshSlow, _ := trial(true, false, -1, 0)
	// A 429 early in phase 1 is long over when it ends; later ones leave
	// the limiter stepping back up, or still slowed (never evicted).
	for _, at429 := range []int{-1, 100, 230, 260, 290} {
		evicted, kept := 0, 0
		for gap := time.Duration(0); gap <= 15*time.Second; gap += 100 * time.Millisecond {
			keptSlots, keptSlow, _ := trial(false, false, at429, gap)
			sweptSlots, sweptSlow, ev := trial(false, true, at429, gap)
			if !slices.Equal(keptSlots, sweptSlots) || !slices.Equal(keptSlow, sweptSlow) {
				t.Fatalf("429 at %d, idle %v (evicted %v): schedule after a sweep differs from the one without", at429, gap, ev)
			}
			if !ev {
				kept++
				continue
			}
			evicted++
			if !slices.Equal(sweptSlots, freshSlots) || !slices.Equal(sweptSlow, freshSlow) {
				t.Fatalf("429 at %d, idle %v: schedule after eviction differs from a fresh limiter's", at429, gap)
			}
		}
		t.Logf("429 at request %d: evicted after %d idle gaps, kept after %d", at429, evicted, kept)
		if at429 < 290 && (evicted == 0 || kept == 0) {
			t.Errorf("429 at request %d: over the idle gaps the limiter was evicted %d and kept %d times; want both", at429, evicted, kept)
		}
	}
}

// BenchmarkGovernor_ManyMailboxes: heap the governor retains after an
// export has touched 100,000 distinct mailboxes (issue 7: peak memory must
// not grow with the tenant). Each mailbox sends one request through a full
// request URL, as Client.resolve builds it, so a key that pins its URL
// shows up; the fake clock moves 100 ms per mailbox (10 mailboxes started
// per second), so mailboxes finished more than a few seconds ago are at
// rest. Reports HeapInuse after GC, less the heap before, per mailbox, and
// the limiters left.
func BenchmarkGovernor_ManyMailboxes(b *testing.B) {
	const mailboxes = 100_000
	var perMailbox float64
	var left int
	for b.Loop() {
		clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
		before := heapInuse()
		g := NewGovernor(DefaultLimits(), clk.Now, clk.Sleep)
		for i := range mailboxes {
			s, cost := ScopeOf(mailboxURL(i))
			p, err := g.acquire(b.Context(), s, cost)
			if err != nil {
				b.Fatal(err)
			}
			p.release()
			clk.Sleep(b.Context(), 100*time.Millisecond)
		}
		after := heapInuse()
		left = g.mailboxes.count()
		perMailbox = float64(int64(after)-int64(before)) / mailboxes
	}
	b.ReportMetric(perMailbox, "retained-bytes/mailbox")
	b.ReportMetric(float64(left), "limiters")
}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
