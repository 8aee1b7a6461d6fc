package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

var specSecrets = Secrets{Salt: "salt", Key: "secret"}

// The spec's verified vectors (psoxy-rules.md §2.7).
func TestPseudonym_KnownAnswers(t *testing.T) {
	p := &pseudonymizer{salt: "salt", key: "secret"}
	id := p.identify("MeganB@M365x214355.onmicrosoft.com")
	if got, want := id.token(), "t~aUhZDS0Tjei4n0wfbt9bej85CgpSsYc73vYezVh5mVg@M365x214355.onmicrosoft.com"; got != want {
		t.Errorf("token = %q, want %q", got, want)
	}
	gid := p.identify("48d31887-5fad-4d73-a9f5-3c356e68a038")
	got, err := p.reversibleToken(&gid)
	if err != nil {
		t.Fatal(err)
	}
	if want := "p~SIoJOpeSgYF7YUPQ28IWZexVuHyN9A80SJXrbfawKpDRcddGnKI4QDKyjQI9KtjJZDb8FZ27UE_toS68FyWz7Y22fnQYLP91SHJGVwQiN3E"; got != want {
		t.Errorf("reversible = %q, want %q", got, want)
	}
	// Another salt gives another pseudonym.
	q := &pseudonymizer{salt: "pepper"}
	if qid := q.identify("MeganB@M365x214355.onmicrosoft.com"); qid.token() == id.token() {
		t.Error("salt does not change the pseudonym")
	}
}

func TestIdentify_Canonicalization(t *testing.T) {
	p := &pseudonymizer{salt: "salt"}
	base := p.identify("meganb@m365x214355.onmicrosoft.com")
	for _, in := range []string{
		"MeganB@M365x214355.onmicrosoft.com",
		"meganb+news@M365x214355.ONMICROSOFT.com",
		"Megan Bowen <MeganB@M365x214355.onmicrosoft.com>",
		`"MeganB"@M365x214355.onmicrosoft.com`,
	} {
		id := p.identify(in)
		if id.hash != base.hash {
			t.Errorf("identify(%q) canonical %q, want same hash as %q", in, id.canonical, base.canonical)
		}
	}
	if d := p.identify("MeganB@M365x214355.onmicrosoft.com").domain; d != "M365x214355.onmicrosoft.com" {
		t.Errorf("domain = %q, want original case", d)
	}
	// Not emails: hashed verbatim, no trimming or lower-casing.
	for _, in := range []string{" MeganB ", "19:abc@thread.tacv2", "a@@b.com", "plain", `{"hash":"x"}`} {
		id := p.identify(in)
		if id.hasDomain || id.canonical != in {
			t.Errorf("identify(%q) = canonical %q domain %v, want verbatim", in, id.canonical, id.hasDomain)
		}
	}
}

func TestParseEmail(t *testing.T) {
	for _, tc := range []struct {
		in, local, domain string
		ok                bool
	}{
		{"a.b@example.com", "a.b", "example.com", true},
		{"Name <x@y.org>", "x", "y.org", true},
		{`"Quoted Name" <x@y.org>`, "x", "y.org", true},
		{" a@b.co ", "a", "b.co", true},
		{`"a b"@c.com`, `"a b"`, "c.com", true},
		{"a@[10.0.0.1]", "a", "[10.0.0.1]", true},
		{"a.@b.com", "", "", false},
		{"@b.com", "", "", false},
		{"a@", "", "", false},
		{"a b@c.com", "", "", false},
		{"19:abc@thread.v2", "", "", false},
		{"x@y.com, z@w.com", "", "", false},
		{"Jöhn <j@x.com>", "", "", false},
	} {
		a, ok := parseEmail(tc.in)
		if ok != tc.ok || (ok && (a.local != tc.local || a.domain != tc.domain)) {
			t.Errorf("parseEmail(%q) = %+v, %v; want %q %q %v", tc.in, a, ok, tc.local, tc.domain, tc.ok)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	for in, want := range map[string]string{
		"0.00": "0.0", "5.0": "5.0", "1.5": "1.5", "0.001": "0.001", "0.0001": "1.0E-4",
		"1e7": "1.0E7", "9999999.0": "9999999.0", "123456789.5": "1.234567895E8",
		"-0.0": "-0.0", "3.2e-7": "3.2E-7", "100": "100", "-0": "0", "1E2": "100.0",
		"12345678901234567890": "12345678901234567890",
	} {
		if got := numberString(in); got != want {
			t.Errorf("numberString(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestEncoder_JacksonEscaping(t *testing.T) {
	in := `{"a":"<b>&\u2028\/\u0001\t\"\\é","n":[1.50,2e1]}`
	got, err := mustRules(t, identityRules).Sanitize("/x", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"a\":\"<b>&\u2028/\\u0001\\t\\\"\\\\é\",\"n\":[1.5,20.0]}"
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

const identityRules = `
endpoints:
  - pathRegex: "^/x.*"
`

func mustRules(t *testing.T, src string) *Ruleset {
	t.Helper()
	r, err := Compile("test.yaml", []byte(src), specSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sanitize(t *testing.T, rules, in string) string {
	t.Helper()
	out, err := mustRules(t, rules).Sanitize("/x", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestJSONPath_JaywaySemantics(t *testing.T) {
	for _, tc := range []struct{ name, rules, in, want string }{
		{"redact deletes keys and array elements",
			`{method: redact, jsonPaths: ["$..a", "$..p[*]"]}`,
			`{"a":1,"b":{"a":null,"p":["x","y"]},"p":[]}`,
			`{"b":{"p":[]},"p":[]}`},
		{"deep scan property chain",
			`{method: redact, jsonPaths: ["$..emailAddress.name"]}`,
			`{"x":{"emailAddress":{"name":"n","address":"a"}},"emailAddress":null}`,
			`{"x":{"emailAddress":{"address":"a"}},"emailAddress":null}`},
		{"multi-key leaf under deep scan needs all keys",
			`{method: redact, jsonPaths: ["$..['k1','k2']"]}`,
			`{"k1":1,"o":{"k1":1,"k2":2,"k3":3},"p":{"k2":2}}`,
			`{"k1":1,"o":{"k3":3},"p":{"k2":2}}`},
		{"multi-key leaf at root skips missing keys",
			`{method: redact, jsonPaths: ["$.['k1','k2']"]}`,
			`{"k1":1,"k3":3}`,
			`{"k3":3}`},
		{"filter undefined != x is true",
			`{method: redact, jsonPaths: ["$..from..[?(@.kind != \"bot\")].id"]}`,
			`{"from":{"user":{"id":"u"},"app":{"id":"b","kind":"bot"}}}`,
			`{"from":{"user":{},"app":{"id":"b","kind":"bot"}}}`},
		{"filter equality on array elements",
			`{method: redact, jsonPaths: ["$..links[?(@.t == 'File')].url"]}`,
			`{"links":[{"t":"File","url":"u1"},{"t":"Event","url":"u2"}]}`,
			`{"links":[{"t":"File"},{"t":"Event","url":"u2"}]}`},
		{"missing path is a no-op",
			`{method: redact, jsonPaths: ["$.a.b.c"]}`,
			`{"a":{"x":1}}`,
			`{"a":{"x":1}}`},
		{"collect then apply: nested matches",
			`{method: pseudonymize, jsonPaths: ["$..id"], encoding: URL_SAFE_HASH_ONLY}`,
			`{"id":"a","o":{"id":"a"}}`,
			`{"id":"` + hashOf("a") + `","o":{"id":"` + hashOf("a") + `"}}`},
		{"index and wildcard",
			`{method: redact, jsonPaths: ["$.a[0]", "$.o.*"]}`,
			`{"a":[1,2],"o":{"x":1,"y":2}}`,
			`{"a":[2],"o":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := "endpoints:\n  - pathRegex: \"/x\"\n    transforms:\n      - " + tc.rules + "\n"
			if got := sanitize(t, rules, tc.in); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestTransforms(t *testing.T) {
	for _, tc := range []struct{ name, rules, in, want string }{
		{"pseudonymize null and blank, numbers",
			`!<pseudonymize> {jsonPaths: ["$.a", "$.b", "$.c"]}`,
			`{"a":null,"b":" ","c":12345}`,
			`{"a":null,"b":null,"c":"t~` + hashOf("12345") + `"}`},
		{"pseudonymize JSON encoding with original",
			`!<pseudonymize> {jsonPaths: ["$.m", "$.n"], encoding: JSON, includeOriginal: true}`,
			`{"m":"G@Example.com","n":null}`,
			`{"m":"{\"domain\":\"Example.com\",\"hash\":\"` + hashOf("g@example.com") + `\",\"original\":\"G@Example.com\"}","n":"null"}`},
		{"pseudonymizeRegexMatches",
			`!<pseudonymizeRegexMatches> {jsonPaths: ["$.p[*]"], regex: "(?i)^smtp:(.*)$"}`,
			`{"p":["SMTP:a@b.com","SPO:x",""]}`,
			`{"p":["SMTP:t~` + hashOf("a@b.com") + `@b.com",null,null]}`},
		{"redactRegexMatches",
			`!<redactRegexMatches> {jsonPaths: ["$.u", "$.n"], redactions: ["(?i)pwd=[^&]*"]}`,
			`{"u":"https://z.zoom.us/j/1?PWD=abc&x=1","n":5}`,
			`{"u":"https://z.zoom.us/j/1?&x=1","n":null}`},
		{"filterTokenByRegex",
			`!<filterTokenByRegex> {jsonPaths: ["$.a", "$.b", "$.c"], filters: ["https://[^.]+\\.zoom\\.us/.*"]}`,
			`{"a":" see https://x.zoom.us/j/1 and https://y.zoom.us/j/2 ","b":"nothing here","c":"  "}`,
			`{"a":"https://x.zoom.us/j/1 https://y.zoom.us/j/2","b":null,"c":"  "}`},
		{"redactExceptPhrases keeps phrases in list order",
			`!<redactExceptPhrases> {jsonPaths: ["$.s", "$.t"], allowedPhrases: ["Focus Time", "Focus", "1:1", "weekly"]}`,
			`{"s":"WEEKLY secret 1:1 focus time","t":"Board dinner"}`,
			`{"s":"focus time,focus,1:1,WEEKLY","t":""}`},
		{"tokenize with regex replaces the group",
			`!<tokenize> {jsonPaths: ["$.l", "$.m"], regex: "^https://g/users/([a-z0-9-]+)/.*$"}`,
			`{"l":"https://g/users/abc/x?u=abc","m":"https://g/teams/abc"}`,
			`{"l":"https://g/users/` + tokenOf("abc") + `/x?u=` + tokenOf("abc") + `","m":"https://g/teams/abc"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := "endpoints:\n  - pathRegex: \"/x\"\n    transforms:\n      - " + tc.rules + "\n"
			if got := sanitize(t, rules, tc.in); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func hashOf(canonical string) string {
	p := &pseudonymizer{salt: "salt"}
	h := p.hash(canonical)
	return b64.EncodeToString(h[:])
}

func tokenOf(s string) string {
	p := &pseudonymizer{salt: "salt", key: "secret"}
	out, _ := p.tokenizeValue(s)
	return out
}

func TestPseudonymize_ObjectFails(t *testing.T) {
	r := mustRules(t, "endpoints:\n  - pathRegex: \"/x\"\n    transforms:\n      - !<pseudonymize> {jsonPaths: [\"$.a\"]}\n")
	_, err := r.Sanitize("/x", []byte(`{"a":{"b":1}}`))
	var ns *errNonScalar
	if !errors.As(err, &ns) {
		t.Errorf("Sanitize = %v, want errNonScalar", err)
	}
}

func TestCompile_Errors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown top key", "endpoints: []\nbogus: 1\n", "test.yaml:2: unknown key \"bogus\""},
		{"unknown endpoint key", "endpoints:\n  - pathRegex: x\n    colour: red\n", "test.yaml:3: unknown endpoint key \"colour\""},
		{"unknown transform", "endpoints:\n  - pathRegex: x\n    transforms:\n      - !<scramble> {jsonPaths: [\"$.a\"]}\n", "test.yaml:4: unknown transform \"scramble\""},
		{"unknown transform key", "endpoints:\n  - pathRegex: x\n    transforms:\n      - !<redact>\n        jsonPaths: [\"$.a\"]\n        regex: x\n", "test.yaml:6: unknown key \"regex\" for transform redact"},
		{"invalid regex", "endpoints:\n  - pathRegex: \"(\"\n", "test.yaml:2: invalid regex"},
		{"invalid jsonpath", "endpoints:\n  - pathRegex: x\n    transforms:\n      - !<redact>\n        jsonPaths: [\"a.b\"]\n", "test.yaml:5: JSONPath \"a.b\""},
		{"malformed yaml", "endpoints: [\n", "test.yaml"},
		{"no endpoints", "endpoints: []\n", "no endpoints"},
		{"method key", "endpoints:\n  - pathRegex: x\n    transforms:\n      - method: nope\n        jsonPaths: [\"$.a\"]\n", "unknown transform \"nope\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("test.yaml", []byte(tc.src), specSecrets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Compile("ok.yaml", []byte(identityRules), Secrets{}); err == nil {
		t.Error("Compile with empty salt succeeded")
	}
}

func TestSanitize_EndpointMatching(t *testing.T) {
	r := mustRules(t, `
endpoints:
  - pathRegex: "^/v1.0/users/?[^/]*"
    allowedQueryParams: ["$select", "$top"]
  - pathTemplate: "/v1.0/teams/{teamId}/allChannels"
`)
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://graph.microsoft.com/v1.0/users", true},
		{"https://graph.microsoft.com/V1.0/USERS?%24select=id&$TOP=5", true},
		{"/v1.0/users?$filter=x", false},
		{"/v1.0/users/abc/messages", false},
		{"/v1.0/teams/19:x@thread.tacv2/allChannels?anything=1", true},
		{"/v1.0/teams/a/b/allChannels", false},
		{"/v1.0/groups", false},
	} {
		_, err := r.Sanitize(tc.url, []byte(`{}`))
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrNotAllowed)) {
			t.Errorf("Sanitize(%q) error = %v, want allowed=%v", tc.url, err, tc.ok)
		}
	}
}

func TestSanitize_BadJSONReportsOffset(t *testing.T) {
	r := mustRules(t, identityRules)
	for in, off := range map[string]int{`{"a":1,}`: 7, `{"a" 1}`: 5, "": 0, "{\"a\":\"\xff\"}": 6, `{"a":"\q"}`: 6, `[1,2] x`: 6} {
		_, err := r.Sanitize("/x", []byte(in))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != off {
			t.Errorf("Sanitize(%q) = %v, want SyntaxError at %d", in, err, off)
		}
	}
	out, err := r.Sanitize("/x", []byte("{\"a\":1}\n{\"b\":2}\n"))
	if err != nil || string(out) != "{\"a\":1}\n{\"b\":2}" {
		t.Errorf("NDJSON = %q, %v", out, err)
	}
}

func TestSanitize_NoKey(t *testing.T) {
	r, err := Compile("t", []byte("endpoints:\n  - pathRegex: /x\n    transforms:\n      - !<tokenize> {jsonPaths: [\"$.a\"]}\n"), Secrets{Salt: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.NeedsKey() {
		t.Error("NeedsKey = false for tokenize rules")
	}
	if _, err := r.Sanitize("/x", []byte(`{"a":"v"}`)); !errors.Is(err, ErrNoKey) {
		t.Errorf("Sanitize without key = %v, want ErrNoKey", err)
	}
}

func TestOwnerID_MatchesUsersEndpoint(t *testing.T) {
	const id = "48d31887-5fad-4d73-a9f5-3c356e68a038"
	for _, tc := range []struct {
		ids    IDs
		prefix string
	}{{IDsPseudonymized, "p~"}, {IDsKept, ""}, {IDsHashOnly, "t~"}} {
		for _, c := range testConnectors(t) {
			name, src, err := builtin(t, c, Variant{IDs: tc.ids})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compile(name, src, specSecrets)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.OwnerID(id)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Sanitize("/v1.0/users", []byte(`{"value":[{"id":"`+id+`","displayName":"X"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `"id":"`+got+`"`) || !strings.HasPrefix(got, tc.prefix) {
				t.Errorf("%s %s: OwnerID = %q, users output %s", c, tc.ids, got, out)
			}
		}
	}
	// The pseudonymized form is psoxy's p~ for the same salt and key.
	_, src, _ := builtin(t, "entra-id", Variant{})
	r, _ := Compile("x", src, specSecrets)
	if got, _ := r.OwnerID(id); got != "p~SIoJOpeSgYF7YUPQ28IWZexVuHyN9A80SJXrbfawKpDRcddGnKI4QDKyjQI9KtjJZDb8FZ27UE_toS68FyWz7Y22fnQYLP91SHJGVwQiN3E" {
		t.Errorf("OwnerID = %q", got)
	}
}

func TestBuiltin_Variants(t *testing.T) {
	for _, c := range testConnectors(t) {
		for _, ids := range []IDs{IDsPseudonymized, IDsKept, IDsHashOnly} {
			for _, ng := range []bool{false, true} {
				name, src, err := builtin(t, c, Variant{IDs: ids, NoGroups: ng})
				if err != nil {
					t.Fatal(err)
				}
				r, err := Compile(name, src, specSecrets)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := r.Allows("/v1.0/groups?$top=999"); got == ng {
					t.Errorf("%s allows groups = %v", name, got)
				}
				if !r.Allows("/v1.0/users?$select=id,mail&$top=999&$count=true") || !r.Allows("/v1.0/users/delta?$deltatoken=x") {
					t.Errorf("%s does not allow users", name)
				}
				if r.NeedsKey() != (ids == IDsPseudonymized) {
					t.Errorf("%s NeedsKey = %v", name, r.NeedsKey())
				}
			}
		}
	}
	if _, _, err := RenderBuiltin("x", Variant{}, fstest.MapFS{"other.yaml.tmpl": {Data: []byte("endpoints: []")}}); err == nil {
		t.Error("RenderBuiltin without rules.yaml.tmpl succeeded")
	}
	if _, _, err := RenderBuiltin("x", Variant{IDs: "some"}, fstest.MapFS{RuleTemplate: {Data: []byte("endpoints: []")}}); err == nil {
		t.Error("RenderBuiltin(bad ids) succeeded")
	}
}

// TestBuiltin_AllowsExporterRequests lists every request the exporter makes
// (DESIGN.md connector table), with real ids and p~ tokens in paths.
func TestBuiltin_AllowsExporterRequests(t *testing.T) {
	const guid = "0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c"
	const ptok = "p~SIoJOpeSgYF7YUPQ28IWZexVuHyN9A80SJXrbfawKpDRcddGnKI4QDKyjQI9KtjJZDb8FZ27UE_toS68FyWz7Y22fnQYLP91SHJGVwQiN3E"
	const channel = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.tacv2"
	reqs := map[string][]string{
		"entra-id": {
			"/v1.0/users?$select=id,mail,userPrincipalName&$top=999&$filter=accountEnabled eq true&$count=true",
			"/v1.0/users/delta?$select=id,mail", "/v1.0/groups?$top=999", "/v1.0/groups/" + guid + "/members?$top=999",
		},
		"outlook-cal": {
			"/v1.0/users/{id}/calendar/calendarView?startDateTime=2024-05-01T00:00:00Z&endDateTime=2024-05-02T00:00:00Z&$top=50&$select=subject",
			"/v1.0/users/{id}/mailboxSettings",
		},
		"outlook-mail": {
			"/v1.0/users/{id}/mailFolders/SentItems/messages?$filter=sentDateTime ge 2024-05-01T00:00:00Z&$orderby=sentDateTime&$select=from,toRecipients&$top=100",
			"/v1.0/users/{id}/mailFolders('SentItems')/messages?$top=10&$skip=10",
			"/v1.0/users/{id}/mailboxSettings",
		},
		"msft-teams": {
			"/v1.0/teams?$top=100", "/v1.0/teams/" + guid + "/allChannels",
			"/v1.0/users/{id}/chats?$top=50", "/v1.0/users/{id}/chats/getAllMessages?$filter=lastModifiedDateTime gt 2024-05-01T00:00:00Z&$top=50&model=B",
			"/v1.0/teams/" + guid + "/channels/getAllMessages?$top=50", "/v1.0/teams/" + guid + "/channels/" + channel + "/messages/delta?$deltatoken=x",
			"/v1.0/communications/callRecords?$filter=startDateTime ge 2024-05-01T00:00:00Z",
		},
		"msft-copilot": {
			"/beta/copilot/users/{id}/interactionHistory/getAllEnterpriseInteractions?$top=100&$filter=createdDateTime gt 2024-05-01T00:00:00Z",
		},
	}
	for c, urls := range reqs {
		_, src, _ := builtin(t, c, Variant{})
		r := mustRules(t, string(src))
		for _, u := range urls {
			for _, id := range []string{guid, ptok} {
				full := "https://graph.microsoft.com" + strings.ReplaceAll(u, "{id}", id)
				if !r.Allows(full) {
					t.Errorf("%s does not allow %s", c, full)
				}
			}
		}
		if r.Allows("/v1.0/users/" + guid + "/messages/x/attachments") {
			t.Errorf("%s allows an attachments request", c)
		}
	}
}

func TestHash_StableAndTextSensitive(t *testing.T) {
	a, b := mustRules(t, identityRules), mustRules(t, identityRules)
	c := mustRules(t, identityRules+"\n")
	if a.Hash() != b.Hash() || a.Hash() == c.Hash() || !strings.HasPrefix(a.Hash(), "sha256:") {
		t.Errorf("hashes %s %s %s", a.Hash(), b.Hash(), c.Hash())
	}
	if SaltFingerprint("a") == SaltFingerprint("b") || strings.Contains(SaltFingerprint("secret-salt"), "secret") {
		t.Error("SaltFingerprint does not distinguish salts")
	}
}

func TestTextDigest(t *testing.T) {
	for in, want := range map[string][2]int{"": {0, 0}, "   ": {3, 1}, "a b  c": {6, 3}, " x\n": {3, 1}, "😀 x": {4, 2}} {
		l, w := textDigest(in)
		if l != want[0] || w != want[1] {
			t.Errorf("textDigest(%q) = %d,%d want %v", in, l, w, want)
		}
	}
}

func TestCompile_YAMLForms(t *testing.T) {
	// An escaped line break in a double-quoted scalar joins with no space;
	// "method:" works like the !<tag>.
	src := "endpoints:\n  - pathRegex: \"^/beta/x(\\\\\\\n    ?.*)?\"\n    transforms:\n      - method: redact\n        jsonPaths: [\"$.a\"]\n"
	r := mustRules(t, src)
	if !r.Allows("/beta/x?y=1") || r.Allows("/beta/xy") {
		t.Errorf("escaped line break not joined: %q", r.rs.endpoints[0].pattern)
	}
	out, err := r.Sanitize("/beta/x", []byte(`{"a":1,"b":2}`))
	if err != nil || string(out) != `{"b":2}` {
		t.Errorf("method: redact = %s, %v", out, err)
	}
}

func TestParse_DuplicateKeysKeepLastAtFirstPosition(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"dup":1`)
	for i := 0; i < 40; i++ {
		b.WriteString(`,"k` + strings.Repeat("x", i) + `":0`)
	}
	b.WriteString(`,"dup":2}`)
	for _, in := range []string{`{"a":1,"b":2,"a":3}`, b.String()} {
		out := sanitize(t, identityRules, in)
		if strings.Count(out, `"dup"`)+strings.Count(out, `"a"`) != 1 || (!strings.HasPrefix(out, `{"a":3`) && !strings.HasPrefix(out, `{"dup":2`)) {
			t.Errorf("duplicate keys: %s", out)
		}
	}
}

func TestSanitize_Concurrent(t *testing.T) {
	_, src, _ := builtin(t, "outlook-mail", Variant{})
	r := mustRules(t, string(src))
	in := []byte(`{"value":[{"id":"1","from":{"emailAddress":{"name":"N","address":"a@b.com"}}}]}`)
	want, err := r.Sanitize("/v1.0/users/x/mailFolders/SentItems/messages", in)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			out, _ := r.Sanitize("/v1.0/users/x/mailFolders/SentItems/messages", in)
			done <- string(out)
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != string(want) {
			t.Errorf("concurrent Sanitize = %s, want %s", got, want)
		}
	}
}

func TestRedactExceptSubstrings(t *testing.T) {
	rules := "endpoints:\n  - pathRegex: \"/x\"\n    transforms:\n      - !<redactExceptSubstringsMatchingRegexes> {jsonPaths: [\"$.a\", \"$.b\"], exceptions: [\"[A-Z]{3}-\\\\d+\", \"ticket \\\\d+\"]}\n"
	if got, want := sanitize(t, rules, `{"a":"see ABC-123 and ticket 4567 now","b":"nothing"}`), `{"a":"ticket 4567","b":""}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFindPhrase_JavaWordBoundaries(t *testing.T) {
	for _, tc := range []struct {
		s, phrase, want string
		ok              bool
	}{
		{"Weekly sync", "weekly", "Weekly", true},
		{"biweekly", "weekly", "", false},
		{"Ölweekly", "weekly", "", false}, // Java: Ö is a letter, so no boundary
		{"1:1 with Bo", "1:1", "1:1", true},
		{"1:1: notes", "1:1", "1:1", true},
		{"x1:1", "1:1", "", false},
		{"STANDUP!", "standup", "STANDUP", true},
		{"ſtandup", "standup", "", false}, // no Unicode case folding
		{"", "x", "", false},
	} {
		got, ok := findPhrase(tc.s, tc.phrase)
		if got != tc.want || ok != tc.ok {
			t.Errorf("findPhrase(%q, %q) = %q, %v; want %q, %v", tc.s, tc.phrase, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPseudonymCache_SameResults(t *testing.T) {
	_, src, _ := builtin(t, "outlook-mail", Variant{})
	cached, uncached := mustRules(t, string(src)), mustRules(t, string(src))
	uncached.ps.noCache = true
	in := []byte(`{"value":[{"from":{"emailAddress":{"address":"A@b.com"}},"toRecipients":[{"emailAddress":{"address":"a@B.com"}},{"emailAddress":{"address":"A@b.com"}}]}]}`)
	url := "/v1.0/users/u1/mailFolders/SentItems/messages"
	for i := 0; i < 3; i++ {
		a, err1 := cached.Sanitize(url, in)
		b, err2 := uncached.Sanitize(url, in)
		if err1 != nil || err2 != nil || string(a) != string(b) {
			t.Fatalf("run %d: cached %s (%v) != uncached %s (%v)", i, a, err1, b, err2)
		}
	}
	if !strings.Contains(string(mustSanitizeOwner(t, cached)), "@B.com") {
		t.Error("cache lost the domain's original case")
	}
}

func mustSanitizeOwner(t *testing.T, r *Ruleset) []byte {
	out, err := r.Sanitize("/v1.0/users/u1/mailFolders/SentItems/messages", []byte(`{"a":{"emailAddress":{"address":"a@B.com"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSaltFingerprint(t *testing.T) {
	a := SaltFingerprint("correct horse battery staple")
	if a != SaltFingerprint("correct horse battery staple") || a == SaltFingerprint("correct horse battery stapler") {
		t.Errorf("fingerprint not stable or not distinct: %s", a)
	}
	if len(a) > 24 || !strings.HasPrefix(a, "pbkdf2:") || strings.Contains(a, "horse") {
		t.Errorf("fingerprint %q", a)
	}
}

func TestBuiltin_LinksLoseUserIDs(t *testing.T) {
	const guid = "0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c"
	for _, host := range []string{"graph.microsoft.com", "graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"} {
		for _, ids := range []IDs{IDsPseudonymized, IDsHashOnly} {
			_, src, _ := builtin(t, "outlook-mail", Variant{IDs: ids})
			r := mustRules(t, string(src))
			in := `{"@odata.nextLink":"https://` + host + `/v1.0/users/` + guid + `/mailFolders/SentItems/messages?$skip=10","value":[]}`
			out, err := r.Sanitize("/v1.0/users/"+guid+"/mailFolders/SentItems/messages", []byte(in))
			if err != nil || strings.Contains(string(out), guid) {
				t.Errorf("%s %s: %s, %v", host, ids, out, err)
			}
		}
	}
}

// TestEvalAll_SameAsOneByOne checks the shared walk against evaluating each
// path on its own, on the golden inputs with the built-in rules' paths.
func TestEvalAll_SameAsOneByOne(t *testing.T) {
	var paths []*jsonPath
	for _, c := range testConnectors(t) {
		_, src, _ := builtin(t, c, Variant{})
		rs, err := parseRules(c, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range rs.endpoints {
			for _, tr := range ep.transforms {
				paths = append(paths, tr.paths...)
			}
		}
	}
	inputs, _ := filepath.Glob("testdata/*/input.json")
	for _, in := range inputs {
		b, _ := os.ReadFile(in)
		docs, err := parseDocuments(b)
		if err != nil {
			t.Fatal(err)
		}
		all := evalAll(paths, docs[0], nil)
		for i, p := range paths {
			one := p.eval(docs[0], nil)
			if len(one) != len(all[i]) {
				t.Fatalf("%s %s: %d matches one by one, %d together", in, p.src, len(one), len(all[i]))
			}
			for j := range one {
				if one[j].v != all[i][j].v || one[j].obj != all[i][j].obj {
					t.Fatalf("%s %s: match %d differs", in, p.src, j)
				}
			}
		}
		var evs []*evaluator
		for _, p := range paths {
			if p.toks[0].k == tScan {
				evs = append(evs, &evaluator{p: p})
			}
		}
		walkMany(evs, docs[0])
		k := 0
		for _, p := range paths {
			if p.toks[0].k == tScan {
				if len(evs[k].out) != len(p.eval(docs[0], nil)) {
					t.Fatalf("walkMany %s differs", p.src)
				}
				k++
			}
		}
	}
}

func TestSplitJavaWhitespace(t *testing.T) {
	re := regexp.MustCompile(`[ \t\n\x0B\f\r]+`)
	for _, s := range []string{"", " ", "a", " a  b\t", "a\x0Bb", "\n\na b c\n\n", "a  "} {
		got, want := splitJavaWhitespace(s), javaSplit(re, s)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitJavaWhitespace(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestLiteralHint(t *testing.T) {
	for _, tc := range []struct {
		re, s string
		may   bool
	}{
		{"(?i)pwd=[^&]*", "x?PwD=1", true},
		{"(?i)pwd=[^&]*", "x?pw=1", false},
		{"abc+", "xxabcc", true},
		{"abc+", "xxac", false},
		{"[a-z]+", "anything", true},
		{"(?i)kelvin", "\u212Aelvin", true}, // Unicode folding: no hint
	} {
		if got := hintFor(tc.re).mayMatch(tc.s); got != tc.may {
			t.Errorf("hint(%s).mayMatch(%q) = %v", tc.re, tc.s, got)
		}
		if !tc.may && regexp.MustCompile(tc.re).MatchString(tc.s) {
			t.Errorf("hint rejected a string %s matches", tc.re)
		}
	}
}
