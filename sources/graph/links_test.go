package graph

import (
	"encoding/json"
	"testing"
)

func TestScanLinks(t *testing.T) {
	for _, tc := range []struct {
		in          string
		next, delta string
		bad         bool
	}{
		{`{"value":[]}`, "", "", false},
		{` {"@odata.context":"x","@odata.nextLink":"https://g/v1.0/users?$skiptoken=a","value":[{"id":"1","n":{"a":[1,2,{"b":"}"}]}}]} `, "https://g/v1.0/users?$skiptoken=a", "", false},
		{`{"value":[{"s":"\"]}"}],"@odata.deltaLink":"https://g/d?a=1\u0026b=2"}`, "", "https://g/d?a=1&b=2", false},
		{`{"@odata.nextLink":null,"value":[true,false,null,-1.5e3]}`, "", "", false},
		{`{}`, "", "", false},
		{`{"value":[{"id":"1"},{"id":`, "", "", true},
		{`{"value":[{"id":"1"}]`, "", "", true},
		{`{"value":[{"id":"1\`, "", "", true},
		{`{"value":[]} x`, "", "", true},
		{`[1]`, "", "", true},
		{``, "", "", true},
		{`{"@odata.nextLink":5,"value":[]}`, "", "", true},
		{`{"a":1`, "", "", true},
		{`{"a":tru`, "", "", true},
	} {
		l, err := scanLinks([]byte(tc.in))
		if (err != nil) != tc.bad || l.next != tc.next || l.delta != tc.delta {
			t.Errorf("scanLinks(%s) = %+v, %v; want next %q delta %q bad %v", tc.in, l, err, tc.next, tc.delta, tc.bad)
		}
	}
}

// FuzzScanLinks: whatever scanLinks accepts, encoding/json accepts too,
// with the same links; a cut-short valid page is always refused.
func FuzzScanLinks(f *testing.F) {
	f.Add([]byte(`{"@odata.nextLink":"https://g/x?a=1","value":[{"id":"1","s":"a\"b"}]}`))
	f.Add([]byte(`{"value":[],"@odata.deltaLink":"d"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := scanLinks(b)
		var m map[string]any
		if jerr := json.Unmarshal(b, &m); jerr == nil && m != nil {
			str := func(k string) (string, bool) {
				v, present := m[k]
				if !present || v == nil {
					return "", true
				}
				s, ok := v.(string)
				return s, ok
			}
			next, ok1 := str("@odata.nextLink")
			delta, ok2 := str("@odata.deltaLink")
			if err != nil {
				if ok1 && ok2 {
					t.Errorf("scanLinks refused valid %q: %v", b, err)
				}
				return
			}
			// Duplicate keys: encoding/json keeps the last, as scanLinks does.
			if next != l.next || delta != l.delta {
				t.Errorf("scanLinks(%q) = %+v, encoding/json says %q %q", b, l, next, delta)
			}
			for i := 1; i < len(b); i++ {
				if json.Valid(b[:i]) {
					continue
				}
				if _, err := scanLinks(b[:i]); err == nil {
					var v any
					if json.Unmarshal(b[:i], &v) != nil {
						t.Errorf("scanLinks accepted the cut %q of %q", b[:i], b)
					}
				}
			}
		}
	})
}

// BenchmarkScanLinks: finding the paging links of a 100-record page,
// against decoding them with encoding/json.
func BenchmarkScanLinks(b *testing.B) {
	page := benchPage("https://graph.microsoft.com/v1.0/users/u/messages?$skip=100")
	b.Run("scanLinks", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if l, err := scanLinks(page); err != nil || l.next == "" {
				b.Fatal(l, err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			var env struct {
				Next string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(page, &env); err != nil || env.Next == "" {
				b.Fatal(err)
			}
		}
	})
}
