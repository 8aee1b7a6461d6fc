package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"m365export/jobs"
)

// TestExitCode_IsTheErrorsOwn: the exit code is the outermost one an error
// carries; an error that carries none exits 1.
func TestExitCode_IsTheErrorsOwn(t *testing.T) {
	partial := &jobs.Error{Kind: jobs.KindPartial, Err: errors.New("some owners failed")}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"help", jobs.ErrHelp, exitOK},
		{"usage idiom", fmt.Errorf("%w: --dest: missing", jobs.ErrUsage), exitUsage},
		{"partial", fmt.Errorf("outlook-mail: %w", partial), exitPartial},
		{"partial stopped by a signal", &jobs.Error{Kind: jobs.KindFailed, Err: fmt.Errorf("stopped: %w", partial)}, exitFailed},
		{"unclassified", errors.New("connection reset"), exitFailed},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestReport_PrintsOnceWithoutTheKind(t *testing.T) {
	var b bytes.Buffer
	if code := report(&b, fmt.Errorf("%w: --dest: missing", jobs.ErrUsage)); code != exitUsage || b.String() != "m365export: --dest: missing\n" {
		t.Errorf("report = %d %q", code, b.String())
	}
	b.Reset()
	if code := report(&b, jobs.ErrHelp); code != exitOK || b.Len() != 0 {
		t.Errorf("report(ErrHelp) = %d %q, want 0 and nothing", code, b.String())
	}
}

// TestRun_Version: --version and the version command say the exporter's
// version, the VCS revision (or "unknown" when the build has none) and the
// Go version, and exit 0.
func TestRun_Version(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("run(%q) = %d, stderr %s", args, code, errOut.String())
		}
		got := out.String()
		if !strings.HasPrefix(got, "m365export "+jobs.Version+", revision ") || !strings.Contains(got, runtime.Version()) {
			t.Errorf("run(%q) printed %q", args, got)
		}
	}
}

// TestRun_RulesPrintsTheBuiltinFile: "m365export rules" prints the rule
// file an export compiles, which compiles as a --rules file; an unknown
// connector is a usage error.
func TestRun_RulesPrintsTheBuiltinFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"rules", "--connector", "outlook-cal", "--ids", "hash-only"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("rules = %d: %s", code, errOut.String())
	}
	want, src, err := jobs.BuiltinRules("outlook-cal", "hash-only", false)
	if err != nil || out.String() != string(src) || !strings.Contains(out.String(), "redactExceptPhrases") {
		t.Errorf("rules printed %d bytes, want the built-in file %s (%v)", out.Len(), want, err)
	}
	if code := run(t.Context(), []string{"rules", "--connector", "nope"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Errorf("rules --connector nope = %d, want 2", code)
	}
}
