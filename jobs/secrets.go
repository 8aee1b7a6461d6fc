package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"gocloud.dev/runtimevar"
	// Drivers for the secret URLs --salt-url and --key-url accept.
	_ "gocloud.dev/runtimevar/awsparamstore"
	_ "gocloud.dev/runtimevar/awssecretsmanager"
	_ "gocloud.dev/runtimevar/filevar"
	_ "gocloud.dev/runtimevar/gcpsecretmanager"

	"m365export/rules"
)

// Environment variables holding the secrets themselves (rather than a URL).
const (
	EnvSalt = "M365EXPORT_SALT"
	EnvKey  = "M365EXPORT_ENCRYPTION_KEY"

	EnvDomainSalt = "M365EXPORT_DOMAIN_SALT"
	EnvDomainKey  = "M365EXPORT_DOMAIN_ENCRYPTION_KEY"
)

// secretTimeout bounds the wait for a secret store.
const secretTimeout = 30 * time.Second

// LoadSecrets reads the pseudonymization salt and the key for reversible
// p~ tokens, each from a gocloud runtimevar URL (file://, gcpsecretmanager://,
// awssecretsmanager://, awsparamstore://) or from its environment variable
// (M365EXPORT_SALT, M365EXPORT_ENCRYPTION_KEY), never both. The salt is
// required; the key may be absent (Compile'd rules say whether they need
// it). Secrets are used verbatim: one that is empty or has leading or
// trailing white space is refused. Errors never contain a secret and wrap
// ErrUsage.
func LoadSecrets(ctx context.Context, saltURL, keyURL string, env func(string) string) (rules.Secrets, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	salt, err := loadSecret(ctx, "salt", "--salt-url", saltURL, EnvSalt, env)
	if err != nil {
		return rules.Secrets{}, err
	}
	if salt == "" {
		return rules.Secrets{}, fmt.Errorf("%w: no pseudonymization salt: set --salt-url or %s (there is no default)", ErrUsage, EnvSalt)
	}
	key, err := loadSecret(ctx, "encryption key", "--key-url", keyURL, EnvKey, env)
	if err != nil {
		return rules.Secrets{}, err
	}
	return rules.Secrets{Salt: salt, Key: key}, nil
}

// LoadDomainSecrets adds to s the optional salt and key of email domains
// (psoxy's SALT_EMAIL_DOMAINS and ENCRYPTION_KEY_EMAIL_DOMAINS), each from a
// runtimevar URL or its environment variable (M365EXPORT_DOMAIN_SALT,
// M365EXPORT_DOMAIN_ENCRYPTION_KEY), as LoadSecrets reads the main ones.
// Either may be absent: the rules then use the main salt or key.
func LoadDomainSecrets(ctx context.Context, s *rules.Secrets, saltURL, keyURL string, env func(string) string) error {
	if env == nil {
		env = func(string) string { return "" }
	}
	salt, err := loadSecret(ctx, "email domain salt", "--domain-salt-url", saltURL, EnvDomainSalt, env)
	if err != nil {
		return err
	}
	key, err := loadSecret(ctx, "email domain key", "--domain-key-url", keyURL, EnvDomainKey, env)
	if err != nil {
		return err
	}
	s.DomainSalt, s.DomainKey = salt, key
	return nil
}

// loadSecret returns "" when neither the URL nor the variable is set.
func loadSecret(ctx context.Context, what, flagName, u, envName string, env func(string) string) (string, error) {
	fromEnv := env(envName)
	var v, source string
	switch {
	case u != "" && fromEnv != "":
		return "", fmt.Errorf("%w: the %s is set both by %s and by %s; use one", ErrUsage, what, flagName, envName)
	case u != "":
		s, err := readVar(ctx, u)
		if err != nil {
			return "", fmt.Errorf("%w: %s from %s: %w", ErrUsage, what, redactURL(u), err)
		}
		v, source = s, redactURL(u)
		if v == "" {
			return "", fmt.Errorf("%w: the %s from %s is empty", ErrUsage, what, source)
		}
	case fromEnv != "":
		v, source = fromEnv, envName
	default:
		return "", nil
	}
	if strings.TrimFunc(v, unicode.IsSpace) != v {
		return "", fmt.Errorf("%w: the %s from %s has leading or trailing white space (a stray newline in a secret file?); secrets are used verbatim, so remove it", ErrUsage, what, source)
	}
	return v, nil
}

// readVar reads a runtimevar URL once. Without a decoder parameter the
// value is read as raw bytes.
func readVar(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "", errors.New("not a runtimevar URL (file:///path, gcpsecretmanager://…, awssecretsmanager://…, awsparamstore://…)")
	}
	if u.Scheme == "file" {
		// filevar waits for a missing file to appear; fail fast instead.
		if _, err := os.Stat(u.Path); err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
	}
	q := u.Query()
	if q.Get("decoder") == "" {
		q.Set("decoder", "bytes")
		u.RawQuery = q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	v, err := runtimevar.OpenVariable(ctx, u.String())
	if err != nil {
		return "", err
	}
	snap, err := v.Latest(ctx)
	// Closing a read-only watcher: its error says nothing about the value.
	_ = v.Close()
	if err != nil {
		return "", err
	}
	switch x := snap.Value.(type) {
	case []byte:
		return string(x), nil
	case string:
		return x, nil
	}
	return "", fmt.Errorf("secret decoded as %T, want text (use decoder=string or bytes)", snap.Value)
}

// redactURL drops user info and query from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the secret URL"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
