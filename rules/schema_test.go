package rules

import (
	"strings"
	"testing"
)

// schemaRules is a rule file with one endpoint /x filtered by schema (YAML
// flow style), optional transforms (YAML list items) and root definitions.
func schemaRules(schema, transforms, defs string) string {
	s := "endpoints:\n  - pathRegex: \"/x\"\n    responseSchema: " + schema + "\n"
	if transforms != "" {
		s += "    transforms:\n      - " + transforms + "\n"
	}
	if defs != "" {
		s += "definitions: " + defs + "\n"
	}
	return s
}

func TestSchema_UnknownKeysDroppedAtEveryDepth(t *testing.T) {
	schema := `{type: object, properties: {
		id: {type: string},
		a: {type: object, properties: {b: {type: object, properties: {c: {type: string}}}}},
		value: {type: array, items: {type: object, properties: {id: {type: string}, n: {type: object, properties: {k: {type: string}}}}}}}}`
	in := `{"x":"root secret","id":"1","a":{"y":"depth1","b":{"c":"kept","z":{"deep":"secret"}}},` +
		`"value":[{"id":"2","leak":"e@x.com","n":{"k":"v","leak2":[1,2]}},{"q":1}]}`
	want := `{"id":"1","a":{"b":{"c":"kept"}},"value":[{"id":"2","n":{"k":"v"}},{}]}`
	if got := sanitize(t, schemaRules(schema, "", ""), in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSchema_ArraysOfObjectsViaItems(t *testing.T) {
	for _, tc := range []struct{ name, schema, in, want string }{
		{"objects filtered element by element, input key order kept",
			`{type: object, properties: {value: {type: array, items: {type: object, properties: {b: {type: string}, a: {type: string}}}}}}`,
			`{"value":[{"a":"1","b":"2","c":"3"},{"c":"x"},{"a":"4"}]}`,
			`{"value":[{"a":"1","b":"2"},{},{"a":"4"}]}`},
		{"elements that come out null are removed",
			`{type: object, properties: {value: {type: array, items: {type: object, properties: {a: {type: string}}}}}}`,
			`{"value":[{"a":"1"},null,"text",5,[{"a":"2"}],{"a":"3"}]}`,
			`{"value":[{"a":"1"},{"a":"3"}]}`},
		{"string items drop non-strings",
			`{type: object, properties: {m: {type: array, items: {type: string}}}}`,
			`{"m":["a",null,3,"b",{"x":1}]}`,
			`{"m":["a","b"]}`},
		{"boolean items keep null as false",
			`{type: object, properties: {m: {type: array, items: {type: boolean}}}}`,
			`{"m":[true,null,"x"]}`,
			`{"m":[true,false]}`},
		{"not an array becomes null",
			`{type: object, properties: {m: {type: array, items: {type: string}}}}`,
			`{"m":{"0":"a"}}`,
			`{"m":null}`},
		{"arrays of arrays",
			`{type: object, properties: {m: {type: array, items: {type: array, items: {type: integer}}}}}`,
			`{"m":[[1,"2",3.9],[],"x"]}`,
			`{"m":[[1,3],[]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitize(t, schemaRules(tc.schema, "", ""), tc.in); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestSchema_RefDefinitions(t *testing.T) {
	schema := `{type: object, properties: {value: {type: array, items: {$ref: "#/definitions/Item"}}}}`
	defs := `{
		Item: {type: object, properties: {id: {type: string}, owner: {$ref: "#/definitions/Identity"}, children: {type: array, items: {$ref: "#/definitions/Item"}}, alias: {$ref: "#/definitions/Alias"}}},
		Identity: {type: object, properties: {id: {type: string}}},
		Alias: {$ref: "#/definitions/Identity"},
		Unused: {type: string}}`
	in := `{"value":[{"id":"1","name":"secret","owner":{"id":"u","email":"e@x.com"},"alias":{"id":"v","displayName":"Name"},` +
		`"children":[{"id":"2","name":"s2","children":[{"id":"3","owner":{"id":"w","phone":"555"}}]}]}]}`
	want := `{"value":[{"id":"1","owner":{"id":"u"},"alias":{"id":"v"},"children":[{"id":"2","children":[{"id":"3","owner":{"id":"w"}}]}]}]}`
	if got := sanitize(t, schemaRules(schema, "", defs), in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A $ref ignores its siblings, as psoxy's filter checks $ref first.
	schema = `{type: object, properties: {o: {$ref: "#/definitions/Identity", type: string}}}`
	if got := sanitize(t, schemaRules(schema, "", defs), `{"o":{"id":"1","x":2}}`); got != `{"o":{"id":"1"}}` {
		t.Errorf("$ref with sibling type: got %s", got)
	}
	// The endpoint's schema itself may be a $ref.
	if got := sanitize(t, schemaRules(`{$ref: "#/definitions/Identity"}`, "", defs), `{"id":"1","x":2}`); got != `{"id":"1"}` {
		t.Errorf("root $ref: got %s", got)
	}
}

func TestSchema_AugmentKeysPass(t *testing.T) {
	// '+' keys pass unfiltered at every depth, whoever wrote them.
	schema := `{type: object, properties: {value: {type: array, items: {type: object, properties: {id: {type: string}}}}}}`
	in := `{"+root":1,"value":[{"id":"1","+content:textDigest":{"length":3,"word_count":1,"x":[1]},"content":"abc"}]}`
	want := `{"+root":1,"value":[{"id":"1","+content:textDigest":{"length":3,"word_count":1,"x":[1]}}]}`
	if got := sanitize(t, schemaRules(schema, "", ""), in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// And the augments run before the filter: their output survives a
	// schema that does not name it, while the source field is dropped.
	src := "endpoints:\n  - pathRegex: \"/x\"\n    augments:\n      - !<textDigest> {jsonPaths: [\"$..body.content\"]}\n" +
		"    responseSchema: {type: object, properties: {body: {type: object, properties: {contentType: {type: string}}}}}\n"
	got := sanitize(t, src, `{"body":{"contentType":"text","content":"hello big world"},"other":1}`)
	if want := `{"body":{"contentType":"text","+content:textDigest":{"length":15,"word_count":3}}}`; got != want {
		t.Errorf("augment then schema: got  %s\nwant %s", got, want)
	}
}

// Known answers written from psoxy-rules.md §1.7.
func TestSchema_LeafCoercion(t *testing.T) {
	for _, tc := range []struct{ typ, in, want string }{
		// string: text kept; anything else, numbers included, becomes null; the key stays.
		{`{type: string}`, `"a"`, `"a"`},
		{`{type: string}`, `""`, `""`},
		{`{type: string}`, `5`, `null`},
		{`{type: string}`, `true`, `null`},
		{`{type: string}`, `null`, `null`},
		{`{type: string}`, `{"a":"b"}`, `null`},
		{`{type: string}`, `["a"]`, `null`},
		// integer: null stays null; int/long kept; decimals truncated; else null.
		{`{type: integer}`, `12`, `12`},
		{`{type: integer}`, `-7`, `-7`},
		{`{type: integer}`, `null`, `null`},
		{`{type: integer}`, `3.7`, `3`},
		{`{type: integer}`, `-3.7`, `-3`},
		{`{type: integer}`, `0.5`, `0`},
		{`{type: integer}`, `1e3`, `1000`},
		{`{type: integer}`, `2147483648`, `2147483648`},
		{`{type: integer}`, `3.0E10`, `30000000000`},
		{`{type: integer}`, `9223372036854775807`, `9223372036854775807`},
		{`{type: integer}`, `9223372036854775808`, `null`},
		{`{type: integer}`, `1e300`, `null`},
		{`{type: integer}`, `"5"`, `null`},
		{`{type: integer}`, `true`, `null`},
		{`{type: integer}`, `[1]`, `null`},
		// number: any number kept (re-printed as Jackson does), null kept, else null.
		{`{type: number}`, `1.5`, `1.5`},
		{`{type: number}`, `0.00`, `0.0`},
		{`{type: number}`, `7`, `7`},
		{`{type: number}`, `null`, `null`},
		{`{type: number}`, `"1.5"`, `null`},
		{`{type: number}`, `false`, `null`},
		// boolean: booleans kept; null becomes false; else null.
		{`{type: boolean}`, `true`, `true`},
		{`{type: boolean}`, `false`, `false`},
		{`{type: boolean}`, `null`, `false`},
		{`{type: boolean}`, `"true"`, `null`},
		{`{type: boolean}`, `1`, `null`},
		{`{type: boolean}`, `{}`, `null`},
		// null type: always null.
		{`{type: "null"}`, `"x"`, `null`},
		{`{type: "null"}`, `3`, `null`},
		// no type: scalars pass, containers become null.
		{`{}`, `"s"`, `"s"`},
		{`{}`, `2.50`, `2.5`},
		{`{}`, `false`, `false`},
		{`{}`, `null`, `null`},
		{`{}`, `{"a":1}`, `null`},
		{`{}`, `[1]`, `null`},
		// properties or items without a type do not make a container
		// schema: psoxy's filter reads them only under an explicit type.
		{`{properties: {a: {}}}`, `{"a":1}`, `null`},
		{`{items: {}}`, `[1]`, `null`},
		{`{properties: {a: {}}}`, `"s"`, `"s"`},
		// format is ignored.
		{`{type: string, format: date-time}`, `"not a date"`, `"not a date"`},
		// object: non-objects become null; properties {} keeps nothing.
		{`{type: object, properties: {}}`, `{"a":1,"b":{}}`, `{}`},
		{`{type: object}`, `{"a":1}`, `{}`},
		{`{type: object, properties: {a: {}}}`, `"x"`, `null`},
		{`{type: object, properties: {a: {}}}`, `null`, `null`},
		{`{type: object, properties: {a: {}}}`, `[{"a":1}]`, `null`},
	} {
		rules := schemaRules(`{type: object, properties: {v: `+tc.typ+`}}`, "", "")
		got := sanitize(t, rules, `{"v":`+tc.in+`,"drop":1}`)
		if want := `{"v":` + tc.want + `}`; got != want {
			t.Errorf("schema %s, value %s: got %s, want %s", tc.typ, tc.in, got, want)
		}
	}
}

func TestSchema_RootNotMatchingIsNull(t *testing.T) {
	rules := schemaRules(`{type: array, items: {type: string}}`, "", "")
	if got := sanitize(t, rules, `{"a":1}`); got != `null` {
		t.Errorf("got %s, want null", got)
	}
	// Several values in one body are filtered one by one.
	r := mustRules(t, schemaRules(`{type: object, properties: {a: {type: string}}}`, "", ""))
	out, err := r.Sanitize("/x", []byte("{\"a\":\"1\",\"b\":2}\n{\"b\":3,\"a\":\"4\"}"))
	if err != nil || string(out) != "{\"a\":\"1\"}\n{\"a\":\"4\"}" {
		t.Errorf("NDJSON: got %q, %v", out, err)
	}
}

func TestSchema_FilterRunsBeforeTransforms(t *testing.T) {
	schema := `{type: object, properties: {id: {type: integer}, mail: {type: string}, on: {type: boolean}}}`
	// The schema truncates 12.9 to 12, which pseudonymize then hashes: had
	// the transform run first, its t~ string would fail the integer leaf.
	// The schema turns on:null into false before redact-free transforms
	// see it, and drops "secret" before any transform could read it.
	got := sanitize(t, schemaRules(schema, `!<pseudonymize> {jsonPaths: ["$.id", "$.mail", "$.secret"]}`, ""),
		`{"id":12.9,"mail":"A@B.com","on":null,"secret":"s@x.com"}`)
	want := `{"id":"t~` + hashOf("12") + `","mail":"t~` + hashOf("a@b.com") + `@B.com","on":false}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A transform's JSONPath finds nothing the schema dropped (a
	// pseudonymize of an object would fail the request if it did).
	got = sanitize(t, schemaRules(`{type: object, properties: {a: {type: string}}}`, `!<pseudonymize> {jsonPaths: ["$..o"]}`, ""),
		`{"a":"x","o":{"nested":1}}`)
	if got != `{"a":"x"}` {
		t.Errorf("got %s", got)
	}
}

func TestSchema_SanitizePageKeepsRecords(t *testing.T) {
	r := mustRules(t, schemaRules(`{type: object, properties: {value: {type: array, items: {type: object, properties: {id: {type: string}}}}}}`, "", ""))
	page := `{"@odata.context":"c","value":[{"id":"1","x":1},"drop me",{"id":"2","y":2}]}`
	p, err := r.SanitizePage("/x", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 {
		t.Fatalf("got %d records, want 2", len(p.Records))
	}
	for i, want := range []struct{ raw, san string }{{`{"id":"1","x":1}`, `{"id":"1"}`}, {`{"id":"2","y":2}`, `{"id":"2"}`}} {
		if string(p.Records[i].Raw) != want.raw || string(p.Records[i].Sanitized) != want.san {
			t.Errorf("record %d = %s / %s, want %s / %s", i, p.Records[i].Raw, p.Records[i].Sanitized, want.raw, want.san)
		}
	}
}

func TestSchema_CompileErrors(t *testing.T) {
	ep := func(schema string) string {
		return "endpoints:\n  - pathTemplate: \"/v1.0/users\"\n    responseSchema: " + schema + "\n"
	}
	for _, tc := range []struct{ name, src, want string }{
		{"missing definition", ep(`{type: object, properties: {value: {$ref: "#/definitions/Nope"}}}`) + "definitions: {Other: {type: string}}\n",
			`test.yaml:3: endpoint "/v1.0/users" responseSchema.value: $ref "#/definitions/Nope" names no root definition`},
		{"no definitions at all", ep(`{$ref: "#/definitions/User"}`),
			`test.yaml:3: endpoint "/v1.0/users" responseSchema: $ref "#/definitions/User" names no root definition`},
		{"unsupported ref form", ep(`{type: object, properties: {a: {$ref: "other.json#/x"}}}`),
			`endpoint "/v1.0/users" responseSchema.a: unsupported $ref "other.json#/x"`},
		{"unknown type", ep(`{type: object, properties: {v: {type: array, items: {type: strnig}}}}`),
			`test.yaml:3: endpoint "/v1.0/users" responseSchema.v[]: unknown schema type "strnig"`},
		{"unknown key", ep(`{type: object, propertes: {}}`),
			`endpoint "/v1.0/users" responseSchema: unknown schema key "propertes"`},
		{"unsupported conditional", ep(`{type: object, properties: {a: {anyOf: [{type: string}]}}}`),
			`endpoint "/v1.0/users" responseSchema.a: schema key "anyOf" is not supported`},
		{"array without items", ep(`{type: array}`),
			`endpoint "/v1.0/users" responseSchema: type array needs items`},
		{"not a mapping", ep(`[object]`),
			`endpoint "/v1.0/users" responseSchema: a schema must be a mapping`},
		{"bad type in a definition", ep(`{$ref: "#/definitions/A"}`) + "definitions:\n  A: {type: obj}\n",
			`test.yaml:5: definitions.A: unknown schema type "obj"`},
		{"bad ref in a definition", ep(`{$ref: "#/definitions/A"}`) + "definitions:\n  A: {type: object, properties: {b: {$ref: \"#/definitions/B\"}}}\n",
			`definitions.A.b: $ref "#/definitions/B" names no root definition`},
		{"ref cycle", ep(`{$ref: "#/definitions/A"}`) + "definitions:\n  A: {$ref: \"#/definitions/B\"}\n  B: {$ref: \"#/definitions/A\"}\n",
			`$ref cycle that never reaches a type`},
		{"path parameter not captured", "endpoints:\n  - pathTemplate: \"/v1.0/users/{id}\"\n    pathParameterSchemas: {userId: {format: reversible-pseudonym}}\n",
			`pathParameterSchemas names "userId", which the path does not capture`},
		{"unknown path parameter format", "endpoints:\n  - pathTemplate: \"/v1.0/users/{id}\"\n    pathParameterSchemas: {id: {format: email}}\n",
			`unknown parameter format "email"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("test.yaml", []byte(tc.src), specSecrets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Ignored keys are accepted, as psoxy accepts them.
	mustRules(t, ep(`{$schema: "x", title: T, required: [a], additionalProperties: false, type: object, properties: {a: {type: string, format: date-time}}}`))
}

func TestPathParameterSchemas(t *testing.T) {
	r := mustRules(t, "endpoints:\n  - pathTemplate: \"/v1.0/users/{userId}/drives\"\n"+
		"    pathParameterSchemas:\n      userId:\n        anyOf:\n          - type: string\n            format: reversible-pseudonym\n"+
		"  - pathTemplate: \"/v1.0/items/{n}\"\n    pathParameterSchemas: {n: {type: integer}}\n")
	p := "p~" + strings.Repeat("a", 43)
	for u, want := range map[string]bool{
		"/v1.0/users/" + p + "/drives":               true,
		"/v1.0/users/p~short/drives":                 false,
		"/v1.0/users/48d31887-5fad-4d73/drives":      false,
		"/v1.0/users/t~" + p[2:] + "/drives":         false,
		"/v1.0/items/42":                             true,
		"/v1.0/items/4x2":                            false,
		"https://graph.microsoft.com/v1.0/items/007": true,
	} {
		if got := r.Allows(u); got != want {
			t.Errorf("Allows(%s) = %v, want %v", u, got, want)
		}
	}
}

// FuzzSchema checks the allow-list promise on any input: the output is
// valid JSON and every object key in it is one the schema names (or an
// augment's '+' key).
func FuzzSchema(f *testing.F) {
	src := schemaRules(`{type: object, properties: {value: {type: array, items: {$ref: "#/definitions/Node"}}, n: {type: integer}, ok: {type: boolean}}}`, "",
		`{Node: {type: object, properties: {id: {type: string}, kids: {type: array, items: {$ref: "#/definitions/Node"}}, any: {}, num: {type: number}}}}`)
	r, err := Compile("fuzz.yaml", []byte(src), specSecrets)
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]bool{"value": true, "n": true, "ok": true, "id": true, "kids": true, "any": true, "num": true}
	for _, s := range []string{
		`{"value":[{"id":"1","kids":[{"id":"2","x":{"y":1}}],"any":[1],"num":1.50}],"n":3.9,"ok":null,"z":1}`,
		`{"+a":{"q":1},"value":[null,1,{"+b":2}]}`,
		`[1,2]`, `"x"`, `{"n":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := r.Sanitize("/x", in)
		if err != nil {
			return // not JSON: refused
		}
		if !validJSONStream(out) {
			t.Fatalf("invalid JSON output %q", out)
		}
		docs, err := parseDocuments(out)
		if err != nil {
			t.Fatal(err)
		}
		var walk func(v *value, underAugment bool)
		walk = func(v *value, underAugment bool) {
			for _, m := range v.obj {
				aug := underAugment || strings.HasPrefix(m.key, "+")
				if !aug && !allowed[m.key] {
					t.Fatalf("key %q not in the schema reached the output %s", m.key, out)
				}
				walk(m.v, aug)
			}
			for _, e := range v.arr {
				walk(e, underAugment)
			}
		}
		for _, d := range docs {
			walk(d, false)
		}
	})
}
