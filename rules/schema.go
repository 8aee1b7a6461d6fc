package rules

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// schema is a compiled node of psoxy's responseSchema (JsonSchemaFilter,
// psoxy-rules.md §1.7). A $ref is resolved at Compile time: ref points at
// the root definition it names, and filtering follows it.
type schema struct {
	typ   string             // "", object, array, string, integer, number, boolean, null
	ref   *schema            // resolved $ref; every other key is then ignored, as psoxy does
	props map[string]*schema // object: the keys kept
	items *schema            // array: the schema of every element
}

// schemaTypes are the types psoxy's filter knows.
var schemaTypes = map[string]bool{
	"object": true, "array": true, "string": true, "integer": true,
	"number": true, "boolean": true, "null": true,
}

// schemaIgnored are keys psoxy reads and ignores (format) or skips
// (@JsonIgnoreProperties). Nested definitions parse but $ref resolves only
// against the rule file's root definitions, as in psoxy.
var schemaIgnored = map[string]bool{
	"format": true, "title": true, "required": true, "additionalProperties": true,
	"$schema": true, "definitions": true,
}

// schemaUnsupported are JsonSchemaFilter keys with conditional semantics
// that this sanitizer refuses rather than approximates.
var schemaUnsupported = map[string]bool{
	"anyOf": true, "oneOf": true, "if": true, "then": true, "else": true, "const": true,
}

// schemaCompiler compiles the schemas of one rule file against its root
// definitions; ctx names the endpoint or definition for error messages.
type schemaCompiler struct {
	l    *loader
	defs map[string]*schema
	ctx  string
}

// newSchemaCompiler allocates every root definition first, so that a
// $ref can point at a definition compiled later (or at itself).
func newSchemaCompiler(l *loader, defs *yaml.Node) (*schemaCompiler, error) {
	c := &schemaCompiler{l: l, defs: map[string]*schema{}}
	if defs == nil {
		return c, nil
	}
	if defs.Kind != yaml.MappingNode {
		return nil, l.errf(defs, "definitions must be a mapping of name to schema")
	}
	for i := 0; i+1 < len(defs.Content); i += 2 {
		c.defs[defs.Content[i].Value] = &schema{}
	}
	err := l.mapping(defs, func(name string, _, v *yaml.Node) error {
		c.ctx = "definitions." + name
		return c.fill(c.defs[name], v)
	})
	if err != nil {
		return nil, err
	}
	for name, d := range c.defs {
		if err := c.checkRefCycle(d, defs, name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkRefCycle refuses definitions that are only $refs of each other
// (A → B → A): filtering by them would never reach a type.
func (c *schemaCompiler) checkRefCycle(s *schema, defs *yaml.Node, name string) error {
	seen := map[*schema]bool{}
	for s.ref != nil {
		if seen[s] {
			return c.l.errf(defs, "definitions.%s: $ref cycle that never reaches a type", name)
		}
		seen[s] = true
		s = s.ref
	}
	return nil
}

// compile compiles one schema (an endpoint's responseSchema).
func (c *schemaCompiler) compile(ctx string, n *yaml.Node) (*schema, error) {
	c.ctx = ctx
	s := &schema{}
	if err := c.fill(s, n); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *schemaCompiler) fill(s *schema, n *yaml.Node) error {
	l := c.l
	if n.Kind != yaml.MappingNode {
		return l.errf(n, "%s: a schema must be a mapping", c.ctx)
	}
	hasItems := false
	err := l.mapping(n, func(key string, k, v *yaml.Node) error {
		switch {
		case key == "type":
			t, err := l.str(v)
			if err != nil {
				return l.errf(v, "%s: type must be a string", c.ctx)
			}
			if !schemaTypes[t] {
				return l.errf(v, "%s: unknown schema type %q (want object, array, string, integer, number, boolean or null)", c.ctx, t)
			}
			s.typ = t
		case key == "$ref":
			ref, err := l.str(v)
			if err != nil {
				return l.errf(v, "%s: $ref must be a string", c.ctx)
			}
			name, ok := strings.CutPrefix(ref, "#/definitions/")
			if !ok {
				return l.errf(v, "%s: unsupported $ref %q (only \"#/definitions/NAME\")", c.ctx, ref)
			}
			d := c.defs[name]
			if d == nil {
				return l.errf(v, "%s: $ref %q names no root definition", c.ctx, ref)
			}
			s.ref = d
		case key == "properties":
			if v.Kind != yaml.MappingNode {
				return l.errf(v, "%s: properties must be a mapping", c.ctx)
			}
			ctx := c.ctx
			s.props = make(map[string]*schema, len(v.Content)/2)
			err := l.mapping(v, func(name string, _, pv *yaml.Node) error {
				c.ctx = ctx + "." + name
				p := &schema{}
				s.props[name] = p
				return c.fill(p, pv)
			})
			c.ctx = ctx
			return err
		case key == "items":
			ctx := c.ctx
			c.ctx = ctx + "[]"
			s.items = &schema{}
			hasItems = true
			err := c.fill(s.items, v)
			c.ctx = ctx
			return err
		case schemaIgnored[key]:
		case schemaUnsupported[key]:
			return l.errf(k, "%s: schema key %q is not supported by this sanitizer", c.ctx, key)
		default:
			return l.errf(k, "%s: unknown schema key %q", c.ctx, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.ref == nil && s.typ == "array" && !hasItems {
		return l.errf(n, "%s: type array needs items", c.ctx)
	}
	return nil
}

// augmentPrefix starts the keys augments add; the filter always keeps them.
const augmentPrefix = "+"

// filterBySchema filters v in place by s with psoxy's JsonSchemaFilter
// semantics (psoxy-rules.md §1.7). A value the schema does not admit
// becomes null; the caller drops null array elements.
func filterBySchema(s *schema, v *value) {
	for s.ref != nil {
		s = s.ref
	}
	switch s.typ {
	case "":
		// No type: scalars pass, containers do not.
		if v.isContainer() {
			setNull(v)
		}
	case "string":
		if v.k != kString {
			setNull(v)
		}
	case "integer":
		coerceInteger(v)
	case "number":
		if v.k != kNumber {
			setNull(v)
		}
	case "boolean":
		switch v.k {
		case kTrue, kFalse:
		case kNull:
			v.k = kFalse // NullNode.booleanValue()
		default:
			setNull(v)
		}
	case "object":
		if v.k != kObject {
			setNull(v)
			return
		}
		kept := v.obj[:0]
		for _, m := range v.obj {
			if m.v.k == kDeleted {
				continue
			}
			if !strings.HasPrefix(m.key, augmentPrefix) {
				p := s.props[m.key]
				if p == nil {
					continue
				}
				filterBySchema(p, m.v)
			}
			kept = append(kept, m)
		}
		clear(v.obj[len(kept):])
		v.obj = kept
	case "array":
		if v.k != kArray {
			setNull(v)
			return
		}
		kept := v.arr[:0]
		for _, e := range v.arr {
			if e.k == kDeleted {
				continue
			}
			filterBySchema(s.items, e)
			if e.k != kNull {
				kept = append(kept, e)
			}
		}
		clear(v.arr[len(kept):])
		v.arr = kept
	default: // "null"
		setNull(v)
	}
}

func setNull(v *value) {
	*v = value{k: kNull}
}

// coerceInteger applies psoxy's integer leaf: null stays null; a number
// that fits a Java int or long is kept, a decimal truncated toward zero
// (Jackson's canConvertToInt/Long then intValue/longValue); anything else
// (text, booleans, containers, integers beyond long) becomes null.
func coerceInteger(v *value) {
	switch v.k {
	case kNull:
		return
	case kNumber:
	default:
		setNull(v)
		return
	}
	if isIntegerText(v.s) {
		if _, err := strconv.ParseInt(v.s, 10, 64); err != nil {
			setNull(v) // a BigInteger: neither int nor long
		}
		return
	}
	f, err := strconv.ParseFloat(v.s, 64)
	const two63 = 9223372036854775808.0
	switch {
	case err != nil || math.IsNaN(f) || f < -two63 || f > two63:
		setNull(v)
	case f == two63:
		v.s = strconv.FormatInt(math.MaxInt64, 10) // Java's (long) saturates
	default:
		v.s = strconv.FormatInt(int64(f), 10)
	}
}

// paramSchema is psoxy's ParameterSchema for a path parameter: the
// captured value must satisfy every constraint given, and one of anyOf.
type paramSchema struct {
	typ     string
	format  string
	pattern *regexp.Regexp
	enum    []string
	anyOf   []*paramSchema
}

// reversiblePseudonym is psoxy's REVERSIBLE_PSEUDONYM_PATTERN: p~ and at
// least 43 base64url characters (a hash and more).
var reversiblePseudonym = regexp.MustCompile(`^p~[a-zA-Z0-9_-]{43,}$`)

var digits = regexp.MustCompile(`^\d+$`)

func (p *paramSchema) valid(s string) bool {
	switch p.typ {
	case "integer":
		return digits.MatchString(strings.TrimSpace(s))
	case "number":
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return false
		}
	}
	if p.format == "reversible-pseudonym" && !reversiblePseudonym.MatchString(s) {
		return false
	}
	if p.enum != nil {
		found := false
		for _, e := range p.enum {
			found = found || e == s
		}
		if !found {
			return false
		}
	}
	if p.pattern != nil && !p.pattern.MatchString(s) {
		return false
	}
	if len(p.anyOf) > 0 {
		for _, a := range p.anyOf {
			if a.valid(s) {
				return true
			}
		}
		return false
	}
	return true
}

func (l *loader) paramSchema(n *yaml.Node) (*paramSchema, error) {
	p := &paramSchema{}
	err := l.mapping(n, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "type":
			if p.typ, err = l.str(v); err == nil {
				switch p.typ {
				case "string", "integer", "number":
				default:
					err = l.errf(v, "unknown parameter type %q", p.typ)
				}
			}
		case "format":
			if p.format, err = l.str(v); err == nil && p.format != "reversible-pseudonym" {
				err = l.errf(v, "unknown parameter format %q", p.format)
			}
		case "pattern":
			var s string
			if s, err = l.str(v); err == nil {
				if _, err = l.regex(v, s); err == nil {
					p.pattern = regexp.MustCompile("^(?:" + s + ")$")
				}
			}
		case "enum":
			p.enum, err = l.strings(v)
		case "anyOf":
			if v.Kind != yaml.SequenceNode {
				return l.errf(v, "anyOf must be a list")
			}
			for _, c := range v.Content {
				sub, err := l.paramSchema(c)
				if err != nil {
					return err
				}
				p.anyOf = append(p.anyOf, sub)
			}
		default:
			err = l.errf(k, "unknown parameter schema key %q", key)
		}
		return err
	})
	return p, err
}
