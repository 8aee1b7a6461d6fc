package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun_MissingFixtures(t *testing.T) {
	var out, errOut bytes.Buffer
	missing := filepath.Join(t.TempDir(), "nope")
	if code := run(missing, "", false, &out, &errOut); code != 0 || !strings.Contains(out.String(), "skipping") {
		t.Errorf("outside CI: exit %d, out %q", code, out.String())
	}
	if code := run(missing, "", true, &out, &errOut); code != 1 {
		t.Errorf("under CI=true: exit %d, want 1", code)
	}
}

// TestRun_Differences builds a one-row fixture set whose expected output is
// wrong, and checks that the difference fails unless it is listed.
func TestRun_Differences(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("r.yaml", "endpoints:\n  - pathTemplate: /v1.0/things\n    transforms:\n      - !<redact> {jsonPaths: [\"$..secret\"]}\n")
	write("in.json", `{"a":1,"secret":"x"}`)
	write("good.json", "{\n  \"a\":1\n}\n")
	write("bad.json", `{"a":2}`)
	write("invocations.tsv", "source\trules_file\texample_file\texpected_file\turl\n"+
		"t\tr.yaml\tin.json\tgood.json\thttps://graph.microsoft.com/v1.0/things\n"+
		"t\tr.yaml\tin.json\tbad.json\t/v1.0/things\n")
	var out, errOut bytes.Buffer
	if code := run(dir, filepath.Join(dir, "known.txt"), false, &out, &errOut); code != 1 {
		t.Errorf("unlisted difference: exit %d, want 1\n%s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; last != "compat: 1/2 identical" || !strings.Contains(out.String(), "$.a: want 2, got 1") {
		t.Errorf("output:\n%s", out.String())
	}
	write("known.txt", "# comment\nr.yaml bad.json /v1.0/things # deliberately wrong expectation\n")
	out.Reset()
	if code := run(dir, filepath.Join(dir, "known.txt"), false, &out, &errOut); code != 0 {
		t.Errorf("listed difference: exit %d, want 0\n%s", code, out.String())
	}
	write("known.txt", "r.yaml bad.json /v1.0/things\n")
	if code := run(dir, filepath.Join(dir, "known.txt"), false, &out, &errOut); code != 1 {
		t.Errorf("known diff without a reason: exit %d, want 1", code)
	}
}

// TestRun_SchemaInvocations checks that the rows of
// invocations-responseschema.tsv are run and counted with the others, and
// that CI requires the file.
func TestRun_SchemaInvocations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	header := "source\trules_file\texample_file\texpected_file\turl\n"
	write("r.yaml", "endpoints:\n  - pathTemplate: /v1.0/things\n")
	write("s.yaml", "endpoints:\n  - pathTemplate: /v1.0/things\n    responseSchema: {$ref: \"#/definitions/T\"}\ndefinitions:\n  T: {type: object, properties: {a: {type: integer}}}\n")
	write("in.json", `{"a":1.5,"secret":"x"}`)
	write("raw.json", `{"a":1.5,"secret":"x"}`)
	write("filtered.json", `{"a":1}`)
	write("invocations.tsv", header+"t\tr.yaml\tin.json\traw.json\t/v1.0/things\n")
	var out, errOut bytes.Buffer
	if code := run(dir, "", true, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), schemaInvocations) {
		t.Errorf("CI without %s: exit %d, stderr %q", schemaInvocations, code, errOut.String())
	}
	out.Reset()
	if code := run(dir, "", false, &out, &errOut); code != 0 || !strings.Contains(out.String(), "compat: 1/1 identical") {
		t.Errorf("without %s: exit %d\n%s", schemaInvocations, code, out.String())
	}
	write(schemaInvocations, header+"t\ts.yaml\tin.json\tfiltered.json\t/v1.0/things\n")
	out.Reset()
	if code := run(dir, "", true, &out, &errOut); code != 0 || !strings.HasSuffix(strings.TrimSpace(out.String()), "compat: 2/2 identical") {
		t.Errorf("with %s: exit %d\n%s", schemaInvocations, code, out.String())
	}
}
