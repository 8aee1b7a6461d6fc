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
	o := jobs.RunOptions{Env: os.Getenv, Logger: log, Out: stdout}
	if tty {
		o.Progress = func(p jobs.ProgressReport) { printProgress(stderr, p) }
	}
	_, err = jobs.Run(ctx, cfg, o)
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if errors.Is(err, jobs.ErrPartial) {
		return fmt.Errorf("%w: %w", errPartial, err)
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger builds the process's only log handler: text on a terminal,
// JSON otherwise (what log collectors of schedulers expect).
func newLogger(w io.Writer, level, format string, tty bool) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
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
