package main

import (
	"context"
	"io"
	"os"

	"m365export/jobs"
)

func init() {
	register(command{name: "check", summary: "preflight: token, granted roles, one read per collection, with diagnoses", run: runCheck})
}

func runCheck(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	cfg, err := jobs.LoadConfig(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat, isTerminal(stderr))
	endpoint, stopDemo, err := startDemo(cfg, log)
	if err != nil {
		return err
	}
	defer stopDemo()
	return jobs.Check(ctx, cfg, jobs.RunOptions{Env: os.Getenv, Logger: log, Out: stdout, Endpoint: endpoint})
}
