package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ruleSet is a parsed, compiled rule file (psoxy's Rules2 in API mode).
type ruleSet struct {
	endpoints []*endpoint
}

type endpoint struct {
	pattern     *regexp.Regexp
	onPath      bool            // pathTemplate: match the path only; pathRegex: path?query
	allowedQP   map[string]bool // lower-cased names; nil = any
	methods     map[string]bool // nil = any
	augments    []*augment
	transforms  []*transform
	line        int
	description string

	// schema filters every response before the transforms; nil = none.
	schema     *schema
	schemaNode *yaml.Node // compiled once the root definitions are read
	// params validates path parameters captured by pattern's named
	// groups (by group name); nil = none.
	params map[string]*paramSchema
}

type transform struct {
	method        string
	paths         []*jsonPath
	applyOnlyWhen *jsonPath

	encoding          string
	includeReversible bool
	includeOriginal   bool
	regex             *regexp.Regexp
	full              *regexp.Regexp // regex anchored for a full match
	redactions        []*regexp.Regexp
	redactionHints    []literalHint // a cheap test that a redaction cannot match
	delimiter         *regexp.Regexp
	delimWS           bool // delimiter is \s+: split on ASCII white space by hand
	filters           []*regexp.Regexp
	filterPrefixes    []string // literal prefixes the filters' matches must have
	phrases           []string
	phraseLower       []string // lower-cased phrases: a cheap test before the regex
	exceptions        []*regexp.Regexp
}

type augment struct {
	paths []*jsonPath
	inner *jsonPath
}

// loadError names the file, line and key of a problem in a rule file.
type loadError struct {
	file string
	line int
	msg  string
}

func (e *loadError) Error() string {
	return fmt.Sprintf("rules %s:%d: %s", e.file, e.line, e.msg)
}

type loader struct {
	file string
}

func (l *loader) errf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &loadError{file: l.file, line: line, msg: fmt.Sprintf(format, args...)}
}

// parseRules decodes a rule file strictly: every key and transform is known
// and typed, regexes and JSONPaths compile.
func parseRules(name string, src []byte) (*ruleSet, error) {
	l := &loader{file: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("rules %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, l.errf(&doc, "empty rule file")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, l.errf(root, "top level must be a mapping with endpoints")
	}
	rs := &ruleSet{}
	var headers []string
	var defs *yaml.Node
	err := l.mapping(root, func(key string, k, v *yaml.Node) error {
		switch key {
		case "endpoints":
			if v.Kind != yaml.SequenceNode {
				return l.errf(v, "endpoints must be a list")
			}
			for _, e := range v.Content {
				ep, err := l.endpoint(e)
				if err != nil {
					return err
				}
				rs.endpoints = append(rs.endpoints, ep)
			}
		case "allowedRequestHeaders":
			var err error
			headers, err = l.strings(v)
			return err
		case "allowAllEndpoints":
			b, err := l.boolean(v)
			if err != nil {
				return err
			}
			if b {
				return l.errf(k, "allowAllEndpoints: true is not supported")
			}
		case "defaultScopeIdForSource":
			// ignored on read, as psoxy does
		case "definitions":
			defs = v
		default:
			return l.errf(k, "unknown key %q", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = headers // request headers matter to a proxy, not to a batch sanitizer
	if len(rs.endpoints) == 0 {
		return nil, l.errf(root, "no endpoints")
	}
	sc, err := newSchemaCompiler(l, defs)
	if err != nil {
		return nil, err
	}
	for _, ep := range rs.endpoints {
		if ep.schemaNode == nil {
			continue
		}
		if ep.schema, err = sc.compile(fmt.Sprintf("endpoint %q responseSchema", ep.description), ep.schemaNode); err != nil {
			return nil, err
		}
		ep.schemaNode = nil
	}
	return rs, nil
}

func (l *loader) mapping(n *yaml.Node, f func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return l.errf(n, "expected a mapping")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return l.errf(k, "duplicate key %q", k.Value)
		}
		seen[k.Value] = true
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) str(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", l.errf(n, "expected a string")
	}
	return n.Value, nil
}

func (l *loader) strings(n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, l.errf(n, "expected a list of strings")
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		s, err := l.str(c)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (l *loader) boolean(n *yaml.Node) (bool, error) {
	if n.Kind != yaml.ScalarNode {
		return false, l.errf(n, "expected true or false")
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		return false, l.errf(n, "expected true or false, got %q", n.Value)
	}
	return b, nil
}

// javaRegex compiles a Java regular expression with Go's engine. The
// subset psoxy's rules use (named groups, (?i), \Q…\E, classes) means the
// same in both.
func (l *loader) regex(n *yaml.Node, src string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, l.errf(n, "invalid regex %q: %v", src, err)
	}
	return re, nil
}

func (l *loader) regexes(n *yaml.Node) ([]*regexp.Regexp, error) {
	ss, err := l.strings(n)
	if err != nil {
		return nil, err
	}
	out := make([]*regexp.Regexp, 0, len(ss))
	for i, s := range ss {
		re, err := l.regex(n.Content[i], s)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

func (l *loader) paths(n *yaml.Node) ([]*jsonPath, error) {
	ss, err := l.strings(n)
	if err != nil {
		return nil, err
	}
	out := make([]*jsonPath, 0, len(ss))
	for i, s := range ss {
		p, err := compilePath(s)
		if err != nil {
			return nil, l.errf(n.Content[i], "%v", err)
		}
		out = append(out, p)
	}
	return out, nil
}

var templateParam = regexp.MustCompile(`\{([^}/]+)\}`)

// templateRegex turns an OpenAPI path template into psoxy's regex:
// {p} → (?<p>[^/]+), {p?} → (?<p>[^/]*), everything else literal.
func templateRegex(t string) string {
	var b strings.Builder
	last := 0
	for _, m := range templateParam.FindAllStringSubmatchIndex(t, -1) {
		b.WriteString(regexp.QuoteMeta(t[last:m[0]]))
		name := t[m[2]:m[3]]
		class := "[^/]+"
		if strings.HasSuffix(name, "?") {
			name, class = strings.TrimSuffix(name, "?"), "[^/]*"
		}
		fmt.Fprintf(&b, "(?P<%s>%s)", sanitizeGroupName(name), class)
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(t[last:]))
	return b.String()
}

func sanitizeGroupName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "p"
	}
	return b.String()
}

func (l *loader) endpoint(n *yaml.Node) (*endpoint, error) {
	ep := &endpoint{line: n.Line}
	var regex, template string
	var regexNode, templateNode *yaml.Node
	err := l.mapping(n, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "pathRegex":
			regex, err = l.str(v)
			regexNode = v
		case "pathTemplate":
			template, err = l.str(v)
			templateNode = v
		case "allowedQueryParams":
			var qp []string
			if qp, err = l.strings(v); err == nil {
				ep.allowedQP = map[string]bool{}
				for _, q := range qp {
					ep.allowedQP[strings.ToLower(q)] = true
				}
			}
		case "allowedMethods":
			var ms []string
			if ms, err = l.strings(v); err == nil {
				ep.methods = map[string]bool{}
				for _, m := range ms {
					ep.methods[strings.ToUpper(m)] = true
				}
			}
		case "allowedRequestHeaders", "allowedRequestHeadersToForward":
			_, err = l.strings(v)
		case "responseSchema":
			ep.schemaNode = v
		case "pathParameterSchemas":
			ep.params = map[string]*paramSchema{}
			err = l.mapping(v, func(name string, _, pv *yaml.Node) error {
				ps, err := l.paramSchema(pv)
				ep.params[sanitizeGroupName(name)] = ps
				return err
			})
		case "queryParamSchemas", "requestBody":
			err = l.errf(k, "key %q is not supported by this sanitizer", key)
		case "transforms":
			if v.Kind != yaml.SequenceNode {
				return l.errf(v, "transforms must be a list")
			}
			for _, t := range v.Content {
				tr, err := l.transform(t)
				if err != nil {
					return err
				}
				ep.transforms = append(ep.transforms, tr)
			}
		case "augments":
			if v.Kind != yaml.SequenceNode {
				return l.errf(v, "augments must be a list")
			}
			for _, a := range v.Content {
				au, err := l.augment(a)
				if err != nil {
					return err
				}
				ep.augments = append(ep.augments, au)
			}
		default:
			err = l.errf(k, "unknown endpoint key %q", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case regex != "" && template != "":
		return nil, l.errf(n, "endpoint has both pathRegex and pathTemplate")
	case regex != "":
		ep.pattern, err = l.regex(regexNode, regex)
		if err != nil {
			return nil, err
		}
		ep.pattern = regexp.MustCompile("(?i)^(?:" + regex + ")$")
		ep.description = regex
	case template != "":
		ep.pattern, err = l.regex(templateNode, "(?i)^"+templateRegex(template)+"$")
		if err != nil {
			return nil, err
		}
		ep.onPath = true
		ep.description = template
	default:
		return nil, l.errf(n, "endpoint needs pathRegex or pathTemplate")
	}
	for name := range ep.params {
		if ep.pattern.SubexpIndex(name) < 0 {
			return nil, l.errf(n, "endpoint %q: pathParameterSchemas names %q, which the path does not capture", ep.description, name)
		}
	}
	return ep, nil
}

// method returns the transform or augment type from a !<tag> or a method: key.
func (l *loader) method(n *yaml.Node) (string, error) {
	tag := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(n.Tag, "!<"), ">"), "!")
	if tag != "" && !strings.HasPrefix(n.Tag, "!!") {
		return tag, nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "method" {
				return n.Content[i+1].Value, nil
			}
		}
	}
	return "", l.errf(n, "transform without a type: tag it !<redact>, !<pseudonymize>, … or give method:")
}

var transformKeys = map[string][]string{
	"redact":                                {},
	"pseudonymize":                          {"encoding", "includeReversible", "includeOriginal", "onlyIfRegex"},
	"pseudonymizeRegexMatches":              {"regex", "includeReversible"},
	"tokenize":                              {"regex"},
	"redactRegexMatches":                    {"redactions"},
	"filterTokenByRegex":                    {"delimiter", "filters"},
	"redactExceptPhrases":                   {"allowedPhrases"},
	"redactExceptSubstringsMatchingRegexes": {"exceptions"},
}

func (l *loader) transform(n *yaml.Node) (*transform, error) {
	m, err := l.method(n)
	if err != nil {
		return nil, err
	}
	allowed, ok := transformKeys[m]
	if !ok {
		return nil, l.errf(n, "unknown transform %q", m)
	}
	t := &transform{method: m, encoding: "URL_SAFE_TOKEN"}
	err = l.mapping(n, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "method":
			return nil
		case "jsonPaths":
			t.paths, err = l.paths(v)
			return err
		case "fields":
			return l.errf(k, "key %q is for columnar rules, not API rules", key)
		case "applyOnlyWhen":
			var s string
			if s, err = l.str(v); err == nil {
				if t.applyOnlyWhen, err = compilePath(s); err != nil {
					err = l.errf(v, "%v", err)
				}
			}
			return err
		}
		known := false
		for _, a := range allowed {
			known = known || a == key
		}
		if !known {
			return l.errf(k, "unknown key %q for transform %s", key, m)
		}
		switch key {
		case "encoding":
			if t.encoding, err = l.str(v); err == nil {
				switch t.encoding {
				case "URL_SAFE_TOKEN", "JSON", "URL_SAFE_HASH_ONLY":
				default:
					err = l.errf(v, "unknown encoding %q", t.encoding)
				}
			}
		case "includeReversible":
			t.includeReversible, err = l.boolean(v)
		case "includeOriginal":
			t.includeOriginal, err = l.boolean(v)
		case "onlyIfRegex":
			_, err = l.str(v) // declared by psoxy but never read
		case "regex":
			var s string
			if s, err = l.str(v); err == nil {
				if t.regex, err = l.regex(v, s); err == nil {
					t.full = regexp.MustCompile("^(?:" + s + ")$")
				}
			}
		case "redactions":
			if t.redactions, err = l.regexes(v); err == nil {
				for _, re := range t.redactions {
					t.redactionHints = append(t.redactionHints, hintFor(re.String()))
				}
			}
		case "delimiter":
			var s string
			if s, err = l.str(v); err == nil {
				t.delimiter, err = l.regex(v, s)
				t.delimWS = s == `\s+`
			}
		case "filters":
			var res []*regexp.Regexp
			if res, err = l.regexes(v); err == nil {
				for _, re := range res {
					t.filters = append(t.filters, regexp.MustCompile("^(?:"+re.String()+")$"))
					prefix, _ := re.LiteralPrefix()
					t.filterPrefixes = append(t.filterPrefixes, prefix)
				}
			}
		case "allowedPhrases":
			var ps []string
			if ps, err = l.strings(v); err == nil {
				if ps == nil {
					ps = []string{}
				}
				t.phrases = ps
				for _, p := range ps {
					t.phraseLower = append(t.phraseLower, strings.ToLower(p))
				}
			}
		case "exceptions":
			var res []*regexp.Regexp
			if res, err = l.regexes(v); err == nil {
				for _, re := range res {
					t.exceptions = append(t.exceptions, regexp.MustCompile("^.*?("+re.String()+").*?$"))
				}
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(t.paths) == 0 {
		return nil, l.errf(n, "transform %s has no jsonPaths", m)
	}
	switch m {
	case "pseudonymize":
		if t.includeOriginal && t.encoding == "URL_SAFE_TOKEN" {
			return nil, l.errf(n, "includeOriginal cannot be used with URL_SAFE_TOKEN encoding")
		}
	case "pseudonymizeRegexMatches":
		if t.regex == nil {
			return nil, l.errf(n, "pseudonymizeRegexMatches needs regex")
		}
	case "redactRegexMatches":
		if len(t.redactions) == 0 {
			return nil, l.errf(n, "redactRegexMatches needs redactions")
		}
	case "filterTokenByRegex":
		if len(t.filters) == 0 {
			return nil, l.errf(n, "filterTokenByRegex needs filters")
		}
		if t.delimiter == nil {
			t.delimiter, t.delimWS = regexp.MustCompile(`\s+`), true
		}
	case "redactExceptPhrases":
		if t.phrases == nil {
			return nil, l.errf(n, "redactExceptPhrases needs allowedPhrases")
		}
	}
	return t, nil
}

func (l *loader) augment(n *yaml.Node) (*augment, error) {
	m, err := l.method(n)
	if err != nil {
		return nil, err
	}
	if m != "textDigest" {
		return nil, l.errf(n, "unknown augment %q", m)
	}
	a := &augment{}
	err = l.mapping(n, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "method":
		case "jsonPaths":
			a.paths, err = l.paths(v)
		case "innerJsonPath":
			var s string
			if s, err = l.str(v); err == nil {
				if a.inner, err = compilePath(s); err != nil {
					err = l.errf(v, "%v", err)
				}
			}
		default:
			err = l.errf(k, "unknown key %q for augment textDigest", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(a.paths) == 0 {
		return nil, l.errf(n, "augment textDigest has no jsonPaths")
	}
	return a, nil
}
