package rules

import (
	"strings"
	"testing"
)

const allowSrc = `endpoints:
  - pathTemplate: "/v1.0/users/{id}/things"
    transforms:
      - !<redact>
        jsonPaths:
          - "$..secret"
  - pathRegex: "/v1\\.0/users(/[^/?]+)?(\\?.*)?"
  - pathTemplate: "/v1.0/unused"
  - pathTemplate: "/v1.0/own"
    responseSchema:
      type: "object"
      properties:
        "a": {}
`

func TestAddResponseSchemas(t *testing.T) {
	rec := Object(map[string]*Shape{
		"id":                  Leaf(),
		"from":                Object(map[string]*Shape{"user": Object(map[string]*Shape{"id": Leaf()})}),
		"tags":                Array(Leaf()),
		"+content:textDigest": Leaf(),
	})
	reqs := []Request{
		{URL: "/v1.0/users/u1/things?$top=5", Shape: Object(map[string]*Shape{"value": Array(rec)})},
		{URL: "/v1.0/users?$top=999", Shape: Object(map[string]*Shape{"value": Array(Object(map[string]*Shape{"id": Leaf()}))})},
		{URL: "/v1.0/users/u1", Shape: Object(map[string]*Shape{"mail": Leaf()})},
		{URL: "/v1.0/not/allowed", Shape: Leaf()},
	}
	out, err := AddResponseSchemas("test", []byte(allowSrc), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "responseSchema:"); n != 4 {
		t.Fatalf("%d response schemas, want 4 (one per endpoint):\n%s", n, out)
	}
	if strings.Contains(string(out), "+content") {
		t.Errorf("augment keys named in a responseSchema (psoxy's filter keeps them all):\n%s", out)
	}
	r, err := Compile("test", out, Secrets{Salt: "s"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, c := range []struct{ url, in, want string }{
		// Kept: the named members, values unchanged; augments pass; the
		// rules' own transforms still run.
		{"/v1.0/users/u1/things", `{"@odata.nextLink":"x","value":[{"id":"1","secret":"s","extra":"e","from":{"user":{"id":"u","name":"n"},"x":1},"tags":["a",{"o":1}]}]}`,
			`{"value":[{"id":"1","from":{"user":{"id":"u"}},"tags":["a"]}]}`},
		// One endpoint answering a list and a single object keeps both.
		{"/v1.0/users?$top=1", `{"value":[{"id":"1","mail":"m","x":2}],"mail":"top"}`, `{"value":[{"id":"1"}],"mail":"top"}`},
		// An endpoint no request reaches keeps nothing.
		{"/v1.0/unused", `{"value":[{"id":"1"}],"a":1}`, `{}`},
		// A responseSchema written by hand is left as it is.
		{"/v1.0/own", `{"a":1,"b":2}`, `{"a":1}`},
	} {
		got, err := r.Sanitize(c.url, []byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.url, got, c.want)
		}
	}
}

func TestShapeFilter_Strict(t *testing.T) {
	s := Object(map[string]*Shape{
		"id":                  Leaf(),
		"+content:textDigest": Object(map[string]*Shape{"length": Leaf()}),
		"list":                Array(Object(map[string]*Shape{"k": Leaf()})),
		"leaf":                Leaf(),
	})
	in := `{"id":"p~abc","+content:textDigest":{"length":3,"words":1},"+other:textDigest":{"length":1},"list":[{"k":1.5,"x":2},null,"s"],"leaf":{"planted":"x"},"new":"x"}`
	got, err := s.Filter([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"p~abc","+content:textDigest":{"length":3},"list":[{"k":1.5},null,null],"leaf":null}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := s.Filter([]byte(`{"a":`)); err == nil {
		t.Error("malformed JSON accepted")
	}
}

func TestUnionAndPaths(t *testing.T) {
	a := Object(map[string]*Shape{"x": Leaf(), "o": Object(map[string]*Shape{"p": Leaf()})})
	b := Object(map[string]*Shape{"y": Array(Leaf()), "o": Object(map[string]*Shape{"q": Leaf()})})
	got := strings.Join(Union(a, b).Paths(), " ")
	if want := "o.p o.q x y[]"; got != want {
		t.Errorf("paths %q, want %q", got, want)
	}
}
