package jobs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sentItemsPath = "/v1.0/users/0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c/mailFolders/SentItems/messages?$top=10"

const sentItems = `{"value":[{"id":"m1","subject":"Secret plan","from":{"emailAddress":{"name":"Adele Vance","address":"adele@contoso.example"}}}]}`

func TestSanitize_WritesSanitizedResponse(t *testing.T) {
	var out bytes.Buffer
	env := secretEnv(map[string]string{EnvSalt: "salt", EnvKey: "secret"})
	err := Sanitize(t.Context(), SanitizeOptions{Connector: "outlook-mail", Path: sentItemsPath, Env: env}, strings.NewReader(sentItems), &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, gone := range []string{"Secret plan", "Adele", "adele@"} {
		if strings.Contains(got, gone) {
			t.Errorf("output %s still contains %q", got, gone)
		}
	}
	if !strings.Contains(got, `"address":"t~`) || !strings.HasSuffix(got, "}\n") {
		t.Errorf("output %q is not the sanitized page", got)
	}
}

func TestSanitize_UsageErrors(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.yaml")
	writeFile(t, badRules, []byte("endpoints:\n  - pathRegex: x\n    transforms:\n      - !<scramble>\n        jsonPaths: [\"$.a\"]\n"))
	full := secretEnv(map[string]string{EnvSalt: "salt", EnvKey: "secret"})
	for _, tc := range []struct {
		name  string
		opts  SanitizeOptions
		input string
		want  string
	}{
		{"disallowed path", SanitizeOptions{Connector: "outlook-mail", Path: "/v1.0/users/x/messages/y/attachments", Env: full}, sentItems, "not allowed"},
		{"disallowed query parameter", SanitizeOptions{Connector: "outlook-mail", Path: "/v1.0/users?$expand=manager", Env: full}, sentItems, `query parameter "$expand"`},
		{"malformed rules", SanitizeOptions{RulesFile: badRules, Path: "/x", Env: full}, sentItems, "bad.yaml:4: unknown transform \"scramble\""},
		{"missing salt", SanitizeOptions{Connector: "outlook-mail", Path: sentItemsPath, Env: secretEnv(nil)}, sentItems, "no pseudonymization salt"},
		{"missing key", SanitizeOptions{Connector: "outlook-mail", Path: sentItemsPath, Env: secretEnv(map[string]string{EnvSalt: "s"})}, sentItems, "need an encryption key"},
		{"not JSON", SanitizeOptions{Connector: "outlook-mail", Path: sentItemsPath, Env: full}, `{"value":[1,2,}`, "byte offset 14"},
		{"unknown connector", SanitizeOptions{Connector: "msft-nope", Path: sentItemsPath, Env: full}, sentItems, "no built-in rules"},
		{"bad ids", SanitizeOptions{Connector: "outlook-mail", IDs: "maybe", Path: sentItemsPath, Env: full}, sentItems, "unknown ids mode"},
		{"no path", SanitizeOptions{Connector: "outlook-mail", Env: full}, sentItems, "--path is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Sanitize(t.Context(), tc.opts, strings.NewReader(tc.input), &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sanitize error = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ErrUsage) {
				t.Errorf("error %v does not wrap ErrUsage", err)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q to stdout on error", out.String())
			}
		})
	}
}

func TestSanitize_HashOnlyNeedsNoKey(t *testing.T) {
	var out bytes.Buffer
	err := Sanitize(t.Context(), SanitizeOptions{Connector: "outlook-mail", IDs: "hash-only", Path: sentItemsPath, Env: secretEnv(map[string]string{EnvSalt: "s"})}, strings.NewReader(sentItems), &out)
	if err != nil || strings.Contains(out.String(), "p~") {
		t.Errorf("hash-only: %v, %s", err, out.String())
	}
}

// TestSanitize_ShowsWhatAnExportWrites: sanitize applies the table's
// allow-list after the rules, as an export does: a member no table names
// (including one in the form of an augment key, which psoxy's
// responseSchema keeps) is gone, even with a rule file that keeps it.
func TestSanitize_ShowsWhatAnExportWrites(t *testing.T) {
	page := `{"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups?$skiptoken=x","value":[{"id":"g1","visibility":"Private",` +
		`"+planted:textDigest":"planted-augment","extension_ab12_code":"planted-extension","owner":{"name":"planted-name"}}]}`
	rulesFile := filepath.Join(t.TempDir(), "keep-all.yaml")
	if err := os.WriteFile(rulesFile, []byte("endpoints:\n  - pathRegex: \"/v1\\\\.0/groups(\\\\?.*)?\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := secretEnv(map[string]string{EnvSalt: "salt", EnvKey: "secret"})
	for _, o := range []SanitizeOptions{
		{Connector: "entra-id", Path: "/v1.0/groups?$top=999", Env: env},
		{Connector: "entra-id", RulesFile: rulesFile, Path: "/v1.0/groups?$top=999", Env: env},
	} {
		var out bytes.Buffer
		if err := Sanitize(t.Context(), o, strings.NewReader(page), &out); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), `{"value":[{"id":"g1","visibility":"Private"}]}`+"\n"; got != want {
			t.Errorf("rules %q: got %s, want %s", o.RulesFile, got, want)
		}
	}
}
