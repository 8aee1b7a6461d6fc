// Package membudget is the process's one byte budget: the memory that
// Graph pages being read, parsed and sanitized and the Parquet writers'
// buffered row groups may hold together. Whoever is about to hold bytes
// acquires them first (admission control), and releases them when done.
//
// Two kinds of holders share it:
//
//   - Work that can wait (a page about to be fetched) calls Acquire, which
//     blocks while the budget is short. Acquires together hold at most
//     AcquireShare of the budget. A caller of Acquire must hold no other
//     grant of the budget. An Acquire larger than the budget is admitted
//     when no other waitable grant is outstanding: a single page larger
//     than the budget proceeds, alone.
//   - Work that must not wait (a writer called by a page holder, which
//     would otherwise wait on itself) calls Take, which never blocks and
//     may overdraw; such holders watch Short and shed what they hold (a
//     writer ends its row group early).
//
// Nothing is dropped and nothing deadlocks: a blocked Acquire waits only
// for grants held by goroutines that are not blocked in Acquire, and with
// no waitable grant outstanding it is admitted whatever the budget.
package membudget

import (
	"context"
	"sync"
	"time"
)

// Budget is a byte budget. A nil *Budget is unlimited: every method is a
// no-op that never blocks, so callers need not check.
type Budget struct {
	total int64
	// acquireCap bounds what Acquires hold together, so that the holders
	// that cannot wait keep the rest before they must shed.
	acquireCap int64

	mu       sync.Mutex
	used     int64 // bytes held by every grant, Take included
	acquired int64 // bytes held by Acquires
	holders  int   // waitable grants outstanding (Acquire)
	waiters  []*waiter
	stats    Stats
}

type waiter struct {
	n     int64
	ready chan struct{}
}

// Stats are a budget's counters since it was made.
type Stats struct {
	Total    int64         // the budget
	Used     int64         // held now
	Peak     int64         // most held at once
	Waits    int64         // Acquires that had to wait
	Waited   time.Duration // total time Acquires waited
	Oversize int64         // Acquires larger than the Acquires' share, admitted alone
	Overdraw int64         // Takes that went over the budget
}

// AcquireShare is the share of the budget that Acquires may hold together
// (pages in flight); the rest is left to Takes (writers) before they must
// shed.
const AcquireShare = 0.6

// New returns a budget of total bytes (total ≤ 0: nil, unlimited).
func New(total int64) *Budget {
	if total <= 0 {
		return nil
	}
	return &Budget{total: total, acquireCap: max(1, int64(float64(total)*AcquireShare))}
}

// Total is the budget in bytes (0: unlimited).
func (b *Budget) Total() int64 {
	if b == nil {
		return 0
	}
	return b.total
}

// Acquire blocks until n bytes fit in the budget, or no other waitable
// grant is outstanding, or ctx ends (it then returns ctx's error and holds
// nothing). Waiters are admitted in order. The caller must hold no other
// grant of b (see the package doc) and gives the bytes back with Release.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if b == nil || n <= 0 {
		return ctx.Err()
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.fits(n) {
		b.grant(n)
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.stats.Waits++
	b.mu.Unlock()
	start := time.Now()
	select {
	case <-w.ready:
		b.mu.Lock()
		b.stats.Waited += time.Since(start)
		b.mu.Unlock()
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.release(n, true)
		default:
			for i, o := range b.waiters {
				if o == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.wake() // the next waiter may fit now that this one left
		}
		b.stats.Waited += time.Since(start)
		return ctx.Err()
	}
}

// fits reports whether an Acquire of n is admitted now: within both the
// Acquires' share and the whole budget, or alone.
func (b *Budget) fits(n int64) bool {
	return b.acquired+n <= b.acquireCap && b.used+n <= b.total || b.holders == 0
}

func (b *Budget) grant(n int64) {
	if n > b.acquireCap {
		b.stats.Oversize++
	}
	b.used += n
	b.acquired += n
	b.holders++
	b.stats.Peak = max(b.stats.Peak, b.used)
}

// Release gives back n bytes of an Acquire (all of it: the grant ends).
func (b *Budget) Release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.release(n, true)
	b.mu.Unlock()
}

func (b *Budget) release(n int64, holder bool) {
	b.used -= n
	if holder {
		b.acquired -= n
		b.holders--
	}
	b.wake()
}

// wake admits waiters in order while they fit.
func (b *Budget) wake() {
	for len(b.waiters) > 0 && b.fits(b.waiters[0].n) {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.grant(w.n)
		close(w.ready)
	}
}

// Resize changes what an Acquire holds from old to n bytes without
// waiting (the bytes are already in memory, say a page larger than its
// estimate): it may overdraw. The grant stays one grant.
func (b *Budget) Resize(old, n int64) {
	if b == nil || old == n {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += n - old
	b.acquired += n - old
	b.stats.Peak = max(b.stats.Peak, b.used)
	if n < old {
		b.wake()
	}
}

// Take holds n bytes without waiting, even over the budget, for holders
// that cannot wait; it reports whether they fit. Give them back with Put.
func (b *Budget) Take(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += n
	b.stats.Peak = max(b.stats.Peak, b.used)
	if b.used > b.total {
		b.stats.Overdraw++
		return false
	}
	return true
}

// Put gives back n bytes of Take.
func (b *Budget) Put(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.release(n, false)
	b.mu.Unlock()
}

// Short reports whether holders that can shed memory should: the budget
// is more than seven eighths used.
func (b *Budget) Short() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used > b.total/8*7
}

// Stats returns the counters.
func (b *Budget) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Total, s.Used = b.total, b.used
	return s
}
