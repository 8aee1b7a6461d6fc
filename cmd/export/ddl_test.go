package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDDL_ExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring of what is printed on stdout
		stderr string // … and on stderr
	}{
		{[]string{"ddl", "--engine", "duckdb", "--dest", "s3://b/p?region=eu-west-1", "--connector", "entra-id"}, exitOK,
			`CREATE OR REPLACE VIEW "users" AS`, ""},
		{[]string{"ddl", "--engine", "athena", "--dest", "s3://b/p", "--connector", "outlook-mail"}, exitOK,
			"CREATE EXTERNAL TABLE `m365export`.`messages`", ""},
		{[]string{"ddl", "--engine", "bigquery", "--dest", "gs://b/p", "--dataset", "proj.m365"}, exitOK,
			"CREATE OR REPLACE EXTERNAL TABLE `proj.m365.copilot_interactions`", ""},
		{[]string{"ddl", "--engine", "athena", "--dest", "gs://b/p"}, exitUsage, "", "Athena reads only s3://"},
		{[]string{"ddl", "--engine", "bigquery", "--dest", "s3://b/p"}, exitUsage, "", "--bigquery-connection"},
		{[]string{"ddl", "--engine", "bigquery", "--dest", "s3://b/p", "--bigquery-connection", "p.aws-us-east-1.c"}, exitOK, "WITH CONNECTION", ""},
		{[]string{"ddl", "--dest", "s3://b/p"}, exitUsage, "", "--engine and --dest are required"},
		{[]string{"ddl", "--engine", "duckdb", "--dest", "s3://b/p", "--connector", "nope"}, exitUsage, "", `unknown connector "nope"`},
		{[]string{"ddl", "--engine", "duckdb", "--dest", "s3://b/p", "extra"}, exitUsage, "", "unexpected argument"},
		{[]string{"ddl", "--help"}, exitOK, "Usage: m365export ddl", ""},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tc.args, nil, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("run(%q) = %d, stdout %.200q, stderr %q; want %d, %q, %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
}
