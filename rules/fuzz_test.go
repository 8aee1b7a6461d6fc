package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fuzzRules = `
endpoints:
  - pathRegex: "^/v1.0/.*"
    transforms:
      - !<pseudonymize>
        jsonPaths:
          - "$..mail"
          - "$..emailAddress.address"
          - "$.value[*].id"
          - "$..['a','b']"
          - "$..user.id"
      - !<pseudonymize>
        jsonPaths:
          - "$..upn"
        includeReversible: true
      - !<pseudonymize>
        jsonPaths:
          - "$..hashed"
        encoding: URL_SAFE_HASH_ONLY
`

// pseudonymizedPaths are the paths fuzzRules pseudonymize.
var pseudonymizedPaths = []string{"$..mail", "$..emailAddress.address", "$.value[*].id", "$..['a','b']", "$..user.id", "$..upn", "$..hashed"}

func validJSONStream(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	n := 0
	for {
		var v any
		err := d.Decode(&v)
		if err == io.EOF {
			return n > 0
		}
		if err != nil {
			return false
		}
		n++
	}
}

// stringsAt returns, per path, the values at its matches (nil for a
// non-string) in document order.
func stringsAt(docs []*value, paths []*jsonPath) [][]*string {
	var out [][]*string
	for _, d := range docs {
		for _, p := range paths {
			var vals []*string
			for _, m := range p.eval(d, nil) {
				if m.v == nil {
					for _, k := range m.keys {
						if v := m.obj.get(k); v != nil && v.k == kString {
							s := v.s
							vals = append(vals, &s)
						} else {
							vals = append(vals, nil)
						}
					}
					continue
				}
				if m.v.k == kString {
					s := m.v.s
					vals = append(vals, &s)
				} else {
					vals = append(vals, nil)
				}
			}
			out = append(out, vals)
		}
	}
	return out
}

func FuzzSanitize(f *testing.F) {
	// Small seeds keep minimization fast; one realistic page too.
	if b, err := os.ReadFile(filepath.Join("testdata", "outlook-mail-sentitems", "input.json")); err == nil {
		f.Add(b, "/v1.0/users?$top=5")
	}
	f.Add([]byte(`{"value":[{"id":"x","mail":"A@b.com","user":{"id":7},"a":"1","b":" "}]}`), "/v1.0/x")
	f.Add([]byte(`[{"emailAddress":{"address":"Name <a@b.co>"}},{"upn":"u@v.w"},{"hashed":1.5e3}]`), "https://graph.microsoft.com/v1.0/y?q=1")
	f.Add([]byte("{\"mail\":\"\\u00e9\\ud83d\\ude00\"}\n{\"mail\":null}"), "/v1.0/z")

	r, err := Compile("fuzz.yaml", []byte(fuzzRules), Secrets{Salt: "fuzz-salt", Key: "fuzz-key"})
	if err != nil {
		f.Fatal(err)
	}
	var paths []*jsonPath
	for _, s := range pseudonymizedPaths {
		p, err := compilePath(s)
		if err != nil {
			f.Fatal(err)
		}
		paths = append(paths, p)
	}
	var builtins []*Ruleset
	for _, c := range testConnectors(f) {
		name, src, _ := builtin(f, c, Variant{})
		br, err := Compile(name, src, Secrets{Salt: "fuzz-salt", Key: "fuzz-key"})
		if err != nil {
			f.Fatal(err)
		}
		builtins = append(builtins, br)
	}

	f.Fuzz(func(t *testing.T, input []byte, path string) {
		out, err := r.Sanitize(path, input)
		var se *SyntaxError
		var ns *errNonScalar
		switch {
		case err == nil:
		case errors.Is(err, ErrNotAllowed), errors.As(err, &se), errors.As(err, &ns):
			out = nil
		default:
			t.Fatalf("Sanitize(%q): unexpected error %v", path, err)
		}
		if out != nil {
			if !validJSONStream(out) {
				t.Fatalf("invalid JSON out: %q", out)
			}
			in, _ := parseDocuments(input)
			got, err := parseDocuments(out)
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			before, after := stringsAt(in, paths), stringsAt(got, paths)
			if len(before) != len(after) {
				t.Fatalf("structure changed: %d vs %d path groups", len(before), len(after))
			}
			for i := range before {
				if len(before[i]) != len(after[i]) {
					t.Fatalf("path %d: %d matches before, %d after", i, len(before[i]), len(after[i]))
				}
				for j, s := range before[i] {
					if s != nil && !isBlank(*s) && after[i][j] != nil && *after[i][j] == *s {
						t.Fatalf("pseudonymized value %q survived unchanged", *s)
					}
				}
			}
		}
		// Built-in rules (one per input, to keep executions fast): never
		// panic, valid JSON out.
		for _, br := range builtins[len(input)%len(builtins):][:1] {
			u := "/v1.0/users/" + strings.ReplaceAll(path, "/", "") + "/mailboxSettings"
			if bo, err := br.Sanitize(u, input); err == nil && !validJSONStream(bo) {
				t.Fatalf("%s: invalid JSON out: %q", br.Name(), bo)
			}
			if bo, err := br.Sanitize("/v1.0/users", input); err == nil && !validJSONStream(bo) {
				t.Fatalf("%s: invalid JSON out: %q", br.Name(), bo)
			}
		}
	})
}
