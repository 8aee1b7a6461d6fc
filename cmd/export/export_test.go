package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun_BadInputExitsTwoAndWritesNothing: every bad invocation gets one
// clear message naming the problem, exit code 2, and leaves the
// destination empty.
func TestRun_BadInputExitsTwoAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	dest := "file://" + dir + "?metadata=skip"
	badYAML := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, badYAML, []byte("connector: [outlook-mail\n"))
	unknownKey := filepath.Join(t.TempDir(), "unknown.yaml")
	writeFile(t, unknownKey, []byte("connector: outlook-mail\nbucket: s3://x\n"))
	badRules := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, badRules, []byte("endpoints:\n  - pathRegex: '^/v1.0/users'\n    transforms:\n      - !<scramble>\n        jsonPaths: ['$..mail']\n"))
	malformedRules := filepath.Join(t.TempDir(), "malformed.yaml")
	writeFile(t, malformedRules, []byte("endpoints:\n  - pathRegex: [unclosed\n"))
	emptySalt := filepath.Join(t.TempDir(), "salt")
	writeFile(t, emptySalt, nil)
	t.Setenv("M365EXPORT_SALT", "")
	t.Setenv("M365EXPORT_ENCRYPTION_KEY", "")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no arguments", nil, nil, "Usage"},
		{"unknown connector", []string{"--demo", "--connector", "outlook-mails", "--dest", dest}, nil, `unknown connector "outlook-mails"`},
		{"unknown flag", []string{"--demo", "--connector", "outlook-mail", "--destination", dest}, nil, "flag provided but not defined: -destination"},
		{"bad bucket scheme", []string{"--demo", "--connector", "outlook-mail", "--dest", "ftp://bucket/x"}, nil, `scheme "ftp"`},
		{"missing bucket", []string{"--demo", "--connector", "outlook-mail", "--dest", "file:///nonexistent/m365export-test"}, nil, "--dest"},
		{"malformed YAML", []string{"--config", badYAML}, nil, "config file"},
		{"unknown YAML key", []string{"--config", unknownKey}, nil, "field bucket not found"},
		{"invalid window", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--since", "last week"}, nil, "--since"},
		{"empty window", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--since", "2026-11-26", "--until", "2026-11-24"}, nil, "--since 2026-11-26 is not before --until 2026-11-24"},
		{"malformed YAML rules", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--rules", malformedRules}, map[string]string{"M365EXPORT_SALT": "s", "M365EXPORT_ENCRYPTION_KEY": "k"}, "rules"},
		{"shard out of range", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--shard", "4", "--shards", "4"}, nil, "--shard 4 out of range"},
		{"index without count", []string{"--demo", "--connector", "outlook-mail", "--dest", dest}, map[string]string{"JOB_COMPLETION_INDEX": "1"}, "without a shard count"},
		{"missing salt", []string{"--connector", "outlook-mail", "--dest", dest, "--tenant-id", "t", "--client-id", "c", "--auth", "secret"}, nil, "salt"},
		{"salt with a newline", []string{"--demo", "--connector", "outlook-mail", "--dest", dest}, map[string]string{"M365EXPORT_SALT": "s\n", "M365EXPORT_ENCRYPTION_KEY": "k"}, "white space"},
		{"salt URL and value", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--salt-url", "file:///run/secrets/salt"}, map[string]string{"M365EXPORT_SALT": "s", "M365EXPORT_ENCRYPTION_KEY": "k"}, "both"},
		{"invalid rules", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--rules", badRules}, map[string]string{"M365EXPORT_SALT": "s", "M365EXPORT_ENCRYPTION_KEY": "k"}, "scramble"},
		{"empty salt file", []string{"--connector", "outlook-mail", "--dest", dest, "--tenant-id", "t", "--client-id", "c", "--auth", "secret", "--salt-url", "file://" + emptySalt, "--key-url", "file://" + emptySalt}, nil, "is empty"},
		{"missing salt file", []string{"--connector", "outlook-mail", "--dest", dest, "--tenant-id", "t", "--client-id", "c", "--auth", "secret", "--salt-url", "file:///nonexistent/m365export-salt", "--key-url", "file://" + emptySalt}, nil, "salt from file:///nonexistent/m365export-salt"},
		{"bad secret URL scheme", []string{"--connector", "outlook-mail", "--dest", dest, "--tenant-id", "t", "--client-id", "c", "--auth", "secret", "--salt-url", "ftp://vault/salt", "--key-url", "file://" + emptySalt}, nil, `"ftp"`},
		{"bad state URL", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--state", "ftp://bucket/state"}, nil, "--state"},
		{"negative grace period", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--grace-period", "-1s"}, nil, "--grace-period"},
		{"bad ids variant", []string{"--demo", "--connector", "outlook-mail", "--dest", dest, "--ids", "plain"}, nil, "--ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if strings.Contains(stderr.String(), "s\n,") || strings.Contains(stderr.String(), "M365EXPORT_SALT=s") {
				t.Errorf("stderr echoes the secret:\n%s", stderr.String())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("the destination holds %d entries after a refused run", len(entries))
			}
		})
	}
}

func TestRun_DemoExportsAndExitsZero(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--demo", "--demo-users", "6", "--connector", "outlook-mail", "--dest", "file://" + dir + "?metadata=skip", "--state", "mem://"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "DEMO MODE") {
		t.Errorf("demo mode is not announced on stderr:\n%s", stderr.String())
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "outlook-mail", "messages", "dt=*", "part-0-0.parquet"))
	if len(parts) == 0 {
		t.Errorf("no Parquet written; stdout:\n%s", stdout.String())
	}
}

func TestRun_HelpExplainsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"--connector", "--dest", "--salt-url", "M365EXPORT_FOO_BAR", "--shards", "Exit codes", "check", "scopes", "consent", "sanitize", "graphsim"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestRun_UnreachableGraphFailsAtOnce: a Graph root nobody answers on fails
// the run with exit 1 (a retry may help) and one message, before anything
// is written, instead of after minutes of retries.
func TestRun_UnreachableGraphFailsAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	if err := l.Close(); err != nil { // nothing listens there now
		t.Fatal(err)
	}
	dir := t.TempDir()
	salt := filepath.Join(t.TempDir(), "salt")
	writeFile(t, salt, []byte("unreachable-test-salt"))
	t.Setenv("M365EXPORT_SALT", "")
	t.Setenv("M365EXPORT_ENCRYPTION_KEY", "")
	t.Setenv("M365EXPORT_CLIENT_SECRET", "unreachable-test-secret")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--connector", "outlook-mail", "--dest", "file://" + dir + "?metadata=skip", "--state", "mem://",
		"--tenant-id", "t", "--client-id", "c", "--auth", "secret", "--salt-url", "file://" + salt, "--key-url", "file://" + salt,
		"--graph-url", closed, "--authority-host", closed + "/", "--log-level", "warn"}, nil, &stdout, &stderr)
	if code != exitFailed {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "cannot reach Microsoft Graph at "+closed) {
		t.Errorf("stderr is not one message naming the Graph root:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String()+stdout.String(), "unreachable-test-s") {
		t.Errorf("the output shows a secret:\n%s%s", stderr.String(), stdout.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the destination holds %d entries after a run that reached nothing", len(entries))
	}
}

// writeFile writes a test input (mode 0600) or fails the test.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
