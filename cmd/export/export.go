package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"m365export/jobs"
)

func init() {
	register(command{name: "export", summary: "run an export (the default command): m365export --connector NAME", run: runExport})
}

func runExport(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	cfg, err := jobs.LoadConfig(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	tty := isTerminal(stderr)
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat, tty)
	limit, from, err := jobs.ApplyMemoryLimit(cfg, os.Getenv)
	if err != nil {
		return fmt.Errorf("%w: %w", jobs.ErrUsage, err)
	}
	budget := jobs.MemoryBudget(limit)
	stopProfiles, err := startProfiles(ctx, os.Getenv)
	defer stopProfiles()
	if err != nil {
		return fmt.Errorf("%w: %w", jobs.ErrUsage, err)
	}
	log.Debug("memory limit", "mib", limit>>20, "from", from, "budget_mib", budget.Total()>>20)
	endpoint, stopDemo, err := startDemo(cfg, log)
	if err != nil {
		return err
	}
	defer stopDemo()
	o := jobs.RunOptions{Env: os.Getenv, Logger: log, Out: stdout, Endpoint: endpoint, Budget: budget}
	if tty {
		o.Progress = func(p jobs.ProgressReport) { printProgress(stderr, p) }
	}
	finished := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchGrace(ctx, finished, cfg.GracePeriod, log)
	}()
	_, err = runJob(ctx, cfg, o)
	close(finished)
	<-watched
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, jobs.ErrUsage) {
		// Stopped by a signal: exit 1, not 3, as the run did not end (a
		// re-run of the window resumes).
		err = &jobs.Error{Kind: jobs.KindFailed, Err: fmt.Errorf("stopped by a signal before the export finished; nothing half-done was committed, and a re-run of the same window resumes: %w", err)}
	}
	if err == nil && cfg.Demo && !cfg.DryRun {
		fmt.Fprintf(stdout, `
The Parquet is under %s. Read it with DuckDB, e.g.:
  SELECT count(*), min(sentDateTime), max(sentDateTime)
  FROM read_parquet('out/outlook-mail/messages/*/*.parquet', hive_partitioning = true, union_by_name = true);
(DEMO salt and key were used: this output is for trying the tool only.)
`, strings.TrimSuffix(strings.TrimPrefix(cfg.Dest, "file://"), "?metadata=skip"))
	}
	return err
}

// runJob and exitNow are replaced in tests.
var (
	runJob  = jobs.Run
	exitNow = os.Exit
)

// watchGrace waits for ctx to be cancelled (a signal) or the export to
// finish. After a signal the export stops taking owners, abandons its
// unfinished partitions (their files stay staged, invisible) and returns;
// if it has not returned within grace, the process exits with code 1
// anyway (a commit cut short is repaired by the next run of the window).
func watchGrace(ctx context.Context, finished <-chan struct{}, grace time.Duration, log *slog.Logger) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	log.Warn("stop requested: abandoning unfinished partitions; committing nothing half-done", "grace_period", grace.String())
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		log.Error("the export did not stop within the grace period: exiting now", "grace_period", grace.String())
		exitNow(exitFailed)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger builds the process's only log handler: text on a terminal,
// JSON otherwise (what log collectors of schedulers expect).
func newLogger(w io.Writer, level, format string, tty bool) *slog.Logger {
	var lv slog.Level
	// LoadConfig accepts only debug, info, warn and error, which all parse;
	// anything else would leave the zero value, Info.
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" || (format == "" && tty) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func printProgress(w io.Writer, p jobs.ProgressReport) {
	secs := p.Elapsed.Seconds()
	rps := 0.0
	if secs > 0 {
		rps = float64(p.Requests) / secs
	}
	eta := "?"
	if p.OwnersDone > 0 && p.OwnersTotal > p.OwnersDone {
		left := time.Duration(float64(p.Elapsed) * float64(p.OwnersTotal-p.OwnersDone) / float64(p.OwnersDone))
		eta = left.Round(time.Second).String()
	} else if p.OwnersTotal > 0 && p.OwnersDone >= p.OwnersTotal {
		eta = "0s"
	}
	fmt.Fprintf(w, "\r\033[K%s: %d records, owners %d/%d, %.0f req/s, %d throttled, ETA %s",
		p.Connector, p.Records, p.OwnersDone, p.OwnersTotal, rps, p.Throttled, eta)
}
