package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func secretEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	saltFile := write("salt", "s3cr3t-salt")
	keyFile := write("key", "k3y")
	newline := write("nl", "s3cr3t-salt\n")
	empty := write("empty", "")

	for _, tc := range []struct {
		name          string
		saltURL, kURL string
		env           map[string]string
		salt, key     string
		errWant       string
	}{
		{name: "file URLs", saltURL: saltFile, kURL: keyFile, salt: "s3cr3t-salt", key: "k3y"},
		{name: "environment", env: map[string]string{EnvSalt: "env-salt", EnvKey: "env-key"}, salt: "env-salt", key: "env-key"},
		{name: "no key is fine", env: map[string]string{EnvSalt: "env-salt"}, salt: "env-salt"},
		{name: "missing salt", errWant: "no pseudonymization salt"},
		{name: "empty salt file", saltURL: empty, errWant: "is empty"},
		{name: "salt in both places", saltURL: saltFile, env: map[string]string{EnvSalt: "x"}, errWant: "both by --salt-url and by M365EXPORT_SALT"},
		{name: "key in both places", kURL: keyFile, env: map[string]string{EnvSalt: "x", EnvKey: "y"}, errWant: "both by --key-url"},
		{name: "trailing newline", saltURL: newline, errWant: "leading or trailing white space"},
		{name: "leading space in env", env: map[string]string{EnvSalt: " pad"}, errWant: "leading or trailing white space"},
		{name: "key with newline", env: map[string]string{EnvSalt: "s", EnvKey: "k\n"}, errWant: "encryption key from M365EXPORT_ENCRYPTION_KEY has leading"},
		{name: "missing file", saltURL: "file://" + filepath.Join(dir, "nope"), errWant: "no such file"},
		{name: "not a URL", saltURL: "just-a-salt", errWant: "not a runtimevar URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSecrets(t.Context(), tc.saltURL, tc.kURL, secretEnv(tc.env))
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("LoadSecrets error = %v, want %q", err, tc.errWant)
				}
				if !errors.Is(err, ErrUsage) {
					t.Errorf("error %v does not wrap ErrUsage", err)
				}
				for _, secret := range []string{"s3cr3t", "pad", "env-salt"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q echoes a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Salt != tc.salt || s.Key != tc.key {
				t.Errorf("LoadSecrets = %q/%q, want %q/%q", s.Salt, s.Key, tc.salt, tc.key)
			}
		})
	}
}
