package jobs

// No leaks: the emulator's users' personal identifiers (emails, names, UPNs,
// phone numbers, proxyAddresses, mail nicknames) and the run's secrets must
// appear nowhere in the clear: not in a Parquet value or _extra, a
// manifest, the run summary and ledger, the state, stdout, nor any log
// line at debug level.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"m365export/jobs/tables"
	"m365export/sinks/sinktest"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// personalNeedles lists the users' identifiers the emulator serves, by
// what they are. Given names and surnames alone are left out: two letters
// such as "Xu" occur inside any base64 pseudonym. Group addresses are not
// personal and are not listed.
func personalNeedles(t *testing.T, sim *graphsim.Server) map[string]string {
	t.Helper()
	sel := []string{"id", "displayName", "mail", "userPrincipalName", "businessPhones", "mobilePhone", "otherMails",
		"proxyAddresses", "imAddresses", "mailNickname"}
	out := map[string]string{}
	for _, raw := range simtruth.TruthSelect(sim.Tenant(), "users", "", time.Time{}, time.Time{}, sel) {
		var u map[string]any
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		for _, k := range sel[1:] {
			var vals []string
			switch v := u[k].(type) {
			case string:
				vals = []string{v}
			case []any:
				for _, x := range v {
					if s, ok := x.(string); ok {
						vals = append(vals, s)
					}
				}
			}
			for _, v := range vals {
				if i := strings.Index(v, ":"); k == "proxyAddresses" && i >= 0 {
					v = v[i+1:] // "SMTP:a@b" → "a@b"
				}
				if len(v) >= 6 {
					out[strings.ToLower(v)] = k
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no identifiers planted: the test proves nothing")
	}
	return out
}

func TestNoLeaks_AllConnectors(t *testing.T) {
	sim := startSim(t, 16)
	needles := personalNeedles(t, sim)
	kinds := map[string]bool{}
	for _, k := range needles {
		kinds[k] = true
	}
	for _, k := range []string{"displayName", "mail", "userPrincipalName", "businessPhones", "mobilePhone", "proxyAddresses"} {
		if !kinds[k] {
			t.Errorf("the tenant has no %s to plant", k)
		}
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	secret := sim.ClientSecret()
	env := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": secret})
	dir, state := t.TempDir(), t.TempDir()
	var logs, out syncBuffer
	args := []string{"--connector", strings.Join(ConnectorNames(), ","), "--dest", fileURL(dir), "--state", fileURL(state),
		"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--tenant-id", sim.TenantID(), "--client-id", sim.ClientID(),
		"--ca-file", ca, "--auth", "secret", "--now", sim.Tenant().Now().Format(time.RFC3339),
		"--since", "2026-11-24", "--until", "2026-11-26", "--concurrency", "4", "--log-level", "debug"}
	cfg, err := LoadConfig(args, env, &out)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := Run(t.Context(), cfg, RunOptions{Env: env, Logger: log, Out: &out}); err != nil {
		t.Fatalf("export: %v", err)
	}

	// A run that fails on its credentials: its error and logs must not
	// show the secret it was given either.
	wrong := "wrong-secret-" + strings.Repeat("x", 12)
	env2 := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": wrong})
	cfg2, _ := LoadConfig(append(args[:len(args):len(args)], "--dest", fileURL(t.TempDir()), "--state", "mem://"), env2, &out)
	_, err2 := Run(t.Context(), cfg2, RunOptions{Env: env2, Logger: log, Out: &out})
	if err2 == nil {
		t.Fatal("a wrong client secret was accepted")
	}

	texts := map[string]string{"log": logs.String(), "stdout": out.String(), "error": err2.Error()}
	if !strings.Contains(texts["log"], `"level":"DEBUG"`) && !strings.Contains(texts["log"], `"level":"INFO"`) {
		t.Errorf("the logger captured nothing below warn: the scan of logs proves little")
	}
	files := 0
	for _, root := range []string{dir, state} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files++
			if !strings.HasSuffix(p, ".parquet") {
				b, _ := os.ReadFile(p)
				texts[rel] = string(b)
				return nil
			}
			// Parquet is compressed: scan the decoded values, _extra included.
			parts := strings.Split(rel, string(filepath.Separator))
			schema := tables.Lookup(parts[0], parts[1])
			if schema == nil {
				t.Errorf("%s: no schema", rel)
				return nil
			}
			data, _ := os.ReadFile(p)
			rows, err := sinktest.ReadArrow(t.Context(), schema, data)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			b, _ := json.Marshal(rows)
			texts[rel] = string(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 20 {
		t.Fatalf("only %d files written: the scan proves little", files)
	}

	// The scan itself must find what is there: Graph's raw answers hold
	// every kind of identifier.
	var raw strings.Builder
	for _, c := range []string{"users", "messages"} {
		for _, o := range simtruth.Owners(sim.Tenant(), c) {
			for _, r := range simtruth.Truth(sim.Tenant(), c, o, time.Time{}, time.Time{}) {
				raw.Write(r)
			}
		}
	}
	control := map[string]bool{}
	for needle, kind := range needles {
		if strings.Contains(strings.ToLower(raw.String()), needle) {
			control[kind] = true
		}
	}
	if !control["mail"] || !control["displayName"] || !control["mobilePhone"] {
		t.Errorf("the scan does not find identifiers in Graph's raw answers (%v): it proves nothing", control)
	}

	found := map[string][]string{}
	for where, text := range texts {
		lower := strings.ToLower(text)
		for needle, kind := range needles {
			if strings.Contains(lower, needle) {
				found[where] = append(found[where], fmt.Sprintf("%s %q", kind, needle))
			}
		}
		for name, s := range map[string]string{"salt": testSalt, "key": testKey, "client secret": secret, "wrong client secret": wrong} {
			if strings.Contains(text, s) {
				found[where] = append(found[where], name)
			}
		}
		if where == "log" || where == "error" || where == "stdout" {
			// Logs name owners by pseudonym, never by Graph object id.
			for i := range sim.Tenant().Users() {
				if id := sim.Tenant().UserID(i); strings.Contains(lower, strings.ToLower(id)) {
					found[where] = append(found[where], "user id "+id)
				}
			}
			for _, tok := range []string{"Bearer ", "eyJ"} { // an access token or a JWT
				if strings.Contains(text, tok) {
					found[where] = append(found[where], "token "+tok)
				}
			}
		}
	}
	var wheres []string
	for w := range found {
		wheres = append(wheres, w)
	}
	sort.Strings(wheres)
	for _, w := range wheres {
		sort.Strings(found[w])
		t.Errorf("%s shows in the clear: %s", w, strings.Join(firstN(found[w], 8), ", "))
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
