package main

import (
	"bytes"
	"errors"
	"fmt"
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
