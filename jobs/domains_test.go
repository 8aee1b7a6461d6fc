package jobs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"m365export/rules"
)

func TestConfig_EmailDomains(t *testing.T) {
	cfg, err := LoadConfig(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmailDomains != "preserve" {
		t.Errorf("default --email-domains %q, want preserve", cfg.EmailDomains)
	}
	file := filepath.Join(t.TempDir(), "job.yaml")
	writeFile(t, file, []byte("email_domains: redact\ndomain_salt_url: file:///ds\ndomain_key_url: file:///dk\n"))
	if cfg, err = LoadConfig([]string{"--config", file}, envOf(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.EmailDomains != "redact" || cfg.DomainSaltURL != "file:///ds" || cfg.DomainKeyURL != "file:///dk" {
		t.Errorf("from YAML: %q %q %q", cfg.EmailDomains, cfg.DomainSaltURL, cfg.DomainKeyURL)
	}
	env := envOf(map[string]string{"M365EXPORT_EMAIL_DOMAINS": "encrypt"})
	if cfg, err = LoadConfig([]string{"--config", file}, env, io.Discard); err != nil || cfg.EmailDomains != "encrypt" {
		t.Errorf("from the environment: %q, %v", cfg.EmailDomains, err)
	}
	if cfg, err = LoadConfig([]string{"--config", file, "--email-domains", "tokenize"}, env, io.Discard); err != nil || cfg.EmailDomains != "tokenize" {
		t.Errorf("from the flag: %q, %v", cfg.EmailDomains, err)
	}
	cfg.EmailDomains = "hash"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `--email-domains "hash"`) {
		t.Errorf("Validate: %v, want an --email-domains problem", err)
	}
}

func TestLoadDomainSecrets(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dsalt")
	if err := os.WriteFile(p, []byte("d0main-salt"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := rules.Secrets{Salt: "s", Key: "k"}
	if err := LoadDomainSecrets(t.Context(), &s, "file://"+p, "", secretEnv(map[string]string{EnvDomainKey: "d0main-key"})); err != nil {
		t.Fatal(err)
	}
	if s != (rules.Secrets{Salt: "s", Key: "k", DomainSalt: "d0main-salt", DomainKey: "d0main-key"}) {
		t.Errorf("got %+v", s)
	}
	// Absent: nothing set (the rules fall back to the main salt and key).
	s = rules.Secrets{Salt: "s"}
	if err := LoadDomainSecrets(t.Context(), &s, "", "", nil); err != nil || s.DomainSalt != "" || s.DomainKey != "" {
		t.Errorf("absent: %+v, %v", s, err)
	}
	for _, tc := range []struct {
		salt, key string
		env       map[string]string
		want      string
	}{
		{salt: "file://" + p, env: map[string]string{EnvDomainSalt: "x"}, want: "both by --domain-salt-url and by M365EXPORT_DOMAIN_SALT"},
		{env: map[string]string{EnvDomainKey: "d0main-key\n"}, want: "email domain key from M365EXPORT_DOMAIN_ENCRYPTION_KEY has leading"},
		{key: "not-a-url", want: "not a runtimevar URL"},
	} {
		err := LoadDomainSecrets(t.Context(), &rules.Secrets{Salt: "s"}, tc.salt, tc.key, secretEnv(tc.env))
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want a usage error with %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "d0main") {
			t.Errorf("error %q echoes a secret", err)
		}
	}
}

func TestLoadRules_EmailDomains(t *testing.T) {
	s := rules.Secrets{Salt: "s", Key: "k"}
	hashes := map[string]string{}
	for _, mode := range []string{"", "preserve", "redact", "tokenize", "encrypt"} {
		rs, err := LoadRules("entra-id", "hash-only", false, "", mode, s)
		if err != nil {
			t.Fatalf("%q: %v", mode, err)
		}
		hashes[mode] = rs.Hash()
	}
	if hashes[""] != hashes["preserve"] {
		t.Error("the default is not preserve")
	}
	if len(map[string]bool{hashes["preserve"]: true, hashes["redact"]: true, hashes["tokenize"]: true, hashes["encrypt"]: true}) != 4 {
		t.Errorf("email domain handling is not part of the rules hash: %v", hashes)
	}
	if _, err := LoadRules("entra-id", "hash-only", false, "", "encrypt", rules.Secrets{Salt: "s"}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--domain-key-url") {
		t.Errorf("encrypt without a key: %v, want a usage error naming --domain-key-url", err)
	}
	if _, err := LoadRules("entra-id", "hash-only", false, "", "encrypt", rules.Secrets{Salt: "s", DomainKey: "dk"}); err != nil {
		t.Errorf("encrypt with only a domain key: %v", err)
	}
	if _, err := LoadRules("entra-id", "hash-only", false, "", "hash", s); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown mode: %v, want a usage error", err)
	}
}
