package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"m365export/sources/graphsim"
)

// TestExport_MalformedTimestampCostsOneRecord: Microsoft's own example
// chat message carries "2021-03-1706:47:05.123Z" (graph-api-notes §8 fact
// 11). Against an emulator that serves such a message, the msft-teams
// export finishes (no owner fails, exit 0), counts the record as rejected
// with its reason, and writes every other chat message.
func TestExport_MalformedTimestampCostsOneRecord(t *testing.T) {
	clean := startSimWith(t, graphsim.Options{Users: 6})
	bad := startSimWith(t, graphsim.Options{Users: 6, MalformedTimestamp: true})
	day := clean.Tenant().Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	until := clean.Tenant().Now().UTC().Format("2006-01-02")
	args := []string{"--connector", "msft-teams", "--since", day, "--until", until, "--run-id", "r"}
	want, err := exportTo(t, clean, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := exportTo(t, bad, "", args...)
	if err != nil {
		t.Fatalf("export with one malformed record: %v", err)
	}
	if got[0].Status != want[0].Status {
		t.Errorf("status %s, want %s", got[0].Status, want[0].Status)
	}
	for i, c := range got[0].Collections {
		w := want[0].Collections[i]
		if c.Name != "chat_messages" {
			if c.Rejected != 0 || c.Records != w.Records {
				t.Errorf("%s: %d records, %d rejected; want %d, 0", c.Name, c.Records, c.Rejected, w.Records)
			}
			continue
		}
		if c.Rejected != 1 || c.RejectedReasons["invalid timestamp in createdDateTime"] != 1 || c.Records != w.Records-1 || c.Failed != 0 {
			t.Errorf("chat_messages: %d records (clean %d), %d rejected %v, %d failed owners; want one record rejected for its createdDateTime",
				c.Records, w.Records, c.Rejected, c.RejectedReasons, c.Failed)
		}
	}
}

// TestExport_CallRecordsBeyondRetentionRefused: Graph returns no call
// record older than 30 days, so a msft-teams window that starts earlier is
// refused (exit 2) before anything is written, naming the collection and
// the first day that can be exported.
func TestExport_CallRecordsBeyondRetentionRefused(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 4})
	now := sim.Tenant().Now().UTC()
	dir := t.TempDir()
	_, err := exportTo(t, sim, dir, "--connector", "msft-teams", "--since", now.AddDate(0, 0, -40).Format("2006-01-02"),
		"--until", now.AddDate(0, 0, -38).Format("2006-01-02"))
	var je *Error
	if !errors.As(err, &je) || je.ExitCode() != 2 || !strings.Contains(err.Error(), "call_records") || !strings.Contains(err.Error(), "30 days") {
		t.Fatalf("export 40 days back = %v, want a usage error about call_records' 30 days", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "msft-teams")); len(entries) != 0 {
		t.Errorf("a refused run wrote %d entries under msft-teams/", len(entries))
	}
	if _, err := exportTo(t, sim, "", "--connector", "msft-teams", "--since", now.AddDate(0, 0, -29).Format("2006-01-02"),
		"--until", now.AddDate(0, 0, -28).Format("2006-01-02")); err != nil {
		t.Errorf("export 29 days back: %v", err)
	}
}
