// Command compattool checks the sanitizer against psoxy's published
// examples: for every row of invocations.tsv and
// invocations-responseschema.tsv it sanitizes the original
// response with psoxy's own rule file (salt "salt", key "secret") and
// compares the result with psoxy's expected output as JSON values, key
// order included. It prints each difference and a last line
// "compat: N/M identical", and fails on a difference that the known-diffs
// file does not list.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"m365export/rules"
)

func main() {
	fixtures := flag.String("fixtures", "../shared/fixtures/psoxy", "psoxy fixtures directory (with invocations.tsv)")
	known := flag.String("known", "rules/testdata/compat-known-diffs.txt", "known differences, one row per line: rules_file expected_file url # reason")
	flag.Parse()
	os.Exit(run(*fixtures, *known, os.Getenv("CI") == "true", os.Stdout, os.Stderr))
}

func run(fixtures, knownPath string, ci bool, stdout, stderr io.Writer) int {
	inv := filepath.Join(fixtures, "invocations.tsv")
	if _, err := os.Stat(inv); err != nil {
		if ci {
			fmt.Fprintf(stderr, "compat: fixtures missing (%s): required under CI=true\n", inv)
			return 1
		}
		fmt.Fprintf(stdout, "compat: fixtures not found at %s; skipping the psoxy compatibility check\n", fixtures)
		return 0
	}
	knownDiffs, err := readKnown(knownPath)
	if err != nil {
		fmt.Fprintf(stderr, "compat: %v\n", err)
		return 1
	}
	rows, err := readRows(inv)
	if err != nil {
		fmt.Fprintf(stderr, "compat: %v\n", err)
		return 1
	}
	// psoxy's examples whose rules filter by responseSchema are listed
	// apart; a fixture set from before they were added lacks the file.
	schemaInv := filepath.Join(fixtures, schemaInvocations)
	if _, err := os.Stat(schemaInv); err == nil {
		more, err := readRows(schemaInv)
		if err != nil {
			fmt.Fprintf(stderr, "compat: %v\n", err)
			return 1
		}
		rows = append(rows, more...)
	} else if ci {
		fmt.Fprintf(stderr, "compat: %s missing: required under CI=true\n", schemaInv)
		return 1
	} else {
		fmt.Fprintf(stdout, "compat: %s not found; checking invocations.tsv only\n", schemaInv)
	}
	secrets := rules.Secrets{Salt: "salt", Key: "secret"}
	compiled := map[string]*rules.Ruleset{}
	identical, byteIdentical, unexpected := 0, 0, 0
	seenKnown := map[string]bool{}
	for i, row := range rows {
		key := row.key()
		diff := func() string {
			rs, ok := compiled[row.rules]
			if !ok {
				src, err := os.ReadFile(filepath.Join(fixtures, row.rules))
				if err != nil {
					return err.Error()
				}
				rs, err = rules.Compile(row.rules, src, secrets)
				if err != nil {
					return err.Error()
				}
				compiled[row.rules] = rs
			}
			in, err := os.ReadFile(filepath.Join(fixtures, row.example))
			if err != nil {
				return err.Error()
			}
			want, err := os.ReadFile(filepath.Join(fixtures, row.expected))
			if err != nil {
				return err.Error()
			}
			got, err := rs.Sanitize(row.url, in)
			if err != nil {
				return "sanitize: " + err.Error()
			}
			// psoxy's own tests compare pretty-printed text; count those too.
			w := bytes.TrimSpace(bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n")))
			if bytes.Equal(w, bytes.TrimSpace(rules.PrettyJSON(got))) {
				byteIdentical++
			}
			return rules.DiffJSON(want, got)
		}()
		if diff == "" {
			identical++
			continue
		}
		_, isKnown := knownDiffs[key]
		seenKnown[key] = true
		status := "DIFF"
		if isKnown {
			status = "known diff"
		} else {
			unexpected++
		}
		fmt.Fprintf(stdout, "%s row %d: %s %s %s\n  %s\n", status, i+1, row.rules, row.expected, row.url, diff)
	}
	for k, reason := range knownDiffs {
		if !seenKnown[k] {
			fmt.Fprintf(stdout, "note: known diff now identical, remove it from %s: %s (%s)\n", knownPath, k, reason)
		}
	}
	fmt.Fprintf(stdout, "compat: %d/%d byte-identical after psoxy's pretty-printing\n", byteIdentical, len(rows))
	fmt.Fprintf(stdout, "compat: %d/%d identical\n", identical, len(rows))
	if unexpected > 0 {
		fmt.Fprintf(stderr, "compat: %d difference(s) not listed in %s\n", unexpected, knownPath)
		return 1
	}
	return 0
}

// schemaInvocations lists the comparisons whose rule files use
// responseSchema (with the same columns as invocations.tsv).
const schemaInvocations = "invocations-responseschema.tsv"

type row struct {
	source, rules, example, expected, url string
}

func (r row) key() string { return r.rules + " " + r.expected + " " + r.url }

func readRows(path string) ([]row, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	header := true
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if header {
			header = false
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("%s: want 5 tab-separated fields, got %d in %q", path, len(f), line)
		}
		rows = append(rows, row{f[0], f[1], f[2], f[3], f[4]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New(path + ": no rows")
	}
	return rows, nil
}

// readKnown reads "rules_file expected_file url # reason" lines; '#' at
// the start of a line is a comment.
func readKnown(path string) (map[string]string, error) {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, reason, ok := strings.Cut(line, " # ")
		if !ok || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: every known diff needs a reason after \" # \"", path, n+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(reason)
	}
	return out, nil
}
