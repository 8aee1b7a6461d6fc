package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"m365export/jobs"
	"m365export/pipeline"
	"m365export/sinks"
	"m365export/sources/graphsim"
)

// TestSignal_SIGTERMStopsCleanly runs the exporter as its own process
// against a slow emulator, sends SIGTERM mid-run and checks: exit code 1
// with one message, no partition visible that its manifest does not
// describe, no staged file left, a run summary whose ledger names every
// owner (those not finished as cancelled), and a re-run that completes.
func TestSignal_SIGTERMStopsCleanly(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "m365export")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sim, err := graphsim.Start(graphsim.Options{Users: 16, Seed: 3,
		Faults: graphsim.Faults{SlowRate: 1, SlowDelay: 150 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	dir, state := t.TempDir(), t.TempDir()
	args := []string{"--connector", "outlook-mail", "--dest", "file://" + dir + "?metadata=skip", "--state", "file://" + state + "?metadata=skip",
		"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--tenant-id", sim.TenantID(), "--client-id", sim.ClientID(),
		"--ca-file", ca, "--auth", "secret", "--now", sim.Tenant().Now().Format(time.RFC3339),
		"--since", "2026-11-20", "--until", "2026-11-26", "--run-id", "sig", "--concurrency", "2", "--grace-period", "1m"}
	env := append(os.Environ(), "M365EXPORT_SALT=signal-test-salt", "M365EXPORT_ENCRYPTION_KEY=signal-test-key",
		"M365EXPORT_CLIENT_SECRET="+sim.ClientSecret())

	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Signal once the export is reading mailboxes (the first collection
	// needs dozens of slow requests).
	for i := 0; sim.Stats().Requests < 6 && i < 600; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
		t.Fatalf("exit: %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped by a signal") {
		t.Errorf("stderr does not say the run was stopped:\n%s", stderr.String())
	}

	// Nothing half-done is visible.
	named := map[string]bool{}
	var parts, staged []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case strings.Contains(p, "_staging"):
			staged = append(staged, p)
		case strings.HasSuffix(p, ".parquet"):
			parts = append(parts, p)
		case strings.HasPrefix(filepath.Base(p), "_manifest-"):
			var m sinks.Manifest
			b, _ := os.ReadFile(p)
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			for _, f := range m.Files {
				named[filepath.Join(filepath.Dir(p), f.Name)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if !named[p] {
			t.Errorf("a part no manifest names is visible: %s", p)
		}
	}
	if len(staged) > 0 {
		t.Errorf("abandoned writers left staged files: %v", staged)
	}
	b, err := os.ReadFile(filepath.Join(dir, "outlook-mail", "_runs", "sig", "shard-0.json"))
	if err != nil {
		t.Fatalf("no run summary after SIGTERM: %v", err)
	}
	var s pipeline.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	cancelled := 0
	for _, e := range s.Ledger.All() {
		if e.Owner == "" || e.Status == "" {
			t.Errorf("a ledger entry without owner or status: %+v", e)
		}
		if e.Status == pipeline.StatusCancelled {
			cancelled++
		}
	}
	if s.Status != "failed" || s.Ledger.Len() == 0 || cancelled == 0 {
		t.Errorf("summary status %q, %d ledger entries, %d cancelled; want failed with cancelled owners", s.Status, s.Ledger.Len(), cancelled)
	}

	// The same window again completes.
	again := exec.Command(bin, args...)
	again.Env = env
	if out, err := again.CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
}

// TestSignal_GracePeriodEndsAStuckExport: an export that does not return
// after the signal is ended with exit code 1 when the grace period is
// over.
func TestSignal_GracePeriodEndsAStuckExport(t *testing.T) {
	var mu sync.Mutex
	codes := []int{}
	exited := make(chan struct{})
	defer func(r func(context.Context, *jobs.Config, jobs.RunOptions) ([]*pipeline.Summary, error), e func(int)) {
		runJob, exitNow = r, e
	}(runJob, exitNow)
	runJob = func(ctx context.Context, _ *jobs.Config, _ jobs.RunOptions) ([]*pipeline.Summary, error) {
		<-exited // ignores ctx: stuck
		return nil, ctx.Err()
	}
	exitNow = func(code int) {
		mu.Lock()
		codes = append(codes, code)
		mu.Unlock()
		close(exited)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the signal
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--demo", "--connector", "outlook-mail", "--dest", "mem://", "--grace-period", "10ms", "--log-format", "json"}, nil, &stdout, &stderr)
	mu.Lock()
	defer mu.Unlock()
	if len(codes) != 1 || codes[0] != exitFailed {
		t.Errorf("exit calls %v, want one with code 1", codes)
	}
	if code != exitFailed {
		t.Errorf("run returned %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "grace period") {
		t.Errorf("stderr does not name the grace period:\n%s", stderr.String())
	}
}
