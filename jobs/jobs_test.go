package jobs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"m365export/pipeline"
	"m365export/sinks"
	"m365export/sources"
	"m365export/sources/graphsim"
)

func TestClassify_KindCarriesExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"usage idiom", fmt.Errorf("%w: --dest: missing", ErrUsage), 2},
		{"source config", fmt.Errorf("outlook-mail: collection messages: %w", sources.ErrConfig), 2},
		{"sink config", fmt.Errorf("--dest: %w", sinks.ErrConfig), 2},
		{"partial", fmt.Errorf("outlook-mail: %w", pipeline.ErrPartial), 3},
		{"usage beats partial", errors.Join(pipeline.ErrPartial, sources.ErrConfig), 2},
		{"other", errors.New("connection reset"), 1},
	} {
		err := classify(tc.err)
		var ec interface{ ExitCode() int }
		if !errors.As(err, &ec) || ec.ExitCode() != tc.want {
			t.Errorf("%s: classify(%v) exits %v, want %d", tc.name, tc.err, ec, tc.want)
		}
		if got := exitOf(err); got != tc.want {
			t.Errorf("%s: errors.Is says exit %d, ExitCode %d", tc.name, got, tc.want)
		}
		if err.Error() != tc.err.Error() {
			t.Errorf("%s: classify changed the text: %q, want %q", tc.name, err, tc.err)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
	if errors.Is(ErrUsage, ErrPartial) || errors.Is(ErrPartial, ErrUsage) || !errors.Is(&Error{Kind: KindUsage, Err: errors.New("x")}, ErrUsage) {
		t.Error("the sentinels match by kind, and only their own")
	}
}

// stutter returns a phrase err's message repeats: a label (the first two
// words of a ": "-separated part) that starts two parts, or a key
// (a token with a "/") that appears twice; "" if none.
func stutter(msg string) string {
	labels := map[string]bool{}
	for _, part := range strings.Split(msg, ": ") {
		w := strings.Fields(part)
		if len(w) < 2 {
			continue
		}
		l := w[0] + " " + w[1]
		if labels[l] {
			return l
		}
		labels[l] = true
	}
	keys := map[string]bool{}
	for _, k := range regexp.MustCompile(`[\w.=-]+(/[\w.=-]+)+`).FindAllString(msg, -1) {
		if keys[k] {
			return k
		}
		keys[k] = true
	}
	return ""
}

func TestStutter(t *testing.T) {
	for msg, want := range map[string]string{
		"outlook-mail: collection messages: commit messages dt=1: commit messages dt=1: x":            "commit messages",
		`upload a/b/c.tmp: blob (key "a/b/c.tmp"): x`:                                                 "a/b/c.tmp",
		"outlook-mail: collection messages: commit messages dt=1: promote: blob (key \"a/b -> c/d\")": "",
	} {
		if got := stutter(msg); got != want {
			t.Errorf("stutter(%q) = %q, want %q", msg, got, want)
		}
	}
}

// TestRun_ErrorsDoNotStutter: each layer adds only what it was doing, so
// no fact appears twice in the message of a failed run (STYLE §6).
func TestRun_ErrorsDoNotStutter(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 4})
	args := append([]string{"--connector", "outlook-mail"}, faultWindow...)
	for _, op := range []string{"write", "copy", "read", "delete"} {
		t.Run("dest "+op, func(t *testing.T) {
			var failed sync.Map
			dest := newFaultyBucket(t, "stutter-dest-"+op, t.TempDir(), func(o, key string) bool {
				if o == op && !strings.Contains(key, "/_runs/") {
					failed.Store(key, true)
					return true
				}
				return false
			})
			_, err := exportFaulty(t, sim, dest, "mem://", args...)
			if err == nil {
				t.Fatal("the run did not fail")
			}
			if s := stutter(err.Error()); s != "" {
				t.Errorf("the message repeats %q: %v", s, err)
			}
		})
	}
	t.Run("state write", func(t *testing.T) {
		state := newFaultyBucket(t, "stutter-state", t.TempDir(), func(o, _ string) bool { return o == "write" })
		_, err := exportFaulty(t, sim, fileURL(t.TempDir()), state, args...)
		if err == nil {
			t.Fatal("the run did not fail")
		}
		if s := stutter(err.Error()); s != "" {
			t.Errorf("the message repeats %q: %v", s, err)
		}
	})
	t.Run("no consent", func(t *testing.T) {
		sim.SetConsent(false)
		defer sim.SetConsent(true)
		_, err := exportFaulty(t, sim, "mem://", "mem://", args...)
		if exitOf(err) != 2 {
			t.Fatalf("exit %d (%v), want 2", exitOf(err), err)
		}
		if s := stutter(err.Error()); s != "" {
			t.Errorf("the message repeats %q: %v", s, err)
		}
	})
}
