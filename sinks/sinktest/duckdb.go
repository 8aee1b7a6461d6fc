package sinktest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DuckDB runs the module's testdata/duckdb/query.js (DuckDB from npm,
// installed by `make duckdb`) with named queries, in name order on one
// connection, and returns their rows. Without node or the package it
// skips, except under CI (CI=true), where it fails.
func DuckDB(t testing.TB, queries map[string]string) map[string][]map[string]any {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "testdata", "duckdb")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("DuckDB check needs node and `npm ci` in testdata/duckdb: %v", err)
		}
		t.Skipf("DuckDB check skipped (run `make duckdb`): %v", err)
	}
	q, err := json.Marshal(queries) // keys sorted: the query order
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(dir, "query.js"), string(q))
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node query.js: %v\n%s", err, stderr.String())
	}
	var res map[string][]map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode DuckDB output: %v\n%s", err, out)
	}
	return res
}

// moduleRoot is the directory of the go.mod above the test's directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}
