package tables_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"

	"m365export/jobs/tables"
	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sinks/sinktest"
)

// writeMessages writes n synthetic sanitized messages (generated on the
// fly: generation is inside the measured time) through the Parquet sink
// into a fileblob directory and commits the partition.
func writeMessages(b *testing.B, n int) (outBytes int64) {
	ctx := context.Background()
	bucket, err := fileblob.OpenBucket(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	opts := &parquetsink.Options{}
	if v := os.Getenv("BENCH_ROWGROUP"); v != "" {
		opts.RowGroupRows, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := os.Getenv("BENCH_RGBYTES"); v != "" {
		opts.RowGroupBytes, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := os.Getenv("BENCH_PAGE"); v != "" {
		opts.PageBufferSize, _ = strconv.Atoi(v)
	}
	s, err := parquetsink.New(bucket, opts)
	if err != nil {
		b.Fatal(err)
	}
	tbl := sinks.Table{Connector: "outlook-mail", Collection: "messages", Schema: tables.Lookup("outlook-mail", "messages")}
	w, err := s.NewWriter(ctx, tbl, "2024-03-01")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var buf []byte
	for i := 0; i < n; i++ {
		buf = sinktest.MessageJSON(buf[:0], i)
		if err := w.Write(sinks.Record{JSON: buf, Owner: "p~owner", RunID: "run-bench", ExportedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := s.Commit(ctx, tbl, "2024-03-01", sinks.Manifest{RunID: "run-bench", Shards: 1}); err != nil {
		b.Fatal(err)
	}
	data, err := bucket.ReadAll(ctx, "outlook-mail/messages/dt=2024-03-01/_manifest-0.json")
	if err != nil {
		b.Fatal(err)
	}
	var m sinks.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	for _, f := range m.Files {
		outBytes += f.Bytes
	}
	return outBytes
}

// heapSampler records the peak of the Go heap in use while it runs.
func heapSampler() (stop func() float64) {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > max {
					max = ms.HeapInuse
				}
			}
		}
	}()
	return func() float64 { close(done); return float64(<-peak) / (1 << 20) }
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// BenchmarkWriteMessages measures one message record per op: JSON →
// typed Parquet (zstd) on fileblob.
func BenchmarkWriteMessages(b *testing.B) {
	b.ReportAllocs()
	start := time.Now()
	stop := heapSampler()
	cpu0 := cpuTime()
	writeMessages(b, b.N)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/record")
	b.ReportMetric(stop(), "peak-heap-MiB")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkParquet1M is the `make bench` row of issue 3: 1M sanitized
// message records as JSON → typed Parquet on fileblob, decoding included.
// peak-RSS-MiB is the process's high-water mark (getrusage), so run it
// alone: go test -run '^$' -bench Parquet1M -benchtime 1x ./jobs/tables
func BenchmarkParquet1M(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cpu0 := cpuTime()
		out := writeMessages(b, n)
		b.ReportMetric(n/time.Since(start).Seconds(), "records/s")
		b.ReportMetric(float64(out)/n, "parquet-B/record")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/n, "cpu-µs/record")
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkGenerateMessages is the cost of making the input alone.
func BenchmarkGenerateMessages(b *testing.B) {
	var buf []byte
	bytes := 0
	for i := 0; i < b.N; i++ {
		buf = sinktest.MessageJSON(buf[:0], i)
		bytes += len(buf)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/record")
}
