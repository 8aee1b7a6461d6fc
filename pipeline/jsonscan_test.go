package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSkipString_Escapes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int // index just past the string; -1: error
	}{
		{`"abc",`, 5},
		{`""x`, 2},
		{`"a\"b"x`, 6},
		{`"a\\"x`, 5},
		{`"a\\\"b"x`, 8},
		{`"\\\\"x`, 6},
		{`"a\"`, -1},
		{`"abc`, -1},
		{`"é\u0022"`, len(`"é\u0022"`)},
	} {
		got, err := skipString([]byte(tc.in), 0)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("skipString(%s) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("skipString(%s) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestSkipValue_Scalars(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`123,`, `123`}, {`-1.5e3}`, `-1.5e3`}, {`true]`, `true`}, {`null`, `null`}, {`false `, `false`},
	} {
		end, err := skipValue([]byte(tc.in), 0)
		if err != nil || tc.in[:end] != tc.want {
			t.Errorf("skipValue(%s) = %d, %v; want %q", tc.in, end, err, tc.want)
		}
	}
	if _, err := skipValue([]byte(`,`), 0); err == nil {
		t.Error("skipValue(,) gave no error")
	}
}

// FuzzSplitValue: for any valid JSON page, splitValue returns exactly the
// elements encoding/json sees, byte for byte once compacted.
func FuzzSplitValue(f *testing.F) {
	for _, s := range []string{
		`{"value":[]}`,
		`{"value":[{"a":"x\"y"},1,"s",null,[1,[2]]]}`,
		`{"@odata.nextLink":"https://h/x?$skiptoken=a\\b","value":[{"k":"\\\\"}, {"k":"}]"}]}`,
		`{"id":"only-one-object"}`,
		` { "value" : [ { "x" : [ 1 , { "y" : "}" } ] } , 2 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		var env map[string]json.RawMessage
		if json.Unmarshal(page, &env) != nil {
			return
		}
		got, err := splitValue(page)
		var want []json.RawMessage
		if v, ok := env["value"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			if json.Unmarshal(v, &want) != nil {
				return // value is not an array: splitValue may refuse it
			}
		} else {
			return
		}
		if hasDuplicateValueKey(page) {
			return
		}
		if err != nil {
			t.Fatalf("splitValue(%s): %v", page, err)
		}
		if len(got) != len(want) {
			t.Fatalf("splitValue(%s): %d elements, encoding/json %d", page, len(got), len(want))
		}
		for i := range got {
			var a, b bytes.Buffer
			if json.Compact(&a, got[i]) != nil || json.Compact(&b, want[i]) != nil || a.String() != b.String() {
				t.Fatalf("element %d: %s, want %s", i, got[i], want[i])
			}
		}
	})
}

// hasDuplicateValueKey: encoding/json keeps the last "value", splitValue
// the first; such pages are out of the comparison.
func hasDuplicateValueKey(page []byte) bool {
	return strings.Count(string(page), `"value"`) > 1
}

func TestObjectField_FastPathAndEscapedKeys(t *testing.T) {
	for _, tc := range []struct{ obj, key, want string }{
		{`{"id":"a","sentDateTime":"2026-11-26T10:00:00Z"}`, "sentDateTime", `"2026-11-26T10:00:00Z"`},
		{`{"id":"a","x":{"@removed":{}}}`, "@removed", ``}, // only nested
		{`{"id":"a"}`, "@removed", ``},                     // absent: the fast path
		{`{"id":"a\"b","@removed":{"reason":"deleted"}}`, "@removed", `{"reason":"deleted"}`},
		{`{"id":"a","\u0040removed":{"reason":"changed"}}`, "@removed", `{"reason":"changed"}`}, // spelled with an escape
		{`[1,2]`, "id", ``},
	} {
		got, err := objectField([]byte(tc.obj), tc.key)
		if err != nil || string(got) != tc.want {
			t.Errorf("objectField(%s, %q) = %s, %v; want %s", tc.obj, tc.key, got, err, tc.want)
		}
	}
	if _, err := objectField([]byte(`{"id" "a","k":1}`), "k"); err == nil {
		t.Error("a malformed object with the key gave no error")
	}
}
