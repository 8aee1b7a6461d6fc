package m365export_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces the layering of STYLE.md §1:
// cmd → jobs → pipeline → {sources, sinks, rules}, and sources, sinks and
// rules never import each other, pipeline or jobs.
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

// TestImportDirection_Emulator keeps the Graph emulator out of production:
// only the commands that serve it (cmd/..., for the graphsim command and
// --demo) and benchmarks (bench/...) may depend on sources/graphsim, and
// its ground-truth oracle, sources/graphsim/simtruth, is test support that
// only benchmarks and tests may use. It checks dependencies, not only
// direct imports, so no package reaches the emulator through another.
func TestImportDirection_Emulator(t *testing.T) {
	const sim, truth = "m365export/sources/graphsim", "m365export/sources/graphsim/simtruth"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	under := func(pkg, dir string) bool { return strings.HasPrefix(pkg, "m365export/"+dir+"/") }
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		if pkg == sim || pkg == truth || under(pkg, "bench") {
			continue
		}
		for _, dep := range f[1:] {
			switch {
			case dep == truth:
				t.Errorf("%s depends on %s: the emulator's oracle is for tests and benchmarks only", pkg, dep)
			case dep == sim && !under(pkg, "cmd"):
				t.Errorf("%s depends on %s: only cmd/... and bench/... may use the emulator", pkg, dep)
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
