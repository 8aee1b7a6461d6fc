package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"m365export/jobs"
)

func init() {
	register(command{name: "sanitize", summary: "sanitize one Graph response (stdin → stdout) exactly as an export would", run: runSanitize})
}

func runSanitize(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("m365export sanitize", flag.ContinueOnError)
	var o jobs.SanitizeOptions
	fs.StringVar(&o.Connector, "connector", "", "built-in rules of this connector: "+strings.Join(jobs.ConnectorNames(), ", "))
	fs.StringVar(&o.IDs, "ids", "pseudonymized", "Graph object ids in the output: pseudonymized (reversible p~), kept, hash-only (irreversible t~)")
	fs.BoolVar(&o.NoGroups, "no-groups", false, "leave out group endpoints (psoxy's no-groups)")
	fs.StringVar(&o.RulesFile, "rules", "", "psoxy-format rule file to use instead of the built-in rules")
	fs.StringVar(&o.Path, "path", "", "the request URL or path (with its query) that the response answers; selects the endpoint rule")
	fs.StringVar(&o.SaltURL, "salt-url", "", "runtimevar URL of the salt (file:///run/secrets/salt, gcpsecretmanager://…, awssecretsmanager://…); or set "+jobs.EnvSalt)
	fs.StringVar(&o.KeyURL, "key-url", "", "runtimevar URL of the key for reversible p~ ids; or set "+jobs.EnvKey)
	fs.StringVar(&o.EmailDomains, "email-domains", "preserve", "what email pseudonyms show after '@': preserve, redact, tokenize (h~), encrypt (e~)")
	fs.StringVar(&o.DomainSaltURL, "domain-salt-url", "", "runtimevar URL of a separate salt for h~ and e~ email domains (default: the salt); or set "+jobs.EnvDomainSalt)
	fs.StringVar(&o.DomainKeyURL, "domain-key-url", "", "runtimevar URL of a separate key for e~ email domains (default: the key); or set "+jobs.EnvDomainKey)
	usage := func(w io.Writer) {
		fmt.Fprintln(w, `Usage: m365export sanitize --connector NAME [--ids MODE] [--no-groups] [--rules FILE] --path URL < response.json

Reads one Microsoft Graph response on stdin and writes it to stdout sanitized
with psoxy-compatible rules, exactly as an export would. The path selects the
endpoint rule; a path no rule allows is refused (exit 2).`)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	// Flag errors go to stderr through the returned error, never to stdout.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return jobs.ErrHelp
		}
		return fmt.Errorf("%w: %w (see m365export sanitize --help)", jobs.ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", jobs.ErrUsage, fs.Arg(0))
	}
	return jobs.Sanitize(ctx, o, stdin, stdout)
}
