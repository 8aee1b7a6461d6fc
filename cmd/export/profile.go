package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

// Profiling hooks for finding what memory or CPU a run spends, set in the
// environment so that a benchmark harness (bench/cmd/benchreport) or a
// person can profile the exporter process as it runs in production:
//
//   - M365EXPORT_CPUPROFILE=path writes a CPU profile of the whole export.
//   - M365EXPORT_MEMPROFILE=path writes a heap profile (inuse_space) each
//     time the heap's live objects reach a new high, 5% over the last
//     profile written, so that the file left at exit shows the peak, not
//     the end of the run.
const (
	envCPUProfile = "M365EXPORT_CPUPROFILE"
	envMemProfile = "M365EXPORT_MEMPROFILE"
)

// startProfiles starts the profiles the environment asks for and returns
// the function that stops them (it writes what is left).
func startProfiles(ctx context.Context, env func(string) string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if p := env(envCPUProfile); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return stop, fmt.Errorf("%s: %w", envCPUProfile, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return stop, fmt.Errorf("%s: %w", envCPUProfile, err)
		}
		stops = append(stops, func() {
			pprof.StopCPUProfile()
			_ = f.Close() // a profile: nothing to lose but the profile
		})
	}
	if p := env(envMemProfile); p != "" {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			watchHeap(ctx, p)
		}()
		stops = append(stops, func() {
			cancel()
			<-done
		})
	}
	return stop, nil
}

// heapMetrics are sampled by watchHeap; their highs are written next to
// the profile (path + ".peaks") when the run ends.
var heapMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/goal:bytes",
}

// watchHeap writes a heap profile to path whenever the live heap reaches a
// new high (by 5%), until ctx ends; then it writes the highs of
// heapMetrics to path + ".peaks".
func watchHeap(ctx context.Context, path string) {
	sample := make([]metrics.Sample, len(heapMetrics))
	for i, n := range heapMetrics {
		sample[i].Name = n
	}
	peaks := make([]uint64, len(sample))
	defer func() {
		var b strings.Builder
		for i, n := range heapMetrics {
			fmt.Fprintf(&b, "%s %d MiB\n", n, peaks[i]>>20)
		}
		_ = os.WriteFile(path+".peaks", []byte(b.String()), 0o644) // a profile: nothing to lose but it
	}()
	var written uint64
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		for i := range sample {
			if sample[i].Value.Kind() == metrics.KindUint64 {
				peaks[i] = max(peaks[i], sample[i].Value.Uint64())
			}
		}
		if v := peaks[0]; v > written+written/20 {
			if writeHeapProfile(path) == nil {
				written = v
			}
		}
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	// debug=0 inuse figures are as of the last GC; the profile still
	// names what holds the peak.
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
