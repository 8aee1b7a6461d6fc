package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// The exporter's working set hardly grows with the tenant (owners are
// listed compactly, limiters at rest are dropped, the ledger is a few bytes
// an owner), but the heap's peaks do grow with a run's length: the
// collector lets the heap reach twice what was live at its last cycle, and
// a long run meets more unlucky moments (many large pages in flight). A
// soft memory limit clips those peaks, so that the footprint no longer
// depends on the tenant's size, and keeps a container clear of the OOM
// killer. A window of many days (a Parquet writer per day) needs more:
// raiseWhenOutgrown gives it room rather than slow it down.

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
// --memory-limit, unless the environment's GOMEMLIMIT already set one, and
// until ctx ends raises an automatic limit that the working set outgrew
// (see raiseWhenOutgrown). It returns the limit set (0: none) and where it
// came from.
func ApplyMemoryLimit(ctx context.Context, cfg *Config, env func(string) string, log *slog.Logger) (int64, string, error) {
	if env("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT", nil
	}
	container := cgroupMemoryLimit()
	l, err := memoryLimit(cfg.MemoryLimit, func() int64 { return container })
	if err != nil {
		return 0, "", err
	}
	if l == 0 {
		debug.SetMemoryLimit(1<<63 - 1)
		return 0, "--memory-limit", nil
	}
	debug.SetMemoryLimit(l)
	if a := strings.ToLower(strings.TrimSpace(cfg.MemoryLimit)); a == "" || a == "auto" {
		go raiseWhenOutgrown(ctx, l, container, log)
	}
	return l, "--memory-limit", nil
}

// raiseWhenOutgrown watches the garbage collector: when the live heap
// nears the automatic limit and collection takes more than a quarter of
// the CPU (a window of many days holds a Parquet writer per day, say), the
// limit costs more time than the memory is worth, so it is raised to two
// and a half times the live heap (at least by half), up to 95% of the
// container's limit if there is one. A soft limit thus stays a
// footprint target, never a slowdown.
func raiseWhenOutgrown(ctx context.Context, limit, ceiling int64, log *slog.Logger) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var gc0, total0 float64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindFloat64 || s[1].Value.Kind() != metrics.KindFloat64 || s[2].Value.Kind() != metrics.KindUint64 {
			return
		}
		gc, total, live := s[0].Value.Float64(), s[1].Value.Float64(), s[2].Value.Uint64()
		dgc, dtotal := gc-gc0, total-total0
		gc0, total0 = gc, total
		if dtotal <= 0 || dgc/dtotal < 0.25 || float64(live) < 0.6*float64(limit) {
			continue
		}
		// Enough for this working set at the collector's usual pace
		// (GOGC=100: the heap grows to twice the live heap), at least half
		// again the limit.
		next := max(limit/2*3, int64(live)/2*5)
		if ceiling > 0 {
			next = min(next, ceiling/20*19)
		}
		if next <= limit {
			return
		}
		limit = next
		debug.SetMemoryLimit(limit)
		log.Info("raised the soft memory limit: the working set outgrew it", "limit_mib", limit>>20, "live_mib", live>>20, "gc_cpu_share", dgc/dtotal)
	}
}
