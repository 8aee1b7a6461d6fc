package graph

import (
	"context"
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

// DirectoryRUFor is the directory resource-unit budget of a tenant of that
// many users (graph-api-notes §2.4): 3,500 per 10 s under 50 users, 5,000
// up to 500, 8,000 above. DefaultLimits assumes the smallest.
func DirectoryRUFor(users int) Rate {
	switch {
	case users < 50:
		return Rate{3500, 10 * time.Second}
	case users <= 500:
		return Rate{5000, 10 * time.Second}
	default:
		return Rate{8000, 10 * time.Second}
	}
}

// Scale returns the limits with time running f times faster: every window
// (and Recovery) divided by f, so every rate is f times higher. Concurrency
// is unchanged.
func (l Limits) Scale(f float64) Limits {
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
	// pausedUntil is read without the lock on unlimited scopes.
	pausedUntil atomic.Int64
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
// speed once).
func (l *limiter) throttled(now, sentAt int64, retryAfter time.Duration) {
	until := now + int64(retryAfter)
	for {
		p := l.pausedUntil.Load()
		if p >= until || l.pausedUntil.CompareAndSwap(p, until) {
			break
		}
	}
	if l.base == 0 {
		return
	}
	l.mu.Lock()
	if sentAt >= l.last429 {
		l.interval = min(l.interval*2, l.base*maxSlowdown)
		// A 429 soon after speeding up: that speed was too much; wait
		// longer before trying it again.
		if l.lastUp != 0 && now-l.lastUp < 2*int64(l.hold) {
			l.hold = min(2*l.hold, maxSlowdown*l.hold0())
		}
	}
	l.last429, l.lastStep = now, now
	l.mu.Unlock()
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

// Governor keeps requests within Graph's limits. One Governor is shared by
// every worker of a tenant (a Client makes one unless given one); its hot
// path takes no global lock: per-scope limiters sit in sync.Maps and
// tenant-wide ones are only on low-rate kinds.
type Governor struct {
	limits Limits
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	mailboxes                                           sync.Map // id → *limiter
	teams                                               sync.Map // team id → *limiter
	others                                              sync.Map // id → *limiter
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
	return &Governor{
		limits: l, now: now, sleep: sleep,
		teamsExport:     newLimiter(l.TeamsExport, l.Headroom, l.Burst, 0),
		channelMessages: newLimiter(l.ChannelMessages, l.Headroom, l.Burst, 0),
		teamsOther:      newLimiter(l.TeamsOther, l.Headroom, l.Burst, 0),
		directory:       newLimiter(l.DirectoryRU, l.Headroom, l.Burst, 0),
	}
}

// Limits returns the limits the governor keeps.
func (g *Governor) Limits() Limits { return g.limits }

func (g *Governor) keyed(m *sync.Map, id string, r Rate, conc int) *limiter {
	if v, ok := m.Load(id); ok {
		return v.(*limiter)
	}
	v, _ := m.LoadOrStore(id, newLimiter(r, g.limits.Headroom, g.limits.Burst, conc))
	return v.(*limiter)
}

// team returns a team's limiter, or nil for requests of no team.
func (g *Governor) team(id string) *limiter {
	if id == "" {
		return nil
	}
	return g.keyed(&g.teams, id, g.limits.PerTeam, 0)
}

// chain returns the limiters a scope counts against, most specific first.
func (g *Governor) chain(s Scope) (a, b *limiter) {
	switch s.Kind {
	case ScopeMailbox:
		return g.keyed(&g.mailboxes, s.ID, g.limits.Mailbox, g.limits.MailboxConcurrency), nil
	case ScopeDirectory:
		return g.directory, nil
	case ScopeTeamsExport:
		return g.team(s.ID), g.teamsExport
	case ScopeChannelMessages:
		return g.team(s.ID), g.channelMessages
	case ScopeTeams:
		return g.team(s.ID), g.teamsOther
	default:
		return g.keyed(&g.others, s.ID, Rate{}, 0), nil
	}
}

// permit is what acquire hands out; release it once the response is read.
// reserved is when the request's slot was booked: a 429 is news about the
// pace only if the slot was booked after the last slowdown.
type permit struct {
	sem      chan struct{}
	reserved time.Time
}

func (p permit) release() {
	if p.sem != nil {
		<-p.sem
	}
}

// acquire waits until a request of scope s costing cost units may go.
func (g *Governor) acquire(ctx context.Context, s Scope, cost int) (permit, error) {
	a, b := g.chain(s)
	if a == nil {
		a, b = b, nil
	}
	var p permit
	if a.sem != nil {
		select {
		case a.sem <- struct{}{}:
			p.sem = a.sem
		case <-ctx.Done():
			return p, ctx.Err()
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
func (g *Governor) throttled(s Scope, sentAt time.Time, retryAfter time.Duration) {
	a, b := g.chain(s)
	now, sent := g.now().UnixNano(), sentAt.UnixNano()
	if a != nil {
		a.throttled(now, sent, retryAfter)
	}
	if b != nil {
		b.throttled(now, sent, retryAfter)
	}
}

// Slowdown reports how much 429s have slowed scope s (1 = full speed).
func (g *Governor) Slowdown(s Scope) float64 {
	a, b := g.chain(s)
	f := 1.0
	if a != nil {
		f = a.slowdown()
	}
	if b != nil {
		f = max(f, b.slowdown())
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
