package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
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
		got, err := SkipString([]byte(tc.in), 0)
		if tc.want < 0 {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("SkipString(%s) = %d, %v; want an ErrSyntax", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("SkipString(%s) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestSkipValue_Scalars(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`123,`, `123`}, {`-1.5e3}`, `-1.5e3`}, {`true]`, `true`}, {`null`, `null`}, {`false `, `false`},
		{`{"a":[1,"]"]},`, `{"a":[1,"]"]}`},
	} {
		end, err := SkipValue([]byte(tc.in), 0)
		if err != nil || tc.in[:end] != tc.want {
			t.Errorf("SkipValue(%s) = %d, %v; want %q", tc.in, end, err, tc.want)
		}
	}
	for _, in := range []string{`,`, `{"a":1`, `["x]`, ``} {
		if _, err := SkipValue([]byte(in), 0); err == nil {
			t.Errorf("SkipValue(%s) gave no error", in)
		}
	}
}

func TestField_FastPathAndEscapedKeys(t *testing.T) {
	for _, tc := range []struct{ obj, key, want string }{
		{`{"id":"a","sentDateTime":"2026-11-26T10:00:00Z"}`, "sentDateTime", `"2026-11-26T10:00:00Z"`},
		{`{"id":"a","x":{"@removed":{}}}`, "@removed", ``}, // only nested
		{`{"id":"a"}`, "@removed", ``},                     // absent: the fast path
		{`{"id":"a\"b","@removed":{"reason":"deleted"}}`, "@removed", `{"reason":"deleted"}`},
		{`{"id":"a","\u0040removed":{"reason":"changed"}}`, "@removed", `{"reason":"changed"}`}, // spelled with an escape
		{`[1,2]`, "id", ``},
	} {
		got, err := Field([]byte(tc.obj), tc.key)
		if err != nil || string(got) != tc.want {
			t.Errorf("Field(%s, %q) = %s, %v; want %s", tc.obj, tc.key, got, err, tc.want)
		}
	}
	if _, err := Field([]byte(`{"id" "a","k":1}`), "k"); err == nil {
		t.Error("a malformed object with the key gave no error")
	}
}

func TestPath(t *testing.T) {
	obj := []byte(`{"id":"1","start":{"dateTime":"2024-05-01T10:00:00","timeZone":"UTC"}}`)
	got, err := Path(obj, []string{"start", "dateTime"})
	if err != nil || string(got) != `"2024-05-01T10:00:00"` {
		t.Errorf("Path(start.dateTime) = %s, %v", got, err)
	}
	if got, err := Path(obj, []string{"id", "x"}); err != nil || got != nil {
		t.Errorf("Path(id.x) = %s, %v; want nil", got, err)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{`"abc"`, "abc", true},
		{`"a\"b\\c\/d\u00e9\n"`, "a\"b\\c/dé\n", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud83d"`, "\uFFFD", true},
		{`"\x"`, "", false},
		{`12`, "", false},
		{`null`, "", false},
		{`"`, "", false},
		{"\"a\xffb\"", "a\uFFFDb", true},
	} {
		got, ok := String([]byte(tc.raw))
		if got != tc.want || ok != tc.ok {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzField: for any valid JSON object without duplicate keys, Field
// returns the member encoding/json sees, byte for byte once compacted, and
// String decodes a string member as encoding/json does.
func FuzzField(f *testing.F) {
	for _, s := range []string{
		`{"value":[]}`,
		`{"value":[{"a":"x\"y"},1,"s",null,[1,[2]]]}`,
		`{"@odata.nextLink":"https://h/x?$skiptoken=a\\b","value":"\u00e9\/"}`,
		`{"id":"only-one-object"}`,
		` { "value" : [ { "x" : [ 1 , { "y" : "}" } ] } , 2 ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		var env map[string]json.RawMessage
		if json.Unmarshal(obj, &env) != nil || strings.Count(string(obj), `"value"`) > 1 || strings.Contains(string(obj), `\u0076`) {
			return // not an object, or "value" may be there twice
		}
		got, err := Field(obj, "value")
		if err != nil {
			t.Fatalf("Field(%s): %v", obj, err)
		}
		want, ok := env["value"]
		if !ok {
			if got != nil {
				t.Fatalf("Field(%s) = %s, want nil", obj, got)
			}
			return
		}
		var a, b bytes.Buffer
		if json.Compact(&a, got) != nil || json.Compact(&b, want) != nil || a.String() != b.String() {
			t.Fatalf("Field(%s) = %s, want %s", obj, got, want)
		}
		var s string
		if json.Unmarshal(want, &s) == nil {
			if g, ok := String(got); !ok || g != s {
				t.Fatalf("String(%s) = %q, %v; want %q", got, g, ok, s)
			}
		}
	})
}
