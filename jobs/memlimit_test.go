package jobs

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestMemoryLimit(t *testing.T) {
	none := func() int64 { return 0 }
	container := func() int64 { return 512 << 20 }
	for _, tc := range []struct {
		in     string
		cgroup func() int64
		want   int64
		bad    bool
	}{
		{"auto", none, 96 << 20, false},
		{"", none, 96 << 20, false},
		{"auto", container, 384 << 20, false},
		{"off", container, 0, false},
		{"512MiB", none, 512 << 20, false},
		{"1GiB", none, 1 << 30, false},
		{"300", none, 300 << 20, false},
		{"3", none, 0, true},
		{"lots", none, 0, true},
		{"-5MiB", none, 0, true},
	} {
		got, err := memoryLimit(tc.in, tc.cgroup)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "--memory-limit") {
				t.Errorf("memoryLimit(%q) = %d, %v; want an error naming the flag", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestConfig_BadMemoryLimitIsUsageError(t *testing.T) {
	cfg, err := LoadConfig([]string{"--connector", "outlook-mail", "--demo", "--memory-limit", "huge"}, envOf(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("Validate = %v, want an error naming --memory-limit", err)
	}
}

// TestRaiseWhenOutgrown: a live heap above the automatic limit makes the
// collector run without pause; the watcher then raises the limit instead
// of letting the run crawl.
func TestRaiseWhenOutgrown(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(32 << 20))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	live := make([][]byte, 0, 48)
	for range 48 {
		live = append(live, make([]byte, 1<<20)) // 48 MiB live, over the limit
	}
	runtime.GC() // the live heap is measured at a collection: all 48 MiB of it
	// The watcher starts once the live set is whole (started before, a
	// busy machine could let it measure a half-built one).
	go raiseWhenOutgrown(ctx, 32<<20, 0, slog.New(slog.DiscardHandler))
	deadline := time.Now().Add(10 * time.Second)
	var sink []byte
	for time.Now().Before(deadline) {
		for range 1000 {
			sink = make([]byte, 4<<10) // garbage: the collector runs and runs
		}
		if l := debug.SetMemoryLimit(-1); l > 32<<20 {
			if l < 2*int64(len(live))<<20 {
				t.Errorf("limit raised to %d MiB, want at least twice the live heap (%d MiB)", l>>20, len(live))
			}
			runtime.KeepAlive(live)
			_ = sink
			return
		}
	}
	t.Fatal("the limit was not raised in 10 s under continuous collection")
}
