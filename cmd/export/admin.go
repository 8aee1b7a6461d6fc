package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"m365export/jobs"
)

func init() {
	register(command{name: "scopes", summary: "print the Graph application permissions of connectors (one shared app)", run: runScopes})
	register(command{name: "rules", summary: "print a connector's built-in rule file (psoxy's format), to start a --rules file from", run: runRules})
	register(command{name: "consent", summary: "print the setup and admin-consent document for an administrator", run: runConsent})
}

// parseFlags parses a subcommand's flags; parse errors are usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return jobs.ErrHelp
		}
		return fmt.Errorf("%w: %w", jobs.ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", jobs.ErrUsage, fs.Arg(0))
	}
	return nil
}

func runScopes(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("m365export scopes", flag.ContinueOnError)
	connectors := fs.String("connector", "", "comma-separated connectors: "+strings.Join(jobs.ConnectorNames(), ", ")+", or all")
	var n jobs.Needs
	needsFlags(fs, &n)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: m365export scopes --connector a,b [--group-scope] [--no-groups]\n\nPrints the least-privileged Graph application permissions the connectors'\nruns need, for one Entra ID application shared by them: each collection's\nown API, listing its owners, and group memberships when users are scoped by\ngroup.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *connectors == "" {
		return fmt.Errorf("%w: --connector is required", jobs.ErrUsage)
	}
	return jobs.WriteScopes(stdout, strings.Split(*connectors, ","), n)
}

func runRules(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("m365export rules", flag.ContinueOnError)
	connector := fs.String("connector", "", "the connector: "+strings.Join(jobs.ConnectorNames(), ", "))
	ids := fs.String("ids", "pseudonymized", "pseudonymized, kept or hash-only (the export's --ids)")
	noGroups := fs.Bool("no-groups", false, "the variant without the group endpoints (the export's --no-groups)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: m365export rules --connector NAME [--ids …] [--no-groups]\n\nPrints the connector's built-in rule file in psoxy's YAML format, exactly as an\nexport with the same flags compiles it. Edit a copy and pass it with --rules\n(for example to keep other event-subject phrases).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *connector == "" {
		return fmt.Errorf("%w: --connector is required", jobs.ErrUsage)
	}
	_, src, err := jobs.BuiltinRules(*connector, *ids, *noGroups)
	if err != nil {
		return err
	}
	_, err = stdout.Write(src)
	return err
}

// needsFlags declares the flags that change which permissions runs need.
func needsFlags(fs *flag.FlagSet, n *jobs.Needs) {
	fs.BoolVar(&n.GroupScope, "group-scope", false, "the runs scope users by group (--include-group or --exclude-group): add the permission to read group memberships")
	fs.BoolVar(&n.NoGroups, "no-groups", false, "the runs leave out the group collections (--no-groups)")
}

func runConsent(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("m365export consent", flag.ContinueOnError)
	var o jobs.ConsentOptions
	connectors := fs.String("connector", "", "comma-separated connectors: "+strings.Join(jobs.ConnectorNames(), ", "))
	fs.StringVar(&o.TenantID, "tenant-id", "", "the tenant id")
	fs.StringVar(&o.ClientID, "client-id", "", "the application's Application (client) ID")
	fs.StringVar(&o.Cloud, "cloud", "global", "global, usgov-l4, usgov-l5 or china")
	needsFlags(fs, &o.Needs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: m365export consent --connector a,b --tenant-id T --client-id C\n\nPrints, as Markdown, the document an administrator follows: the application,\nits federated credentials, the permissions, the admin-consent URL and the\nleast-privileged roles for each step.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *connectors == "" {
		return fmt.Errorf("%w: --connector is required", jobs.ErrUsage)
	}
	o.Connectors = strings.Split(*connectors, ",")
	return jobs.WriteConsent(stdout, o)
}
