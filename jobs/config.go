package jobs

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"m365export/jobs/connector"
	"m365export/rules"
)

// Config is an export job's configuration. Every setting comes, in order of
// precedence, from a flag --foo-bar, the environment variable
// M365EXPORT_FOO_BAR, or the key foo_bar of the YAML file named by --config;
// unknown YAML keys are errors. Secrets (salt, key, client secret) are never
// read from the YAML file: name a secret URL or an environment variable.
type Config struct {
	Connector string `yaml:"connector"`
	// Tables, if set, are the only tables (collections) of the connector
	// this run exports; see Config.plan.
	Tables []string `yaml:"tables"`

	Dest          string `yaml:"dest"`
	State         string `yaml:"state"`
	SaltURL       string `yaml:"salt_url"`
	KeyURL        string `yaml:"key_url"`
	DomainSaltURL string `yaml:"domain_salt_url"`
	DomainKeyURL  string `yaml:"domain_key_url"`
	ParquetCompat bool   `yaml:"parquet_compat"`
	FileSizeMiB   int    `yaml:"file_size_mib"`
	MemoryLimit   string `yaml:"memory_limit"`

	TenantID             string `yaml:"tenant_id"`
	ClientID             string `yaml:"client_id"`
	Auth                 string `yaml:"auth"`
	Certificate          string `yaml:"certificate"`
	TokenFile            string `yaml:"token_file"`
	AWSIdentityPool      string `yaml:"aws_identity_pool"`
	AWSRegion            string `yaml:"aws_region"`
	AWSDeveloperProvider string `yaml:"aws_developer_provider"`
	Cloud                string `yaml:"cloud"`
	GraphURL             string `yaml:"graph_url"`
	AuthorityHost        string `yaml:"authority_host"`
	CAFile               string `yaml:"ca_file"`

	TeamsModel string `yaml:"teams_model"`

	IDs          string `yaml:"ids"`
	NoGroups     bool   `yaml:"no_groups"`
	Rules        string `yaml:"rules"`
	EmailDomains string `yaml:"email_domains"`

	IncludeGroup []string `yaml:"include_group"`
	ExcludeGroup []string `yaml:"exclude_group"`
	UsersFile    string   `yaml:"users_file"`

	Since     string        `yaml:"since"`
	Until     string        `yaml:"until"`
	Lookback  time.Duration `yaml:"lookback"`
	Lag       time.Duration `yaml:"lag"`
	NewSeries bool          `yaml:"new_series"`

	Shard  int    `yaml:"shard"`
	Shards int    `yaml:"shards"`
	RunID  string `yaml:"run_id"`

	Concurrency int           `yaml:"concurrency"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	GracePeriod time.Duration `yaml:"grace_period"`
	// CheckpointEvery is how often a long collection saves which owners
	// are done, so that a crashed run redoes only the others (0: never).
	CheckpointEvery time.Duration `yaml:"checkpoint_every"`
	DryRun          bool          `yaml:"dry_run"`
	LogLevel        string        `yaml:"log_level"`
	LogFormat       string        `yaml:"log_format"`
	Demo            bool          `yaml:"demo"`
	DemoUsers       int           `yaml:"demo_users"`
	Now             string        `yaml:"now"`

	shardSet bool // Shard came from a flag, the environment or the file
}

// option describes one setting: the same table drives flags, environment
// variables, the YAML keys and --help.
type option struct {
	name  string // flag name; env is M365EXPORT_ + upper snake; YAML key is snake
	field string // Config field
	help  string
	group string
}

var options = []option{
	{"connector", "Connector", "what to export: comma-separated connectors (listed below), or all", "Job"},
	{"tables", "Tables", "export only these tables of the connector (repeat or comma-separate; default: all of them). Such a run keeps its own watermark, checkpoints and run id at --state, apart from the connector's full runs, which it leaves as they were. A backfill past a table's retention leaves that table out: --connector msft-teams --tables online_meetings,meeting_attendance --since 2026-10-01 --until 2026-10-08 exports the meetings their organizers' calendar events still find after Graph dropped their call records (30 days)", "Job"},
	{"config", "", "YAML file with any of these settings (keys in snake_case; unknown keys are errors)", "Job"},
	{"dry-run", "DryRun", "print the plan (window, collections, owners' count, destinations) and exit", "Job"},
	{"demo", "Demo", "run against the built-in Graph emulator with a DEMO salt and key (never for real data)", "Job"},
	{"demo-users", "DemoUsers", "users in the demo tenant", "Job"},
	{"grace-period", "GracePeriod", "after SIGTERM or SIGINT: stop taking owners, abandon unfinished partitions, and exit (code 1) at the latest after this long (keep it below the scheduler's: Cloud Run kills 10s after SIGTERM, Kubernetes 30s by default)", "Job"},
	{"checkpoint-every", "CheckpointEvery", "during a long collection, save which owners are done about this often (in --state), so that a crashed or stopped run resumes with the others; each checkpoint lets the owners in flight finish first (a mailbox that takes minutes makes that dear: raise it); 0 turns it off", "Job"},

	{"dest", "Dest", "bucket URL for the Parquet output: s3://bucket/prefix?region=…, gs://bucket/prefix, file:///dir", "Output"},
	{"state", "State", "bucket URL for incremental state (watermarks, checkpoints); keep it out of the analysts' bucket", "Output"},
	{"parquet-compat", "ParquetCompat", "write data page v1 and PLAIN strings, for readers without DELTA_LENGTH_BYTE_ARRAY", "Output"},
	{"file-size-mib", "FileSizeMiB", "roll Parquet files at about this size", "Output"},

	{"salt-url", "SaltURL", "runtimevar URL of the pseudonymization salt (file:///run/secrets/salt, gcpsecretmanager://…, awssecretsmanager://…); or set M365EXPORT_SALT", "Secrets"},
	{"key-url", "KeyURL", "runtimevar URL of the key for reversible p~ ids; or set M365EXPORT_ENCRYPTION_KEY", "Secrets"},
	{"domain-salt-url", "DomainSaltURL", "runtimevar URL of a separate salt for h~ and e~ email domains (psoxy's SALT_EMAIL_DOMAINS; default: the salt); or set M365EXPORT_DOMAIN_SALT", "Secrets"},
	{"domain-key-url", "DomainKeyURL", "runtimevar URL of a separate key for e~ email domains (psoxy's ENCRYPTION_KEY_EMAIL_DOMAINS; default: the key); or set M365EXPORT_DOMAIN_ENCRYPTION_KEY", "Secrets"},

	{"tenant-id", "TenantID", "Entra ID tenant id", "Microsoft Graph"},
	{"client-id", "ClientID", "the application's Application (client) ID, not its Object ID", "Microsoft Graph"},
	{"auth", "Auth", "how to get tokens: federated-gcp, federated-aws, federated-file (Kubernetes workload identity), certificate, secret (M365EXPORT_CLIENT_SECRET)", "Microsoft Graph"},
	{"certificate", "Certificate", "client certificate file (PEM or PFX), with --auth certificate", "Microsoft Graph"},
	{"token-file", "TokenFile", "federated token file, with --auth federated-file (default $AZURE_FEDERATED_TOKEN_FILE)", "Microsoft Graph"},
	{"aws-identity-pool", "AWSIdentityPool", "Cognito identity pool id, with --auth federated-aws", "Microsoft Graph"},
	{"aws-region", "AWSRegion", "AWS region of the identity pool", "Microsoft Graph"},
	{"aws-developer-provider", "AWSDeveloperProvider", "the identity pool's developer provider name, with --auth federated-aws (the login is the client id)", "Microsoft Graph"},
	{"cloud", "Cloud", "national cloud: global, usgov-l4, usgov-l5, china (sets both the login authority and the Graph root); the national clouds lack getAllMessages, so a run there refuses msft-teams' chat_messages and channel_messages", "Microsoft Graph"},
	{"graph-url", "GraphURL", "override the Graph root (testing)", "Microsoft Graph"},
	{"authority-host", "AuthorityHost", "override the login authority host (testing)", "Microsoft Graph"},
	{"ca-file", "CAFile", "extra CA certificate (PEM) to trust for Graph and login (testing)", "Microsoft Graph"},
	{"memory-limit", "MemoryLimit", "memory limit of the process, never raised: 35% of it is a byte budget that pages in flight and Parquet writers acquire from, so a run that needs more slows down and says so in the log (auto: 75% of the container's memory limit, else 96MiB; off; or a size such as 512MiB); GOMEMLIMIT, if set, wins", "Job"},
	{"concurrency", "Concurrency", "owners (users, teams) read at once; Graph's per-mailbox limits still apply", "Microsoft Graph"},
	{"teams-model", "TeamsModel", "licensing model of the Teams export APIs (chat and channel getAllMessages): B, the default, fits analytics (Microsoft lists analytics and insights among model B's uses, and stopped metering these APIs on 2025-08-25); A is restricted by Microsoft to security and compliance applications and needs an E5-type licence for each user concerned (the others answer 402 and are skipped; every owner refused is exit 2); none sends no model (Microsoft's evaluation mode)", "Microsoft Graph"},
	{"max-backoff", "MaxBackoff", "cap on any one wait before a retry, Graph's Retry-After included (a Retry-After of an hour waits this long, then retries)", "Microsoft Graph"},

	{"ids", "IDs", "Graph object ids in the output: pseudonymized (reversible p~ tokens, psoxy's default), kept, hash-only (irreversible t~)", "Rules"},
	{"no-groups", "NoGroups", "leave out group data (psoxy's no-groups variant)", "Rules"},
	{"rules", "Rules", "rule file to use instead of the built-in one (psoxy's YAML format)", "Rules"},
	{"email-domains", "EmailDomains", "what email pseudonyms show after '@' (psoxy's EMAIL_DOMAIN_HANDLING): preserve (the domain as written, psoxy's default), redact (nothing), tokenize (h~ hash of the domain), encrypt (e~ reversible, needs a key); part of the rules hash, so changing it needs --new-series", "Rules"},

	{"include-group", "IncludeGroup", "export only members of these groups (ids; repeat or comma-separate)", "Scope"},
	{"exclude-group", "ExcludeGroup", "leave out members of these groups (ids; repeat or comma-separate)", "Scope"},
	{"users-file", "UsersFile", "export only the users listed in this file (one id, UPN or email per line)", "Scope"},

	{"since", "Since", "window start, a UTC day (2026-11-01) or RFC 3339 time; default: the last committed watermark", "Window"},
	{"until", "Until", "window end, exclusive; default: now minus --lag, rounded down to a whole UTC day", "Window"},
	{"lookback", "Lookback", "window start of the first run, before any watermark", "Window"},
	{"lag", "Lag", "leave out the most recent time, for items Graph shows late", "Window"},
	{"new-series", "NewSeries", "start over when the salt or rules changed since the state was written", "Window"},
	{"now", "Now", "pretend the current time is this RFC 3339 time (testing, demo)", "Window"},

	{"shard", "Shard", "this process's shard index (default from JOB_COMPLETION_INDEX, CLOUD_RUN_TASK_INDEX, AWS_BATCH_JOB_ARRAY_INDEX)", "Sharding"},
	{"shards", "Shards", "number of shards (default from CLOUD_RUN_TASK_COUNT, AWS_BATCH_JOB_ARRAY_SIZE); required with a shard index", "Sharding"},
	{"run-id", "RunID", "id shared by all shards of one execution (default from CLOUD_RUN_EXECUTION, else the window)", "Sharding"},

	{"log-level", "LogLevel", "debug, info, warn, error", "Logging"},
	{"log-format", "LogFormat", "json or text (default: text on a terminal, json otherwise)", "Logging"},
}

// Defaults returns the configuration before any file, environment or flag.
func Defaults() Config {
	return Config{
		Auth:            "federated-gcp",
		Cloud:           "global",
		TeamsModel:      "B",
		IDs:             "pseudonymized",
		EmailDomains:    "preserve",
		Lookback:        7 * 24 * time.Hour,
		Lag:             time.Hour,
		Shards:          1,
		Concurrency:     32,
		MaxBackoff:      5 * time.Minute,
		GracePeriod:     8 * time.Second,
		CheckpointEvery: 5 * time.Minute,
		FileSizeMiB:     128,
		MemoryLimit:     "auto",
		LogLevel:        "info",
		DemoUsers:       25,
	}
}

// EnvName is the environment variable of a flag: --foo-bar → M365EXPORT_FOO_BAR.
func EnvName(flagName string) string {
	return "M365EXPORT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// LoadConfig builds the configuration from args (flags), env and the YAML
// file the flags or environment name. It returns ErrHelp after printing
// help to out when asked.
func LoadConfig(args []string, env func(string) string, out io.Writer) (*Config, error) {
	cfg := Defaults()
	// The file first: find --config before parsing the rest.
	path := env(EnvName("config"))
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if v, ok := strings.CutPrefix(a, "-config="); ok {
			path = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: config file: %w", ErrUsage, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: config file %s: %w", ErrUsage, path, err)
		}
	}
	v := reflect.ValueOf(&cfg).Elem()
	// Then the environment.
	for _, o := range options {
		if o.field == "" {
			continue
		}
		if s := env(EnvName(o.name)); s != "" {
			if err := setField(v.FieldByName(o.field), s, false); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUsage, EnvName(o.name), err)
			}
			if o.field == "Shard" {
				cfg.shardSet = true
			}
		}
	}
	if cfg.Shard != 0 {
		cfg.shardSet = true
	}
	// Then the flags.
	fs := flag.NewFlagSet("m365export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var configFlag string
	for _, o := range options {
		if o.field == "" {
			fs.StringVar(&configFlag, o.name, "", o.help)
			continue
		}
		f := v.FieldByName(o.field)
		if f.Kind() == reflect.Bool {
			fs.Var(boolValue{f}, o.name, o.help)
		} else {
			fs.Var(fieldValue{f, o.field == "IncludeGroup" || o.field == "ExcludeGroup" || o.field == "Tables"}, o.name, o.help)
		}
	}
	sliceReset := map[string]bool{}
	if err := fs.Parse(resetSlices(args, sliceReset, &cfg)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			PrintHelp(out)
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("%w: %w (see m365export --help)", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q (see m365export --help)", ErrUsage, fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "shard" {
			cfg.shardSet = true
		}
	})
	if err := cfg.shardsFromEnv(env); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// resetSlices clears list settings that the flags set, so flags replace
// (not extend) what the file or environment gave.
func resetSlices(args []string, _ map[string]bool, cfg *Config) []string {
	for _, a := range args {
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		switch name {
		case "include-group":
			cfg.IncludeGroup = nil
		case "exclude-group":
			cfg.ExcludeGroup = nil
		case "tables":
			cfg.Tables = nil
		}
	}
	return args
}

// shardsFromEnv fills the shard index and count from the schedulers'
// variables when the flags, file and M365EXPORT_ variables did not.
func (c *Config) shardsFromEnv(env func(string) string) error {
	if !c.shardSet {
		for _, k := range []string{"JOB_COMPLETION_INDEX", "CLOUD_RUN_TASK_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"} {
			if s := env(k); s != "" {
				i, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("%w: %s=%q is not a number", ErrUsage, k, s)
				}
				c.Shard, c.shardSet = i, true
				if env(EnvName("shards")) == "" && c.Shards == 1 {
					c.Shards = 0 // must come from somewhere explicit
					for _, n := range []string{"CLOUD_RUN_TASK_COUNT", "AWS_BATCH_JOB_ARRAY_SIZE"} {
						if s := env(n); s != "" {
							v, err := strconv.Atoi(s)
							if err != nil {
								return fmt.Errorf("%w: %s=%q is not a number", ErrUsage, n, s)
							}
							c.Shards = v
						}
					}
				}
				break
			}
		}
	}
	if c.RunID == "" {
		c.RunID = env("CLOUD_RUN_EXECUTION")
	}
	return nil
}

// settings are the run's settings the connectors' requests read.
func (c *Config) settings() connector.Settings {
	s := connector.Settings{TeamsModel: strings.ToUpper(c.TeamsModel)}
	if s.TeamsModel == "NONE" {
		s.TeamsModel = ""
	}
	return s
}

// needs says what the run reads besides its collections' own requests.
func (c *Config) needs() Needs {
	return Needs{NoGroups: c.NoGroups, GroupScope: len(c.IncludeGroup) > 0 || len(c.ExcludeGroup) > 0, Tables: c.Tables}
}

// connectors resolves --connector in the registry.
func (c *Config) connectors() ([]*connector.Connector, error) {
	return connector.Resolve(strings.Split(c.Connector, ","))
}

// Validate reports every problem at once, before any network call.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Connector == "" {
		bad("--connector is required (one of %s, or all)", strings.Join(ConnectorNames(), ", "))
	} else if cs, err := c.connectors(); err != nil {
		errs = append(errs, err)
	} else {
		if err := c.checkTables(cs); err != nil {
			errs = append(errs, err)
		} else if c.Cloud != "global" {
			errs = append(errs, globalOnly(cs, c.plan, c.Cloud)...)
		}
	}
	if c.Dest == "" && !c.Demo {
		bad("--dest is required (a bucket URL such as s3://bucket/prefix or gs://bucket/prefix)")
	}
	switch c.IDs {
	case "pseudonymized", "kept", "hash-only":
	default:
		bad("--ids %q: want pseudonymized, kept or hash-only", c.IDs)
	}
	if _, err := rules.ParseDomainHandling(c.EmailDomains); err != nil {
		bad("--email-domains %q: want preserve, redact, tokenize or encrypt", c.EmailDomains)
	}
	if !c.Demo {
		switch c.Auth {
		case "secret", "certificate", "federated-gcp", "federated-aws", "federated-file":
		default:
			bad("--auth %q: want federated-gcp, federated-aws, federated-file, certificate or secret", c.Auth)
		}
		if c.TenantID == "" {
			bad("--tenant-id is required")
		}
		if c.ClientID == "" {
			bad("--client-id is required (the Application (client) ID)")
		}
		if c.Auth == "certificate" && c.Certificate == "" {
			bad("--auth certificate needs --certificate FILE")
		}
		if c.Auth == "federated-aws" && (c.AWSIdentityPool == "" || c.AWSDeveloperProvider == "" || c.AWSRegion == "") {
			bad("--auth federated-aws needs --aws-identity-pool, --aws-developer-provider and --aws-region")
		}
	}
	switch strings.ToUpper(c.TeamsModel) {
	case "A", "B", "NONE":
	default:
		bad("--teams-model %q: want B, A or none", c.TeamsModel)
	}
	switch c.Cloud {
	case "global", "usgov-l4", "usgov-l5", "china":
	default:
		bad("--cloud %q: want global, usgov-l4, usgov-l5 or china", c.Cloud)
	}
	if c.Shards < 1 {
		if c.shardSet {
			bad("a shard index (%d) without a shard count: set --shards N (or CLOUD_RUN_TASK_COUNT / AWS_BATCH_JOB_ARRAY_SIZE)", c.Shard)
		} else {
			bad("--shards %d: must be at least 1", c.Shards)
		}
	} else if c.Shard < 0 || c.Shard >= c.Shards {
		bad("--shard %d out of range: want 0 to %d for --shards %d", c.Shard, c.Shards-1, c.Shards)
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		bad("--concurrency %d: want 1 to 1024", c.Concurrency)
	}
	if c.MaxBackoff <= 0 {
		bad("--max-backoff %v: must be positive", c.MaxBackoff)
	}
	if c.CheckpointEvery < 0 {
		bad("--checkpoint-every %v: must be 0 (off) or positive", c.CheckpointEvery)
	}
	if c.GracePeriod <= 0 {
		bad("--grace-period %v: must be positive", c.GracePeriod)
	}
	if _, err := memoryLimit(c.MemoryLimit, func() int64 { return 0 }); err != nil {
		bad("%v", err)
	}
	if c.FileSizeMiB < 1 {
		bad("--file-size-mib %d: want at least 1", c.FileSizeMiB)
	}
	if c.Lookback <= 0 {
		bad("--lookback %v: must be positive", c.Lookback)
	}
	if c.Lag < 0 {
		bad("--lag %v: must not be negative", c.Lag)
	}
	if _, err := c.now(); err != nil {
		errs = append(errs, err)
	}
	for _, s := range []struct{ flag, v string }{{"since", c.Since}, {"until", c.Until}} {
		if s.v != "" {
			if _, err := parseTime(s.v); err != nil {
				bad("--%s: %v", s.flag, err)
			}
		}
	}
	if c.Since != "" && c.Until != "" {
		since, err1 := parseTime(c.Since)
		until, err2 := parseTime(c.Until)
		if err1 == nil && err2 == nil && !since.Before(until) {
			bad("--since %s is not before --until %s: the window is empty", c.Since, c.Until)
		}
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		bad("--log-format %q: want json or text", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUsage, errors.Join(errs...))
}

// checkTables checks --tables against the connectors: one connector, and
// only tables it plans (with --no-groups, not its group tables).
func (c *Config) checkTables(cs []*connector.Connector) error {
	if len(c.Tables) == 0 {
		return nil
	}
	if len(cs) != 1 {
		return fmt.Errorf("--tables needs a single --connector, not %d: tables are a connector's", len(cs))
	}
	spec := cs[0]
	var names []string
	for _, col := range spec.Plan(c.NoGroups) {
		names = append(names, col.Name)
	}
	var unknown []string
	for _, t := range c.Tables {
		if !slices.Contains(names, t) {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	also := ""
	if c.NoGroups {
		also = " with --no-groups"
	}
	return fmt.Errorf("--tables: %s has no table %s; its tables%s are %s", spec.Name, strings.Join(unknown, ", "), also, strings.Join(names, ","))
}

// plan is what the run exports of spec: its plan, or with --tables the
// tables named, in the plan's order.
func (c *Config) plan(spec *connector.Connector) []connector.Collection {
	all := spec.Plan(c.NoGroups)
	if len(c.Tables) == 0 {
		return all
	}
	var out []connector.Collection
	for _, cs := range all {
		if slices.Contains(c.Tables, cs.Name) {
			out = append(out, cs)
		}
	}
	return out
}

// tablesKey names a run of some of spec's tables (--tables), for its
// state, checkpoints and run id: the tables in the plan's order joined by
// "." (among the characters S3 lists as safe in object keys; "+" is not). It is
// "" for a run of every table, whose state is the connector's.
func (c *Config) tablesKey(spec *connector.Connector) string {
	plan := c.plan(spec)
	if len(plan) == len(spec.Plan(c.NoGroups)) {
		return ""
	}
	names := make([]string, len(plan))
	for i, cs := range plan {
		names[i] = cs.Name
	}
	return strings.Join(names, ".")
}

// globalOnly refuses, in a national cloud, the planned collections (plan:
// Config.plan, which --tables narrows) that
// Microsoft offers in the global cloud only (connector.Collection.
// GlobalOnly): better no run than one that fails midway.
func globalOnly(cs []*connector.Connector, plan func(*connector.Connector) []connector.Collection, cloud string) []error {
	var errs []error
	for _, c := range cs {
		var names []string
		for _, col := range plan(c) {
			if col.GlobalOnly {
				names = append(names, c.Name+"/"+col.Name)
			}
		}
		if len(names) > 0 {
			errs = append(errs, fmt.Errorf("--cloud %s: %s read APIs that Microsoft offers in the global cloud only (getAllMessages), not in the national clouds; run --connector %s in the global cloud, or leave it out (or those tables: --tables)", cloud, strings.Join(names, " and "), c.Name))
		}
	}
	return errs
}

func (c *Config) now() (time.Time, error) {
	if c.Now == "" {
		return time.Now().UTC(), nil
	}
	t, err := parseTime(c.Now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--now: %w", err)
	}
	return t, nil
}

// parseTime accepts a UTC day (2026-11-01) or an RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (2026-11-01) nor an RFC 3339 time (2026-11-01T00:00:00Z)", s)
	}
	return t.UTC(), nil
}

// PrintHelp writes the export command's help.
func PrintHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: m365export --connector NAME [flags]

Exports one connector's collections from Microsoft Graph for the whole tenant,
sanitized with psoxy-compatible rules, as Parquet into --dest:
  {dest}/{connector}/{collection}/dt=YYYY-MM-DD/part-{shard}-{seq}.parquet
and a run summary with a per-owner ledger under {dest}/{connector}/_runs/{run_id}/.

Every flag --foo-bar can also be set as the environment variable
M365EXPORT_FOO_BAR or as the key foo_bar in the --config YAML file; a flag wins
over the environment, which wins over the file.
`)
	group := ""
	d := Defaults()
	dv := reflect.ValueOf(d)
	for _, o := range options {
		if o.group != group {
			group = o.group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		def := ""
		if o.field != "" {
			f := dv.FieldByName(o.field)
			if !f.IsZero() {
				def = fmt.Sprintf(" (default %v)", f.Interface())
			}
		}
		fmt.Fprintf(w, "  --%s\n        %s%s\n", o.name, o.help, def)
	}
	fmt.Fprint(w, "\nConnectors (--connector; m365export scopes lists their permissions):\n")
	for _, c := range connector.All() {
		fmt.Fprintf(w, "  %-14s %s\n", c.Name, c.Doc)
		for _, cs := range c.Collections {
			fmt.Fprintf(w, "    %-22s %s\n", cs.Name, cs.Doc)
		}
	}
	fmt.Fprint(w, `
Exit codes: 0 ok, 1 failed (safe to retry), 2 usage or configuration (do not
retry), 3 partial (some users failed after retries; see the ledger).
`)
}

type fieldValue struct {
	f     reflect.Value
	slice bool
}

func (v fieldValue) String() string {
	if !v.f.IsValid() {
		return ""
	}
	return fmt.Sprint(v.f.Interface())
}
func (v fieldValue) Set(s string) error { return setField(v.f, s, true) }

type boolValue struct{ f reflect.Value }

func (v boolValue) String() string {
	if !v.f.IsValid() {
		return "false"
	}
	return strconv.FormatBool(v.f.Bool())
}
func (v boolValue) Set(s string) error { return setField(v.f, s, false) }
func (v boolValue) IsBoolFlag() bool   { return true }

func setField(f reflect.Value, s string, appendSlice bool) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		f.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.SetInt(int64(i))
	case reflect.Int64: // time.Duration
		d, err := parseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case reflect.Slice:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if appendSlice {
			parts = append(f.Interface().([]string), parts...)
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Kind())
	}
	return nil
}

// parseDuration accepts Go durations plus days: "7d", "36h".
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (7d, 36h, 90m)", s)
	}
	return d, nil
}
