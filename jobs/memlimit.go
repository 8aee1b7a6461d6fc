package jobs

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"m365export/internal/membudget"
	"m365export/pipeline"
)

// The exporter's working set hardly grows with the tenant (owners are
// listed compactly, limiters at rest are dropped, the ledger is a few bytes
// an owner), but the heap's peaks do grow with a run's length: the
// collector lets the heap reach twice what was live at its last cycle, and
// a long run meets more unlucky moments (many large pages in flight). A
// soft memory limit clips those peaks, so that the footprint no longer
// depends on the tenant's size, and keeps a container clear of the OOM
// killer. Large pages and a window of many days (a Parquet writer per day)
// are held inside it by the byte budget, never by raising it.

// defaultMemoryLimit is the automatic soft limit outside a container: the
// exporter then fits a 256 MiB container with room for what the Go runtime
// does not count (the binary's pages, some 30 MiB). Measured on one day of
// outlook-mail: peak RSS 125 MiB for 10k users, 128 MiB for 100k (without
// a limit 135 and 157; with 112 MiB, 137 and 148), at the same speed.
const defaultMemoryLimit = 96 << 20

// memoryLimit resolves --memory-limit: "auto" (75% of the container's
// memory limit if one is set, else 96 MiB), "off", or a size ("512MiB",
// "1GiB", or a number of MiB). It returns 0 for no limit.
func memoryLimit(s string, cgroupLimit func() int64) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		if l := cgroupLimit(); l > 0 {
			return l / 4 * 3, nil
		}
		return defaultMemoryLimit, nil
	case "off", "0":
		return 0, nil
	}
	v := strings.TrimSpace(s)
	mult := int64(1 << 20)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 16 && mult == 1<<20 || n < 1 {
		return 0, fmt.Errorf("--memory-limit %q: want auto, off, or a size such as 512MiB or 1GiB (at least 16MiB)", s)
	}
	return n * mult, nil
}

// cgroupMemoryLimit reads the container's memory limit (cgroup v2, then
// v1); 0 means none.
func cgroupMemoryLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<50 { // "max", or v1's "unlimited" page-rounded MaxInt64
			return 0
		}
		return n
	}
	return 0
}

// ApplyMemoryLimit sets the Go runtime's soft memory limit from
// --memory-limit, unless the environment's GOMEMLIMIT already set one. It
// returns the limit set (0: none) and where it came from. The limit is a
// limit: nothing raises it afterwards. What keeps the process inside it
// is the byte budget (MemoryBudget) that pages and writers acquire from,
// which slows the run down rather than let it grow.
func ApplyMemoryLimit(cfg *Config, env func(string) string) (int64, string, error) {
	if env("GOMEMLIMIT") != "" {
		l := debug.SetMemoryLimit(-1)
		if l == math.MaxInt64 {
			l = 0
		}
		return l, "GOMEMLIMIT", nil
	}
	l, err := memoryLimit(cfg.MemoryLimit, cgroupMemoryLimit)
	if err != nil {
		return 0, "", err
	}
	if l == 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		return 0, "--memory-limit", nil
	}
	debug.SetMemoryLimit(l)
	return l, "--memory-limit", nil
}

// budgetShare is the share of the memory limit that the byte budget
// hands out to pages in flight and Parquet writers. The rest is the
// runtime's and what the budget does not count: the garbage collector's
// headroom over the live heap, owner lists, pseudonym caches, connection
// buffers, the binary. The collector's headroom is what the CPU cost of
// a limit depends on: with half the limit for the budget, a 30-day
// backfill (200 users × 500 messages a day, 192MiB) held a live heap of
// about 100 MB under a goal of 170, collected 555 times and spent 79
// CPU-s; with 35 %, 464 times and 69 CPU-s (65 without a limit), at the
// same peak RSS. At 25 % pages got smaller and the run slower (75 CPU-s).
const budgetShare = 0.35

// MemoryBudget is the process's byte budget for a memory limit (see
// internal/membudget): budgetShare of the limit, nil (unlimited) without
// one.
func MemoryBudget(limit int64) *membudget.Budget {
	return membudget.New(int64(float64(limit) * budgetShare))
}

// writersShare is the share of the memory limit that open day writers
// are sized to (maxOpenWriters). It is not a share of the budget:
// writers take from the budget what they hold, and pages in flight get
// what writers leave (membudget.Acquire waits for it), so a smaller
// budget (budgetShare) runs fewer pages at once rather than read a long
// window in more parts (more requests) with fewer writers.
const writersShare = 0.2

// maxOpenWriters bounds the day writers a collection holds open under
// budget b (pipeline.Job.MaxOpenWriters): as many as writersShare of the
// memory limit holds at writerCost each (an open writer and its upload,
// parquetsink.Sink.WriterCost), at least 2; 0 (no bound) without a
// budget. Without the bound, a 30-day backfill held 31 writers, 124 MiB
// of a 96 MiB budget: the budget was always short, row groups ended tiny
// and the heap sat at the runtime's soft limit, collecting garbage all
// the time.
func maxOpenWriters(b *membudget.Budget, writerCost int64) int {
	if b == nil {
		return 0
	}
	share := float64(b.Total()) / budgetShare * writersShare
	return max(2, int(share/float64(max(writerCost, 1))))
}

// maxPageBytes is the page size a collection's $top is lowered to fit
// (graph.Collection.PageBytes; 0 without a budget).
func maxPageBytes(b *membudget.Budget) int64 { return pipeline.MaxPageBytes(b) }
