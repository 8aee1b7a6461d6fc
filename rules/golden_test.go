package rules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testSecrets are the fixed salt and key of the golden files.
var testSecrets = Secrets{Salt: "golden-salt", Key: "golden-key"}

// goldenRules loads a case's rules: rules.yaml, or a "connector" file
// naming a built-in connector and variant ("msft-teams ids=kept no-groups").
func goldenRules(t *testing.T, dir string) *Ruleset {
	t.Helper()
	if src, err := os.ReadFile(filepath.Join(dir, "rules.yaml")); err == nil {
		r, err := Compile(filepath.Join(dir, "rules.yaml"), src, testSecrets)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	spec, err := os.ReadFile(filepath.Join(dir, "connector"))
	if err != nil {
		t.Fatalf("case %s needs rules.yaml or connector: %v", dir, err)
	}
	f := strings.Fields(string(spec))
	var v Variant
	for _, opt := range f[1:] {
		switch {
		case strings.HasPrefix(opt, "ids="):
			v.IDs = IDs(strings.TrimPrefix(opt, "ids="))
		case opt == "no-groups":
			v.NoGroups = true
		default:
			t.Fatalf("%s: unknown option %q", dir, opt)
		}
	}
	name, src, err := builtin(t, f[0], v)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile(name, src, testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// leak matches personal data planted in the synthetic inputs: every name,
// address, subject and body contains "zq", and phone numbers are 555-01xx.
// syntheticUserIDs are the user ids of the golden inputs.
var syntheticUserIDs = []string{
	"0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c", "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
}

var (
	leak = regexp.MustCompile(`(?i)zq|555[ -]?01\d\d|\+1425555`)
	// tokens are pseudonyms and opaque Graph tokens, where "zq" may occur by chance.
	tokens = regexp.MustCompile(`[tp]~[A-Za-z0-9_-]+|[A-Za-z0-9_%=-]{40,}`)
)

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/input.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := goldenRules(t, dir)
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			u, err := os.ReadFile(filepath.Join(dir, "url"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Sanitize(strings.TrimSpace(string(u)), input)
			if err != nil {
				t.Fatalf("Sanitize: %v", err)
			}
			pretty := PrettyJSON(got)
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, pretty, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(pretty)); diff != "" {
				t.Errorf("Sanitize mismatch (-want +got):\n%s", diff)
			}
			if spec, _ := os.ReadFile(filepath.Join(dir, "connector")); len(spec) > 0 && !strings.Contains(string(spec), "ids=kept") {
				// Unless ids are kept, no user id of the synthetic tenant
				// may survive anywhere (links, contexts, chat ids, URLs).
				for _, id := range syntheticUserIDs {
					if bytes.Contains(got, []byte(id)) || bytes.Contains(got, []byte(strings.ReplaceAll(id, "-", ""))) {
						t.Errorf("user id %s survived with ids not kept", id)
					}
				}
			}
			scrubbed := tokens.ReplaceAll(got, []byte("TOKEN"))
			if loc := leak.FindIndex(scrubbed); loc != nil {
				lo := max(0, loc[0]-60)
				t.Errorf("personal data survived sanitization: …%s…", scrubbed[lo:min(len(scrubbed), loc[1]+20)])
			}
			if !bytes.Contains(input, []byte("zq")) && !bytes.Contains(input, []byte("Zq")) {
				t.Errorf("synthetic input has no planted personal data to check")
			}
		})
	}
}
