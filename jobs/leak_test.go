package jobs

// No leaks: the emulator's users' personal identifiers (emails, names, UPNs,
// phone numbers, proxyAddresses, mail nicknames) and the run's secrets must
// appear nowhere in the clear: not in a Parquet value or _extra, a
// manifest, the run summary and ledger, the state, stdout, nor any log
// line at debug level.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/jobs/tables"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sinks/sinktest"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// personalNeedles lists the users' identifiers the emulator serves, by
// what they are. Given names and surnames alone are left out: two letters
// such as "Xu" occur inside any base64 pseudonym. Group addresses are not
// personal and are not listed.
func personalNeedles(t *testing.T, sim *graphsim.Server) map[string]string {
	t.Helper()
	sel := []string{"id", "displayName", "mail", "userPrincipalName", "businessPhones", "mobilePhone", "otherMails",
		"proxyAddresses", "imAddresses", "mailNickname"}
	out := map[string]string{}
	for _, raw := range simtruth.TruthSelect(sim.Tenant(), "users", "", time.Time{}, time.Time{}, sel) {
		var u map[string]any
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		for _, k := range sel[1:] {
			var vals []string
			switch v := u[k].(type) {
			case string:
				vals = []string{v}
			case []any:
				for _, x := range v {
					if s, ok := x.(string); ok {
						vals = append(vals, s)
					}
				}
			}
			for _, v := range vals {
				if i := strings.Index(v, ":"); k == "proxyAddresses" && i >= 0 {
					v = v[i+1:] // "SMTP:a@b" → "a@b"
				}
				if len(v) >= 6 {
					out[strings.ToLower(v)] = k
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no identifiers planted: the test proves nothing")
	}
	return out
}

func TestNoLeaks_AllConnectors(t *testing.T) {
	sim := startSim(t, 16)
	needles := personalNeedles(t, sim)
	kinds := map[string]bool{}
	for _, k := range needles {
		kinds[k] = true
	}
	for _, k := range []string{"displayName", "mail", "userPrincipalName", "businessPhones", "mobilePhone", "proxyAddresses"} {
		if !kinds[k] {
			t.Errorf("the tenant has no %s to plant", k)
		}
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	secret := sim.ClientSecret()
	env := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": secret})
	dir, state := t.TempDir(), t.TempDir()
	var logs, out syncBuffer
	args := []string{"--connector", strings.Join(ConnectorNames(), ","), "--dest", fileURL(dir), "--state", fileURL(state),
		"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--tenant-id", sim.TenantID(), "--client-id", sim.ClientID(),
		"--ca-file", ca, "--auth", "secret", "--now", sim.Tenant().Now().Format(time.RFC3339),
		"--since", "2026-11-24", "--until", "2026-11-26", "--concurrency", "4", "--log-level", "debug"}
	cfg, err := LoadConfig(args, env, &out)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := Run(t.Context(), cfg, RunOptions{Env: env, Logger: log, Out: &out}); err != nil {
		t.Fatalf("export: %v", err)
	}

	// A run that fails on its credentials: its error and logs must not
	// show the secret it was given either.
	wrong := "wrong-secret-" + strings.Repeat("x", 12)
	env2 := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": wrong})
	cfg2, _ := LoadConfig(append(args[:len(args):len(args)], "--dest", fileURL(t.TempDir()), "--state", "mem://"), env2, &out)
	_, err2 := Run(t.Context(), cfg2, RunOptions{Env: env2, Logger: log, Out: &out})
	if err2 == nil {
		t.Fatal("a wrong client secret was accepted")
	}

	texts := map[string]string{"log": logs.String(), "stdout": out.String(), "error": err2.Error()}
	if !strings.Contains(texts["log"], `"level":"DEBUG"`) && !strings.Contains(texts["log"], `"level":"INFO"`) {
		t.Errorf("the logger captured nothing below warn: the scan of logs proves little")
	}
	files := outputTexts(t, texts, dir, state)
	if files < 20 {
		t.Fatalf("only %d files written: the scan proves little", files)
	}

	// The scan itself must find what is there: Graph's raw answers hold
	// every kind of identifier.
	var raw strings.Builder
	for _, c := range []string{"users", "messages"} {
		for _, o := range simtruth.Owners(sim.Tenant(), c) {
			for _, r := range simtruth.Truth(sim.Tenant(), c, o, time.Time{}, time.Time{}) {
				raw.Write(r)
			}
		}
	}
	control := map[string]bool{}
	for needle, kind := range needles {
		if strings.Contains(strings.ToLower(raw.String()), needle) {
			control[kind] = true
		}
	}
	if !control["mail"] || !control["displayName"] || !control["mobilePhone"] {
		t.Errorf("the scan does not find identifiers in Graph's raw answers (%v): it proves nothing", control)
	}

	found := map[string][]string{}
	for where, text := range texts {
		lower := strings.ToLower(text)
		for needle, kind := range needles {
			if strings.Contains(lower, needle) {
				found[where] = append(found[where], fmt.Sprintf("%s %q", kind, needle))
			}
		}
		for name, s := range map[string]string{"salt": testSalt, "key": testKey, "client secret": secret, "wrong client secret": wrong} {
			if strings.Contains(text, s) {
				found[where] = append(found[where], name)
			}
		}
		if where == "log" || where == "error" || where == "stdout" {
			// Logs name owners by pseudonym, never by Graph object id.
			for i := range sim.Tenant().Users() {
				if id := sim.Tenant().UserID(i); strings.Contains(lower, strings.ToLower(id)) {
					found[where] = append(found[where], "user id "+id)
				}
			}
			for _, tok := range []string{"Bearer ", "eyJ"} { // an access token or a JWT
				if strings.Contains(text, tok) {
					found[where] = append(found[where], "token "+tok)
				}
			}
		}
	}
	var wheres []string
	for w := range found {
		wheres = append(wheres, w)
	}
	sort.Strings(wheres)
	for _, w := range wheres {
		sort.Strings(found[w])
		t.Errorf("%s shows in the clear: %s", w, strings.Join(firstN(found[w], 8), ", "))
	}
}

// outputTexts adds to texts every file under roots, by its path relative
// to its root: Parquet as its decoded rows (JSON columns and _extra
// included: the files are compressed), anything else as it is. It returns
// the number of files.
func outputTexts(t *testing.T, texts map[string]string, roots ...string) int {
	t.Helper()
	files := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files++
			if !strings.HasSuffix(p, ".parquet") {
				b, _ := os.ReadFile(p)
				texts[rel] = string(b)
				return nil
			}
			parts := strings.Split(rel, string(filepath.Separator))
			schema := tables.Lookup(parts[0], parts[1])
			if schema == nil {
				t.Errorf("%s: no schema", rel)
				return nil
			}
			data, _ := os.ReadFile(p)
			rows, err := sinktest.ReadArrow(t.Context(), schema, data)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			b, _ := json.Marshal(rows)
			texts[rel] = string(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}

// TestNoLeaks_HostileTenant exports every connector, in every --ids
// variant, from a hostile tenant (graphsim.Options.Hostile: every object
// of every answer carries properties no rule names, with planted
// identifiers and text) and scans everything the runs wrote (Parquet
// values, JSON columns and _extra, manifests, summaries, state), stdout,
// the logs at debug level and the error of a failed run for the planted
// values: none may be there. TestAllowList_MutationLeaks proves the scan
// can fail.
func TestNoLeaks_HostileTenant(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 12, Hostile: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, sim.CACertPEM())
	env := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": sim.ClientSecret()})
	for _, ids := range []string{"pseudonymized", "kept", "hash-only"} {
		t.Run(ids, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			var logs, out syncBuffer
			args := []string{"--connector", strings.Join(ConnectorNames(), ","), "--ids", ids, "--dest", fileURL(dir), "--state", fileURL(state),
				"--graph-url", sim.GraphURL(), "--authority-host", sim.AuthorityHost(), "--tenant-id", sim.TenantID(), "--client-id", sim.ClientID(),
				"--ca-file", ca, "--auth", "secret", "--now", sim.Tenant().Now().Format(time.RFC3339),
				"--since", "2026-11-24", "--until", "2026-11-26", "--concurrency", "4", "--log-level", "debug"}
			cfg, err := LoadConfig(args, env, &out)
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			if _, err := Run(t.Context(), cfg, RunOptions{Env: env, Logger: log, Out: &out}); err != nil {
				t.Fatalf("export: %v", err)
			}
			texts := map[string]string{"log": logs.String(), "stdout": out.String()}
			// A run that fails on a page: its error names what failed.
			env2 := envOf(map[string]string{EnvSalt: testSalt, EnvKey: testKey, "M365EXPORT_CLIENT_SECRET": "wrong"})
			cfg2, _ := LoadConfig(append(args[:len(args):len(args)], "--dest", fileURL(t.TempDir()), "--state", "mem://"), env2, &out)
			if _, err := Run(t.Context(), cfg2, RunOptions{Env: env2, Logger: log, Out: &out}); err != nil {
				texts["error"] = err.Error()
			}
			files := outputTexts(t, texts, dir, state)
			parquet := 0
			for where, text := range texts {
				if strings.HasSuffix(where, ".parquet") && len(text) > 2 {
					parquet++
				}
				lower := strings.ToLower(text)
				if i := strings.Index(lower, graphsim.HostileMarker); i >= 0 {
					t.Errorf("%s holds a planted value: …%s…", where, text[max(0, i-80):min(len(text), i+80)])
				}
			}
			if files < 20 || parquet < 10 {
				t.Fatalf("only %d files (%d Parquet with rows) written: the scan proves little", files, parquet)
			}
		})
	}
}

// TestAllowList_MutationLeaks proves that the hostile-tenant scan can
// fail: it widens each entry of each table's allow-list in turn (every
// object the table keeps, the record itself, nested objects, elements of
// arrays, the contents of JSON columns), in both the built-in rules'
// responseSchema and the job's allow-list, in two ways: graphsim.HostileKey
// added to the object's generated shape, and the object replaced by a
// pass-through (the shape of its full raw value as the hostile tenant
// serves it, so everything in it is kept). Each widening runs in every
// --ids variant, and the test asserts that the value the hostile tenant
// planted there then reaches the rows as the sink writes them (a column or
// _extra). Objects the rules remove whole (attachments of messages, say)
// are absent from the output either way; they are counted, not tested.
func TestAllowList_MutationLeaks(t *testing.T) {
	sim := startSimWith(t, graphsim.Options{Users: 12, Hostile: true, Auth: graphsim.Auth{Anonymous: true}})
	w := connector.Window{From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	variants := []rules.IDs{rules.IDsPseudonymized, rules.IDsKept, rules.IDsHashOnly}
	tested := map[string]int{}
	absent := 0
	var mu sync.Mutex
	// The tables run in parallel (each compiles its rules once per
	// widening); the group waits for all of them before the totals.
	t.Run("tables", func(t *testing.T) {
		for _, tb := range connector.Tables() {
			cs := tb.Collection
			pages := hostilePages(t, sim, cs, w)
			if len(pages) == 0 {
				t.Errorf("%s/%s: the hostile tenant served no records", tb.Connector.Name, cs.Name)
				continue
			}
			t.Run(tb.Connector.Name+"/"+cs.Name, func(t *testing.T) {
				t.Parallel()
				base := cs.Shape()
				for _, path := range objectPaths(base, "$") {
					segs := strings.Split(path, ".")[1:]
					raw := rawShape(t, pages, cs.Single, segs)
					mutations := []struct {
						kind string
						wide *rules.Shape
					}{
						{"an extra key", widen(base, segs)},
						{"a pass-through", replaceAt(base, segs, raw)},
					}
					for _, m := range mutations {
						for _, ids := range variants {
							leaked, present := mutationLeaks(t, tb, pages, m.wide, path, segs, rules.Variant{IDs: ids})
							mu.Lock()
							switch {
							case leaked:
								tested[m.kind+" --ids "+string(ids)]++
							case present:
								t.Errorf("%s/%s --ids %s: widening the allow-list at %s with %s does not show its planted value: the scan cannot see a leak there",
									tb.Connector.Name, cs.Name, ids, path, m.kind)
							default:
								absent++
							}
							mu.Unlock()
						}
					}
				}
			})
		}
	})
	t.Logf("allow-list entries widened and caught: %v; %d widenings of objects absent from the output (removed by the rules or not served)", tested, absent)
	for _, m := range []string{"an extra key", "a pass-through"} {
		for _, ids := range variants {
			if n := tested[m+" --ids "+string(ids)]; n < 50 {
				t.Errorf("%s --ids %s: only %d mutations caught: the test proves little", m, ids, n)
			}
		}
	}
}

// mutationLeaks sanitizes pages as an export in variant v would with the
// table's allow-list replaced by wide (in the built-in rules'
// responseSchema and the job's allow-list), and reports whether the value
// planted at path reaches the rows the sink writes, and whether the
// object at segs is present in a sanitized record at all.
func mutationLeaks(t *testing.T, tb connector.Table, pages []rawPage, wide *rules.Shape, path string, segs []string, v rules.Variant) (leaked, present bool) {
	t.Helper()
	cs := tb.Collection
	reqs := []rules.Request{}
	for _, o := range connector.Tables() {
		s := o.ResponseShape()
		if o.Collection == cs {
			s = wide
			if !cs.Single {
				s = rules.Object(map[string]*rules.Shape{"value": rules.Array(wide)})
			}
		}
		reqs = append(reqs, rules.Request{URL: o.SampleRequest(), Shape: s})
	}
	name, src, err := tb.Connector.RenderRulesWith(v, reqs)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(name, src, testEnvSecrets())
	if err != nil {
		t.Fatal(err)
	}
	guard := &allowListed{rs: rs, shape: wide}
	for _, pg := range pages {
		page, err := guard.SanitizePage(pg.url, pg.body)
		if err != nil {
			t.Fatalf("%s/%s %s: %v", tb.Connector.Name, cs.Name, path, err)
		}
		for _, rec := range page.Records {
			row, err := sinktest.Expect(cs.Schema, sinks.Record{JSON: rec.Sanitized})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(row)
			leaked = leaked || strings.Contains(string(b), graphsim.Planted(path))
			var x any
			_ = json.Unmarshal(rec.Sanitized, &x)
			present = present || hasObject(x, segs)
		}
	}
	return leaked, present
}

// rawShape is the shape of the full raw values the hostile pages hold at
// segs (see widen) in their records: every key at every depth, as the
// tenant sent it.
func rawShape(t *testing.T, pages []rawPage, single bool, segs []string) *rules.Shape {
	t.Helper()
	var out *rules.Shape
	for _, pg := range pages {
		var recs []any
		if single {
			var v any
			if err := json.Unmarshal(pg.body, &v); err != nil {
				t.Fatal(err)
			}
			recs = []any{v}
		} else {
			var env struct{ Value []any }
			if err := json.Unmarshal(pg.body, &env); err != nil {
				t.Fatal(err)
			}
			recs = env.Value
		}
		for _, r := range recs {
			for _, v := range valuesAt(r, segs) {
				out = rules.Union(out, shapeOf(v))
			}
		}
	}
	if out == nil {
		return rules.Object(nil)
	}
	return out
}

// valuesAt lists the values v holds at segs (see widen).
func valuesAt(v any, segs []string) []any {
	if len(segs) == 0 {
		return []any{v}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	key, arr := strings.CutSuffix(segs[0], "[]")
	if !arr {
		return valuesAt(m[key], segs[1:])
	}
	list, _ := m[key].([]any)
	var out []any
	for _, e := range list {
		out = append(out, valuesAt(e, segs[1:])...)
	}
	return out
}

// shapeOf is the shape that keeps all of v.
func shapeOf(v any) *rules.Shape {
	switch x := v.(type) {
	case map[string]any:
		props := make(map[string]*rules.Shape, len(x))
		for k, e := range x {
			props[k] = shapeOf(e)
		}
		return rules.Object(props)
	case []any:
		var items *rules.Shape
		for _, e := range x {
			items = rules.Union(items, shapeOf(e))
		}
		if items == nil {
			items = rules.Leaf()
		}
		return rules.Array(items)
	}
	return rules.Leaf()
}

// replaceAt returns a copy of s whose object at segs (see widen) passes
// through what raw holds (passThrough).
func replaceAt(s *rules.Shape, segs []string, raw *rules.Shape) *rules.Shape {
	if len(segs) == 0 {
		return passThrough(s, raw)
	}
	props := maps.Clone(s.Props)
	key, arr := strings.CutSuffix(segs[0], "[]")
	if arr {
		props[key] = rules.Array(replaceAt(s.Props[key].Items, segs[1:], raw))
	} else {
		props[key] = replaceAt(s.Props[key], segs[1:], raw)
	}
	return rules.Object(props)
}

// passThrough keeps the whole raw value of every member s does not name,
// at every depth, and what s keeps of the members it names (a scalar
// column stays a leaf: the rules' transforms of a column expect its
// scalar, and an object planted in it is not a column's value).
func passThrough(s, raw *rules.Shape) *rules.Shape {
	switch {
	case s.IsObject() && raw.IsObject():
		props := maps.Clone(s.Props)
		for k, r := range raw.Props {
			if p, ok := s.Props[k]; ok {
				props[k] = passThrough(p, r)
			} else {
				props[k] = r
			}
		}
		return rules.Object(props)
	case s.IsArray() && raw.IsArray():
		return rules.Array(passThrough(s.Items, raw.Items))
	}
	return s
}

type rawPage struct {
	url  string
	body []byte
}

// hostilePages reads the first pages of up to four owners of cs (the
// collection's owners as an export lists them) that hold records.
func hostilePages(t *testing.T, sim *graphsim.Server, cs *connector.Collection, w connector.Window) []rawPage {
	t.Helper()
	get := func(path string) []byte {
		resp, err := sim.HTTPClient().Get(sim.GraphURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return nil
		}
		return b
	}
	var owners []string
	list := ""
	switch cs.Owners {
	case connector.Tenant:
		owners = []string{""}
	case connector.User:
		list = "/v1.0/users?$select=id"
	case connector.Group:
		list = "/v1.0/groups?$select=id"
	case connector.Team:
		list = "/v1.0/teams"
	case connector.Listed:
		list = cs.ListOwners(w)
	case connector.Derived:
		var env struct{ Value []json.RawMessage }
		src := cs.Derive.Sources[0] // the call records: tenant-wide
		if err := json.Unmarshal(get(src.List("", w)), &env); err != nil {
			t.Fatal(err)
		}
		for _, rec := range env.Value {
			if o, _ := src.Owner("", w, rec); o != "" {
				owners = append(owners, o)
			}
		}
	}
	if list != "" {
		var env struct{ Value []struct{ ID string } }
		if err := json.Unmarshal(get(list), &env); err != nil {
			t.Fatal(err)
		}
		for _, v := range env.Value {
			owners = append(owners, v.ID)
		}
	}
	var out []rawPage
	for _, o := range owners {
		u := cs.First(o, w, defaultSettings())
		// A collection with Steps: its rows are the last step's pages,
		// reached through the first record of each step before.
		for _, step := range cs.Steps {
			var env struct{ Value []json.RawMessage }
			if b := get(u); b == nil || json.Unmarshal(b, &env) != nil || len(env.Value) == 0 {
				u = ""
				break
			}
			if u = step(o, u, env.Value[0]); u == "" {
				break
			}
		}
		if u == "" {
			continue
		}
		b := get(u)
		if b == nil || bytes.Contains(b, []byte(`"value":[]`)) {
			continue
		}
		out = append(out, rawPage{u, b})
		if len(out) == 4 {
			break
		}
	}
	return out
}

// objectPaths lists the paths of the objects s keeps: "$" for s itself,
// "$.from.user", "$.attachments[]" for the elements of an array.
func objectPaths(s *rules.Shape, p string) []string {
	switch {
	case s.IsObject():
		out := []string{p}
		for k, v := range s.Props {
			if !strings.HasPrefix(k, "+") {
				out = append(out, objectPaths(v, p+"."+k)...)
			}
		}
		return out
	case s.IsArray():
		return objectPaths(s.Items, p+"[]")
	}
	return nil
}

// widen returns a copy of s that keeps graphsim.HostileKey in the object
// at segs (the keys after "$", a "[]" suffix for the elements of an array).
func widen(s *rules.Shape, segs []string) *rules.Shape {
	props := maps.Clone(s.Props)
	if len(segs) == 0 {
		props[graphsim.HostileKey] = rules.Leaf()
		return rules.Object(props)
	}
	key, arr := strings.CutSuffix(segs[0], "[]")
	if arr {
		props[key] = rules.Array(widen(s.Props[key].Items, segs[1:]))
	} else {
		props[key] = widen(s.Props[key], segs[1:])
	}
	return rules.Object(props)
}

// hasObject reports whether v holds a non-null object at segs.
func hasObject(v any, segs []string) bool {
	m, ok := v.(map[string]any)
	if !ok || len(segs) == 0 {
		return ok
	}
	key, arr := strings.CutSuffix(segs[0], "[]")
	if !arr {
		return hasObject(m[key], segs[1:])
	}
	list, _ := m[key].([]any)
	for _, e := range list {
		if hasObject(e, segs[1:]) {
			return true
		}
	}
	return false
}
