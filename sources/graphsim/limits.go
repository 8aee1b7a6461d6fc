package graphsim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate is N requests (or resource units) per Per; the zero value is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Limits are Graph's throttling limits as the emulator enforces them, in
// fixed windows that start at the first request of a key. Zero fields take
// Graph's documented values, a Rate with negative N disables that limit;
// Disabled turns every limit off.
type Limits struct {
	Disabled bool
	// TimeScale multiplies every window (0 or 1: real time). With 0.01,
	// 10,000 per 10 minutes becomes 10,000 per 6 seconds; scale N as well
	// to keep the rate (e.g. Mailbox: Rate{100, 6 * time.Second}).
	TimeScale float64
	// MailboxConcurrency is the number of requests in flight per mailbox
	// (4); a negative value disables it.
	MailboxConcurrency int
	// Mailbox is the request budget per mailbox (10,000 per 10 minutes).
	Mailbox Rate
	// TeamsExport is the rate of chats/getAllMessages and
	// channels/getAllMessages per tenant (200 per second).
	TeamsExport Rate
	// TeamsChannelDelta is the rate of channel messages/delta per tenant
	// (60 per minute, as reported for delta and replies).
	TeamsChannelDelta Rate
	// TeamsOther is the rate of other Teams GETs per tenant (30 per second).
	TeamsOther Rate
	// PerTeam is the rate per team (4 per second).
	PerTeam Rate
	// Meetings is the rate of online meeting and attendance report reads
	// per tenant (50,000 per 15 seconds: Microsoft documents no limit of
	// its own for them; the emulator assumes they count against the cloud
	// communications limit its throttling page gives for calls).
	Meetings Rate
	// Directory is the resource-unit budget of directory reads per tenant
	// (3,500, 5,000 or 8,000 per 10 seconds for < 50, ≤ 500 and more users).
	// Costs: GET users 2, GET group members 3, others 1; $select −1,
	// $top < 20 −1; at least 1.
	Directory Rate
	// RetryAfter selects the Retry-After header of 429s: "int" (default,
	// whole seconds rounded up), "fraction" (seconds with three decimals),
	// or "none" (absent).
	RetryAfter string
}

func (l *Limits) fill(users int) {
	def := func(r *Rate, n int, per time.Duration) {
		if r.N == 0 {
			*r = Rate{n, per}
		}
	}
	if l.MailboxConcurrency == 0 {
		l.MailboxConcurrency = 4
	}
	def(&l.Mailbox, 10000, 10*time.Minute)
	def(&l.TeamsExport, 200, time.Second)
	def(&l.TeamsChannelDelta, 60, time.Minute)
	def(&l.TeamsOther, 30, time.Second)
	def(&l.PerTeam, 4, time.Second)
	def(&l.Meetings, 50000, 15*time.Second)
	switch {
	case users < 50:
		def(&l.Directory, 3500, 10*time.Second)
	case users <= 500:
		def(&l.Directory, 5000, 10*time.Second)
	default:
		def(&l.Directory, 8000, 10*time.Second)
	}
	if l.TimeScale <= 0 {
		l.TimeScale = 1
	}
}

type window struct {
	start time.Time
	per   time.Duration
	n     int
}

type limiter struct {
	l     Limits
	clock func() time.Time

	mu       sync.Mutex
	windows  map[winKey]*window
	inflight map[int]int // mailbox (user index) -> requests in flight
}

type winKey struct {
	class int
	key   int
}

func newLimiter(l *Limits, users int, clock func() time.Time) *limiter {
	l.fill(users)
	return &limiter{l: *l, clock: clock, windows: map[winKey]*window{}, inflight: map[int]int{}}
}

func (lm *limiter) per(r Rate) time.Duration {
	return time.Duration(float64(r.Per) * lm.l.TimeScale)
}

// take counts cost against the window of (class, key); when over, it
// returns the time left in the window.
func (lm *limiter) take(class, key int, r Rate, cost int, now time.Time) (time.Duration, bool) {
	if r.N <= 0 {
		return 0, true
	}
	per := lm.per(r)
	k := winKey{class, key}
	w := lm.windows[k]
	if w == nil || now.Sub(w.start) >= per {
		if len(lm.windows) >= maxWindows {
			lm.prune(now)
		}
		w = &window{start: now, per: per}
		lm.windows[k] = w
	}
	if w.n+cost > r.N {
		return per - now.Sub(w.start), false
	}
	w.n += cost
	return 0, true
}

// maxWindows bounds the limiter's memory (about 100 bytes a window): past
// it, expired windows are dropped, and if none has expired, all are (which
// forgives every budget once rather than growing without bound).
const maxWindows = 1 << 20

func (lm *limiter) prune(now time.Time) {
	for k, w := range lm.windows {
		if now.Sub(w.start) >= w.per {
			delete(lm.windows, k)
		}
	}
	if len(lm.windows) >= maxWindows {
		clear(lm.windows)
	}
}

func (lm *limiter) retryAfter(d time.Duration) string {
	switch lm.l.RetryAfter {
	case "none":
		return ""
	case "fraction":
		s := d.Seconds()
		if s < 0.001 {
			s = 0.001
		}
		return strconv.FormatFloat(s, 'f', 3, 64)
	default:
		s := int(math.Ceil(d.Seconds()))
		if s < 1 {
			s = 1
		}
		return strconv.Itoa(s)
	}
}

func throttled(code, msg, ra string) *apiError {
	return &apiError{status: 429, code: code, msg: msg, retryAfter: ra}
}

// admit applies the limits of a route; release must be called when the
// request is done.
func (lm *limiter) admit(rt route, r *http.Request) (release func(), e *apiError) {
	nop := func() {}
	if lm.l.Disabled {
		return nop, nil
	}
	now := lm.clock()
	lm.mu.Lock()
	defer lm.mu.Unlock()
	switch rt.class {
	case clsMailbox:
		u := userKey(rt.userID)
		if c := lm.l.MailboxConcurrency; c > 0 && lm.inflight[u] >= c {
			return nop, throttled("ApplicationThrottled", "Application is over its MailboxConcurrency limit.", lm.retryAfter(time.Duration(float64(time.Second)*lm.l.TimeScale)))
		}
		if d, ok := lm.take(clsMailbox, u, lm.l.Mailbox, 1, now); !ok {
			return nop, throttled("ApplicationThrottled", "Application is over its MailboxRequestRate limit.", lm.retryAfter(d))
		}
		lm.inflight[u]++
		return func() {
			lm.mu.Lock()
			if lm.inflight[u]--; lm.inflight[u] <= 0 {
				delete(lm.inflight, u)
			}
			lm.mu.Unlock()
		}, nil
	case clsTeamsExport, clsTeamsDelta, clsTeamsOther:
		rate := lm.l.TeamsOther
		switch rt.class {
		case clsTeamsExport:
			rate = lm.l.TeamsExport
		case clsTeamsDelta:
			rate = lm.l.TeamsChannelDelta
		}
		if d, ok := lm.take(rt.class, -1, rate, 1, now); !ok {
			return nop, throttled("TooManyRequests", "Too many requests. Please try again later.", lm.retryAfter(d))
		}
		if rt.objID != "" {
			if d, ok := lm.take(100+rt.class, userKey(rt.objID), lm.l.PerTeam, 1, now); !ok {
				return nop, throttled("TooManyRequests", "Too many requests for this team. Please try again later.", lm.retryAfter(d))
			}
		}
	case clsMeetings:
		if d, ok := lm.take(clsMeetings, -1, lm.l.Meetings, 1, now); !ok {
			return nop, throttled("TooManyRequests", "Too many requests. Please try again later.", lm.retryAfter(d))
		}
	case clsDirectory:
		if d, ok := lm.take(clsDirectory, -1, lm.l.Directory, ruCost(rt, r), now); !ok {
			return nop, throttled("Request_ThrottledTemporarily", "The request has been throttled. Please try again later.", lm.retryAfter(d))
		}
	}
	return nop, nil
}

// ruCost is the directory resource-unit cost of a request.
func ruCost(rt route, r *http.Request) int {
	c := 1
	switch rt.ep {
	case epUsers, epUsersDelta:
		c = 2
	case epMembers:
		c = 3
	}
	q := r.URL.Query()
	if q.Get("$select") != "" {
		c--
	}
	if q.Get("$expand") != "" {
		c++
	}
	if t, err := strconv.Atoi(q.Get("$top")); err == nil && t < 20 {
		c--
	}
	return max(c, 1)
}

// userKey folds an id into a map key (collisions only merge budgets).
func userKey(id string) int { return int(pathHash(id) & 0x7fffffff) }
