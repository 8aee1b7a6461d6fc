package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"m365export/jobs"
)

// tfModule is a parsed Terraform file: its resources and data sources by
// "type.name", and an evaluation context in which var.X is "<X>" (or its
// default), local.X is the local's value, and a resource's attributes are
// their literal values, its computed ones (id, arn, email, …) "<type.name.attr>".
type tfModule struct {
	t      *testing.T
	blocks map[string]*hclsyntax.Block
	ctx    *hcl.EvalContext
	// provider and its version constraint from required_providers.
	providers map[string]string
}

func parseTF(t *testing.T, path string) *tfModule {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	body := f.Body.(*hclsyntax.Body)
	m := &tfModule{t: t, blocks: map[string]*hclsyntax.Block{}, providers: map[string]string{}}
	vars := map[string]cty.Value{}
	resources := map[string]map[string]cty.Value{} // type → name → object
	data := map[string]map[string]cty.Value{}
	var locals *hclsyntax.Body
	for _, b := range body.Blocks {
		switch b.Type {
		case "terraform":
			for _, rb := range b.Body.Blocks {
				if rb.Type != "required_providers" {
					continue
				}
				for name, a := range rb.Body.Attributes {
					v, d := a.Expr.Value(nil)
					if d.HasErrors() {
						t.Fatalf("required_providers.%s: %v", name, d)
					}
					m.providers[name] = v.GetAttr("version").AsString()
				}
			}
		case "variable":
			name := b.Labels[0]
			vars[name] = cty.StringVal("<" + name + ">")
			if a, ok := b.Body.Attributes["default"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() {
					vars[name] = v
				}
			}
		case "locals":
			locals = b.Body
		case "resource", "data":
			key := b.Labels[0] + "." + b.Labels[1]
			if b.Type == "data" {
				key = "data." + key
			}
			if m.blocks[key] != nil {
				t.Fatalf("%s: %s defined twice", path, key)
			}
			m.blocks[key] = b
			obj := map[string]cty.Value{}
			for _, attr := range []string{"id", "arn", "name", "email", "unique_id", "json", "arn_without_revision", "secret_id", "location"} {
				obj[attr] = cty.StringVal("<" + key + "." + attr + ">")
			}
			for name, a := range b.Body.Attributes {
				if v, d := a.Expr.Value(nil); !d.HasErrors() {
					obj[name] = v
				}
			}
			target := resources
			if b.Type == "data" {
				target = data
			}
			if target[b.Labels[0]] == nil {
				target[b.Labels[0]] = map[string]cty.Value{}
			}
			target[b.Labels[0]][b.Labels[1]] = cty.ObjectVal(obj)
		}
	}
	variables := map[string]cty.Value{"var": cty.ObjectVal(vars)}
	for typ, byName := range resources {
		variables[typ] = cty.ObjectVal(byName)
	}
	dataObj := map[string]cty.Value{}
	for typ, byName := range data {
		dataObj[typ] = cty.ObjectVal(byName)
	}
	variables["data"] = cty.ObjectVal(dataObj)
	m.ctx = &hcl.EvalContext{Variables: variables, Functions: map[string]function.Function{
		"concat": stdlib.ConcatFunc, "jsonencode": stdlib.JSONEncodeFunc,
	}}
	if locals != nil {
		// Locals may use one another: evaluate until none is left.
		lv := map[string]cty.Value{}
		for range len(locals.Attributes) {
			for name, a := range locals.Attributes {
				m.ctx.Variables["local"] = cty.ObjectVal(lv)
				if v, d := a.Expr.Value(m.ctx); !d.HasErrors() {
					lv[name] = v
				}
			}
		}
		m.ctx.Variables["local"] = cty.ObjectVal(lv)
	}
	return m
}

// block returns the resource and the nested block at path (block types,
// the first of each), failing the test if any is missing.
func (m *tfModule) block(key string, path ...string) *hclsyntax.Block {
	m.t.Helper()
	b := m.blocks[key]
	if b == nil {
		m.t.Fatalf("no %s", key)
	}
	for _, p := range path {
		var next *hclsyntax.Block
		for _, nb := range b.Body.Blocks {
			if nb.Type == p {
				next = nb
				break
			}
		}
		if next == nil {
			m.t.Fatalf("%s: no block %s", key, strings.Join(path, "."))
		}
		b = next
	}
	return b
}

// blocksOf lists the nested blocks of type typ in b.
func blocksOf(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, nb := range b.Body.Blocks {
		if nb.Type == typ {
			out = append(out, nb)
		}
	}
	return out
}

// value evaluates attribute name of b.
func (m *tfModule) value(b *hclsyntax.Block, name string) cty.Value {
	m.t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		m.t.Fatalf("%s %v: no attribute %s", b.Type, b.Labels, name)
	}
	v, d := a.Expr.Value(m.ctx)
	if d.HasErrors() {
		m.t.Fatalf("%s %v: %s: %v", b.Type, b.Labels, name, d)
	}
	return v
}

func (m *tfModule) str(b *hclsyntax.Block, name string) string {
	m.t.Helper()
	v := m.value(b, name)
	if v.Type() == cty.Number {
		return v.AsBigFloat().String()
	}
	if v.Type() == cty.Bool {
		return fmt.Sprint(v.True())
	}
	return v.AsString()
}

func strings_(v cty.Value) []string {
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return out
}

// checkArgs parses and validates args with the exporter's own
// configuration code, with env as the scheduler sets it.
func checkArgs(t *testing.T, what string, args []string, env map[string]string) *jobs.Config {
	t.Helper()
	cfg, err := jobs.LoadConfig(args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("%s args %q: %v", what, args, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s args %q: %v", what, args, err)
	}
	return cfg
}

// TestTerraform_GCP parses deploy/gcp/main.tf with the HCL parser and
// checks the Cloud Run Job (task count = shards, task timeout, retries,
// the exporter's service account, args the exporter accepts with secrets
// from Secret Manager), the Scheduler trigger calling the job's :run
// endpoint as an account allowed to, and the federated credential's
// subject output (the account's numeric unique_id). Attribute names are the
// google provider 6.x's.
func TestTerraform_GCP(t *testing.T) {
	m := parseTF(t, "gcp/main.tf")
	if !strings.HasPrefix(m.providers["google"], "~> 6.") {
		t.Errorf("google provider version %q, want ~> 6.x (the attribute names checked here)", m.providers["google"])
	}
	tmpl := m.block("google_cloud_run_v2_job.exporter", "template")
	task := m.block("google_cloud_run_v2_job.exporter", "template", "template")
	ctr := m.block("google_cloud_run_v2_job.exporter", "template", "template", "containers")
	if got := m.str(tmpl, "task_count"); got != m.str(tmpl, "parallelism") || got != "1" {
		t.Errorf("task_count %s, parallelism %s: want both var.shards (default 1)", got, m.str(tmpl, "parallelism"))
	}
	if got := m.str(task, "timeout"); !strings.HasSuffix(got, "s") || got == "600s" {
		t.Errorf("task timeout %q, want a duration in seconds above Cloud Run's 10-minute default", got)
	}
	if got := m.str(task, "max_retries"); got == "0" {
		t.Errorf("max_retries %s, want retries for exit 1 and 3", got)
	}
	if got := m.str(task, "service_account"); got != "<google_service_account.exporter.email>" {
		t.Errorf("service_account = %s, want the exporter's account", got)
	}
	limits := m.value(m.block("google_cloud_run_v2_job.exporter", "template", "template", "containers", "resources"), "limits")
	if !limits.Type().IsObjectType() || !limits.Type().HasAttribute("memory") {
		t.Error("no memory limit for --memory-limit auto to read")
	}
	// The args, with what Cloud Run sets in task 0 of N.
	args := strings_(m.value(ctr, "args"))
	cfg := checkArgs(t, "Cloud Run", args, map[string]string{"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "3", "CLOUD_RUN_EXECUTION": "m365export-abc12"})
	if cfg.Shards != 3 || cfg.RunID != "m365export-abc12" || cfg.Auth != "federated-gcp" {
		t.Errorf("Cloud Run config: shards %d run id %q auth %q, want the task count, the execution and federated-gcp", cfg.Shards, cfg.RunID, cfg.Auth)
	}
	if cfg.GracePeriod.Seconds() >= 10 {
		t.Errorf("--grace-period %v: Cloud Run kills 10s after SIGTERM", cfg.GracePeriod)
	}
	for flag, u := range map[string]string{"--salt-url": cfg.SaltURL, "--key-url": cfg.KeyURL} {
		if !strings.HasPrefix(u, "gcpsecretmanager://projects/<project>/secrets/m365export-") {
			t.Errorf("%s = %q, want a gcpsecretmanager:// URL of the module's secret", flag, u)
		}
	}
	for _, s := range []string{"salt", "key"} {
		if got := m.str(m.block("google_secret_manager_secret_iam_member."+s), "member"); got != "serviceAccount:<google_service_account.exporter.email>" {
			t.Errorf("secret %s readable by %q, want the exporter's account", s, got)
		}
	}
	// The trigger.
	sched := m.block("google_cloud_scheduler_job.daily")
	target := m.block("google_cloud_scheduler_job.daily", "http_target")
	if m.str(target, "http_method") != "POST" || !strings.HasSuffix(m.str(target, "uri"), "/jobs/m365export:run") ||
		!strings.HasPrefix(m.str(target, "uri"), "https://run.googleapis.com/v2/projects/") {
		t.Errorf("scheduler target %s %s, want POST to the job's :run", m.str(target, "http_method"), m.str(target, "uri"))
	}
	if m.str(sched, "schedule") == "" || m.str(sched, "time_zone") == "" {
		t.Error("no schedule or time zone")
	}
	invoker := m.block("google_cloud_run_v2_job_iam_member.scheduler")
	if got := m.str(m.block("google_cloud_scheduler_job.daily", "http_target", "oauth_token"), "service_account_email"); "serviceAccount:"+got != m.str(invoker, "member") || m.str(invoker, "role") != "roles/run.invoker" {
		t.Errorf("scheduler signs as %s, but roles/run.invoker goes to %s", got, m.str(invoker, "member"))
	}
	var out *hclsyntax.Block
	for _, b := range m.fileBlocks("gcp/main.tf", "output") {
		if b.Labels[0] == "federated_credential_subject" {
			out = b
		}
	}
	if out == nil || m.str(out, "value") != "<google_service_account.exporter.unique_id>" {
		t.Error("no output federated_credential_subject = the exporter's account unique_id")
	}
}

// fileBlocks re-reads path's top-level blocks of one type (outputs).
func (m *tfModule) fileBlocks(path, typ string) []*hclsyntax.Block {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		m.t.Fatal(diags)
	}
	var out []*hclsyntax.Block
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// TestTerraform_AWS parses deploy/aws/main.tf and checks the Cognito
// identity pool (developer provider, no unauthenticated identities) whose
// tokens the exporter asks for with its task role, the daily EventBridge
// Scheduler schedule running the ECS task, and the Batch array job that
// does not retry exit 2 but retries 1 and 3; the args of both are flags the
// exporter accepts. Attribute names are the aws provider 6.x's.
func TestTerraform_AWS(t *testing.T) {
	m := parseTF(t, "aws/main.tf")
	if !strings.HasPrefix(m.providers["aws"], "~> 6.") {
		t.Errorf("aws provider version %q, want ~> 6.x (the attribute names checked here)", m.providers["aws"])
	}
	pool := m.block("aws_cognito_identity_pool.exporter")
	if m.str(pool, "allow_unauthenticated_identities") != "false" || m.str(pool, "developer_provider_name") == "" {
		t.Error("identity pool: want a developer provider and no unauthenticated identities")
	}
	// The task role may ask Cognito for the pool's tokens.
	policy := m.block("data.aws_iam_policy_document.task")
	cognito := false
	for _, st := range blocksOf(policy, "statement") {
		if slices.Contains(strings_(m.value(st, "actions")), "cognito-identity:GetOpenIdTokenForDeveloperIdentity") &&
			slices.Contains(strings_(m.value(st, "resources")), "<aws_cognito_identity_pool.exporter.arn>") {
			cognito = true
		}
	}
	if !cognito {
		t.Error("the task role may not call GetOpenIdTokenForDeveloperIdentity on the pool")
	}

	// The ECS task and its schedule.
	td := m.block("aws_ecs_task_definition.exporter")
	if m.str(td, "task_role_arn") != "<aws_iam_role.task.arn>" {
		t.Errorf("task role %s, want aws_iam_role.task", m.str(td, "task_role_arn"))
	}
	var defs []map[string]any
	if err := json.Unmarshal([]byte(m.str(td, "container_definitions")), &defs); err != nil || len(defs) != 1 {
		t.Fatalf("container_definitions: %v (%d)", err, len(defs))
	}
	ecsArgs := anyStrings(defs[0]["command"])
	cfg := checkArgs(t, "ECS", ecsArgs, nil)
	if cfg.Auth != "federated-aws" || cfg.AWSIdentityPool != "<aws_cognito_identity_pool.exporter.id>" || cfg.AWSDeveloperProvider != m.str(pool, "developer_provider_name") {
		t.Errorf("ECS sign-in: auth %q pool %q provider %q, want federated-aws with the module's pool", cfg.Auth, cfg.AWSIdentityPool, cfg.AWSDeveloperProvider)
	}
	for flag, u := range map[string]string{"--salt-url": cfg.SaltURL, "--key-url": cfg.KeyURL} {
		if !strings.HasPrefix(u, "awssecretsmanager://m365export-") {
			t.Errorf("%s = %q, want an awssecretsmanager:// URL of the module's secret", flag, u)
		}
	}
	if defs[0]["readonlyRootFilesystem"] != true || defs[0]["user"] != "65532:65532" {
		t.Errorf("container: readonlyRootFilesystem %v user %v, want true and 65532:65532", defs[0]["readonlyRootFilesystem"], defs[0]["user"])
	}
	sched := m.block("aws_scheduler_schedule.daily")
	if !strings.HasPrefix(m.str(sched, "schedule_expression"), "cron(") {
		t.Errorf("schedule_expression %q", m.str(sched, "schedule_expression"))
	}
	target := m.block("aws_scheduler_schedule.daily", "target")
	ecs := m.block("aws_scheduler_schedule.daily", "target", "ecs_parameters")
	if m.str(target, "arn") != "<aws_ecs_cluster.exporter.arn>" || !strings.HasPrefix(m.str(ecs, "task_definition_arn"), "<aws_ecs_task_definition.exporter.") {
		t.Errorf("schedule target %s runs %s, want the cluster and the task definition", m.str(target, "arn"), m.str(ecs, "task_definition_arn"))
	}
	m.block("aws_scheduler_schedule.daily", "flexible_time_window")

	// The Batch array job.
	jd := m.block("aws_batch_job_definition.sharded")
	rs := m.block("aws_batch_job_definition.sharded", "retry_strategy")
	if m.str(rs, "attempts") == "1" {
		t.Error("retry_strategy allows no retry")
	}
	action := func(code string) string {
		for _, e := range blocksOf(rs, "evaluate_on_exit") {
			if _, ok := e.Body.Attributes["on_exit_code"]; ok && m.str(e, "on_exit_code") == code {
				return m.str(e, "action")
			}
		}
		return ""
	}
	if a := action("2"); a != "EXIT" {
		t.Errorf("exit 2 → %q, want EXIT (configuration: a retry cannot help)", a)
	}
	for _, code := range []string{"1", "3"} {
		if a := action(code); a != "RETRY" {
			t.Errorf("exit %s → %q, want RETRY", code, a)
		}
	}
	var props map[string]any
	if err := json.Unmarshal([]byte(m.str(jd, "container_properties")), &props); err != nil {
		t.Fatal(err)
	}
	if props["jobRoleArn"] != "<aws_iam_role.task.arn>" || props["readonlyRootFilesystem"] != true {
		t.Errorf("Batch container: job role %v, readonlyRootFilesystem %v", props["jobRoleArn"], props["readonlyRootFilesystem"])
	}
	batch := checkArgs(t, "Batch", anyStrings(props["command"]), map[string]string{"AWS_BATCH_JOB_ARRAY_INDEX": "3"})
	if batch.Shard != 3 || batch.Shards != 4 {
		t.Errorf("Batch child 3: shard %d of %d, want 3 of var.shards (4)", batch.Shard, batch.Shards)
	}
	q := m.block("aws_batch_job_queue.exporter", "compute_environment_order")
	if m.str(q, "compute_environment") != "<aws_batch_compute_environment.exporter.arn>" {
		t.Errorf("job queue runs on %s", m.str(q, "compute_environment"))
	}
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
