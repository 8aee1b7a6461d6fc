package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parquet-go/parquet-go"

	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// scenario is one memory-budget benchmark (issue 15): an emulator process
// with these volumes, and exporter processes reading it with and without
// a memory limit.
type scenario struct {
	name, what string
	connector  string
	collection string // the table whose records are checked against the ground truth
	users      int
	days       int
	opts       graphsim.Options
}

// scenarios are issue 15's benchmarks. A shared mailbox is, to Graph and
// to the exporter, a user object with a mailbox: ten of them with 5,000
// messages a day are ten users sending that much.
var scenarios = []scenario{
	{name: "mail-100k-1d", what: "outlook-mail, 100k users × 1 day at 20 messages", connector: "outlook-mail", collection: "messages",
		users: 100000, days: 1, opts: graphsim.Options{MessagesPerUserDay: 20}},
	{name: "mail-200-30d", what: "outlook-mail, 200 users × 30 days at 500 messages", connector: "outlook-mail", collection: "messages",
		users: 200, days: 30, opts: graphsim.Options{MessagesPerUserDay: 500}},
	{name: "shared-10-30d", what: "outlook-mail, 10 shared mailboxes × 30 days at 5,000 messages", connector: "outlook-mail", collection: "messages",
		users: 10, days: 30, opts: graphsim.Options{MessagesPerUserDay: 5000}},
	{name: "cal-bodies", what: "outlook-cal, 100 users × 14 days, 64 KiB event bodies", connector: "outlook-cal", collection: "events",
		users: 100, days: 14, opts: graphsim.Options{EventBodyBytes: 64 << 10}},
}

// simArgs are the emulator flags of the scenario.
func (s *scenario) simArgs() []string {
	a := []string{"--users", strconv.Itoa(s.users), "--history-days", strconv.Itoa(s.days + 2)}
	if s.opts.MessagesPerUserDay > 0 {
		a = append(a, "--messages-per-user-day", strconv.FormatFloat(s.opts.MessagesPerUserDay, 'f', -1, 64))
	}
	if s.opts.EventBodyBytes > 0 {
		a = append(a, "--event-body-bytes", strconv.Itoa(s.opts.EventBodyBytes))
	}
	return a
}

// budgetRun is one exporter process's figures.
type budgetRun struct {
	rssMiB, seconds, cpuSeconds float64
	records                     int64 // as the exporter's summary reports them
	rows                        int64 // in the Parquet files written, read from their footers
	files                       int64 // Parquet files written
}

// runBudgetScenarios runs each named scenario with each memory limit
// (the first is the one held to the targets; "off" is the run without a
// limit that throughput is compared with) and checks the records written
// against the emulator's ground truth: both the exporter's summary and
// the rows of the Parquet files it wrote must equal it. A run that does
// not is reported in the table and in the returned error (mismatch),
// after the other runs: its figures are still kept.
func runBudgetScenarios(ctx context.Context, bin, tmp string, names, limits []string, res results) (rows []row, mismatch error, err error) {
	for _, name := range names {
		var sc *scenario
		for i := range scenarios {
			if scenarios[i].name == name {
				sc = &scenarios[i]
			}
		}
		if sc == nil {
			return nil, nil, fmt.Errorf("-scenario %q: want one of mail-100k-1d, mail-200-30d, shared-10-30d, cal-bodies", name)
		}
		key := strings.ReplaceAll(sc.name, "-", "_")
		runs := map[string]budgetRun{}
		for _, lim := range limits {
			r, err := budgetExport(ctx, bin, tmp, sc, lim)
			if err != nil {
				return nil, nil, err
			}
			runs[lim] = r
		}
		truth, err := groundTruthProcess(ctx, sc.name)
		if err != nil {
			return nil, nil, err
		}
		res["budget_"+key+"_truth_records"] = float64(truth)
		for _, lim := range limits {
			r := runs[lim]
			lk := key + "_" + strings.ToLower(lim)
			res["budget_"+lk+"_rss_mib"] = r.rssMiB
			res["budget_"+lk+"_seconds"] = r.seconds
			res["budget_"+lk+"_cpu_seconds"] = r.cpuSeconds
			res["budget_"+lk+"_records"] = float64(r.records)
			res["budget_"+lk+"_records_per_s"] = float64(r.records) / r.seconds
			res["budget_"+lk+"_parquet_rows"] = float64(r.rows)
			res["budget_"+lk+"_parquet_files"] = float64(r.files)
			exact := "= ground truth"
			if r.records != truth || r.rows != truth {
				exact = fmt.Sprintf("≠ ground truth %d (Parquet rows %d)", truth, r.rows)
				mismatch = errors.Join(mismatch, fmt.Errorf("%s, --memory-limit %s: %d records reported, %d rows in Parquet, ground truth %d", sc.name, lim, r.records, r.rows, truth))
			}
			target := ""
			if lim == limits[0] {
				target = "≤ 256 MiB, exact"
			}
			rows = append(rows, row{fmt.Sprintf("%s, --memory-limit %s", sc.what, lim),
				fmt.Sprintf("peak RSS %.0f MiB, %d records %s in %d files, %.0f s (%.0f CPU-s)", r.rssMiB, r.records, exact, r.files, r.seconds, r.cpuSeconds), target})
		}
		if l, u := runs[limits[0]], runs["off"]; len(limits) > 1 && u.seconds > 0 && l.seconds > 0 {
			ratio := (float64(l.records) / l.seconds) / (float64(u.records) / u.seconds)
			cpu := u.cpuSeconds / l.cpuSeconds
			res["budget_"+key+"_throughput_vs_off"] = ratio
			res["budget_"+key+"_cpu_efficiency_vs_off"] = cpu
			rows = append(rows, row{"  throughput with the limit ÷ without", fmt.Sprintf("%.2f wall-clock, %.2f by CPU time", ratio, cpu), "≥ 0.80"})
		}
	}
	return rows, mismatch, nil
}

// groundTruthProcess runs groundTruth in a child process (this program
// with -ground-truth NAME). Computing it here would grow this process by
// an emulator of the whole tenant, and every exporter started afterwards
// would report that peak as its own: Linux keeps the larger of the
// parent's peak RSS and the child's in the child's ru_maxrss across
// fork and execve (measured: 469 MiB reported for an exporter whose
// VmHWM was 238 MiB).
func groundTruthProcess(ctx context.Context, name string) (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("ground truth: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, "-ground-truth", name)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("ground truth of %s: %w", name, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ground truth of %s: %q: %w", name, out, err)
	}
	return n, nil
}

// printGroundTruth is -ground-truth NAME: it prints the scenario's
// ground truth.
func printGroundTruth(name string) error {
	for i := range scenarios {
		if scenarios[i].name == name {
			n, err := groundTruth(&scenarios[i])
			if err != nil {
				return err
			}
			fmt.Println(n)
			return nil
		}
	}
	return fmt.Errorf("-ground-truth %q: no such scenario", name)
}

// groundTruth counts the records of the scenario's collection that the
// emulator serves in the window, as the export must write them.
func groundTruth(sc *scenario) (int64, error) {
	o := sc.opts
	o.Users, o.Seed, o.HistoryDays = sc.users, 7, sc.days+2
	sim, err := graphsim.Start(o)
	if err != nil {
		return 0, fmt.Errorf("ground truth: %w", err)
	}
	defer sim.Close()
	ten := sim.Tenant()
	to := ten.Now().UTC().Truncate(24 * time.Hour)
	from := to.Add(-time.Duration(sc.days) * 24 * time.Hour)
	var n int64
	for _, owner := range simtruth.Owners(ten, sc.collection) {
		for _, raw := range simtruth.Truth(ten, sc.collection, owner, from, to) {
			if sc.collection != "events" {
				n++
				continue
			}
			// calendarView serves events overlapping the window; the
			// export keeps those that start in it.
			var e struct {
				Start struct {
					DateTime string `json:"dateTime"`
				} `json:"start"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return 0, fmt.Errorf("ground truth: %w", err)
			}
			t, err := time.Parse("2006-01-02T15:04:05.9999999", e.Start.DateTime)
			if err != nil {
				return 0, fmt.Errorf("ground truth: event start: %w", err)
			}
			if !t.Before(from) && t.Before(to) {
				n++
			}
		}
	}
	return n, nil
}

// budgetExport starts an emulator process for the scenario and exports
// its window with a separate exporter process under --memory-limit lim.
func budgetExport(ctx context.Context, bin, tmp string, sc *scenario, lim string) (budgetRun, error) {
	dir, err := os.MkdirTemp(tmp, sc.name+"-")
	if err != nil {
		return budgetRun{}, err
	}
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "ca.pem")
	args := append([]string{"graphsim", "--listen", "127.0.0.1:0", "--seed", "7", "--plain-graph", "--no-limits", "--ca-file", ca}, sc.simArgs()...)
	sim := exec.CommandContext(ctx, bin, args...)
	stdout, err := sim.StdoutPipe()
	if err != nil {
		return budgetRun{}, err
	}
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		return budgetRun{}, fmt.Errorf("start the emulator: %w", err)
	}
	defer func() {
		_ = sim.Process.Signal(os.Interrupt)
		_ = sim.Wait()
	}()
	info := map[string]string{}
	sc2 := bufio.NewScanner(stdout)
	for sc2.Scan() {
		k, v, _ := strings.Cut(sc2.Text(), "=")
		info[k] = v
		if k == "seed" {
			break
		}
	}
	if info["graph_url"] == "" {
		return budgetRun{}, errors.New("the emulator printed no graph_url")
	}
	go io.Copy(io.Discard, stdout)
	now, err := time.Parse(time.RFC3339, info["now"])
	if err != nil {
		return budgetRun{}, fmt.Errorf("emulator now=%q: %w", info["now"], err)
	}
	until := now.UTC().Truncate(24 * time.Hour)
	since := until.Add(-time.Duration(sc.days) * 24 * time.Hour)
	dest := filepath.Join(dir, "out")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return budgetRun{}, err
	}
	exp := exec.CommandContext(ctx, bin, "--connector", sc.connector,
		"--dest", "file://"+dest+"?metadata=skip", "--state", "mem://",
		"--graph-url", info["graph_url"], "--authority-host", info["authority_host"],
		"--tenant-id", info["tenant_id"], "--client-id", info["client_id"], "--auth", "secret", "--ca-file", ca,
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339),
		"--memory-limit", lim, "--log-format", "json", "--log-level", "warn")
	exp.Env = append(os.Environ(), "M365EXPORT_CLIENT_SECRET="+info["client_secret"],
		"M365EXPORT_SALT=benchreport-salt", "M365EXPORT_ENCRYPTION_KEY=benchreport-key")
	exp.Stderr = os.Stderr
	fmt.Fprintf(os.Stderr, "benchreport: %s, --memory-limit %s\n", sc.name, lim)
	start := time.Now()
	out, err := exp.Output()
	secs := time.Since(start).Seconds()
	if err != nil {
		return budgetRun{}, fmt.Errorf("export %s with --memory-limit %s: %w\n%s", sc.name, lim, err, out)
	}
	ru, ok := exp.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return budgetRun{}, errors.New("no rusage for the exporter process")
	}
	var recs int64
	if m := regexp.MustCompile(`(?m)^\s*` + sc.collection + `\s+(\d+) records`).FindSubmatch(out); m != nil {
		recs, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	rows, files, err := parquetRows(filepath.Join(dest, sc.connector, sc.collection))
	if err != nil {
		return budgetRun{}, fmt.Errorf("export %s with --memory-limit %s: %w", sc.name, lim, err)
	}
	return budgetRun{rssMiB: float64(ru.Maxrss) / 1024, seconds: secs, cpuSeconds: cpu, records: recs, rows: rows, files: files}, nil
}

// parquetRows counts the rows of the committed Parquet files under dir
// (the collection's dt= partitions), from their footers, and the files.
func parquetRows(dir string) (rows, files int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }() // read only: nothing to lose
		st, err := f.Stat()
		if err != nil {
			return err
		}
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		rows += pf.NumRows()
		files++
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count the Parquet rows written: %w", err)
	}
	return rows, files, nil
}
