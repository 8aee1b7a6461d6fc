package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"m365export/jobs"
	"m365export/sources/graphsim"
)

func init() {
	register(command{name: "graphsim", summary: "run the built-in Microsoft Graph emulator (synthetic tenant) until interrupted", run: runGraphsim})
}

func runGraphsim(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("m365export graphsim", flag.ContinueOnError)
	var o graphsim.Options
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "loopback address to listen on (TLS: identity and Graph)")
	fs.IntVar(&o.Users, "users", 50, "number of users in the synthetic tenant")
	fs.Int64Var(&o.Seed, "seed", 1, "tenant seed: the same seed gives the same tenant")
	now := fs.String("now", graphsim.DefaultNow.Format(time.RFC3339), "emulated clock (RFC 3339): data exists in the days before it")
	fs.IntVar(&o.HistoryDays, "history-days", 14, "days of data before --now")
	fs.Float64Var(&o.MessagesPerUserDay, "messages-per-user-day", 20, "mean SentItems messages per user per weekday")
	fs.IntVar(&o.EventBodyBytes, "event-body-bytes", 0, "pad each event's HTML body to about this many bytes (0: a one-line agenda)")
	fs.BoolVar(&o.PlainGraph, "plain-graph", false, "also serve Graph over plain HTTP on a second loopback port")
	fs.BoolVar(&o.Auth.Anonymous, "anonymous", false, "accept Graph requests without a token")
	fs.BoolVar(&o.Limits.Disabled, "no-limits", false, "disable throttling limits")
	fs.Float64Var(&o.Limits.TimeScale, "time-scale", 1, "multiply every limit's window (0.01: 10,000 per 10 minutes becomes 10,000 per 6 seconds)")
	fs.StringVar(&o.Limits.RetryAfter, "retry-after", "int", "Retry-After on 429: int, fraction or none")
	fs.Int64Var(&o.Faults.Seed, "fault-seed", 1, "seed of injected faults")
	fs.Float64Var(&o.Faults.ErrorRate, "error-rate", 0, "fraction of Graph requests answered 500/502/503/504")
	fs.Float64Var(&o.Faults.ResetRate, "reset-rate", 0, "fraction of Graph requests whose connection is reset")
	fs.Float64Var(&o.Faults.TruncateRate, "truncate-rate", 0, "fraction of Graph responses cut in half")
	fs.BoolVar(&o.Hostile, "hostile", false, "a hostile tenant: every object of every answer carries properties no rule names, with planted values marked "+graphsim.HostileMarker+" (for leak scans)")
	caFile := fs.String("ca-file", "", "where to write the CA certificate (default: a file in the temporary directory)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: m365export graphsim [--listen 127.0.0.1:8080] [--users N] [--seed S] [--now T]\n\nRuns a Microsoft Graph and identity platform emulator for a synthetic tenant on\nloopback and prints what a separate exporter process needs to reach it.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, *now)
	if err != nil {
		return fmt.Errorf("%w: --now: %w", jobs.ErrUsage, err)
	}
	o.Now = t
	switch o.Limits.RetryAfter {
	case "int", "fraction", "none":
	default:
		return fmt.Errorf("%w: --retry-after must be int, fraction or none", jobs.ErrUsage)
	}
	s, err := graphsim.Start(o)
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer s.Close()
	path := *caFile
	if path == "" {
		path = filepath.Join(os.TempDir(), "m365export-graphsim-ca.pem")
	}
	if err := os.WriteFile(path, s.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("write CA certificate: %w", err)
	}
	fmt.Fprintf(stdout, "graph_url=%s\nauthority_host=%s\ntenant_id=%s\nclient_id=%s\nclient_secret=%s\nca_cert=%s\nnow=%s\nusers=%d\nseed=%d\n",
		s.GraphURL(), s.AuthorityHost(), s.TenantID(), s.ClientID(), s.ClientSecret(), path,
		s.Tenant().Now().Format(time.RFC3339), o.Users, o.Seed)
	<-ctx.Done()
	return nil
}

// startDemo starts the built-in Graph emulator for --demo and describes it
// for jobs.Run and jobs.Check (which talk to it like to any Graph); stop
// shuts it down. Without --demo it starts nothing.
func startDemo(cfg *jobs.Config, log *slog.Logger) (_ *jobs.Endpoint, stop func(), _ error) {
	if !cfg.Demo {
		return nil, func() {}, nil
	}
	s, err := graphsim.Start(graphsim.Options{Users: cfg.DemoUsers, Logger: log.With("component", "graphsim")})
	if err != nil {
		return nil, nil, fmt.Errorf("start the Graph emulator: %w", err)
	}
	return simEndpoint(s), s.Close, nil
}

// simEndpoint describes a running emulator as the Graph service to read.
func simEndpoint(s *graphsim.Server) *jobs.Endpoint {
	return &jobs.Endpoint{
		GraphURL:      s.GraphURL(),
		AuthorityHost: s.AuthorityHost(),
		TenantID:      s.TenantID(),
		ClientID:      s.ClientID(),
		ClientSecret:  s.ClientSecret(),
		HTTPClient:    s.HTTPClient(),
		Now:           s.Tenant().Now(),
	}
}
