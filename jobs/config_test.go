package jobs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig_FlagOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "job.yaml")
	writeFile(t, file, []byte("connector: outlook-cal\ndest: file:///from-file\nconcurrency: 3\nlookback: 48h\ninclude_group: [g1, g2]\n"))
	env := envOf(map[string]string{"M365EXPORT_DEST": "file:///from-env", "M365EXPORT_CONCURRENCY": "5"})
	cfg, err := LoadConfig([]string{"--config", file, "--concurrency", "7", "--include-group", "g3"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Connector != "outlook-cal" || cfg.Dest != "file:///from-env" || cfg.Concurrency != 7 || cfg.Lookback != 48*time.Hour {
		t.Errorf("got connector %q dest %q concurrency %d lookback %v", cfg.Connector, cfg.Dest, cfg.Concurrency, cfg.Lookback)
	}
	if strings.Join(cfg.IncludeGroup, ",") != "g3" {
		t.Errorf("include groups %v, want the flag's [g3] replacing the file's", cfg.IncludeGroup)
	}
}

func TestLoadConfig_UnknownYAMLKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "job.yaml")
	writeFile(t, file, []byte("connector: outlook-mail\ndestination: s3://x\n"))
	_, err := LoadConfig([]string{"--config=" + file}, envOf(nil), io.Discard)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "destination") {
		t.Fatalf("err = %v, want a usage error naming the key", err)
	}
}

func TestLoadConfig_ShardFromSchedulers(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		args     []string
		shard, n int
		wantErr  string
	}{
		{env: map[string]string{"CLOUD_RUN_TASK_INDEX": "2", "CLOUD_RUN_TASK_COUNT": "4"}, shard: 2, n: 4},
		{env: map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "1", "AWS_BATCH_JOB_ARRAY_SIZE": "3"}, shard: 1, n: 3},
		{env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, args: []string{"--shards", "2"}, shard: 1, n: 2},
		{env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, wantErr: "without a shard count"},
		{args: []string{"--shard", "3", "--shards", "3"}, wantErr: "out of range"},
	} {
		args := append([]string{"--connector", "outlook-mail", "--dest", "mem://", "--tenant-id", "t", "--client-id", "c"}, tc.args...)
		cfg, err := LoadConfig(args, envOf(tc.env), io.Discard)
		if err == nil {
			err = cfg.Validate()
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUsage) {
				t.Errorf("%v %v: err = %v, want usage error %q", tc.env, tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if cfg.Shard != tc.shard || cfg.Shards != tc.n {
			t.Errorf("%v %v: shard %d/%d, want %d/%d", tc.env, tc.args, cfg.Shard, cfg.Shards, tc.shard, tc.n)
		}
	}
}

func TestValidate_ReportsAllProblems(t *testing.T) {
	cfg, err := LoadConfig([]string{"--connector", "outlook-mails", "--ids", "none", "--since", "yesterday"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{`unknown connector "outlook-mails"`, "--dest is required", "--ids", "--since", "--tenant-id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

// TestScopes_LeastPrivileged: each run asks for what its requests need,
// by the least-privileged permission each API page names.
func TestScopes_LeastPrivileged(t *testing.T) {
	for _, tc := range []struct {
		connectors []string
		needs      Needs
		want       string
	}{
		{[]string{"outlook-mail", "msft-copilot"}, Needs{}, "AiEnterpriseInteraction.Read.All,Mail.ReadBasic.All,MailboxSettings.Read,User.Read.All"},
		// A user scope by group reads memberships, whatever the connector.
		{[]string{"msft-copilot"}, Needs{GroupScope: true}, "AiEnterpriseInteraction.Read.All,GroupMember.Read.All,User.Read.All"},
		// The directory: no mailbox settings; members by GroupMember.Read.All.
		{[]string{"entra-id"}, Needs{}, "GroupMember.Read.All,User.Read.All"},
		{[]string{"entra-id"}, Needs{NoGroups: true}, "User.Read.All"},
		// Chat.Read.All includes Chat.ReadBasic.All: not both.
		// Online meetings are found through the organizers' calendars too
		// (Calendars.ReadBasic.All: events without body or attachments).
		{[]string{"msft-teams"}, Needs{}, "Calendars.ReadBasic.All,CallRecords.Read.All,Channel.ReadBasic.All,ChannelMessage.Read.All,Chat.Read.All,OnlineMeetingArtifact.Read.All,OnlineMeetings.Read.All,Team.ReadBasic.All,User.Read.All"},
		{[]string{"outlook-cal"}, Needs{}, "Calendars.Read,MailboxSettings.Read,User.Read.All"},
		// Calendars.Read includes Calendars.ReadBasic.All: not both.
		{[]string{"msft-teams", "outlook-cal"}, Needs{}, "Calendars.Read,CallRecords.Read.All,Channel.ReadBasic.All,ChannelMessage.Read.All,Chat.Read.All,MailboxSettings.Read,OnlineMeetingArtifact.Read.All,OnlineMeetings.Read.All,Team.ReadBasic.All,User.Read.All"},
	} {
		got, err := Scopes(tc.connectors, tc.needs)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("Scopes(%v, %+v) = %v, want %s", tc.connectors, tc.needs, got, tc.want)
		}
	}
}

// writeFile writes a test input (mode 0600) or fails the test.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
