package jobs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"gocloud.dev/blob"

	"m365export/internal/membudget"
	"m365export/jobs/connector"
	"m365export/pipeline"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sources"
	"m365export/sources/graph"
)

// Version is the exporter's version, written into manifests.
var Version = "0.1.0-dev"

// Demo secrets: used only with --demo, which says so loudly.
const (
	demoSalt = "m365export-demo-salt-NOT-FOR-REAL-DATA"
	demoKey  = "m365export-demo-key-NOT-FOR-REAL-DATA"
)

// RunOptions are what the command line hands to Run besides the config.
type RunOptions struct {
	Env    func(string) string
	Logger *slog.Logger
	// Out gets the plan (dry run) and the final summary.
	Out io.Writer
	// Progress, if set, is called about once a second with live counters.
	Progress func(ProgressReport)
	// Endpoint, if set, is the Graph service to read instead of Microsoft
	// Graph: with --demo, the built-in emulator, which the command (or a
	// test) starts; --demo without it is an error.
	Endpoint *Endpoint
	// Budget is the process's byte budget (MemoryBudget): pages in flight
	// and Parquet writers acquire from it. nil: unlimited.
	Budget *membudget.Budget

	// tuneGraph, if set, adjusts the Graph client's options (tests scale
	// down backoffs and timeouts).
	tuneGraph func(*graph.Options)
}

// ProgressReport is a live view of a running export.
type ProgressReport struct {
	Connector   string
	Collection  string
	Records     int64
	OwnersDone  int64
	OwnersTotal int64
	Requests    int64
	Throttled   int64
	Elapsed     time.Duration
}

// Run runs the export the configuration describes, connector after
// connector. Configuration problems wrap ErrUsage; a partial run wraps
// ErrPartial.
func Run(ctx context.Context, cfg *Config, o RunOptions) ([]*pipeline.Summary, error) {
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, o: o, log: o.Logger}
	defer r.close()
	sums, err := r.run(ctx)
	return sums, classify(err)
}

type runner struct {
	cfg     *Config
	o       RunOptions
	log     *slog.Logger
	secrets rules.Secrets
	client  *graph.Client
	creds   *graph.Credentials
	cloud   graph.Cloud
	scope   string // the token scope
	sink    *parquetsink.Sink
	dest    *blob.Bucket
	state   *blob.Bucket
	closers []func() error
}

// close closes the sink and buckets. Every file was committed (or
// aborted) before, so a failure here changes no output: it is logged.
func (r *runner) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil {
			r.log.Warn("closing an output", "err", err)
		}
	}
}

func (r *runner) run(ctx context.Context) ([]*pipeline.Summary, error) {
	cfg := r.cfg
	if cfg.Demo {
		if err := r.useDemo(); err != nil {
			return nil, err
		}
	}
	now, _ := cfg.now()
	if e := r.o.Endpoint; e != nil && !e.Now.IsZero() && cfg.Now == "" {
		now = e.Now
	}
	var err error
	if cfg.Demo && cfg.SaltURL == "" && cfg.KeyURL == "" && r.o.Env(EnvSalt) == "" {
		r.secrets = rules.Secrets{Salt: demoSalt, Key: demoKey}
		r.log.Warn("DEMO MODE: using the built-in DEMO salt and key; pseudonyms made with them protect nothing, never use them for real data")
	} else if r.secrets, err = LoadSecrets(ctx, cfg.SaltURL, cfg.KeyURL, r.o.Env); err != nil {
		return nil, err
	}
	if err := LoadDomainSecrets(ctx, &r.secrets, cfg.DomainSaltURL, cfg.DomainKeyURL, r.o.Env); err != nil {
		return nil, err
	}
	connectors, err := cfg.connectors()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	rulesets := map[string]*rules.Ruleset{}
	for _, c := range connectors {
		rs, err := LoadRules(c.Name, cfg.IDs, cfg.NoGroups, cfg.Rules, cfg.EmailDomains, r.secrets)
		if err != nil {
			return nil, err
		}
		rulesets[c.Name] = rs
	}
	if cfg.DryRun {
		for _, c := range connectors {
			r.printPlan(c, now)
		}
		return nil, nil
	}
	if err := r.openOutputs(ctx); err != nil {
		return nil, err
	}
	if err := r.openGraph(); err != nil {
		return nil, err
	}
	if err := r.client.Probe(ctx); err != nil {
		return nil, err
	}
	var sums []*pipeline.Summary
	var partial error
	for _, c := range connectors {
		s, err := r.runConnector(ctx, c, rulesets[c.Name], now)
		if s != nil {
			sums = append(sums, s)
		}
		if errors.Is(err, pipeline.ErrPartial) {
			partial = err
			continue
		}
		if err != nil {
			return sums, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return sums, partial
}

// useDemo points the job at the built-in Graph emulator, which the
// caller started and describes in RunOptions.Endpoint, and defaults the
// outputs to local directories.
func (r *runner) useDemo() error {
	cfg := r.cfg
	if r.o.Endpoint == nil {
		return errors.New("--demo: the Graph emulator is not running (RunOptions.Endpoint is nil)")
	}
	if cfg.Dest == "" {
		abs, err := filepath.Abs("out")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("demo output directory: %w", err)
		}
		cfg.Dest = "file://" + abs + "?metadata=skip"
	}
	if cfg.State == "" {
		abs, err := filepath.Abs(".m365export-state")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return fmt.Errorf("demo state directory: %w", err)
		}
		cfg.State = "file://" + abs + "?metadata=skip"
	}
	r.log.Warn("DEMO MODE: reading the built-in Graph emulator (a synthetic tenant), not Microsoft Graph",
		"users", cfg.DemoUsers, "dest", cfg.Dest)
	return nil
}

func (r *runner) openOutputs(ctx context.Context) error {
	cfg := r.cfg
	sink, err := parquetsink.Open(ctx, cfg.Dest, &parquetsink.Options{
		Logger:         r.log.With("component", "parquetsink"),
		TargetFileSize: int64(cfg.FileSizeMiB) << 20,
		Compat:         cfg.ParquetCompat,
		CreatedBy:      "m365export " + Version,
		Budget:         r.o.Budget,
	})
	if err != nil {
		return fmt.Errorf("--dest: %w", err)
	}
	r.sink = sink
	r.closers = append(r.closers, sink.Close)
	if r.dest, err = parquetsink.OpenBucket(ctx, cfg.Dest); err != nil {
		return fmt.Errorf("--dest: %w", err)
	}
	r.closers = append(r.closers, r.dest.Close)
	if cfg.State == "" {
		r.log.Warn("no --state: every run exports the --lookback window again and a crashed run cannot resume")
		return nil
	}
	if r.state, err = parquetsink.OpenBucket(ctx, cfg.State); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	r.closers = append(r.closers, r.state.Close)
	return nil
}

func (r *runner) openGraph() error {
	cfg := r.cfg
	cloud, err := graph.LookupCloud(cfg.Cloud)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	opts := &graph.Options{Cloud: cloud, GraphRoot: cfg.GraphURL, Logger: r.log.With("component", "graph")}
	creds := &graph.Credentials{TenantID: cfg.TenantID, ClientID: cfg.ClientID, AuthorityHost: cfg.AuthorityHost}
	var httpClient *http.Client
	if e := r.o.Endpoint; e != nil {
		opts.GraphRoot = e.GraphURL
		creds.TenantID, creds.ClientID, creds.ClientSecret = e.TenantID, e.ClientID, e.ClientSecret
		// Explicit ids still win, so that check's diagnoses can be tried
		// against the emulator.
		if cfg.TenantID != "" {
			creds.TenantID = cfg.TenantID
		}
		if cfg.ClientID != "" {
			creds.ClientID = cfg.ClientID
		}
		creds.AuthorityHost = e.AuthorityHost
		httpClient = e.HTTPClient
	} else {
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return fmt.Errorf("%w: --ca-file: %w", ErrUsage, err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%w: --ca-file %s holds no PEM certificate", ErrUsage, cfg.CAFile)
			}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig.RootCAs = pool
			tr.MaxIdleConnsPerHost = 256
			httpClient = &http.Client{Transport: tr}
		}
		switch cfg.Auth {
		case "secret":
			creds.ClientSecret = r.o.Env("M365EXPORT_CLIENT_SECRET")
			if creds.ClientSecret == "" {
				return fmt.Errorf("%w: --auth secret needs M365EXPORT_CLIENT_SECRET", ErrUsage)
			}
		case "certificate":
			if creds.Certificate, err = os.ReadFile(cfg.Certificate); err != nil {
				return fmt.Errorf("%w: --certificate: %w", ErrUsage, err)
			}
			creds.CertificatePassword = []byte(r.o.Env("M365EXPORT_CERTIFICATE_PASSWORD"))
		case "federated-gcp":
			creds.Assertion = graph.GCPMetadataAssertion(nil)
		case "federated-file":
			path := cfg.TokenFile
			if path == "" {
				path = r.o.Env("AZURE_FEDERATED_TOKEN_FILE")
			}
			if path == "" {
				return fmt.Errorf("%w: --auth federated-file needs --token-file or AZURE_FEDERATED_TOKEN_FILE", ErrUsage)
			}
			creds.Assertion = graph.FileAssertion(path)
		case "federated-aws":
			awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.AWSRegion))
			if err != nil {
				return fmt.Errorf("AWS configuration: %w", err)
			}
			a, err := graph.CognitoAssertion(graph.CognitoOptions{Config: awsCfg, IdentityPoolID: cfg.AWSIdentityPool,
				DeveloperProvider: cfg.AWSDeveloperProvider, Login: cfg.ClientID})
			if err != nil {
				return fmt.Errorf("%w: %w", ErrUsage, err)
			}
			creds.Assertion = a
		}
	}
	if httpClient != nil {
		opts.HTTPClient = httpClient
		creds.Transport = httpClient
	}
	opts.Credentials = creds
	opts.MaxBackoff = cfg.MaxBackoff
	if r.o.tuneGraph != nil {
		r.o.tuneGraph(opts)
	}
	r.creds, r.cloud = creds, cloud
	r.scope = cloud.TokenScope()
	if r.client, err = graph.New(opts); err != nil {
		return fmt.Errorf("graph client: %w", err)
	}
	return nil
}

// computeWindow decides the window: flags first, then the watermark, then
// the first-run lookback; whole UTC days unless the flags say otherwise.
// Config.Validate has checked that --since and --until parse.
func computeWindow(cfg *Config, now time.Time, st *state) pipeline.Window {
	day := 24 * time.Hour
	to := now.Add(-cfg.Lag).UTC().Truncate(day)
	if cfg.Until != "" {
		to, _ = parseTime(cfg.Until)
	}
	from := now.Add(-cfg.Lookback).UTC().Truncate(day)
	switch {
	case cfg.Since != "":
		from, _ = parseTime(cfg.Since)
	case st != nil && !st.Watermark.IsZero():
		from = st.Watermark
	}
	return pipeline.Window{From: from, To: to}
}

// runID is the run's id: --run-id, else the window's, followed for a run
// of some tables (tables, Config.tablesKey) by their names, so that its
// summary does not replace a full run's of the same window.
func (r *runner) runID(w pipeline.Window, tables string) string {
	if r.cfg.RunID != "" {
		return r.cfg.RunID
	}
	id := "w" + w.From.UTC().Format("20060102T150405") + "-" + w.To.UTC().Format("20060102T150405")
	if tables != "" {
		id += "-" + tables
	}
	return id
}

func (r *runner) runConnector(ctx context.Context, spec *connector.Connector, rs *rules.Ruleset, now time.Time) (*pipeline.Summary, error) {
	cfg := r.cfg
	connector := spec.Name
	log := r.log.With("connector", connector)
	var store *stateStore
	var st *state
	if r.state != nil {
		store = newStateStore(r.state, connector, cfg.tablesKey(spec), cfg.Shard, cfg.Shards)
		var err error
		if st, err = store.load(ctx); err != nil {
			return nil, err
		}
	}
	salt := rules.SaltFingerprint(r.secrets.Salt)
	if err := r.checkTablesSeries(ctx, spec, st, salt, rs.Hash()); err != nil {
		return nil, err
	}
	if st != nil && (st.SaltFingerprint != salt || st.RulesHash != rs.Hash()) {
		if !cfg.NewSeries {
			what := "salt"
			if st.SaltFingerprint == salt {
				what = "rules (or --email-domains, or the domain salt)"
			}
			return nil, fmt.Errorf("%w: the %s changed since the state at --state was written (pseudonyms would not join with earlier output); pass --new-series to start a new series", ErrUsage, what)
		}
		log.Warn("starting a new series: salt or rules changed", "state", store.key)
		st = nil
	}
	if st == nil {
		st = &state{Connector: connector, Shard: cfg.Shard, Shards: cfg.Shards}
	}
	st.SaltFingerprint, st.RulesHash = salt, rs.Hash()
	w := computeWindow(cfg, now, st)
	if !w.From.Before(w.To) {
		log.Info("nothing to export: the window is empty", "from", w.From, "to", w.To)
		fmt.Fprintf(r.o.Out, "%s: nothing to export; the last window ended %s\n", connector, w.From.Format(time.RFC3339))
		return nil, nil
	}
	runID := r.runID(w, cfg.tablesKey(spec))
	if st.Pending != nil && (st.Pending.RunID != runID || !st.Pending.From.Equal(w.From) || !st.Pending.To.Equal(w.To)) {
		st.Pending = nil // a different window: start it afresh
	}
	if st.Pending == nil {
		st.Pending = &pendingRun{ID: newPendingID(), RunID: runID, From: w.From, To: w.To}
	} else {
		log.Info("resuming an unfinished run", "run_id", runID, "committed", st.Pending.Committed)
	}
	log = log.With("run_id", runID)
	owners := newOwnerCache(r.client, cfg)
	owners.log = log
	var cols []pipeline.Collection
	if err := checkRetention(cfg.plan(spec), spec.Plan(cfg.NoGroups), w, now); err != nil {
		return nil, err
	}
	set := cfg.settings()
	for _, cs := range cfg.plan(spec) {
		first := cs.First
		gsrc := &graph.Collection{
			Client:    r.client,
			First:     func(owner string) string { return first(owner, w, set) },
			Owners:    owners.lister(&cs, w),
			SkipCodes: cs.SkipCodes, SkipStatuses: cs.SkipStatuses, Protected: cs.Protected,
			DeniedAdvice: cs.DeniedAdvice,
			PageBytes:    maxPageBytes(r.o.Budget),
			FirstIn:      firstIn(&cs, w, set),
		}
		var src sources.Source = gsrc
		if len(cs.Steps) > 0 || cs.Stamp != nil {
			src = &chainSource{Collection: gsrc, steps: cs.Steps, stamp: cs.Stamp}
		}
		cols = append(cols, pipeline.Collection{
			Name: cs.Name, Source: src, Sanitizer: newAllowListed(rs, &cs), OwnShard: ownShard(&cs),
			Table:     sinks.Table{Connector: connector, Collection: cs.Name, Shard: cfg.Shard, Schema: cs.Schema},
			TimeField: cs.TimeField, SenderField: cs.SenderField, DedupeKey: cs.DedupeKey,
			OwnerID: collectionOwnerID(rs, &cs, w),
		})
	}
	prog := &pipeline.Progress{}
	job := &pipeline.Job{
		Connector: connector, Collections: cols, Sink: r.sink,
		Committer: r.sink,
		Manifest:  sinks.Manifest{RulesHash: rs.Hash(), SaltFingerprint: salt, ExporterVersion: Version},
		Window:    w, SnapshotDay: now.UTC().Format("2006-01-02"), RunID: runID,
		Shard: cfg.Shard, Shards: cfg.Shards, Concurrency: cfg.Concurrency,
		OwnerID: ownerIDFunc(rs), Done: st.Pending.committed,
		Logger: log, Progress: prog, Budget: r.o.Budget, MaxOpenWriters: maxOpenWriters(r.o.Budget, r.sink.WriterCost()),
	}
	if store != nil {
		job.Checkpoints = newCheckpointStore(r.state, connector, cfg.tablesKey(spec), cfg.Shard, cfg.Shards, st.Pending.ID)
		job.CheckpointEvery = cfg.CheckpointEvery
		if err := store.save(ctx, st); err != nil {
			return nil, err
		}
		job.OnCommit = func(ctx context.Context, collection string) error {
			st.Pending.Committed = append(st.Pending.Committed, collection)
			return store.save(ctx, st)
		}
	}
	stop := r.watchProgress(connector, prog)
	log.Info("export started", "from", w.From, "to", w.To, "shard", cfg.Shard, "shards", cfg.Shards)
	sum, runErr := pipeline.Run(ctx, job)
	stop()
	// The summary and ledger are written also when the run was stopped (a
	// signal): they say what it had reached, within summaryTimeout (the
	// grace period is running). A run that was not stopped writes them
	// without that bound: a tenant's ledger can take longer on a busy
	// machine, and a finished export must not fail over it.
	var sctx context.Context
	var cancel context.CancelFunc
	if ctx.Err() != nil {
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
	} else {
		sctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	// A run that failed before any owner was listed (no token, say) has
	// nothing to account for: a failed start writes nothing.
	started := runErr == nil || reachedOwners(sum)
	if started {
		if err := r.writeSummary(sctx, sum); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr == nil || errors.Is(runErr, pipeline.ErrPartial) {
		if store != nil {
			st.Watermark, st.Pending = w.To, nil
			if err := store.save(ctx, st); err != nil {
				return sum, err
			}
		}
	}
	if started {
		r.printSummary(sum)
	}
	log.Info("export finished", "status", sum.Status, "records", sum.Records, "rejected", sum.Rejected)
	return sum, runErr
}

// reachedOwners reports whether a run got as far as listing owners.
func reachedOwners(s *pipeline.Summary) bool {
	if s == nil {
		return false
	}
	for _, c := range s.Collections {
		if c.Owners > 0 || c.Committed {
			return true
		}
	}
	return s.Ledger.Len() > 0
}

// summaryTimeout bounds writing the run summary of a stopped run.
const summaryTimeout = 10 * time.Second

func (r *runner) writeSummary(ctx context.Context, s *pipeline.Summary) error {
	if s == nil || r.dest == nil {
		return nil
	}
	key := fmt.Sprintf("%s/_runs/%s/shard-%d.json", s.Connector, s.RunID, s.Shard)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := r.dest.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("write run summary: %w", err)
	}
	if err := s.WriteJSON(w); err != nil {
		cancel()      // abort: no half-written summary
		_ = w.Close() // fails as cancelled, which is the point
		return fmt.Errorf("write run summary: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write run summary: %w", err)
	}
	return nil
}

func (r *runner) printSummary(s *pipeline.Summary) {
	if s == nil {
		return
	}
	fmt.Fprintf(r.o.Out, "%s: %s, %d records, window %s to %s, run %s (shard %d of %d)\n", s.Connector, s.Status, s.Records,
		s.WindowFrom.Format(time.RFC3339), s.WindowTo.Format(time.RFC3339), s.RunID, s.Shard, s.Shards)
	for _, c := range s.Collections {
		note := ""
		if c.Resumed {
			note = " (committed by an earlier attempt)"
		}
		if c.FromCheckpoint > 0 {
			note = fmt.Sprintf(" (%d owners from an earlier attempt's checkpoint)", c.FromCheckpoint)
		}
		if c.Rejected > 0 {
			note += fmt.Sprintf(" (%d records rejected: see rejected_reasons in the summary)", c.Rejected)
		}
		fmt.Fprintf(r.o.Out, "  %-22s %9d records  owners %d: %d ok, %d skipped, %d failed%s\n", c.Name, c.Records, c.Owners, c.OK, c.Skipped, c.Failed, note)
	}
}

func (r *runner) printPlan(c *connector.Connector, now time.Time) {
	cfg := r.cfg
	w := computeWindow(cfg, now, nil)
	fmt.Fprintf(r.o.Out, "connector %s: %s\n", c.Name, c.Doc)
	fmt.Fprintf(r.o.Out, "  window     %s to %s (without --since: from the watermark at --state, else this lookback)\n", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339))
	fmt.Fprintf(r.o.Out, "  run id     %s\n  shard      %d of %d\n  dest       %s\n  state      %s\n  ids        %s\n", r.runID(w, cfg.tablesKey(c)), cfg.Shard, cfg.Shards, cfg.Dest, cfg.State, cfg.IDs)
	fmt.Fprintf(r.o.Out, "  scopes     %s\n", strings.Join(c.Permissions(cfg.needs()), ", "))
	for _, cs := range cfg.plan(c) {
		fmt.Fprintf(r.o.Out, "  %-20s per %-6s %-36s %s\n", cs.Name, cs.Owners, cs.Incremental, cs.First("{id}", w, cfg.settings()))
	}
}

func (r *runner) watchProgress(connector string, p *pipeline.Progress) func() {
	if r.o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	report := func() {
		st := r.client.Stats()
		r.o.Progress(ProgressReport{Connector: connector, Records: p.Records.Load(), OwnersDone: p.OwnersDone.Load(),
			OwnersTotal: p.OwnersTotal.Load(), Requests: st.Requests, Throttled: st.Throttled, Elapsed: time.Since(start)})
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				report()
				return
			case <-t.C:
				report()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// checkRetention refuses a window that starts before what Graph keeps of a
// collection of plan (what the run exports): those days would be
// committed empty, as if complete. The error names the window's other
// tables of all (the connector's plan) that Graph still has, for --tables.
func checkRetention(plan, all []connector.Collection, w pipeline.Window, now time.Time) error {
	for _, cs := range plan {
		if cs.Retention <= 0 {
			continue
		}
		if oldest := now.Add(-cs.Retention); w.From.Before(oldest) {
			return fmt.Errorf("%w: %s: Graph keeps %s for %d days, and the window starts %s, before %s: export a window that starts on or after %s (--since)%s",
				ErrUsage, cs.Name, cs.Name, int(cs.Retention.Hours()/24), w.From.Format(time.DateOnly), oldest.Format(time.DateOnly),
				oldest.UTC().Truncate(24*time.Hour).Add(24*time.Hour).Format(time.DateOnly), retainedAdvice(all, w, now))
		}
	}
	return nil
}
