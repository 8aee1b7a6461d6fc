package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"m365export/jobs/connector"
	"m365export/rules"
)

// SanitizeOptions are the inputs of "m365export sanitize".
type SanitizeOptions struct {
	Connector string // built-in rules of this connector (required unless RulesFile is set)
	IDs       string // pseudonymized (default), kept, hash-only
	NoGroups  bool
	RulesFile string // a psoxy-format rule file instead of the built-in one
	Path      string // request URL or path with query; selects the endpoint rule
	SaltURL   string
	KeyURL    string
	// EmailDomains is preserve (default when empty), redact, tokenize or
	// encrypt; DomainSaltURL and DomainKeyURL are optional.
	EmailDomains  string
	DomainSaltURL string
	DomainKeyURL  string
	Env           func(string) string // nil: os.Getenv
	Logger        *slog.Logger        // nil: discard
}

// maxResponse bounds one response read from stdin.
const maxResponse = 1 << 30

// LoadRules compiles the rules a job uses: a rule file if given, else the
// connector's built-in rules for the variant, with the email domain handling
// ("" is preserve). Problems wrap ErrUsage.
func LoadRules(connectorName, ids string, noGroups bool, rulesFile, emailDomains string, s rules.Secrets) (*rules.Ruleset, error) {
	domains, err := rules.ParseDomainHandling(emailDomains)
	if err != nil {
		return nil, fmt.Errorf("%w: --email-domains: %w", ErrUsage, err)
	}
	var name string
	var src []byte
	if rulesFile != "" {
		name = rulesFile
		if src, err = os.ReadFile(rulesFile); err != nil {
			return nil, fmt.Errorf("%w: reading rules: %w", ErrUsage, err)
		}
	} else {
		if connectorName == "" {
			return nil, fmt.Errorf("%w: --connector or --rules is required", ErrUsage)
		}
		c, ok := connector.Lookup(connectorName)
		if !ok {
			return nil, fmt.Errorf("%w: no built-in rules for connector %q (have %s)", ErrUsage, connectorName, strings.Join(ConnectorNames(), ", "))
		}
		if name, src, err = c.RenderRules(rules.Variant{IDs: rules.IDs(ids), NoGroups: noGroups}); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	r, err := rules.Compile(name, src, s, rules.WithEmailDomains(domains))
	if errors.Is(err, rules.ErrNoKey) {
		return nil, fmt.Errorf("%w: --email-domains encrypt writes reversible e~ domains and needs an encryption key: set --domain-key-url or %s (or --key-url or %s)", ErrUsage, EnvDomainKey, EnvKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if r.NeedsKey() && s.Key == "" {
		return nil, fmt.Errorf("%w: rules %s write reversible p~ ids and need an encryption key: set --key-url or %s (or use --ids hash-only)", ErrUsage, name, EnvKey)
	}
	return r, nil
}

// Sanitize reads one Graph response from in, sanitizes it with the rules
// for opts.Path exactly as an export would (then, with a connector, by the
// allow-list of the tables that request reads: what an export writes of
// it), and writes it to out (compact
// JSON and a newline). On any error nothing is written. Errors that a
// retry cannot fix (flags, rules, secrets, a disallowed path, input that
// is not JSON) wrap ErrUsage.
func Sanitize(ctx context.Context, opts SanitizeOptions, in io.Reader, out io.Writer) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	env := opts.Env
	if env == nil {
		env = os.Getenv
	}
	if opts.Path == "" {
		return fmt.Errorf("%w: --path is required (the request URL or path the response answers)", ErrUsage)
	}
	if opts.RulesFile == "" && opts.Connector == "" {
		return fmt.Errorf("%w: --connector or --rules is required", ErrUsage)
	}
	if _, err := rules.ParseIDs(opts.IDs); err != nil {
		return fmt.Errorf("%w: --ids: %w", ErrUsage, err)
	}
	secrets, err := LoadSecrets(ctx, opts.SaltURL, opts.KeyURL, env)
	if err != nil {
		return err
	}
	if err := LoadDomainSecrets(ctx, &secrets, opts.DomainSaltURL, opts.DomainKeyURL, env); err != nil {
		return err
	}
	r, err := LoadRules(opts.Connector, opts.IDs, opts.NoGroups, opts.RulesFile, opts.EmailDomains, secrets)
	if err != nil {
		return err
	}
	if err := r.Check(opts.Path); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	body, err := io.ReadAll(io.LimitReader(in, maxResponse+1))
	if err != nil {
		return fmt.Errorf("reading response from stdin: %w", err)
	}
	if len(body) > maxResponse {
		return fmt.Errorf("%w: response on stdin is larger than %d bytes", ErrUsage, maxResponse)
	}
	clean, err := r.Sanitize(opts.Path, body)
	if err != nil {
		var se *rules.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: response on stdin is not JSON: %w", ErrUsage, err)
		}
		if errors.Is(err, rules.ErrNotAllowed) {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return fmt.Errorf("sanitizing response: %w", err)
	}
	// The tables' allow-list, as an export applies it after the rules.
	if shape := responseShape(r, opts.Path); opts.Connector != "" && shape != nil {
		// Sanitize joins several input values by '\n' (compact JSON has
		// no other newline): each is one response.
		docs := bytes.Split(clean, []byte("\n"))
		for i, d := range docs {
			if docs[i], err = shape.Filter(d); err != nil {
				return fmt.Errorf("sanitizing response: %w", err)
			}
		}
		clean = bytes.Join(docs, []byte("\n"))
	}
	log.Debug("sanitized response", "rules", r.Name(), "rules_hash", r.Hash(), "bytes_in", len(body), "bytes_out", len(clean))
	if _, err := out.Write(append(clean, '\n')); err != nil {
		return fmt.Errorf("writing sanitized response: %w", err)
	}
	return nil
}

// BuiltinRules renders a connector's built-in rule file for a variant, as
// an export compiles it: psoxy's format, a starting point for --rules.
func BuiltinRules(connectorName, ids string, noGroups bool) (name string, yamlSrc []byte, err error) {
	c, ok := connector.Lookup(connectorName)
	if !ok {
		return "", nil, fmt.Errorf("%w: unknown connector %q (have %s)", ErrUsage, connectorName, strings.Join(ConnectorNames(), ", "))
	}
	if _, err := rules.ParseIDs(ids); err != nil {
		return "", nil, fmt.Errorf("%w: --ids: %w", ErrUsage, err)
	}
	return c.RenderRules(rules.Variant{IDs: rules.IDs(ids), NoGroups: noGroups})
}
