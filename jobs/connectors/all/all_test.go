package all_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	_ "m365export/jobs/connectors/all"
	"m365export/pipeline"
	"m365export/rules"
	"m365export/sources/graph"
	"m365export/sources/graphsim"
)

// TestRegistry_EveryConnectorIsComplete walks the registry (rclone's and
// benthos's "all" tests): each connector must have rules that compile in
// every variant and allow each collection's first request, a valid schema
// per collection, the throttle scope its requests get, a golden export,
// and an emulator route answering each first request.
func TestRegistry_EveryConnectorIsComplete(t *testing.T) {
	all := connector.All()
	if len(all) == 0 {
		t.Fatal("no connector is registered")
	}
	sim, err := graphsim.Start(graphsim.Options{Users: 6, Seed: 3, PlainGraph: true, Auth: graphsim.Auth{Anonymous: true},
		Limits: graphsim.Limits{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	now := sim.Tenant().Now()
	w := pipeline.Window{From: now.Add(-48 * time.Hour).Truncate(24 * time.Hour), To: now.Truncate(24 * time.Hour)}
	owners := ownersOf(t, sim.GraphURL())
	ownersFor := func(cs connector.Collection) []string {
		switch cs.Owners {
		case connector.Listed:
			return idsOf(t, sim.GraphURL(), cs.ListOwners(w))
		case connector.Derived:
			return derivedOf(t, sim.GraphURL(), cs.Derive, w)
		}
		return owners[cs.Owners]
	}
	secrets := rules.Secrets{Salt: "registry-salt", Key: "registry-key"}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "connectors", c.Name, "golden.jsonl"))
			if err != nil {
				t.Errorf("no golden export (go test ./jobs -run Golden_Connectors -update): %v", err)
			}
			for _, v := range variants() {
				name, src, err := c.RenderRules(v)
				if err != nil {
					t.Fatalf("rules %+v: %v", v, err)
				}
				rs, err := rules.Compile(name, src, secrets)
				if err != nil {
					t.Fatalf("rules %s: %v", name, err)
				}
				for _, cs := range c.Plan(v.NoGroups) {
					for _, set := range settings {
						if _, err := rs.Sanitize(cs.First(ownersFor(cs)[0], w, set), []byte(`{"value":[]}`)); err != nil {
							t.Errorf("%s: rules %s refuse its first request with %+v: %v", cs.Name, name, set, err)
						}
					}
				}
			}
			for _, cs := range c.Collections {
				if err := cs.Schema.Validate(); err != nil {
					t.Errorf("%s: schema: %v", cs.Name, err)
				}
				if got, _ := graph.ScopeOf(cs.First(ownersFor(cs)[0], w, settings[0])); got.Kind != cs.Throttle {
					t.Errorf("%s: declared throttle scope %v, its requests get %v", cs.Name, cs.Throttle, got.Kind)
				}
				if !strings.Contains(string(golden), "\n"+cs.Name+" ") && !strings.HasPrefix(string(golden), cs.Name+" ") {
					t.Errorf("%s: no rows in the golden export", cs.Name)
				}
				if !answers(t, sim.GraphURL(), cs, ownersFor(cs), w) {
					t.Errorf("%s: the emulator answers no owner's first request %s", cs.Name, cs.Endpoint())
				}
			}
		})
	}
}

// TestRegistry_NamesDeclaredOnce checks that a connector's name appears as
// a string literal in one production Go file of the module: its
// declaration. Everything else reads the registry. Tests, test data and
// the benchmark tools under bench/ may name connectors.
func TestRegistry_NamesDeclaredOnce(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	seen := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || d.Name() == "bench" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil {
					seen[v] = append(seen[v], path)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range connector.All() {
		files := slices.Compact(slices.Sorted(slices.Values(seen[c.Name])))
		if len(files) != 1 {
			t.Errorf("connector %s is named as a string in %d production files, want 1 (its declaration): %v", c.Name, len(files), files)
		}
	}
}

// TestRegistry_ReadmeListsEveryCollection keeps the README's connector
// table in step with the registry.
func TestRegistry_ReadmeListsEveryCollection(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if name, rest, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "` |"); ok && strings.HasPrefix(line, "| `") {
			rows[name] = rest
		}
	}
	for _, c := range connector.All() {
		row, ok := rows[c.Name]
		if !ok {
			t.Errorf("README's connector table has no row for %s", c.Name)
			continue
		}
		tables, _, _ := strings.Cut(row, "|")
		for _, cs := range c.Collections {
			if !slices.Contains(strings.FieldsFunc(tables, func(r rune) bool { return r == ',' || r == ' ' }), cs.Name) {
				t.Errorf("README's row for %s does not list the table %s", c.Name, cs.Name)
			}
		}
	}
}

// variants are the rule variants a run can ask for.
func variants() []rules.Variant {
	var out []rules.Variant
	for _, ids := range []rules.IDs{rules.IDsPseudonymized, rules.IDsKept, rules.IDsHashOnly} {
		for _, ng := range []bool{false, true} {
			out = append(out, rules.Variant{IDs: ids, NoGroups: ng})
		}
	}
	return out
}

// ownersOf lists a few owners of each kind from the emulator, as the
// exporter lists them.
func ownersOf(t *testing.T, root string) map[connector.Owners][]string {
	t.Helper()
	ids := func(path string) []string { return idsOf(t, root, path) }
	return map[connector.Owners][]string{
		connector.Tenant: {""},
		connector.User:   ids("/v1.0/users?$select=id&$top=999"),
		connector.Group:  ids("/v1.0/groups?$select=id&$top=999"),
		connector.Team:   ids("/v1.0/teams"),
	}
}

// idsOf returns the ids of the first page of a listing; it fails the test
// for an empty one.
func idsOf(t *testing.T, root, path string) []string {
	t.Helper()
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(get(t, root+path, http.StatusOK), &page); err != nil || len(page.Value) == 0 {
		t.Fatalf("%s: %v (%d ids)", path, err, len(page.Value))
	}
	var out []string
	for _, v := range page.Value {
		out = append(out, v.ID)
	}
	return out
}

// derivedOf returns the owners a derivation gives from the first page of
// its listing; it fails the test when it gives none.
func derivedOf(t *testing.T, root string, d *connector.Derivation, w pipeline.Window) []string {
	t.Helper()
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	src := d.Sources[0] // the call records: tenant-wide
	if err := json.Unmarshal(get(t, root+src.List("", w), http.StatusOK), &page); err != nil {
		t.Fatalf("%s: %v", src.List("", w), err)
	}
	var out []string
	for _, rec := range page.Value {
		if o, _ := src.Owner("", w, rec); o != "" {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no record gives an owner", src.List("", w))
	}
	return out
}

// settings are the run settings a collection's requests vary with, the
// default first: each --teams-model (B, A, none).
var settings = []connector.Settings{{TeamsModel: "B"}, {TeamsModel: "A"}, {}}

// answers reports whether the emulator answers 200 to the collection's
// first request for at least one of the owners (some users have no
// mailbox or licence, which Graph answers with an error).
func answers(t *testing.T, root string, cs connector.Collection, owners []string, w pipeline.Window) bool {
	t.Helper()
	for _, o := range owners {
		resp, err := http.Get(root + cs.First(o, w, settings[0]))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true
		}
	}
	return false
}

func get(t *testing.T, url string, want int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		t.Fatalf("GET %s: %d %v, want %d", url, resp.StatusCode, err, want)
	}
	return b
}
