package rules

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSanitizePage_MatchesSanitize: on every golden case, SanitizePage's
// records are Sanitize's value[] elements, each paired with its input
// element.
func TestSanitizePage_MatchesSanitize(t *testing.T) {
	ins, err := filepath.Glob("testdata/*/input.json")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range ins {
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
			url := strings.TrimSpace(string(u))
			whole, err := r.Sanitize(url, input)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := r.SanitizePage(url, input)
			if err != nil {
				t.Fatalf("SanitizePage: %v", err)
			}
			wantSan, wantRaw := elements(t, whole), elements(t, input)
			var gotSan, gotRaw []string
			for _, rec := range pg.Records {
				gotSan = append(gotSan, string(rec.Sanitized))
				gotRaw = append(gotRaw, compact(t, rec.Raw))
			}
			if diff := cmp.Diff(wantSan, gotSan); diff != "" {
				t.Errorf("sanitized records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRaw, gotRaw); diff != "" {
				t.Errorf("raw records (-want +got):\n%s", diff)
			}
		})
	}
}

// elements returns a page's value[] elements, or the page when it has
// none, compacted.
func elements(t *testing.T, page []byte) []string {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(page, &env); err != nil {
		t.Fatal(err)
	}
	v, ok := env["value"]
	if !ok {
		return []string{compact(t, page)}
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(v, &recs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, compact(t, r))
	}
	return out
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestSanitizePage_DroppedRecords: a rule that removes records leaves the
// others paired with their own raw records.
func TestSanitizePage_DroppedRecords(t *testing.T) {
	src := []byte(`
endpoints:
  - pathTemplate: "/v1.0/users"
    transforms:
      - !<redact>
        jsonPaths:
          - "$.value[?(@.drop == true)]"
`)
	r, err := Compile("drop.yaml", src, Secrets{Salt: "s"})
	if err != nil {
		t.Fatal(err)
	}
	page := []byte(` {"value":[ {"id":"1","drop":true}, {"id":"2"} ,{"id":"3","drop":true},{"id":"4"}],"value2":1} `)
	pg, err := r.SanitizePage("/v1.0/users", page)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range pg.Records {
		got = append(got, string(rec.Raw)+" → "+string(rec.Sanitized))
	}
	want := []string{`{"id":"2"} → {"id":"2"}`, `{"id":"4"} → {"id":"4"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"value":{}}`, `[1]`, `{"value":[]} {"value":[]}`, `{"value":[}`} {
		if _, err := r.SanitizePage("/v1.0/users", []byte(bad)); err == nil {
			t.Errorf("SanitizePage(%s) gave no error", bad)
		}
	}
}

// TestSanitizePage_OutputOutlivesThePage: the page is parsed in place
// (getParser aliases its bytes), so nothing SanitizePage, Sanitize or
// Shape.Filter returns may point into their input: overwriting the
// input afterwards (a buffer reused for the next page) must leave every
// sanitized record, and the pseudonyms of the next page, unchanged.
func TestSanitizePage_OutputOutlivesThePage(t *testing.T) {
	name, src, err := builtin(t, "outlook-mail", Variant{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile(name, src, Secrets{Salt: "alias-salt", Key: "alias-key"})
	if err != nil {
		t.Fatal(err)
	}
	url, page := benchPage(t, "outlook-mail-sentitems", 50)
	fresh, err := Compile(name, src, Secrets{Salt: "alias-salt", Key: "alias-key"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := fresh.SanitizePage(url, bytes.Clone(page))
	if err != nil {
		t.Fatal(err)
	}
	var wantSan []string
	for _, rec := range want.Records {
		wantSan = append(wantSan, string(rec.Sanitized))
	}

	buf := bytes.Clone(page)
	pg, err := r.SanitizePage(url, buf)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := r.Sanitize(url, buf)
	if err != nil {
		t.Fatal(err)
	}
	wholeWant := string(whole)
	shape := Object(map[string]*Shape{"id": Leaf(), "from": Leaf(), "toRecipients": Leaf()})
	rec0 := bytes.Clone(pg.Records[0].Sanitized)
	filtered, err := shape.Filter(rec0)
	if err != nil {
		t.Fatal(err)
	}
	filteredWant := string(filtered)
	for _, b := range [][]byte{buf, rec0} {
		for i := range b {
			b[i] = 'x'
		}
	}
	var got []string
	for _, rec := range pg.Records {
		got = append(got, string(rec.Sanitized))
	}
	if diff := cmp.Diff(wantSan, got); diff != "" {
		t.Errorf("SanitizePage records after the page was overwritten (-want +got):\n%s", diff)
	}
	if string(whole) != wholeWant {
		t.Error("Sanitize's output changed when its input was overwritten")
	}
	if string(filtered) != filteredWant {
		t.Error("Filter's output changed when its input was overwritten")
	}
	// The pseudonym cache was filled from the overwritten page: the same
	// identities on a new page must still get their own pseudonyms.
	again, err := r.SanitizePage(url, bytes.Clone(page))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, rec := range again.Records {
		got = append(got, string(rec.Sanitized))
	}
	if diff := cmp.Diff(wantSan, got); diff != "" {
		t.Errorf("next page's records after the cached page was overwritten (-want +got):\n%s", diff)
	}
}

// TestSanitizePageAllowed_EqualsFilter: on every golden case,
// SanitizePageAllowed gives each record exactly the bytes that
// SanitizePage and then Shape.Filter give (every other member kept, as a
// leaf, so that members go and containers turn null).
func TestSanitizePageAllowed_EqualsFilter(t *testing.T) {
	ins, err := filepath.Glob("testdata/*/input.json")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range ins {
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
			url := strings.TrimSpace(string(u))
			pg, err := r.SanitizePage(url, input)
			if err != nil {
				t.Fatal(err)
			}
			props := map[string]*Shape{}
			if len(pg.Records) > 0 {
				docs, err := parseDocuments(pg.Records[0].Sanitized)
				if err != nil {
					t.Fatal(err)
				}
				for i, m := range docs[0].obj {
					if i%2 == 0 {
						props[m.key] = Leaf()
					}
				}
			}
			shape := Object(props)
			var want []string
			for _, rec := range pg.Records {
				b, err := shape.Filter(rec.Sanitized)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, string(b))
			}
			got, err := r.SanitizePageAllowed(url, input, shape)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, rec := range got.Records {
				gotS = append(gotS, string(rec.Sanitized))
			}
			if diff := cmp.Diff(want, gotS); diff != "" {
				t.Errorf("records (-SanitizePage then Filter +SanitizePageAllowed):\n%s", diff)
			}
		})
	}
}
