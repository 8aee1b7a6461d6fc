package jobs

// Crash trials: the exporter runs as its own process against an emulator in
// this test process, is killed with SIGKILL at seeded random moments, and is
// re-run; after the re-run the output must equal the emulator's ground truth
// exactly. One stop in four is a SIGTERM instead, which must exit with code
// 1. `go test -short` runs 2 trials; `make chaos` runs 20
// (-chaos.trials=20) and prints "chaos: N/20 trials exact" last.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"m365export/pipeline"
	"m365export/sinks"
	"m365export/sources/graphsim"
)

var (
	chaosTrials = flag.Int("chaos.trials", 2, "crash trials (make chaos: 20)")
	chaosSeed   = flag.Uint64("chaos.seed", 1, "seed of the kill moments")
	chaosBin    = flag.String("chaos.bin", "", "m365export binary to test (default: built into a temporary directory)")
	chaosUsers  = flag.Int("chaos.users", 12, "users in the emulated tenant")
)

// chaosConnectors are every registered connector.
var chaosConnectors = ConnectorNames()

// chaosWindow is the window every trial exports.
var chaosWindow = pipeline.Window{From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}

// buildExporter builds bin/m365export into a temporary directory, unless
// -chaos.bin names one.
func buildExporter(t *testing.T) string {
	t.Helper()
	if *chaosBin != "" {
		p, err := filepath.Abs(*chaosBin)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	bin := filepath.Join(t.TempDir(), "m365export")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/export")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// extProc describes how a separate exporter process reaches sim.
type extProc struct {
	bin  string
	sim  *graphsim.Server
	ca   string
	args []string
	env  []string
}

func newExtProc(t *testing.T, bin string, sim *graphsim.Server) *extProc {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &extProc{
		bin: bin, sim: sim, ca: ca,
		args: []string{
			"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(),
			"--tenant-id", sim.TenantID(), "--client-id", sim.ClientID(), "--ca-file", ca, "--auth", "secret",
			"--now", sim.Tenant().Now().Format(time.RFC3339), "--log-format", "json",
		},
		env: append(os.Environ(), EnvSalt+"="+testSalt, EnvKey+"="+testKey, "M365EXPORT_CLIENT_SECRET="+sim.ClientSecret()),
	}
}

// command returns the exporter command for dest and state with extra args.
func (p *extProc) command(ctx context.Context, dir, state string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	args := append([]string{"--dest", "file://" + dir + "?metadata=skip", "--state", "file://" + state + "?metadata=skip"}, p.args...)
	cmd := exec.CommandContext(ctx, p.bin, append(args, extra...)...)
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

func chaosArgs() []string {
	return []string{"--connector", strings.Join(chaosConnectors, ","), "--since", "2026-11-24", "--until", "2026-11-26",
		"--run-id", "chaos", "--concurrency", "4", "--log-level", "warn", "--checkpoint-every", "25ms"}
}

func TestChaos_KillAndRerunIsExact(t *testing.T) {
	trials := *chaosTrials
	if trials <= 0 {
		t.Skip("-chaos.trials=0")
	}
	bin := buildExporter(t)
	sim := startSim(t, *chaosUsers)
	p := newExtProc(t, bin, sim)
	want := map[string]map[string][]string{}
	for _, c := range chaosConnectors {
		want[c] = expected(t, sim, c, chaosWindow, "chaos", sim.Tenant().Now().Format("2006-01-02"))
	}

	// Calibrate: one uninterrupted run gives the span the kills fall in.
	start := time.Now()
	calDir, calState := t.TempDir(), t.TempDir()
	cmd, out := p.command(t.Context(), calDir, calState, chaosArgs()...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	span := time.Since(start)
	if problems := checkExact(t, calDir, want); len(problems) > 0 {
		t.Fatalf("an uninterrupted run is not exact:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("an uninterrupted run takes %v", span.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(*chaosSeed, 0x6368616f73))
	exact, fromCheckpoint := 0, 0
	for i := range trials {
		dir, state := t.TempDir(), t.TempDir()
		kills := 1 + rng.IntN(3)
		var killedAt []string
		for range kills {
			// Kill points spread over the whole run, startup included.
			at := time.Duration(rng.Int64N(int64(span + span/5)))
			// One stop in four is a SIGTERM (a scheduler's stop), which
			// must end the process with exit code 1.
			sig, name := syscall.SIGKILL, "KILL"
			if rng.IntN(4) == 0 {
				sig, name = syscall.SIGTERM, "TERM"
				// Not before the process installed its handler.
				at = max(at, 200*time.Millisecond)
			}
			cmd, out := p.command(t.Context(), dir, state, chaosArgs()...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The process may have finished already; Wait tells what happened.
			timer := time.AfterFunc(at, func() { _ = cmd.Process.Signal(sig) })
			err := cmd.Wait()
			timer.Stop()
			var exit *exec.ExitError
			switch {
			case err == nil: // finished before the signal
			case sig == syscall.SIGKILL && strings.Contains(err.Error(), "killed"):
			case sig == syscall.SIGTERM && errors.As(err, &exit) && exit.ExitCode() == 1:
			default:
				t.Errorf("trial %d: the run stopped with SIG%s ended with %v\n%s", i, name, err, out)
			}
			killedAt = append(killedAt, name+"@"+at.Round(time.Millisecond).String())
		}
		cmd, out := p.command(t.Context(), dir, state, chaosArgs()...)
		if err := cmd.Run(); err != nil {
			t.Errorf("trial %d (killed at %v): the re-run failed: %v\n%s", i, killedAt, err, out)
			continue
		}
		if problems := checkExact(t, dir, want); len(problems) > 0 {
			t.Errorf("trial %d (killed at %v): output is not exact:\n%s", i, killedAt, strings.Join(problems, "\n"))
			continue
		}
		exact++
		if strings.Contains(out.String(), "from an earlier attempt's checkpoint") {
			fromCheckpoint++
		}
		t.Logf("trial %d: killed at %v, re-run exact", i, killedAt)
	}
	fmt.Printf("chaos: %d/%d re-runs resumed from a per-owner checkpoint\n", fromCheckpoint, trials)
	fmt.Printf("chaos: %d/%d trials exact\n", exact, trials)
}

// checkExact compares dir's output with want for every connector, as a
// glob reader sees it, and checks every manifest against the files it
// names; it returns the problems found.
func checkExact(t *testing.T, dir string, want map[string]map[string][]string) []string {
	t.Helper()
	var problems []string
	for c, w := range want {
		got := readOutput(t, dir, c)
		wn := map[string][]string{}
		for coll := range w {
			wn[coll] = normalizeOwners(w[coll], w[coll])
			got[coll] = normalizeOwners(w[coll], got[coll])
		}
		for coll := range got {
			if len(got[coll]) == 0 {
				delete(got, coll)
			}
		}
		if diff := cmp.Diff(wn, got); diff != "" {
			problems = append(problems, fmt.Sprintf("%s differs from ground truth (-want +got):\n%s", c, diff))
		}
	}
	problems = append(problems, checkManifests(dir, "chaos")...)
	return problems
}

// checkManifests checks that each partition's manifest names exactly the
// part files of its shard in the folder, with their sizes and sha256, and
// that no staged file is left.
func checkManifests(dir, runID string) []string {
	var problems []string
	parts := map[string]map[string]bool{} // partition dir → part names
	manifests := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, err.Error())
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case strings.Contains(rel, "_staging"):
			problems = append(problems, "staged file left after a complete run: "+rel)
		case strings.HasSuffix(p, ".parquet"):
			if parts[filepath.Dir(p)] == nil {
				parts[filepath.Dir(p)] = map[string]bool{}
			}
			parts[filepath.Dir(p)][filepath.Base(p)] = true
		case strings.HasPrefix(filepath.Base(p), "_manifest-"):
			manifests[p] = true
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	named := map[string]map[string]bool{}
	for m := range manifests {
		b, err := os.ReadFile(m)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		var man sinks.Manifest
		if err := json.Unmarshal(b, &man); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", m, err))
			continue
		}
		d := filepath.Dir(m)
		if named[d] == nil {
			named[d] = map[string]bool{}
		}
		var rows int64
		for _, f := range man.Files {
			named[d][f.Name] = true
			rows += f.Rows
			data, err := os.ReadFile(filepath.Join(d, f.Name))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s names a missing file: %v", m, err))
				continue
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Bytes {
				problems = append(problems, fmt.Sprintf("%s: %s has another sha256 or size than its manifest says", m, f.Name))
			}
		}
		if rows != man.Rows {
			problems = append(problems, fmt.Sprintf("%s: rows %d, its files' rows add up to %d", m, man.Rows, rows))
		}
		if man.RunID != runID {
			problems = append(problems, fmt.Sprintf("%s: run id %q", m, man.RunID))
		}
	}
	var dirs []string
	for d := range parts {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		for name := range parts[d] {
			if !named[d][name] {
				rel, _ := filepath.Rel(dir, filepath.Join(d, name))
				problems = append(problems, "part no manifest names: "+rel)
			}
		}
	}
	return problems
}
