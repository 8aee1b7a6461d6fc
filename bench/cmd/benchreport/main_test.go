package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkSanitize/outlook-mail-2         	    1479	    845458 ns/op	 195.96 MB/s	    118279 records/s	  692741 B/op	    2492 allocs/op
BenchmarkExport_OutlookMail-2   	       3	2306704739 ns/op	         0 %429	         1.916 cpu-cores	        21.94 cpu-µs/record	     87313 records/s
--- FAIL: BenchmarkOther
PASS`
	got := parseBench(out)
	if len(got) != 2 {
		t.Fatalf("parsed %d lines, want 2: %+v", len(got), got)
	}
	if got[0].name != "BenchmarkSanitize/outlook-mail" || got[0].metrics["MB/s"] != 195.96 || got[0].metrics["records/s"] != 118279 {
		t.Errorf("first line: %+v", got[0])
	}
	b, err := one(out, "BenchmarkExport_OutlookMail")
	if err != nil {
		t.Fatal(err)
	}
	if b.metrics["records/s"] != 87313 || b.metrics["%429"] != 0 || b.metrics["cpu-µs/record"] != 21.94 {
		t.Errorf("export line: %+v", b.metrics)
	}
	if _, err := one(out, "BenchmarkMissing"); err == nil {
		t.Error("a missing benchmark gave no error")
	}
}

func TestTagLine(t *testing.T) {
	m := tagLine.FindStringSubmatch("            140ms ( 8.38%): graphsim")
	if m == nil || m[1] != "8.38" || m[2] != "graphsim" {
		t.Errorf("tagLine match = %q", m)
	}
}

func TestWriteResults_IsJSONWithShortFigures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r", "results.json")
	if err := writeResults(path, results{"e2e_records_per_s": 77493.4, "throttle_429_share": 0.001234567, "rss_100k_records": 1879635}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]float64{"e2e_records_per_s": 77493, "throttle_429_share": 0.001235, "rss_100k_records": 1879635}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (file %s)", k, got[k], v, b)
		}
	}
}
