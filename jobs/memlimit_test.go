package jobs

import (
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	none := func() int64 { return 0 }
	container := func() int64 { return 512 << 20 }
	for _, tc := range []struct {
		in     string
		cgroup func() int64
		want   int64
		bad    bool
	}{
		{"auto", none, 0, false},
		{"", none, 0, false},
		{"auto", container, 384 << 20, false},
		{"off", container, 0, false},
		{"512MiB", none, 512 << 20, false},
		{"1GiB", none, 1 << 30, false},
		{"300", none, 300 << 20, false},
		{"3", none, 0, true},
		{"lots", none, 0, true},
		{"-5MiB", none, 0, true},
	} {
		got, err := memoryLimit(tc.in, tc.cgroup)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "--memory-limit") {
				t.Errorf("memoryLimit(%q) = %d, %v; want an error naming the flag", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestConfig_BadMemoryLimitIsUsageError(t *testing.T) {
	cfg, err := LoadConfig([]string{"--connector", "outlook-mail", "--demo", "--memory-limit", "huge"}, envOf(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("Validate = %v, want an error naming --memory-limit", err)
	}
}
