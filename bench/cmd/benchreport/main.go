// Command benchreport runs the project's benchmarks of issue 7 side by side
// on this machine, prints one table and writes the same figures to a JSON
// file (bench/results.json by default):
//
//   - sanitize MB/s per connector (rules BenchmarkSanitize);
//   - Parquet records/s (jobs/tables BenchmarkParquet1M);
//   - the end-to-end outlook-mail export from the in-process emulator on
//     loopback without throttling (jobs BenchmarkExport_OutlookMail):
//     records/s, requests/s, and the emulator's share of the CPU from a CPU
//     profile (its goroutines carry a pprof label); the same export with
//     the emulator enforcing Graph's real limits (share of 429s);
//   - the same export written with Microsoft's Go SDK
//     (bench/sdkbaseline, its own module), same emulator, same sizes;
//   - throttle efficiency and share of 429s under Outlook limits scaled in
//     time (sources/graph BenchmarkGovernor_OutlookEfficiencyGraphsim);
//   - peak RSS of a separate exporter process (bin/m365export) exporting
//     one day of outlook-mail from a separate emulator process, for 10k and
//     100k users.
//
// Run it from the repository root: go run ./bench/cmd/benchreport.
// Nothing here asserts a target: the figures are reported against them.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	o := options{}
	flag.StringVar(&o.out, "out", "bench/results.json", "where to write the figures")
	flag.IntVar(&o.users, "users", 2000, "users of the end-to-end and SDK runs")
	flag.IntVar(&o.days, "days", 7, "days in the window of the end-to-end and SDK runs")
	flag.IntVar(&o.e2eRuns, "e2e-runs", 3, "end-to-end runs (benchtime)")
	flag.StringVar(&o.rssUsers, "rss-users", "10000,100000", "tenant sizes of the peak-RSS runs (comma-separated)")
	flag.StringVar(&o.only, "only", "", "run only these steps (comma-separated: sanitize,parquet,e2e,sdk,throttle,rss,budget)")
	flag.StringVar(&o.scenarios, "scenario", "mail-100k-1d,mail-200-30d,shared-10-30d,cal-bodies", "memory-budget scenarios of the budget step (comma-separated)")
	flag.StringVar(&o.limits, "limits", "192MiB,off", "--memory-limit of the budget step's exporter runs (the first is held to the targets; off is the run throughput is compared with)")
	flag.StringVar(&o.profile, "cpuprofile", "", "keep the end-to-end CPU profile here (default: a temporary file)")
	flag.StringVar(&o.exporter, "exporter", "", "the budget step runs this m365export binary instead of building ./cmd/export")
	truth := flag.String("ground-truth", "", "print the ground truth of this budget scenario and exit (run by the budget step in a child process)")
	flag.Parse()
	if *truth != "" {
		if err := printGroundTruth(*truth); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

type options struct {
	out, rssUsers, only, profile string
	scenarios, limits            string
	exporter                     string
	users, days, e2eRuns         int
}

// results are the figures by key, as results.json holds them.
type results map[string]float64

// row is one line of the printed table.
type row struct {
	name, value, target string
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository root (go run ./bench/cmd/benchreport)")
	}
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	want := func(step string) bool {
		return o.only == "" || strings.Contains(","+o.only+",", ","+step+",")
	}
	res := results{}
	var rows []row
	var mismatch error // budget runs whose records differ from the ground truth
	started := time.Now()

	if want("sanitize") {
		out, err := goTest(ctx, "./rules", "BenchmarkSanitize$", "1s")
		if err != nil {
			return err
		}
		for _, b := range parseBench(out) {
			conn := strings.TrimPrefix(b.name, "BenchmarkSanitize/")
			key := "sanitize_mb_per_s_" + strings.ReplaceAll(conn, "-", "_")
			res[key] = b.metrics["MB/s"]
			res["sanitize_records_per_s_"+strings.ReplaceAll(conn, "-", "_")] = b.metrics["records/s"]
			rows = append(rows, row{"sanitize " + conn, fmt.Sprintf("%.0f MB/s (%.0f records/s, one core)", b.metrics["MB/s"], b.metrics["records/s"]), ""})
		}
	}
	if want("parquet") {
		out, err := goTest(ctx, "./jobs/tables", "BenchmarkParquet1M$", "1x")
		if err != nil {
			return err
		}
		b, err := one(out, "BenchmarkParquet1M")
		if err != nil {
			return err
		}
		res["parquet_records_per_s"] = b.metrics["records/s"]
		res["parquet_cpu_us_per_record"] = b.metrics["cpu-µs/record"]
		rows = append(rows, row{"Parquet, 1M message records", fmt.Sprintf("%.0f records/s (%.1f CPU-µs/record)", b.metrics["records/s"], b.metrics["cpu-µs/record"]), ""})
	}
	if want("e2e") {
		prof := o.profile
		if prof == "" {
			prof = filepath.Join(tmp, "e2e.cpu")
		}
		bin := filepath.Join(tmp, "jobs.test")
		env := []string{"M365EXPORT_BENCH_USERS=" + strconv.Itoa(o.users), "M365EXPORT_BENCH_DAYS=" + strconv.Itoa(o.days)}
		out, err := goTestEnv(ctx, env, "./jobs", "BenchmarkExport_OutlookMail$", strconv.Itoa(o.e2eRuns)+"x",
			"-cpuprofile", prof, "-o", bin)
		if err != nil {
			return err
		}
		lim, err := goTestEnv(ctx, env, "./jobs", "BenchmarkExport_OutlookMailGraphLimits$", "1x")
		if err != nil {
			return err
		}
		b, err := one(out, "BenchmarkExport_OutlookMail")
		if err != nil {
			return err
		}
		res["e2e_records_per_s"] = b.metrics["records/s"]
		res["e2e_requests_per_s"] = b.metrics["requests/s"]
		res["e2e_cpu_cores"] = b.metrics["cpu-cores"]
		res["e2e_records_per_run"] = b.metrics["records/run"]
		res["e2e_cpu_us_per_record"] = b.metrics["cpu-µs/record"]
		bl, err := one(lim, "BenchmarkExport_OutlookMailGraphLimits")
		if err != nil {
			return err
		}
		res["e2e_graph_limits_records_per_s"] = bl.metrics["records/s"]
		res["e2e_graph_limits_429_share"] = bl.metrics["%429"] / 100
		share, err := labelShare(ctx, bin, prof, "graphsim")
		if err != nil {
			return err
		}
		res["emulator_cpu_share"] = share
		rows = append(rows,
			row{fmt.Sprintf("end to end, outlook-mail, %d users × %d days", o.users, o.days),
				fmt.Sprintf("%.0f records/s, %.0f requests/s, %.2f cores", b.metrics["records/s"], b.metrics["requests/s"], b.metrics["cpu-cores"]), "≥ 50,000 records/s"},
			row{"  CPU per message record (emulator included)", fmt.Sprintf("%.1f µs", b.metrics["cpu-µs/record"]), ""},
			row{"  emulator's share of the CPU", fmt.Sprintf("%.1f %%", share*100), ""},
			row{"  same, emulator enforcing Graph's limits", fmt.Sprintf("%.0f records/s, %.2f %% 429s", bl.metrics["records/s"], bl.metrics["%429"]), ""})
	}
	if want("sdk") {
		bin := filepath.Join(tmp, "sdkbaseline")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
		build.Dir = filepath.Join("bench", "sdkbaseline")
		build.Stderr = os.Stderr
		fmt.Fprintln(os.Stderr, "benchreport: building bench/sdkbaseline (msgraph-sdk-go; minutes when cold)")
		if err := build.Run(); err != nil {
			return fmt.Errorf("build bench/sdkbaseline: %w", err)
		}
		cmd := exec.CommandContext(ctx, bin, "-users", strconv.Itoa(o.users), "-days", strconv.Itoa(o.days))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("sdkbaseline: %w", err)
		}
		var r struct {
			Records     int64   `json:"records"`
			RecordsPerS float64 `json:"records_per_s"`
			ReqPerS     float64 `json:"requests_per_s"`
			CPUCores    float64 `json:"cpu_cores"`
			PeakRSS     float64 `json:"peak_rss_mib"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("sdkbaseline output %q: %w", out, err)
		}
		res["baseline_records_per_s"] = r.RecordsPerS
		res["baseline_requests_per_s"] = r.ReqPerS
		res["baseline_cpu_cores"] = r.CPUCores
		res["baseline_records"] = float64(r.Records)
		rows = append(rows, row{"SDK baseline (msgraph-sdk-go, one user at a time)",
			fmt.Sprintf("%.0f records/s, %.0f requests/s, %.2f cores", r.RecordsPerS, r.ReqPerS, r.CPUCores), ""})
		if e, ok := res["e2e_records_per_s"]; ok && r.RecordsPerS > 0 {
			res["e2e_vs_baseline"] = e / r.RecordsPerS
			rows = append(rows, row{"  end to end ÷ SDK baseline", fmt.Sprintf("%.1f×", e/r.RecordsPerS), "≥ 5×"})
		}
	}
	if want("throttle") {
		out, err := goTest(ctx, "./sources/graph", "BenchmarkGovernor_OutlookEfficiencyGraphsim$", "1x")
		if err != nil {
			return err
		}
		b, err := one(out, "BenchmarkGovernor_OutlookEfficiencyGraphsim")
		if err != nil {
			return err
		}
		res["throttle_efficiency"] = b.metrics["efficiency"]
		res["throttle_429_share"] = b.metrics["%429"] / 100
		rows = append(rows, row{"throttle, Outlook limits scaled ×100 in time",
			fmt.Sprintf("efficiency %.3f, %.2f %% 429s", b.metrics["efficiency"], b.metrics["%429"]), "≥ 0.95, ≤ 1 % 429s"})
	}
	if want("rss") {
		bin := filepath.Join(tmp, "m365export")
		if err := run1(ctx, "go", "build", "-o", bin, "./cmd/export"); err != nil {
			return fmt.Errorf("build m365export: %w", err)
		}
		for _, f := range strings.Split(o.rssUsers, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-rss-users: %w", err)
			}
			r, err := peakRSS(ctx, bin, n, tmp)
			if err != nil {
				return err
			}
			key := fmt.Sprintf("rss_%dk_mib", n/1000)
			res[key] = r.rssMiB
			res[fmt.Sprintf("rss_%dk_records", n/1000)] = float64(r.records)
			res[fmt.Sprintf("rss_%dk_seconds", n/1000)] = r.seconds
			rows = append(rows, row{fmt.Sprintf("peak RSS, exporter process, %d users, 1 day", n),
				fmt.Sprintf("%.0f MiB (%d records in %.0f s)", r.rssMiB, r.records, r.seconds), "≤ 256 MiB"})
		}
		if a, b := res["rss_10k_mib"], res["rss_100k_mib"]; a > 0 && b > 0 {
			res["rss_100k_vs_10k"] = b / a
			rows = append(rows, row{"  100k ÷ 10k", fmt.Sprintf("%.2f", b/a), "≤ 1.10"})
		}
	}
	if want("budget") {
		bin := o.exporter
		if bin == "" {
			bin = filepath.Join(tmp, "m365export")
			if err := run1(ctx, "go", "build", "-o", bin, "./cmd/export"); err != nil {
				return fmt.Errorf("build m365export: %w", err)
			}
		}
		r, m, err := runBudgetScenarios(ctx, bin, tmp, strings.Split(o.scenarios, ","), strings.Split(o.limits, ","), res)
		if err != nil {
			return err
		}
		rows, mismatch = append(rows, r...), m
	}
	res["bench_seconds"] = time.Since(started).Seconds()

	printTable(os.Stdout, rows)
	if err := writeResults(o.out, res); err != nil {
		return err
	}
	if mismatch != nil {
		return fmt.Errorf("records written differ from the emulator's ground truth:\n%w", mismatch)
	}
	return nil
}

func printTable(w io.Writer, rows []row) {
	wn, wv := 0, 0
	for _, r := range rows {
		wn, wv = max(wn, len([]rune(r.name))), max(wv, len([]rune(r.value)))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len([]rune(s)))) }
	fmt.Fprintf(w, "%s  %s  %s\n", pad("benchmark", wn), pad("measured", wv), "target")
	fmt.Fprintf(w, "%s  %s  %s\n", strings.Repeat("-", wn), strings.Repeat("-", wv), "------")
	for _, r := range rows {
		fmt.Fprintf(w, "%s  %s  %s\n", pad(r.name, wn), pad(r.value, wv), r.target)
	}
}

// writeResults writes res into path, keeping the figures of steps this
// run did not take (-only, -scenario) from the file as it was.
func writeResults(path string, res results) error {
	if b, err := os.ReadFile(path); err == nil {
		old := results{}
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		for k, v := range old {
			if _, ok := res[k]; !ok {
				res[k] = v
			}
		}
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range keys {
		v := formatFigure(res[k])
		fmt.Fprintf(&b, "  %q: %s", k, v)
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// formatFigure keeps four significant digits, and whole numbers from
// 1,000 up: enough for a benchmark, short to read.
func formatFigure(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func goTest(ctx context.Context, pkg, bench, benchtime string, extra ...string) (string, error) {
	return goTestEnv(ctx, nil, pkg, bench, benchtime, extra...)
}

// goTestEnv runs one benchmark alone (no tests) and returns its output.
func goTestEnv(ctx context.Context, env []string, pkg, bench, benchtime string, extra ...string) (string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", bench, "-benchtime", benchtime, "-count", "1", "-timeout", "20m"}, extra...)
	args = append(args, pkg)
	fmt.Fprintf(os.Stderr, "benchreport: go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test %s -bench %s: %w\n%s", pkg, bench, err, out)
	}
	return string(out), nil
}

func run1(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// benchLine is one parsed result line of go test -bench.
type benchLine struct {
	name    string
	metrics map[string]float64
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads go test's benchmark lines: name, iterations, then
// value-unit pairs.
func parseBench(out string) []benchLine {
	var lines []benchLine
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		b := benchLine{name: procSuffix.ReplaceAllString(f[0], ""), metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			b.metrics[f[i+1]] = v
		}
		lines = append(lines, b)
	}
	return lines
}

func one(out, name string) (benchLine, error) {
	for _, b := range parseBench(out) {
		if b.name == name {
			return b, nil
		}
	}
	return benchLine{}, fmt.Errorf("no result line for %s in:\n%s", name, out)
}

// tagLine matches go tool pprof -tags lines such as
// "            140ms ( 8.38%): graphsim".
var tagLine = regexp.MustCompile(`\(\s*([0-9.]+)%\):\s*(\S+)`)

// labelShare is the share of a CPU profile's samples whose goroutine
// carried component=value.
func labelShare(ctx context.Context, bin, prof, value string) (float64, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-tags", "-tagfocus", "component="+value, bin, prof).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pprof -tags: %w\n%s", err, out)
	}
	// With -tagfocus the percentages stay relative to every sample.
	in := false
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "component:") {
			in = true
			continue
		}
		if m := tagLine.FindStringSubmatch(l); in && m != nil && m[2] == value {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v / 100, nil
		}
	}
	return 0, fmt.Errorf("no component=%s samples in the profile:\n%s", value, out)
}

type rssRun struct {
	rssMiB  float64
	records int64
	seconds float64
}

// peakRSS starts an emulator process of n users, exports one day of
// outlook-mail from it with a separate exporter process, and returns the
// exporter's peak RSS (getrusage of the child).
func peakRSS(ctx context.Context, bin string, n int, tmp string) (rssRun, error) {
	ca := filepath.Join(tmp, fmt.Sprintf("ca-%d.pem", n))
	sim := exec.CommandContext(ctx, bin, "graphsim", "--listen", "127.0.0.1:0", "--users", strconv.Itoa(n),
		"--seed", "7", "--plain-graph", "--no-limits", "--ca-file", ca)
	stdout, err := sim.StdoutPipe()
	if err != nil {
		return rssRun{}, err
	}
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		return rssRun{}, fmt.Errorf("start the emulator: %w", err)
	}
	defer func() {
		_ = sim.Process.Signal(os.Interrupt)
		_ = sim.Wait()
	}()
	info := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		info[k] = v
		if k == "seed" {
			break
		}
	}
	if info["graph_url"] == "" {
		return rssRun{}, fmt.Errorf("the emulator printed no graph_url")
	}
	go io.Copy(io.Discard, stdout)
	now, err := time.Parse(time.RFC3339, info["now"])
	if err != nil {
		return rssRun{}, fmt.Errorf("emulator now=%q: %w", info["now"], err)
	}
	until := now.UTC().Truncate(24 * time.Hour)
	since := until.Add(-24 * time.Hour)
	dest := filepath.Join(tmp, fmt.Sprintf("out-%d", n))
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return rssRun{}, err
	}
	defer os.RemoveAll(dest)
	exp := exec.CommandContext(ctx, bin, "--connector", "outlook-mail",
		"--dest", "file://"+dest+"?metadata=skip", "--state", "mem://",
		"--graph-url", info["graph_url"], "--authority-host", info["authority_host"],
		"--tenant-id", info["tenant_id"], "--client-id", info["client_id"], "--auth", "secret", "--ca-file", ca,
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339),
		"--log-format", "json", "--log-level", "warn")
	exp.Env = append(os.Environ(), "M365EXPORT_CLIENT_SECRET="+info["client_secret"],
		"M365EXPORT_SALT=benchreport-salt", "M365EXPORT_ENCRYPTION_KEY=benchreport-key")
	exp.Stderr = os.Stderr
	start := time.Now()
	out, err := exp.Output()
	secs := time.Since(start).Seconds()
	if err != nil {
		return rssRun{}, fmt.Errorf("export of %d users: %w\n%s", n, err, out)
	}
	ru, ok := exp.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return rssRun{}, errors.New("no rusage for the exporter process")
	}
	var recs int64
	if m := regexp.MustCompile(`(?m)^\s*messages\s+(\d+) records`).FindSubmatch(out); m != nil {
		recs, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return rssRun{rssMiB: float64(ru.Maxrss) / 1024, records: recs, seconds: secs}, nil
}
