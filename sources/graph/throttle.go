package graph

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate is N requests (or resource units) per Per. The zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

func (r Rate) zero() bool { return r.N <= 0 || r.Per <= 0 }

// Limits are the limits the governor keeps. The zero Limits keeps none.
type Limits struct {
	// MailboxConcurrency is the most requests in flight per mailbox.
	MailboxConcurrency int
	// Mailbox is the request budget per mailbox.
	Mailbox Rate
	// TeamsExport is chats/getAllMessages and channels/getAllMessages
	// together, per tenant.
	TeamsExport Rate
	// ChannelMessages is channel messages/delta and replies per tenant.
	ChannelMessages Rate
	// TeamsOther is other Teams reads per tenant.
	TeamsOther Rate
	// PerTeam is the budget of each team (its channels included).
	PerTeam Rate
	// DirectoryRU is the directory resource-unit budget per tenant.
	DirectoryRU Rate
	// Headroom is the share of each budget left unused so that jitter
	// between here and Graph does not tip a scope over (default 0.01).
	Headroom float64
	// Burst is the share of each budget that a scope may catch up at once
	// after falling behind (a worker scheduled late, a slow answer); the
	// steady rate is lowered by as much, so no window ever holds more than
	// its budget (default 0.01: 100 per window catches up 1, 10,000 catch
	// up 100).
	Burst float64
	// Recovery is how long a slowed scope must go without a 429 before
	// each step back toward full speed (default 1s).
	Recovery time.Duration
}

// DefaultLimits are Graph's documented limits (graph-api-notes §2): 4 in
// flight and 10,000 requests per 10 minutes per mailbox; getAllMessages 200
// rps per tenant; channel messages/delta and replies 60 per minute per
// tenant; other Teams reads 30 rps per tenant; 4 rps per team or channel
// (kept per team, which bounds its channels too); 3,500 directory resource
// units per 10 s (the smallest tenant size; raise it for larger tenants).
func DefaultLimits() Limits {
	return Limits{
		MailboxConcurrency: 4,
		Mailbox:            Rate{10000, 10 * time.Minute},
		TeamsExport:        Rate{200, time.Second},
		ChannelMessages:    Rate{60, time.Minute},
		TeamsOther:         Rate{30, time.Second},
		PerTeam:            Rate{4, time.Second},
		DirectoryRU:        Rate{3500, 10 * time.Second},
		Headroom:           0.01,
		Burst:              0.01,
		Recovery:           time.Second,
	}
}

// directoryRUFor is the directory resource-unit budget of a tenant of that
// many users (graph-api-notes §2.4): 3,500 per 10 s under 50 users, 5,000
// up to 500, 8,000 above. DefaultLimits assumes the smallest.
func directoryRUFor(users int) Rate {
	switch {
	case users < 50:
		return Rate{3500, 10 * time.Second}
	case users <= 500:
		return Rate{5000, 10 * time.Second}
	default:
		return Rate{8000, 10 * time.Second}
	}
}

// scale returns the limits with time running f times faster: every window
// (and Recovery) divided by f, so every rate is f times higher. Concurrency
// is unchanged.
func (l Limits) scale(f float64) Limits {
	s := func(r Rate) Rate {
		if r.zero() {
			return r
		}
		return Rate{r.N, max(time.Duration(float64(r.Per)/f), 1)}
	}
	l.Mailbox, l.TeamsExport, l.ChannelMessages = s(l.Mailbox), s(l.TeamsExport), s(l.ChannelMessages)
	l.TeamsOther, l.PerTeam, l.DirectoryRU = s(l.TeamsOther), s(l.PerTeam), s(l.DirectoryRU)
	if l.Recovery > 0 {
		l.Recovery = max(time.Duration(float64(l.Recovery)/f), 1)
	}
	return l
}

// maxSlowdown bounds how far 429s slow a scope.
const maxSlowdown = 64

// limiter spaces requests of one scope evenly (GCRA, a token bucket whose
// burst b and interval Per/(N−b+1) keep every window of length Per within
// N), optionally bounds requests in flight, and pauses and slows down after
// a 429.
type limiter struct {
	sem chan struct{} // nil: no concurrency bound

	// base is the interval per unit at full speed; 0 = no rate limit.
	base time.Duration
	// slack is how far behind now the schedule may fall and be caught up:
	// (burst−1) × base.
	slack int64
	mu    sync.Mutex
	// interval is the current interval (base × slowdown).
	interval time.Duration
	tat      int64 // theoretical arrival time of the next unit, ns
	last429  int64
	lastStep int64 // last change of interval
	lastUp   int64 // last speed-up
	// hold is how long the scope must go without a 429 before each step
	// back toward full speed: Limits.Recovery, doubled each time a step
	// up brought 429s back.
	hold, recovery time.Duration
	// pausedUntil is written under mu and read without it on unlimited
	// scopes.
	pausedUntil atomic.Int64
	// refs counts the acquires holding this limiter of a limiterSet, from
	// the lookup until the permit is released; -1 = evicted (see evict).
	refs atomic.Int64
}

func newLimiter(r Rate, headroom, burstShare float64, concurrency int) *limiter {
	l := &limiter{}
	if concurrency > 0 {
		l.sem = make(chan struct{}, concurrency)
	}
	if !r.zero() {
		burst := 1 + int(float64(r.N)*burstShare)
		per := float64(r.Per) / float64(r.N-burst+1)
		l.base = time.Duration(per / (1 - headroom))
		l.interval = l.base
		l.slack = int64(burst-1) * int64(l.base)
	}
	return l
}

// reserve books cost units and returns how long to wait before sending.
func (l *limiter) reserve(now int64, cost int, recovery time.Duration) time.Duration {
	if l.base == 0 {
		if p := l.pausedUntil.Load(); p > now {
			return time.Duration(p - now)
		}
		return 0
	}
	l.mu.Lock()
	if l.hold == 0 {
		l.hold, l.recovery = recovery, recovery
	}
	if l.interval > l.base && now-l.last429 > int64(l.hold) && now-l.lastStep > int64(l.hold) {
		l.interval = max(l.base, l.interval*3/4)
		l.lastStep, l.lastUp = now, now
	}
	t := max(l.tat, now-l.slack, l.pausedUntil.Load())
	l.tat = t + int64(cost)*int64(l.interval)
	t = max(t, now)
	l.mu.Unlock()
	return time.Duration(t - now)
}

// throttled records a 429 for a request whose slot was booked at sentAt:
// pause the scope for retryAfter and halve its speed, unless the slot was
// booked before the last slowdown (then the 429 says nothing about the
// slower pace: requests booked together and throttled together halve the
// speed once). It reports false, changing nothing, if l was evicted: the
// caller must apply the 429 to the limiter now in the set.
func (l *limiter) throttled(now, sentAt int64, retryAfter time.Duration) bool {
	// Every change to a limiter's state happens under mu, so that evict
	// sees it or it sees evict's mark.
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refs.Load() < 0 {
		return false
	}
	if until := now + int64(retryAfter); until > l.pausedUntil.Load() {
		l.pausedUntil.Store(until)
	}
	if l.base == 0 {
		return true
	}
	if sentAt >= l.last429 {
		l.interval = min(l.interval*2, l.base*maxSlowdown)
		// A 429 soon after speeding up: that speed was too much; wait
		// longer before trying it again.
		if l.lastUp != 0 && now-l.lastUp < 2*int64(l.hold) {
			l.hold = min(2*l.hold, maxSlowdown*l.hold0())
		}
	}
	l.last429, l.lastStep = now, now
	return true
}

func (l *limiter) hold0() time.Duration {
	if l.recovery > 0 {
		return l.recovery
	}
	return time.Second
}

// slowdown reports the current slowdown factor (1 = full speed).
func (l *limiter) slowdown() float64 {
	if l.base == 0 {
		return 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return float64(l.interval) / float64(l.base)
}

// evict marks l evicted (refs −1) and reports true if it is at rest at now:
// no acquire holds it, and a fresh limiter would book every later request
// exactly as l would, so dropping l from its set changes no schedule. At
// rest means:
//   - nothing in flight and no acquire between lookup and release (refs 0);
//   - not paused (pausedUntil ≤ now) and, on a rated scope, the bucket full
//     (tat and pausedUntil ≤ now − slack): reserve then books from
//     now − slack, as on a fresh limiter;
//   - at full speed (interval = base) with hold never doubled (hold =
//     Limits.Recovery, as a fresh limiter's first reserve sets it): a
//     doubled hold is what the scope learnt from 429s, kept for good, so
//     such a limiter is never evicted;
//   - any 429 long over: more than hold since the last 429, and at least
//     2×hold since the last step up (so the next 429 does not double hold,
//     as on a fresh limiter, whose lastUp is 0).
//
// The one thing a replacement forgets is last429 itself, which only keeps
// a 429 of a request booked before it from halving the speed again. Such a
// request has released its permit (else refs > 0), so only its report can
// still come, a moment after the release; if a sweep falls in that moment,
// the 429 slows the replacement once more, as if it were news: slower,
// never faster, and recovered from after hold.
//
// The check and the mark happen under mu, and every change to l happens
// under mu by an acquire holding a reference (reserve) or by throttled,
// which gives up on an evicted limiter: so no change can slip between the
// check and the mark (a reference taken and dropped in between would have
// had to change l under mu, which evict holds).
func (l *limiter) evict(now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refs.Load() != 0 || len(l.sem) != 0 || l.pausedUntil.Load() > now {
		return false
	}
	if l.base != 0 {
		hold := int64(l.hold)
		switch {
		case max(l.tat, l.pausedUntil.Load()) > now-l.slack,
			l.interval != l.base || l.hold != l.recovery,
			l.last429 != 0 && now-l.last429 <= hold,
			l.lastUp != 0 && now-l.lastUp < 2*hold:
			return false
		}
	}
	return l.refs.CompareAndSwap(0, -1)
}

// ref takes a reference on l unless it was evicted.
func (l *limiter) ref() bool {
	for {
		r := l.refs.Load()
		if r < 0 {
			return false
		}
		if l.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// sweepMin is the fewest limiters made between two sweeps of a set.
const sweepMin = 1024

// limiterSet holds the limiters of one kind of per-owner scope (mailbox,
// team, other) by id. It forgets limiters at rest (see evict), so that an
// export keeps limiters for the owners it is working on, not for every
// owner it has seen. There is no background goroutine: the acquire that
// makes a limiter once more than max(sweepMin, alive after the last
// sweep) have been made since that sweep ranges over the set and evicts
// those at rest, which costs O(1) amortized per limiter made and keeps at
// most about 2 × max(sweepMin, busy) limiters.
//
// An acquire takes a reference on the limiter it finds (Governor.take) and
// holds it until its permit is released; a sweep evicts only limiters
// with no reference, marking them −1 before deleting them, and an acquire
// that finds a marked one deletes it and makes a fresh one. So at most one
// limiter of an id is ever in use, and its semaphore alone bounds the
// requests in flight.
type limiterSet struct {
	m  sync.Map // id → *limiter; keys are copies, never part of a request URL
	mk func() *limiter

	made     atomic.Int64 // limiters made since the last sweep
	alive    atomic.Int64 // limiters left by the last sweep
	sweeping atomic.Bool
	evicted  atomic.Int64 // limiters evicted in all
}

// take returns id's limiter with a reference held, making one if needed.
func (g *Governor) take(set *limiterSet, id string) *limiter {
	for {
		v, ok := set.m.Load(id)
		if !ok {
			fresh := set.mk()
			fresh.refs.Store(1)
			if v, ok = set.m.LoadOrStore(strings.Clone(id), fresh); !ok {
				g.made(set)
				return fresh
			}
		}
		l := v.(*limiter)
		if l.ref() {
			return l
		}
		set.m.CompareAndDelete(id, l)
	}
}

// lookup returns id's limiter, making one if needed, without a reference:
// it may be evicted as soon as it is returned.
func (g *Governor) lookup(set *limiterSet, id string) *limiter {
	for {
		v, ok := set.m.Load(id)
		if !ok {
			var loaded bool
			if v, loaded = set.m.LoadOrStore(strings.Clone(id), set.mk()); !loaded {
				g.made(set)
			}
		}
		l := v.(*limiter)
		if l.refs.Load() >= 0 {
			return l
		}
		set.m.CompareAndDelete(id, l)
	}
}

// made counts a limiter made in set and sweeps the set when enough have
// been made since the last sweep.
func (g *Governor) made(set *limiterSet) {
	if set.made.Add(1) <= max(sweepMin, set.alive.Load()) || !set.sweeping.CompareAndSwap(false, true) {
		return
	}
	set.sweep(g.now().UnixNano())
	set.sweeping.Store(false)
}

// sweep evicts the limiters of set at rest at now.
func (set *limiterSet) sweep(now int64) {
	set.made.Store(0)
	var alive int64
	set.m.Range(func(k, v any) bool {
		l := v.(*limiter)
		switch {
		case l.evict(now):
			set.evicted.Add(1)
			set.m.CompareAndDelete(k, l)
		case l.refs.Load() < 0: // evicted, not yet deleted
			set.m.CompareAndDelete(k, l)
		default:
			alive++
		}
		return true
	})
	set.alive.Store(alive)
}

// Governor keeps requests within Graph's limits. One Governor is shared by
// every worker of a tenant (a Client makes one unless given one); its hot
// path takes no global lock: per-owner limiters sit in limiterSets (a
// sync.Map each, forgetting owners at rest) and tenant-wide ones are only
// on low-rate kinds.
type Governor struct {
	limits Limits
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	mailboxes                                           limiterSet // by mailbox (user) id
	teams                                               limiterSet // by team id
	others                                              limiterSet // by Scope.ID
	teamsExport, channelMessages, teamsOther, directory *limiter
}

// NewGovernor returns a governor keeping l. now and sleep may be nil (the
// real clock).
func NewGovernor(l Limits, now func() time.Time, sleep func(context.Context, time.Duration) error) *Governor {
	if l.Recovery <= 0 {
		l.Recovery = time.Second
	}
	if l.Headroom < 0 || l.Headroom >= 1 {
		l.Headroom = 0
	}
	if l.Burst < 0 || l.Burst >= 1 {
		l.Burst = 0
	}
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	g := &Governor{
		limits: l, now: now, sleep: sleep,
		teamsExport:     newLimiter(l.TeamsExport, l.Headroom, l.Burst, 0),
		channelMessages: newLimiter(l.ChannelMessages, l.Headroom, l.Burst, 0),
		teamsOther:      newLimiter(l.TeamsOther, l.Headroom, l.Burst, 0),
		directory:       newLimiter(l.DirectoryRU, l.Headroom, l.Burst, 0),
	}
	g.mailboxes.mk = func() *limiter { return newLimiter(l.Mailbox, l.Headroom, l.Burst, l.MailboxConcurrency) }
	g.teams.mk = func() *limiter { return newLimiter(l.PerTeam, l.Headroom, l.Burst, 0) }
	g.others.mk = func() *limiter { return newLimiter(Rate{}, l.Headroom, l.Burst, 0) }
	return g
}

// route says what scope s counts against: the per-owner limiter of id in
// set (set nil: none) and a tenant-wide limiter (nil: none).
func (g *Governor) route(s Scope) (set *limiterSet, id string, tenant *limiter) {
	switch s.Kind {
	case ScopeMailbox:
		return &g.mailboxes, s.ID, nil
	case ScopeDirectory:
		return nil, "", g.directory
	case ScopeTeamsExport:
		tenant = g.teamsExport
	case ScopeChannelMessages:
		tenant = g.channelMessages
	case ScopeTeams:
		tenant = g.teamsOther
	default:
		return &g.others, s.ID, nil
	}
	if s.ID == "" { // requests of no team
		return nil, "", tenant
	}
	return &g.teams, s.ID, tenant
}

// permit is what acquire hands out; release it once the response is read.
// reserved is when the request's slot was booked: a 429 is news about the
// pace only if the slot was booked after the last slowdown.
type permit struct {
	sem      chan struct{}
	held     *limiter // the per-owner limiter the permit holds a reference on
	reserved time.Time
}

func (p permit) release() {
	if p.sem != nil {
		<-p.sem
	}
	if p.held != nil {
		p.held.refs.Add(-1)
	}
}

// acquire waits until a request of scope s costing cost units may go.
func (g *Governor) acquire(ctx context.Context, s Scope, cost int) (permit, error) {
	var p permit
	var a, b *limiter
	if set, id, tenant := g.route(s); set != nil {
		a, b = g.take(set, id), tenant
		p.held = a
	} else {
		a = tenant
	}
	if a.sem != nil {
		select {
		case a.sem <- struct{}{}:
			p.sem = a.sem
		case <-ctx.Done():
			p.release()
			return permit{}, ctx.Err()
		}
	}
	p.reserved = g.now()
	now := p.reserved.UnixNano()
	wait := a.reserve(now, cost, g.limits.Recovery)
	if b != nil {
		wait = max(wait, b.reserve(now, cost, g.limits.Recovery))
	}
	if wait > 0 {
		if err := g.sleep(ctx, wait); err != nil {
			p.release()
			return permit{}, err
		}
	}
	return p, nil
}

// throttled tells the governor that a request of scope s, whose slot was
// booked at sentAt, got a 429.
//
// It takes no reference: the request's permit is already released, so its
// owner's limiter may have been evicted, or be evicted meanwhile. If so,
// the 429 goes to the limiter that now stands for the owner, made fresh if
// need be; an evicted limiter was at rest, so a fresh one is what it
// was (see evict), and the 429 pauses and slows the owner just the same.
func (g *Governor) throttled(s Scope, sentAt time.Time, retryAfter time.Duration) {
	set, id, tenant := g.route(s)
	now, sent := g.now().UnixNano(), sentAt.UnixNano()
	if set != nil {
		for !g.lookup(set, id).throttled(now, sent, retryAfter) {
			// evicted between lookup and throttled: apply it to the next
		}
	}
	if tenant != nil {
		tenant.throttled(now, sent, retryAfter)
	}
}

// slowdown reports how much 429s have slowed scope s (1 = full speed).
// An owner without a limiter is at full speed: evicted limiters were.
func (g *Governor) slowdown(s Scope) float64 {
	set, id, tenant := g.route(s)
	f := 1.0
	if set != nil {
		if v, ok := set.m.Load(id); ok {
			f = v.(*limiter).slowdown()
		}
	}
	if tenant != nil {
		f = max(f, tenant.slowdown())
	}
	return f
}

// sleepCtx sleeps d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
