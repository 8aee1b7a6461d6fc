package membudget

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBudget_NilIsUnlimited(t *testing.T) {
	var b *Budget
	if err := b.Acquire(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	if !b.Take(1<<40) || b.Short() || b.Total() != 0 {
		t.Fatal("a nil budget limits")
	}
	b.Release(1)
	b.Put(1)
	b.Resize(1, 2)
	if New(0) != nil {
		t.Fatal("New(0) is not unlimited")
	}
}

func TestBudget_WaitsUntilReleased(t *testing.T) {
	b := New(100) // Acquires hold up to 60
	ctx := context.Background()
	if err := b.Acquire(ctx, 40); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 30) }()
	waitFor(t, func() bool { return b.Stats().Waits == 1 })
	select {
	case err := <-got:
		t.Fatalf("admitted over the Acquires' share (err %v)", err)
	default:
	}
	if b.Short() {
		t.Fatal("short at 40 of 100: writers would shed for nothing")
	}
	b.Release(40)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Used != 30 || s.Peak != 40 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBudget_OversizeProceedsAlone(t *testing.T) {
	b := New(100)
	ctx := context.Background()
	if err := b.Acquire(ctx, 500); err != nil { // alone: admitted
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 10) }()
	waitFor(t, func() bool { return b.Stats().Waits == 1 })
	b.Release(500)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Oversize != 1 || s.Used != 10 || s.Peak != 500 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBudget_TakeOverdrawsAndPutWakes(t *testing.T) {
	b := New(100)
	ctx := context.Background()
	if !b.Take(80) {
		t.Fatal("80 of 100 did not fit")
	}
	if b.Take(40) {
		t.Fatal("120 of 100 fit")
	}
	if !b.Short() {
		t.Fatal("not short at 120 of 100")
	}
	// No waitable grant is outstanding: an Acquire is admitted even though
	// writers overdrew, so pages always make progress.
	if err := b.Acquire(ctx, 30); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 30) }()
	waitFor(t, func() bool { return b.Stats().Waits == 1 })
	b.Put(120)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Used != 60 || s.Overdraw != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBudget_CancelledWaiterLeaves(t *testing.T) {
	b := New(100)
	if err := b.Acquire(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 30) }()
	waitFor(t, func() bool { return b.Stats().Waits == 1 })
	// A smaller request behind the cancelled one is admitted once it leaves.
	small := make(chan error, 1)
	go func() { small <- b.Acquire(context.Background(), 10) }()
	waitFor(t, func() bool { return b.Stats().Waits == 2 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire: %v", err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Used != 60 {
		t.Fatalf("used %d, want 60", s.Used)
	}
}

func TestBudget_ResizeDownWakes(t *testing.T) {
	b := New(100)
	ctx := context.Background()
	if err := b.Acquire(ctx, 50); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 30) }()
	waitFor(t, func() bool { return b.Stats().Waits == 1 })
	b.Resize(50, 20)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestBudget_NeverDeadlocks is the property the pipeline relies on: many
// workers, each acquiring a page (sometimes larger than the whole budget),
// resizing it to what arrived, writing into writers that take and put
// without waiting, and releasing, all finish, and every byte comes back.
func TestBudget_NeverDeadlocks(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		total := int64(1 + rng.IntN(1000))
		b := New(total)
		workers := 1 + rng.IntN(32)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var wg sync.WaitGroup
		var failed atomic.Int64
		var writerHeld atomic.Int64
		for w := range workers {
			r := rand.New(rand.NewPCG(seed, uint64(w)+2))
			wg.Go(func() {
				for range 200 {
					est := int64(1 + r.IntN(int(total)*2))
					if err := b.Acquire(ctx, est); err != nil {
						failed.Add(1)
						return
					}
					actual := int64(1 + r.IntN(int(total)*3))
					b.Resize(est, actual)
					// A writer: takes, and sheds when short.
					n := int64(r.IntN(int(total)))
					b.Take(n)
					writerHeld.Add(n)
					if b.Short() {
						b.Put(writerHeld.Swap(0))
					}
					b.Release(actual)
				}
			})
		}
		wg.Wait()
		cancel()
		b.Put(writerHeld.Swap(0))
		if failed.Load() > 0 {
			t.Fatalf("seed %d: %d workers never got their bytes (deadlock)", seed, failed.Load())
		}
		if s := b.Stats(); s.Used != 0 {
			t.Fatalf("seed %d: %d bytes still held", seed, s.Used)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition never held")
}
