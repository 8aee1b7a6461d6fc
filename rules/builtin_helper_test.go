package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// The project's built-in rule templates are declared by the connectors
// (jobs/connectors/<pkg>/rules.yaml.tmpl, with the shared directory
// endpoints in jobs/connector/directory.yaml.tmpl). The rules package cannot
// import the registry (it sits below it), so its tests read the template
// files from disk; a connector is named by its template's first line.

var builtinTitle = regexp.MustCompile(`^# m365export rules for ([a-z0-9-]+) `)

// builtinDirs maps each connector to its folder.
func builtinDirs(t testing.TB) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../jobs/connectors/*/" + RuleTemplate)
	if err != nil || len(files) == 0 {
		t.Fatalf("no built-in rule templates under ../jobs/connectors: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := builtinTitle.FindSubmatch(src)
		if m == nil {
			t.Fatalf("%s: the first line does not name the connector", f)
		}
		out[string(m[1])] = filepath.Dir(f)
	}
	return out
}

// testConnectors lists the connectors that have built-in rules, sorted.
func testConnectors(t testing.TB) []string {
	var out []string
	for c := range builtinDirs(t) {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// builtin renders a connector's built-in rules as the registry does.
func builtin(t testing.TB, connector string, v Variant) (name string, src []byte, err error) {
	t.Helper()
	dir, ok := builtinDirs(t)[connector]
	if !ok {
		return "", nil, os.ErrNotExist
	}
	return RenderBuiltin(connector, v, os.DirFS("../jobs/connector"), os.DirFS(dir))
}
