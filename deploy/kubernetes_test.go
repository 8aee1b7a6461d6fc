// Package deploy holds the scheduler configurations of m365export
// (Kubernetes manifests, Cloud Run and AWS Terraform) and the tests that
// decode them and check what each must say; it has no Go code of its own.
package deploy

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"m365export/jobs"
)

// k8sObjects decodes every document of every deploy/kubernetes/*.yaml
// strictly (unknown or duplicate fields are errors) into its k8s.io/api
// type, by kind.
func k8sObjects(t *testing.T) map[string]any {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	objs := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "batch/v1 CronJob":
				obj = &batchv1.CronJob{}
			case "batch/v1 Job":
				obj = &batchv1.Job{}
			case "v1 ServiceAccount":
				obj = &corev1.ServiceAccount{}
			case "v1 Secret":
				obj = &corev1.Secret{}
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			name := tm.Kind + "/" + obj.(metav1.Object).GetName()
			if objs[name] != nil {
				t.Fatalf("%s: %s defined twice", f, name)
			}
			objs[name] = obj
		}
	}
	return objs
}

// TestKubernetes_ManifestsDecodeAndSayWhatTheyMust decodes every manifest
// strictly and checks the CronJob and the Indexed Job: the failure policy
// (exit 2 fails the Job, 1 and 3 retry within backoffLimit, disruptions
// are ignored, restartPolicy Never), the federated token (projected for
// api://AzureADTokenExchange, read by --auth federated-file), the secrets
// (file:// URLs into the Secret's volume), the grace period, the memory
// limit, non-root with a read-only root, and that the args are flags the
// exporter accepts (parsed and validated by its own configuration code,
// with the environment the pod gets).
func TestKubernetes_ManifestsDecodeAndSayWhatTheyMust(t *testing.T) {
	objs := k8sObjects(t)
	secret, ok := objs["Secret/m365export-secrets"].(*corev1.Secret)
	if !ok {
		t.Fatalf("no Secret m365export-secrets among %v", keysOf(objs))
	}
	sa, ok := objs["ServiceAccount/m365export"].(*corev1.ServiceAccount)
	if !ok {
		t.Fatal("no ServiceAccount m365export")
	}
	cron, ok := objs["CronJob/m365export"].(*batchv1.CronJob)
	if !ok {
		t.Fatal("no CronJob m365export")
	}
	job, ok := objs["Job/m365export-sharded"].(*batchv1.Job)
	if !ok {
		t.Fatal("no Job m365export-sharded")
	}

	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("CronJob concurrencyPolicy = %q, want Forbid", cron.Spec.ConcurrencyPolicy)
	}
	if cron.Spec.Schedule == "" || cron.Spec.TimeZone == nil {
		t.Errorf("CronJob schedule %q, time zone %v: want a daily schedule in an explicit zone", cron.Spec.Schedule, cron.Spec.TimeZone)
	}
	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("sharded Job completionMode = %v, want Indexed", job.Spec.CompletionMode)
	}

	for name, spec := range map[string]*batchv1.JobSpec{"CronJob": &cron.Spec.JobTemplate.Spec, "Indexed Job": &job.Spec} {
		t.Run(strings.ReplaceAll(name, " ", ""), func(t *testing.T) {
			env := map[string]string{}
			shards := 1
			if spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion {
				if spec.Completions == nil {
					t.Fatal("no completions")
				}
				shards = int(*spec.Completions)
				env["JOB_COMPLETION_INDEX"] = "0" // what Kubernetes sets for index 0
			}
			checkJobSpec(t, spec, sa, secret, env, shards)
		})
	}
}

func checkJobSpec(t *testing.T, spec *batchv1.JobSpec, sa *corev1.ServiceAccount, secret *corev1.Secret, env map[string]string, shards int) {
	// The failure policy.
	if spec.BackoffLimit == nil || *spec.BackoffLimit < 1 {
		t.Errorf("backoffLimit = %v, want at least 1 (exit 1 and 3 are retried)", spec.BackoffLimit)
	}
	pfp := spec.PodFailurePolicy
	if pfp == nil {
		t.Fatal("no podFailurePolicy")
	}
	action := func(code int32) batchv1.PodFailurePolicyAction {
		for _, r := range pfp.Rules {
			if r.OnExitCodes != nil && r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && slices.Contains(r.OnExitCodes.Values, code) {
				if r.OnExitCodes.ContainerName == nil || *r.OnExitCodes.ContainerName != "m365export" {
					t.Errorf("exit code rule %v names container %v, want m365export", r.OnExitCodes.Values, r.OnExitCodes.ContainerName)
				}
				return r.Action
			}
		}
		return batchv1.PodFailurePolicyActionCount // no rule: counted against backoffLimit
	}
	if a := action(2); a != batchv1.PodFailurePolicyActionFailJob {
		t.Errorf("exit 2 → %s, want FailJob (configuration: a retry cannot help)", a)
	}
	for _, code := range []int32{1, 3} {
		if a := action(code); a != batchv1.PodFailurePolicyActionCount {
			t.Errorf("exit %d → %s, want Count (retried within backoffLimit)", code, a)
		}
	}
	ignoresDisruption := false
	for _, r := range pfp.Rules {
		for _, c := range r.OnPodConditions {
			if c.Type == corev1.DisruptionTarget && r.Action == batchv1.PodFailurePolicyActionIgnore && (c.Status == "" || c.Status == corev1.ConditionTrue) {
				ignoresDisruption = true
			}
		}
	}
	if !ignoresDisruption {
		t.Error("no podFailurePolicy rule ignores the DisruptionTarget condition (eviction, preemption)")
	}

	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never (podFailurePolicy requires it)", pod.RestartPolicy)
	}
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, sa.Name)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "m365export" {
		t.Fatalf("containers = %d, want one named m365export", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) != 0 {
		t.Errorf("command %q overrides the image's entrypoint", c.Command)
	}

	// Non-root, read-only root file system.
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext %+v: want readOnlyRootFilesystem and no privilege escalation", csc)
	}

	// The args are the exporter's flags, valid with the pod's environment.
	for _, e := range c.Env {
		switch {
		case e.Value != "":
			env[e.Name] = e.Value
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "m365export-29000000" // a job name
		}
	}
	if _, ok := env["GOMEMLIMIT"]; ok {
		t.Error("GOMEMLIMIT is set: it would win over --memory-limit")
	}
	cfg, err := jobs.LoadConfig(c.Args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("args %q: %v", c.Args, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("args %q: %v", c.Args, err)
	}
	if cfg.Shards != shards || cfg.Shard != 0 {
		t.Errorf("shard %d of %d from args and JOB_COMPLETION_INDEX, want 0 of %d (completions)", cfg.Shard, cfg.Shards, shards)
	}
	if shards > 1 && (spec.Parallelism == nil || *spec.Parallelism > int32(shards)) {
		t.Errorf("parallelism %v, want at most %d", spec.Parallelism, shards)
	}
	if cfg.RunID == "" {
		t.Error("no run id: the shards and retries of one Job must share one (M365EXPORT_RUN_ID)")
	}

	// Grace: Kubernetes' SIGKILL comes after the exporter's own deadline.
	grace := 30 * time.Second // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= cfg.GracePeriod {
		t.Errorf("terminationGracePeriodSeconds %v, want above --grace-period %v", grace, cfg.GracePeriod)
	}

	// Memory: --memory-limit auto reads the container limit.
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if cfg.MemoryLimit != "auto" || !ok || limit.Cmp(resource.MustParse("256Mi")) < 0 {
		t.Errorf("--memory-limit %q with limits.memory %v: want auto and a container limit (at least 256Mi) for it to read", cfg.MemoryLimit, limit.String())
	}
	if req, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok || req.Cmp(limit) != 0 {
		t.Errorf("requests.memory %v, want equal to limits.memory %v (no OOM kill below the limit auto assumes)", req.String(), limit.String())
	}

	// Volumes by mount path.
	mounted := map[string]corev1.Volume{}
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name {
				mounted[m.MountPath] = v
			}
		}
	}
	// The federated token: projected for Entra ID's audience, where
	// --token-file reads it.
	if cfg.Auth != "federated-file" {
		t.Errorf("--auth %q, want federated-file", cfg.Auth)
	}
	tokenFile := cfg.TokenFile
	if tokenFile == "" {
		tokenFile = env["AZURE_FEDERATED_TOKEN_FILE"]
	}
	v, ok := mounted[filepath.Dir(tokenFile)]
	found := false
	if ok && v.Projected != nil {
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.Path == filepath.Base(tokenFile) {
				found = true
				if s.ServiceAccountToken.Audience != "api://AzureADTokenExchange" {
					t.Errorf("token audience %q, want api://AzureADTokenExchange", s.ServiceAccountToken.Audience)
				}
			}
		}
	}
	if !found {
		t.Errorf("token file %q is not a projected service account token", tokenFile)
	}
	// Salt and key: files of the Secret's volume.
	for flag, u := range map[string]string{"--salt-url": cfg.SaltURL, "--key-url": cfg.KeyURL} {
		path, ok := strings.CutPrefix(u, "file://")
		if !ok {
			t.Errorf("%s %q: want a file:// URL into the Secret's volume", flag, u)
			continue
		}
		v, ok := mounted[filepath.Dir(path)]
		if !ok || v.Secret == nil || v.Secret.SecretName != secret.Name {
			t.Errorf("%s %q: its directory is not Secret %s's volume", flag, u, secret.Name)
		} else if _, ok := secret.StringData[filepath.Base(path)]; !ok {
			t.Errorf("%s %q: Secret %s has no key %q", flag, u, secret.Name, filepath.Base(path))
		}
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
