package rules

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Shape is an allow-list of JSON: what a response or a record may keep.
// A Shape with Props is an object that keeps exactly those members; one
// with Items an array whose every element is filtered by Items; one with
// neither a scalar leaf that keeps a string, number, boolean or null
// unchanged and turns an object or array into null.
//
// Shapes are how the built-in rules are made allow-lists: jobs/connector
// generates one per table from its declared columns and AddResponseSchemas
// writes it as psoxy's responseSchema (untyped leaves, so values pass
// unchanged), and Shape.Filter applies the same shape to a sanitized
// record, strictly: there an augment key ("+…") is kept only if named.
type Shape struct {
	Props map[string]*Shape
	Items *Shape
}

// Leaf is a scalar leaf.
func Leaf() *Shape { return &Shape{} }

// Object is an object keeping props (none when props is empty).
func Object(props map[string]*Shape) *Shape {
	if props == nil {
		props = map[string]*Shape{}
	}
	return &Shape{Props: props}
}

// Array is an array of items.
func Array(items *Shape) *Shape { return &Shape{Items: items} }

// IsObject and IsArray say what kind of shape s is.
func (s *Shape) IsObject() bool { return s.Props != nil }

// IsArray reports whether s is an array.
func (s *Shape) IsArray() bool { return s.Items != nil && s.Props == nil }

// Union returns a shape that keeps what a or b keeps (either may be nil).
// Where one is a container and the other a leaf, the container wins.
func Union(a, b *Shape) *Shape {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.IsObject() || b.IsObject():
		props := map[string]*Shape{}
		for k, v := range a.Props {
			props[k] = v
		}
		for k, v := range b.Props {
			props[k] = Union(props[k], v)
		}
		return Object(props)
	case a.IsArray() || b.IsArray():
		return Array(Union(a.Items, b.Items))
	}
	return Leaf()
}

// Paths lists the dotted paths s keeps ("a.b", "c[].d"), sorted; a leaf
// and an empty object or array are paths of their own.
func (s *Shape) Paths() []string {
	var out []string
	var walk func(p string, s *Shape)
	walk = func(p string, s *Shape) {
		switch {
		case s.IsObject() && len(s.Props) > 0:
			for k, v := range s.Props {
				q := k
				if p != "" {
					q = p + "." + k
				}
				walk(q, v)
			}
		case s.IsArray():
			walk(p+"[]", s.Items)
		default:
			out = append(out, p)
		}
	}
	walk("", s)
	slices.Sort(out)
	return out
}

// schemaYAML writes s as a psoxy responseSchema at indent: untyped
// leaves ({}); augment keys are left out (psoxy's filter keeps them all).
func (s *Shape) schemaYAML(b *strings.Builder, indent int) {
	pad := strings.Repeat(" ", indent)
	switch {
	case s.IsObject():
		fmt.Fprintf(b, "%stype: \"object\"\n", pad)
		keys := make([]string, 0, len(s.Props))
		for k := range s.Props {
			if !strings.HasPrefix(k, augmentPrefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if len(keys) == 0 {
			fmt.Fprintf(b, "%sproperties: {}\n", pad)
			return
		}
		fmt.Fprintf(b, "%sproperties:\n", pad)
		for _, k := range keys {
			p := s.Props[k]
			if !p.IsObject() && !p.IsArray() {
				fmt.Fprintf(b, "%s  %s: {}\n", pad, yamlQuote(k))
				continue
			}
			fmt.Fprintf(b, "%s  %s:\n", pad, yamlQuote(k))
			p.schemaYAML(b, indent+4)
		}
	case s.IsArray():
		fmt.Fprintf(b, "%stype: \"array\"\n", pad)
		if !s.Items.IsObject() && !s.Items.IsArray() {
			fmt.Fprintf(b, "%sitems: {}\n", pad)
			return
		}
		fmt.Fprintf(b, "%sitems:\n", pad)
		s.Items.schemaYAML(b, indent+2)
	default:
		fmt.Fprintf(b, "%s{}\n", pad)
	}
}

// Request is a request an export makes and the shape of its response.
type Request struct {
	URL   string
	Shape *Shape
}

// AddResponseSchemas returns the rule file src with a responseSchema
// added to every endpoint that has none: the union of the shapes of the
// requests for which it is the endpoint the rules choose (the first that
// allows the request; a request the rules do not allow is left out). An
// endpoint no request reaches keeps nothing (an
// object without properties). So a built-in rule file is an allow-list
// generated from the tables' declarations; everything else in src is
// left as written, and the result is still psoxy's format.
func AddResponseSchemas(name string, src []byte, reqs []Request) ([]byte, error) {
	rs, err := parseRules(name, src)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("rules %s: %w", name, err)
	}
	var items []*yaml.Node
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "endpoints" {
			items = root.Content[i+1].Content
		}
	}
	if len(items) != len(rs.endpoints) {
		return nil, fmt.Errorf("rules %s: %d endpoint nodes for %d endpoints", name, len(items), len(rs.endpoints))
	}
	r := &Ruleset{name: name, rs: rs}
	shapes := make([]*Shape, len(rs.endpoints))
	for _, q := range reqs {
		ep, err := r.endpointFor(q.URL)
		if err != nil {
			continue
		}
		i := slices.Index(rs.endpoints, ep)
		shapes[i] = Union(shapes[i], q.Shape)
	}
	// Insert each schema after the last line of its endpoint, last
	// endpoint first so that earlier line numbers stay valid.
	lines := strings.SplitAfter(string(src), "\n")
	for i := len(items) - 1; i >= 0; i-- {
		if rs.endpoints[i].schema != nil || hasKey(items[i], "responseSchema") {
			continue
		}
		s := shapes[i]
		if s == nil {
			s = Object(nil)
		}
		col := items[i].Column - 1 // the endpoint's keys start here
		var b strings.Builder
		fmt.Fprintf(&b, "%sresponseSchema:\n", strings.Repeat(" ", col))
		s.schemaYAML(&b, col+2)
		at := lastLine(items[i]) // 1-based: insert after it
		if at > len(lines) {
			at = len(lines)
		}
		if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
			lines[at-1] += "\n"
		}
		lines = slices.Insert(lines, at, b.String())
	}
	out := []byte(strings.Join(lines, ""))
	if _, err := parseRules(name, out); err != nil {
		return nil, fmt.Errorf("generated response schemas: %w", err)
	}
	return out, nil
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// lastLine is the last source line of n or its descendants. A block
// scalar (| or >) would run further; rule endpoints use none.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// Filter applies s to one JSON value (a sanitized record) strictly: an
// object keeps only the members s names, augment keys included; an array
// filters every element; a leaf keeps
// scalars and turns containers into null. Values pass unchanged (printed
// as Sanitize prints them: a sanitized record is left byte for byte) and
// keep their order.
func (s *Shape) Filter(record []byte) ([]byte, error) {
	// A pooled parser: a fresh one per record allocated its arenas
	// (tens of KiB) for every record, and under a memory limit the
	// runtime spent a third of a backfill's CPU zeroing those arenas and
	// handing them back to the OS.
	p := getParser(record)
	defer putParser(p)
	docs, err := p.documents()
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, &SyntaxError{Offset: 0, msg: "a record must be one JSON value"}
	}
	filterByShape(s, docs[0])
	return appendValue(make([]byte, 0, len(record)), docs[0]), nil
}

func filterByShape(s *Shape, v *value) {
	switch {
	case s.IsObject():
		if v.k != kObject {
			if v.k != kNull {
				setNull(v)
			}
			return
		}
		kept := v.obj[:0]
		for _, m := range v.obj {
			p := s.Props[m.key]
			if m.v.k == kDeleted || p == nil {
				continue
			}
			filterByShape(p, m.v)
			kept = append(kept, m)
		}
		clear(v.obj[len(kept):])
		v.obj = kept
	case s.IsArray():
		if v.k != kArray {
			if v.k != kNull {
				setNull(v)
			}
			return
		}
		kept := v.arr[:0]
		for _, e := range v.arr {
			if e.k == kDeleted {
				continue
			}
			filterByShape(s.Items, e)
			kept = append(kept, e)
		}
		clear(v.arr[len(kept):])
		v.arr = kept
	default:
		if v.isContainer() {
			setNull(v)
		}
	}
}

// Endpoint returns the position, in the rule file, of the endpoint that
// answers a GET of requestURL (as Sanitize chooses it), or an error
// wrapping ErrNotAllowed.
func (r *Ruleset) Endpoint(requestURL string) (int, error) {
	ep, err := r.endpointFor(requestURL)
	if err != nil {
		return -1, err
	}
	return slices.Index(r.rs.endpoints, ep), nil
}
