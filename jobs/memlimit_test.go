package jobs

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
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

// TestApplyMemoryLimit_NeverRaised: the limit set is the one asked for,
// and it stays there under continuous collection with a live heap over it
// (the run slows down, the limit holds); the budget is 35 % of it.
func TestApplyMemoryLimit_NeverRaised(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	l, from, err := ApplyMemoryLimit(&Config{MemoryLimit: "32MiB"}, envOf(nil))
	if err != nil || l != 32<<20 || from != "--memory-limit" {
		t.Fatalf("ApplyMemoryLimit = %d, %q, %v", l, from, err)
	}
	if b, want := MemoryBudget(l), int64(32<<20*35/100); b.Total() != want {
		t.Fatalf("budget %d, want %d (35%% of 32 MiB)", b.Total(), want)
	}
	if MemoryBudget(0) != nil {
		t.Fatal("no limit must mean no budget")
	}
	live := make([][]byte, 0, 48)
	for range 48 {
		live = append(live, make([]byte, 1<<20)) // 48 MiB live, over the limit
	}
	var sink []byte
	for range 200_000 {
		sink = make([]byte, 4<<10) // garbage: the collector runs and runs
	}
	runtime.KeepAlive(live)
	_ = sink
	if got := debug.SetMemoryLimit(-1); got != 32<<20 {
		t.Fatalf("limit is %d MiB after a heap outgrew it, want 32 MiB", got>>20)
	}
}

// TestMaxOpenWriters: the open day writers fit in 20% of the memory limit,
// at each writer's cost with its upload; at least two; no bound without a
// budget.
func TestMaxOpenWriters(t *testing.T) {
	for _, tc := range []struct {
		limit, writerCost int64
		want              int
	}{
		{0, 4 << 20, 0},
		{192 << 20, 4 << 20, 9}, // 38.4 MiB for writers, fileblob
		{192 << 20, 9 << 20, 4}, // S3: 5 MiB parts
		{1 << 30, 4 << 20, 51},  // 204.8 MiB for writers
		{32 << 20, 4 << 20, 2},  // 6.4 MiB for writers: the floor
	} {
		if got := maxOpenWriters(MemoryBudget(tc.limit), tc.writerCost); got != tc.want {
			t.Errorf("maxOpenWriters(limit %d MiB, writer %d MiB) = %d, want %d", tc.limit>>20, tc.writerCost>>20, got, tc.want)
		}
	}
}
