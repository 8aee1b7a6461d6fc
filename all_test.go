package m365export_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces the layering of STYLE.md §1:
// cmd → jobs → pipeline → {sources, sinks, rules}, and sources, sinks and
// rules never import each other, pipeline or jobs. The packages under
// internal/ (the JSON scanner) are leaves that every layer may use: they
// import nothing of the module.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(pkg string) string {
		p := strings.TrimPrefix(pkg, "m365export/")
		if p == pkg && pkg != "m365export" {
			return "" // not ours
		}
		return strings.SplitN(p, "/", 2)[0]
	}
	forbidden := map[string][]string{
		"sources":  {"sinks", "rules", "pipeline", "jobs", "cmd"},
		"sinks":    {"sources", "rules", "pipeline", "jobs", "cmd"},
		"rules":    {"sources", "sinks", "pipeline", "jobs", "cmd"},
		"pipeline": {"jobs", "cmd"},
		"jobs":     {"cmd"},
		"internal": {"sources", "sinks", "rules", "pipeline", "jobs", "cmd", "bench"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		from := layer(f[0])
		for _, imp := range f[1:] {
			to := layer(imp)
			if to == "" || strings.HasSuffix(f[0], "_test") {
				continue
			}
			for _, bad := range forbidden[from] {
				if to == bad {
					t.Errorf("%s imports %s: %s must not import %s", f[0], imp, from, bad)
				}
			}
		}
	}
}

// TestVet runs go vet over the module.
func TestVet(t *testing.T) {
	if out, err := exec.Command("go", "vet", "./...").CombinedOutput(); err != nil {
		t.Fatalf("go vet: %v\n%s", err, out)
	}
}
