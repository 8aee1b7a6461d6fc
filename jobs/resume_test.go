package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"m365export/sources/graphsim"
)

// TestResume_PerOwnerCheckpoint: a run stopped in the middle of a long
// collection, after a checkpoint, leaves the checkpoint and its staged
// files at --state and in the bucket; the next attempt of the same run
// adopts them, reads only the owners the checkpoint does not name, and the
// output equals the emulator's ground truth exactly. The checkpoint holds
// no raw owner id.
func TestResume_PerOwnerCheckpoint(t *testing.T) {
	// Slow answers make the collection last long enough to be stopped
	// after a checkpoint, before its end.
	sim := startSimWith(t, graphsim.Options{Users: 24, Faults: graphsim.Faults{Seed: 3, SlowRate: 0.1, SlowDelay: 150 * time.Millisecond}})
	want := map[string]map[string][]string{"outlook-mail": expected(t, sim, "outlook-mail", chaosWindow, "chaos", sim.Tenant().Now().Format("2006-01-02"))}
	dir, state := t.TempDir(), t.TempDir()
	args := []string{"--demo", "--dest", "file://" + dir + "?metadata=skip", "--state", "file://" + state + "?metadata=skip",
		"--connector", "outlook-mail", "--since", "2026-11-24", "--until", "2026-11-26", "--run-id", "chaos",
		"--concurrency", "2", "--checkpoint-every", "1ms"}
	cfg, err := LoadConfig(args, envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	cpFile := filepath.Join(state, "outlook-mail", "checkpoints", "shard-0-of-1", "messages.json")
	b := runUntilCheckpoint(t, cfg, sim, cpFile, 3)
	for i := range sim.Tenant().Users() {
		if u := sim.Tenant().User(i); strings.Contains(string(b), u.ID) {
			t.Fatalf("the checkpoint holds the raw id of user %d", i)
		}
	}
	var cp checkpointFile
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	done := len(cp.Checkpoint.Owners)
	if done == 0 || done >= 24 {
		t.Fatalf("checkpoint names %d owners, want some of 24", done)
	}

	cfg, err = LoadConfig(args, envOf(testEnv), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := Run(t.Context(), cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)})
	if err != nil {
		t.Fatalf("resumed attempt: %v", err)
	}
	var from int
	for _, c := range sums[0].Collections {
		if c.Name == "messages" {
			from = c.FromCheckpoint
		}
	}
	if from < done {
		t.Errorf("resumed attempt took %d owners from the checkpoint, which names %d", from, done)
	}
	if problems := checkExact(t, dir, want); len(problems) > 0 {
		t.Errorf("output after the resumed attempt is not exact:\n%s", strings.Join(problems, "\n"))
	}
	if _, err := os.Stat(cpFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the checkpoint outlived the collection's commit: %v", err)
	}
}

// runUntilCheckpoint runs cfg against sim and stops it once the checkpoint
// at cpFile names at least owners owners; it returns the checkpoint file
// as the stopped run left it.
func runUntilCheckpoint(t *testing.T, cfg *Config, sim *graphsim.Server, cpFile string, owners int) []byte {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			var cp checkpointFile
			if b, err := os.ReadFile(cpFile); err == nil && json.Unmarshal(b, &cp) == nil && len(cp.Checkpoint.Owners) >= owners {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if _, err := Run(ctx, cfg, RunOptions{Env: envOf(testEnv), Endpoint: simEndpoint(sim)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("first attempt: %v, want it stopped", err)
	}
	b, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatalf("no checkpoint after the stop: %v", err)
	}
	return b
}
