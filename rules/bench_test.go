package rules

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPage builds a page of n records by repeating the value[] records of a
// golden case's input, varying ids and addresses so that nothing repeats.
func benchPage(tb testing.TB, caseName string, n int) (url string, page []byte) {
	tb.Helper()
	dir := filepath.Join("testdata", caseName)
	in, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	u, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		tb.Fatal(err)
	}
	docs, err := parseDocuments(in)
	if err != nil {
		tb.Fatal(err)
	}
	recs := docs[0].get("value")
	var records [][]byte
	for _, r := range recs.arr {
		records = append(records, appendValue(nil, r))
	}
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c')/messages","value":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		rec := string(records[i%len(records)])
		rec = strings.ReplaceAll(rec, "@contoso.example", fmt.Sprintf("%d@contoso.example", i))
		rec = strings.ReplaceAll(rec, `"id":"`, fmt.Sprintf(`"id":"%d`, i))
		b.WriteString(rec)
	}
	b.WriteString("]}")
	return strings.TrimSpace(string(u)), b.Bytes()
}

var benchCases = []struct{ connector, golden string }{
	{"outlook-mail", "outlook-mail-sentitems"},
	{"outlook-cal", "outlook-cal-calendarview"},
	{"entra-id", "entra-id-users"},
	{"msft-teams", "msft-teams-chats-getallmessages"},
	{"msft-copilot", "msft-copilot-interactions"},
}

// BenchmarkSanitize measures one core sanitizing 100-record pages with each
// connector's default built-in rules: MB/s of response JSON and records/s.
func BenchmarkSanitize(b *testing.B) {
	const records = 100
	for _, bc := range benchCases {
		b.Run(bc.connector, func(b *testing.B) {
			name, src, err := builtin(b, bc.connector, Variant{})
			if err != nil {
				b.Fatal(err)
			}
			r, err := Compile(name, src, Secrets{Salt: "bench-salt", Key: "bench-key"})
			if err != nil {
				b.Fatal(err)
			}
			// Every page repeats here, so a warm cache would hide the cost
			// of pseudonymizing: measure without it.
			r.ps.noCache = true
			url, page := benchPage(b, bc.golden, records)
			if _, err := r.Sanitize(url, page); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Sanitize(url, page); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
			// Throughput per CPU second (GC included) does not drop when
			// other processes compete for the cores, unlike MB/s.
			if cpu := (processCPU() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N)*float64(len(page))/1e6/cpu, "MB/cpu-s")
			}
		})
	}
}

// BenchmarkShapeFilter measures the allow-list filter of one sanitized
// record, as `m365export sanitize` applies it (the pipeline filters the
// parsed record instead: SanitizePageAllowed): allocated bytes per record
// are what a run under a memory limit pays for in collections. Measured on an outlook-mail
// record of 1.5 KB: a parser made afresh for each record allocated
// 88,608 B and took 35 µs; pooled, 1,640 B (the output) and 4.6 µs.
func BenchmarkShapeFilter(b *testing.B) {
	name, src, err := builtin(b, "outlook-mail", Variant{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := Compile(name, src, Secrets{Salt: "bench-salt", Key: "bench-key"})
	if err != nil {
		b.Fatal(err)
	}
	url, page := benchPage(b, "outlook-mail-sentitems", 100)
	pg, err := r.SanitizePage(url, page)
	if err != nil {
		b.Fatal(err)
	}
	shape := Object(map[string]*Shape{
		"id": Leaf(), "receivedDateTime": Leaf(), "sentDateTime": Leaf(), "conversationId": Leaf(),
		"from":         Object(map[string]*Shape{"emailAddress": Object(map[string]*Shape{"address": Leaf()})}),
		"toRecipients": Array(Object(map[string]*Shape{"emailAddress": Object(map[string]*Shape{"address": Leaf()})})),
	})
	var size int
	for _, rec := range pg.Records {
		size += len(rec.Sanitized)
	}
	b.SetBytes(int64(size / len(pg.Records)))
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := shape.Filter(pg.Records[i%len(pg.Records)].Sanitized); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
