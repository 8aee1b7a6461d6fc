// Package graphmeta reads the subset of Microsoft's Graph v1.0 metadata
// (CSDL as JSON) kept in ../shared/fixtures/graph-metadata/ and checks JSON
// values against it: declared properties (base types and @odata.type
// derived types included; open types may carry more), JSON types of Edm
// primitives, enum members and navigation properties.
//
// It is test support: the emulator's response tests and the connectors'
// column tests use it; no production package imports it.
package graphmeta

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// File is the metadata subset's path below the shared directory that sits
// beside the repository (as make compat reads ../shared/fixtures/psoxy).
const File = "shared/fixtures/graph-metadata/graph-v1.0-subset.json"

// Metadata is the parsed subset.
type Metadata struct {
	Types map[string]*Type    `json:"types"`
	Enums map[string][]string `json:"enums"`
	// derived maps a type to the types whose base chain reaches it.
	derived map[string][]string
}

// Type is an entity or complex type.
type Type struct {
	Kind       string              `json:"kind"`
	Base       string              `json:"base"`
	Open       bool                `json:"open"`
	Properties map[string]Property `json:"properties"`
}

// Property is a structural or navigation property.
type Property struct {
	Type       string `json:"type"`
	Collection bool   `json:"collection"`
	Nullable   *bool  `json:"nullable"`
	Navigation bool   `json:"navigation"`
}

// Load reads the metadata from repoRoot/../File. Under CI=true a missing
// file fails the test; otherwise the test is skipped.
func Load(t testing.TB, repoRoot string) *Metadata {
	t.Helper()
	path := filepath.Join(repoRoot, "..", File)
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Graph metadata required under CI=true: %v", err)
		}
		t.Skipf("Graph metadata absent (%v); run beside ../shared", err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// Parse parses the metadata JSON.
func Parse(b []byte) (*Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m.derived = map[string][]string{}
	for name := range m.Types {
		for b := m.Types[name].Base; b != ""; {
			m.derived[b] = append(m.derived[b], name)
			bt := m.Types[b]
			if bt == nil {
				break
			}
			b = bt.Base
		}
	}
	for _, d := range m.derived {
		sort.Strings(d)
	}
	return &m, nil
}

// Prop looks a property up on typ and its bases.
func (m *Metadata) Prop(typ, name string) (Property, bool) {
	for typ != "" {
		t := m.Types[typ]
		if t == nil {
			return Property{}, false
		}
		if p, ok := t.Properties[name]; ok {
			return p, true
		}
		typ = t.Base
	}
	return Property{}, false
}

// PropAny looks a property up on typ, its bases and the types derived from
// it (a column may hold a derived type's property).
func (m *Metadata) PropAny(typ, name string) (Property, bool) {
	if p, ok := m.Prop(typ, name); ok {
		return p, true
	}
	for _, d := range m.derived[typ] {
		if p, ok := m.Prop(d, name); ok {
			return p, true
		}
	}
	return Property{}, false
}

// IsOpen reports whether typ or one of its bases is open.
func (m *Metadata) IsOpen(typ string) bool {
	for typ != "" {
		t := m.Types[typ]
		if t == nil {
			return false
		}
		if t.Open {
			return true
		}
		typ = t.Base
	}
	return false
}

// Derives reports whether sub is typ or derived from it.
func (m *Metadata) Derives(sub, typ string) bool {
	for sub != "" {
		if sub == typ {
			return true
		}
		t := m.Types[sub]
		if t == nil {
			return false
		}
		sub = t.Base
	}
	return false
}

// Check validates one JSON object (decoded with UseNumber) of type typ and
// returns its problems, each prefixed with its path. Navigation
// properties are allowed only at the top level and only when nav names
// them (expanded, or documented unexpanded).
func (m *Metadata) Check(typ string, v any, nav map[string]bool) []string {
	var out []string
	m.checkObject(&out, "$", typ, v, nav)
	return out
}

var (
	guidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	timeRE  = regexp.MustCompile(`^\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?$`)
	durRE   = regexp.MustCompile(`^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$`)
	intEdms = map[string]bool{"Edm.Int16": true, "Edm.Int32": true, "Edm.Int64": true, "Edm.Byte": true, "Edm.SByte": true}
)

func (m *Metadata) checkObject(out *[]string, path, typ string, v any, nav map[string]bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		*out = append(*out, fmt.Sprintf("%s: %T, want an object of %s", path, v, typ))
		return
	}
	if ot, ok := obj["@odata.type"].(string); ok {
		sub := strings.TrimPrefix(ot, "#")
		if !strings.Contains(sub, ".") {
			sub = "microsoft.graph." + sub
		}
		switch {
		case m.Types[sub] == nil:
			*out = append(*out, fmt.Sprintf("%s: @odata.type %s is not in the metadata", path, ot))
		case !m.Derives(sub, typ):
			*out = append(*out, fmt.Sprintf("%s: @odata.type %s does not derive from %s", path, ot, typ))
		default:
			typ = sub
		}
	}
	if m.Types[typ] == nil {
		return // a type the subset lacks: nothing to check against
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := obj[k]
		if strings.HasPrefix(k, "@") { // annotations: @odata.type, @odata.etag, @removed …
			continue
		}
		if name, _, ok := strings.Cut(k, "@odata."); ok { // property annotation (participants_v2@odata.context)
			if _, ok := m.Prop(typ, name); !ok && !m.IsOpen(typ) {
				*out = append(*out, fmt.Sprintf("%s: annotation %s of an undeclared property of %s", path, k, typ))
			}
			continue
		}
		p, ok := m.Prop(typ, k)
		if !ok {
			if !m.IsOpen(typ) {
				*out = append(*out, fmt.Sprintf("%s.%s: %s declares no property %s", path, k, typ, k))
			}
			continue
		}
		if p.Navigation && !nav[k] {
			*out = append(*out, fmt.Sprintf("%s.%s: navigation property of %s sent unexpanded and undocumented", path, k, typ))
		}
		m.checkValue(out, path+"."+k, p, val)
	}
}

func (m *Metadata) checkValue(out *[]string, path string, p Property, v any) {
	if v == nil {
		if p.Nullable != nil && !*p.Nullable && !p.Collection {
			*out = append(*out, fmt.Sprintf("%s: null, but %s is not nullable", path, p.Type))
		}
		return
	}
	if p.Collection {
		arr, ok := v.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %T, want a collection of %s", path, v, p.Type))
			return
		}
		el := p
		el.Collection = false
		for i, x := range arr {
			m.checkValue(out, fmt.Sprintf("%s[%d]", path, i), el, x)
		}
		return
	}
	bad := func(want string) { *out = append(*out, fmt.Sprintf("%s: %v (%T), want %s", path, v, v, want)) }
	switch t := p.Type; {
	case t == "Edm.String" || t == "Edm.Binary" || t == "Edm.Stream":
		if _, ok := v.(string); !ok {
			bad(t)
		}
	case t == "Edm.DateTimeOffset":
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			bad("an RFC 3339 " + t)
		}
	case t == "Edm.Date":
		s, ok := v.(string)
		if _, err := time.Parse("2006-01-02", s); !ok || err != nil {
			bad(t)
		}
	case t == "Edm.TimeOfDay":
		if s, ok := v.(string); !ok || !timeRE.MatchString(s) {
			bad(t)
		}
	case t == "Edm.Duration":
		if s, ok := v.(string); !ok || !durRE.MatchString(s) {
			bad(t)
		}
	case t == "Edm.Guid":
		if s, ok := v.(string); !ok || !guidRE.MatchString(s) {
			bad(t)
		}
	case t == "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			bad(t)
		}
	case intEdms[t]:
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			bad("an integer " + t)
		}
	case t == "Edm.Double" || t == "Edm.Single" || t == "Edm.Decimal":
		if _, ok := v.(json.Number); !ok {
			bad("a number " + t)
		}
	case m.Enums[t] != nil:
		s, ok := v.(string)
		if !ok {
			bad("a member of " + t)
			return
		}
		for _, part := range strings.Split(s, ",") { // flags enums list members
			found := false
			for _, mem := range m.Enums[t] {
				if strings.TrimSpace(part) == mem {
					found = true
				}
			}
			if !found {
				*out = append(*out, fmt.Sprintf("%s: %q is not a member of %s", path, part, t))
			}
		}
	default:
		m.checkObject(out, path, t, v, nil)
	}
}
