package graphsim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden pins the tenant of seed 1: the first and last record of every
// collection for its first owner with records, for the default day window. Other
// packages' goldens rest on these bytes; a change here is a change for
// them, so review the diff like code (go test ./sources/graphsim -update).
func TestGolden(t *testing.T) {
	o := Options{Users: 60, Seed: 1}
	o.defaults()
	tn := newTenant(&o)
	got := map[string][]json.RawMessage{}
	var names []string
	for c := range truthCollections {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		var recs []json.RawMessage
		for _, o := range truthOwners(tn, c) { // the first owner with records in the day
			if recs = truth(tn, c, o, dayT, nextDayT); len(recs) > 0 {
				break
			}
		}
		if len(recs) == 0 {
			t.Fatalf("%s: no records for the first owner", c)
		}
		got[c] = []json.RawMessage{recs[0], recs[len(recs)-1]}
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "seed1.golden.json")
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if d := cmp.Diff(string(bytes.TrimSpace(want)), string(bytes.TrimSpace(b))); d != "" {
		t.Fatalf("tenant of seed 1 changed (-want +got):\n%s", d)
	}
}
