package pipeline

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"m365export/rules"
	"m365export/sinks"
	"m365export/sinks/sinktest"
	"m365export/sources"
)

// benchSource serves the same page of message records for every owner.
type benchSource struct {
	owners []string
	page   []byte
}

func (s *benchSource) Partitions(context.Context) ([]string, error) { return s.owners, nil }

func (s *benchSource) Page(_ context.Context, p, _ string) (sources.Page, error) {
	return sources.Page{URL: "/v1.0/users/" + p + "/mailFolders/SentItems/messages?$top=100", Body: s.page}, nil
}

type discardSink struct{}

func (discardSink) NewWriter(context.Context, sinks.Table, string) (sinks.RecordWriter, error) {
	return discardWriter{}, nil
}

type discardWriter struct{}

func (discardWriter) Write(sinks.Record) error { return nil }
func (discardWriter) Close() error             { return nil }

// BenchmarkRun_Messages is the pipeline's own cost per page: sanitizing a
// 100-record outlook-mail page with the built-in rules, splitting it into
// records and reading each record's time, on one worker, into a sink that
// discards. One op is one page.
func BenchmarkRun_Messages(b *testing.B) {
	// The connector's own rules, read from its declaration's folder.
	name, src, err := rules.RenderBuiltin("outlook-mail", rules.Variant{}, os.DirFS("../jobs/connector"), os.DirFS("../jobs/connectors/outlookmail"))
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rules.Compile(name, src, rules.Secrets{Salt: "bench-salt", Key: "bench-key"})
	if err != nil {
		b.Fatal(err)
	}
	const perPage = 100
	page := []byte(`{"@odata.context":"x","value":[`)
	var buf []byte
	for i := range perPage {
		if i > 0 {
			page = append(page, ',')
		}
		buf = sinktest.MessageJSON(buf[:0], i)
		page = append(page, buf...)
	}
	page = append(page, "]}"...)
	owners := make([]string, b.N)
	for i := range owners {
		owners[i] = "u" + strconv.Itoa(i)
	}
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	job := &Job{
		Connector: "outlook-mail", Sink: discardSink{}, RunID: "r", Concurrency: 1,
		Window: Window{From: from, To: from.Add(48 * time.Hour)},
		Collections: []Collection{{Name: "messages", Source: &benchSource{owners: owners, page: page}, Sanitizer: rs,
			Table: sinks.Table{Connector: "outlook-mail", Collection: "messages"}, TimeField: "sentDateTime"}},
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	s, err := Run(b.Context(), job)
	cpu := processCPU() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	if want := int64(b.N * perPage); s.Records != want {
		b.Fatalf("records = %d, want %d", s.Records, want)
	}
	b.ReportMetric(float64(b.N*perPage)/b.Elapsed().Seconds(), "records/s")
	// CPU per record does not grow when other processes compete for the
	// cores, unlike ns/op.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*perPage), "cpu-µs/record")
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
