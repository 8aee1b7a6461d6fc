package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"m365export/jobs"
	"m365export/jobs/setup"
	"m365export/sources/graph"
)

func init() {
	register(command{name: "setup", summary: "plan|apply|grant the Entra ID application as code (--emit terraform for the azuread provider)", run: runSetup})
}

const setupUsage = `Usage: m365export setup plan|apply|grant --connector a,b [flags]
       m365export setup --emit terraform --connector a,b [flags] > m365export.tf

Makes the Entra ID application the exporter runs as, from the connectors'
declaration, signed in as a person (not as the exporter):

  plan    what apply would change: the application, the Graph application
          permissions the connectors need (least-privileged, by name), the
          federated identity credentials named below, the caller as owner,
          the service principal; also what the application no longer needs
          (apply removes it) and the steps for a person (the Teams
          protected-API request; the Teams application access policy for
          online meetings; the Exchange Online mailbox scope with
          --mailbox-group).
  apply   makes those changes; a second apply changes nothing. Needs a
          Cloud Application Administrator (least privilege to create an
          application, psoxy's guide; Application Developer where users may
          not register applications); the caller becomes the application's
          owner, so the role can be removed afterwards, and an owner updates
          the application with no role at all.
  grant   the admin consent without the portal: assigns the permissions to
          the service principal (and revokes those no longer needed). Needs a
          Privileged Role Administrator (the least-privileged role that
          grants Microsoft Graph's application permissions); without it,
          prints the admin-consent URL and the consent document to send one.

A refusal (Graph's 403) names the role to ask for and exits 2.

Sign-in (--sign-in): az uses the Azure CLI's token (az login first), as
psoxy's Terraform does; device-code signs in through the Microsoft Azure CLI
public client application (` + setup.AzureCLIClientID + `): Microsoft
publishes it in every tenant, pre-authorized for Graph, so a person can sign
in before any application of ours exists.

--emit terraform writes the same objects as a configuration for the azuread
provider (` + setup.TerraformProvider + `) with import blocks for what already exists.
`

func runSetup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	verb := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("m365export setup", flag.ContinueOnError)
	var o setup.Options
	var si setup.SignIn
	connectors := fs.String("connector", "", "comma-separated connectors: "+strings.Join(jobs.ConnectorNames(), ", ")+", or all")
	fs.BoolVar(&o.PerConnector, "per-connector", false, "one application per connector (psoxy's default) instead of one for all")
	fs.StringVar(&o.DisplayName, "display-name", "", "the application's name (default m365export, or m365export-CONNECTOR)")
	fs.StringVar(&o.Adopt, "adopt", "", "manage an existing application: its Application (client) ID or Object ID")
	fs.StringVar(&o.MailboxGroup, "mailbox-group", "", "the group (mail address) Exchange Online limits mailbox access to: plan prints the steps; run the export with --include-group naming it")
	gcp := fs.String("gcp-service-account", "", "federated credential for GCP: the service account's numeric unique id")
	awsID := fs.String("aws-identity-id", "", "federated credential for AWS Cognito: the identity id (with --aws-pool-id)")
	awsPool := fs.String("aws-pool-id", "", "the Cognito identity pool id (the credential's audience)")
	oidcIss := fs.String("oidc-issuer", "", "federated credential for another OIDC issuer (Kubernetes): its issuer URL (with --oidc-subject)")
	oidcSub := fs.String("oidc-subject", "", "the subject, e.g. system:serviceaccount:NAMESPACE:NAME")
	oidcAud := fs.String("oidc-audience", "", "the audience (default api://AzureADTokenExchange)")
	emit := fs.String("emit", "", "terraform: write the configuration for the azuread provider instead of calling Graph's write endpoints")
	fs.StringVar(&si.Method, "sign-in", "az", "az (the Azure CLI's token), device-code (through the Azure CLI's public client, "+setup.AzureCLIClientID+"), or none (--emit terraform without reading the tenant: no import blocks)")
	fs.StringVar(&si.TenantID, "tenant-id", "", "the tenant id (default: the sign-in's)")
	cloudName := fs.String("cloud", "global", "global, usgov-l4, usgov-l5 or china")
	fs.StringVar(&si.GraphURL, "graph-url", "", "override the Graph root (testing)")
	fs.StringVar(&si.AuthorityHost, "authority-host", "", "override the login authority host (testing)")
	fs.StringVar(&si.CAFile, "ca-file", "", "extra CA certificate (PEM) to trust (testing)")
	needsFlags(fs, &o.Needs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), setupUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	switch {
	case verb == "" && *emit == "":
		fs.SetOutput(stderr)
		fs.Usage()
		return fmt.Errorf("%w: setup needs plan, apply or grant (or --emit terraform)", jobs.ErrUsage)
	case verb != "" && verb != "plan" && verb != "apply" && verb != "grant":
		return fmt.Errorf("%w: setup %q: want plan, apply or grant", jobs.ErrUsage, verb)
	case *emit != "" && *emit != "terraform":
		return fmt.Errorf("%w: --emit %q: want terraform", jobs.ErrUsage, *emit)
	case *emit != "" && verb != "" && verb != "plan":
		return fmt.Errorf("%w: --emit goes with plan (or alone), not %s", jobs.ErrUsage, verb)
	}
	if *connectors == "" {
		return fmt.Errorf("%w: --connector is required", jobs.ErrUsage)
	}
	o.Connectors = strings.Split(*connectors, ",")
	if *gcp != "" {
		o.Federated = append(o.Federated, setup.GCP(*gcp))
	}
	if (*awsID == "") != (*awsPool == "") {
		return fmt.Errorf("%w: --aws-identity-id and --aws-pool-id go together", jobs.ErrUsage)
	}
	if *awsID != "" {
		o.Federated = append(o.Federated, setup.AWS(*awsID, *awsPool))
	}
	if (*oidcIss == "") != (*oidcSub == "") {
		return fmt.Errorf("%w: --oidc-issuer and --oidc-subject go together", jobs.ErrUsage)
	}
	if *oidcIss != "" {
		o.Federated = append(o.Federated, setup.OIDC(*oidcIss, *oidcSub, *oidcAud))
	}
	cl, err := graph.LookupCloud(*cloudName)
	if err != nil {
		return fmt.Errorf("%w: --cloud: %w", jobs.ErrUsage, err)
	}
	si.Cloud, si.Prompt = cl, stderr
	o.TenantID, o.LoginHost = si.TenantID, strings.TrimSuffix(cl.AuthorityHost, "/")
	if _, err := setup.Desired(o); err != nil { // bad input fails before any sign-in
		return err
	}
	if si.Method == "none" {
		if *emit == "" {
			return fmt.Errorf("%w: --sign-in none goes with --emit terraform only", jobs.ErrUsage)
		}
		// Nothing read: a configuration without import blocks.
		return (&setup.Setup{Opts: o}).EmitTerraform(ctx, stdout)
	}
	client, err := si.Client()
	if err != nil {
		return err
	}
	s := &setup.Setup{Client: client, Opts: o, Out: stdout}
	if *emit != "" {
		return s.EmitTerraform(ctx, stdout)
	}
	var rs []setup.Result
	switch verb {
	case "plan":
		rs, err = s.Plan(ctx)
	case "apply":
		rs, err = s.Apply(ctx)
	default:
		rs, err = s.Grant(ctx)
	}
	fmt.Fprintf(stdout, "m365export setup %s (%s):\n", verb, map[string]string{"plan": "what apply would change; nothing changed",
		"apply": "changes made", "grant": "changes made"}[verb])
	setup.Write(stdout, map[string]string{"plan": "up to date", "apply": "up to date", "grant": "every permission granted"}[verb], rs, o.MailboxGroup)
	return err
}
