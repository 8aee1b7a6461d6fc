package jobs

import (
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"m365export/sources/graphsim"
)

// End-to-end benchmarks: a whole export run (owners → Graph client →
// sanitizer → Parquet on fileblob) against the in-process emulator on
// loopback. bench/ runs them and collects the figures; nothing here is
// asserted by the tests.
//
// Environment knobs, so that bench/ can size a run without new flags:
//
//	M365EXPORT_BENCH_USERS   users in the emulated tenant (default 2000)
//	M365EXPORT_BENCH_DAYS    days in the export window (default 7)
//	M365EXPORT_BENCH_MSGS    SentItems messages per user and weekday (default 20)

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExport_OutlookMail exports outlook-mail (SentItems messages
// and mailbox settings) of the whole emulated tenant for a window of days,
// with the emulator's limits off and the client's default governor on, as
// a production run has it. One op is one whole run.
//
// Reports: records/s (message records written per wall second),
// requests/s (Graph requests served per wall second), cpu-cores (process
// CPU ÷ wall time), cpu-µs/record (process CPU, emulator included, per
// message record: the steadier figure on a shared machine). The emulator's share of
// the CPU is in a CPU profile of this benchmark: its server goroutines
// carry the pprof label graphsim.ProfileLabel (bench/ reads it with
// go tool pprof -tags).
func BenchmarkExport_OutlookMail(b *testing.B) {
	benchExport(b, graphsim.Limits{Disabled: true})
}

// BenchmarkExport_OutlookMailGraphLimits is the same export with the
// emulator enforcing Graph's documented limits (Outlook: 4 requests in
// flight and 10,000 per 10 minutes per mailbox; directory resource units):
// %429 is the share of answers that were 429 (the governor should keep it
// at 0 at full speed).
func BenchmarkExport_OutlookMailGraphLimits(b *testing.B) {
	benchExport(b, graphsim.Limits{})
}

func benchExport(b *testing.B, limits graphsim.Limits) {
	users := benchEnvInt("M365EXPORT_BENCH_USERS", 2000)
	days := benchEnvInt("M365EXPORT_BENCH_DAYS", 7)
	msgs := benchEnvInt("M365EXPORT_BENCH_MSGS", 20)
	sim, err := graphsim.Start(graphsim.Options{Users: users, Seed: 7, PlainGraph: true,
		MessagesPerUserDay: float64(msgs), Limits: limits})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	until := sim.Tenant().Now().UTC().Truncate(24 * time.Hour)
	since := until.Add(-time.Duration(days) * 24 * time.Hour)
	var records, requests, throttled int64
	var wall, cpu time.Duration
	b.ReportAllocs()
	// The soft memory limit the CLI applies (--memory-limit auto), once
	// per process as the CLI does, and the byte budget that goes with it
	// (cmd/export passes it to Run; without it nothing held the heap
	// under the limit, the collector ran all the time and the figure
	// fell from 63,645 to 3,603 records/s); the emulator shares this
	// process, so the figure is conservative.
	limit, _, err := ApplyMemoryLimit(&Config{MemoryLimit: "auto"}, os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	budget := MemoryBudget(limit)
	b.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	for b.Loop() {
		dir := b.TempDir()
		cfg, err := LoadConfig([]string{"--demo", "--connector", "outlook-mail",
			"--dest", "file://" + dir + "?metadata=skip", "--state", "mem://",
			"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339)},
			envOf(testEnv), io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		before := sim.Stats()
		runtime.GC()
		cpu0, start := processCPU(), time.Now()
		sums, err := Run(b.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim), Budget: budget})
		wall += time.Since(start)
		cpu += processCPU() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		after := sim.Stats()
		for _, s := range sums {
			for _, c := range s.Collections {
				if c.Name == "messages" {
					records += c.Records
				}
			}
		}
		requests += after.Served - before.Served
		throttled += after.Throttled - before.Throttled
	}
	secs := wall.Seconds()
	b.ReportMetric(float64(records)/secs, "records/s")
	b.ReportMetric(float64(requests)/secs, "requests/s")
	b.ReportMetric(cpu.Seconds()/secs, "cpu-cores")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(records, 1)), "cpu-µs/record")
	b.ReportMetric(float64(records)/float64(b.N), "records/run")
	b.ReportMetric(float64(throttled)/float64(max(requests+throttled, 1))*100, "%429")
}
