package rules

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// A jsonPath is a compiled JSONPath with Jayway json-path 2.9 semantics for
// the subset psoxy's rules use: root, child properties (dot or bracket,
// several bracket keys), [*] and .*, array indices, deep scan (..) and
// filters [?(@.a.b == 'x')] / != / existence.
type jsonPath struct {
	src  string
	toks []token
}

type tokKind uint8

const (
	tProp tokKind = iota
	tWild
	tIndex
	tScan
	tFilter
)

type token struct {
	k     tokKind
	props []string
	idx   []int
	f     *filter
}

type filter struct {
	path  []string // relative path under @
	op    string   // "==", "!=", "" (exists)
	lit   value    // literal to compare with
	isNum bool
}

// compilePath parses a JSONPath expression. It rejects anything outside the
// supported subset, naming the expression.
func compilePath(src string) (*jsonPath, error) {
	s := strings.TrimSpace(src)
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("JSONPath %q: must start with $", src)
	}
	p := &jsonPath{src: src}
	i := 1
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], ".."):
			p.toks = append(p.toks, token{k: tScan})
			i += 2
			if i < len(s) && s[i] == '[' {
				continue
			}
			n, tok, err := dotName(s, i)
			if err != nil {
				return nil, fmt.Errorf("JSONPath %q: %w", src, err)
			}
			p.toks = append(p.toks, tok)
			i = n
		case s[i] == '.':
			i++
			if i < len(s) && s[i] == '[' {
				continue // Jayway accepts $.['a']
			}
			n, tok, err := dotName(s, i)
			if err != nil {
				return nil, fmt.Errorf("JSONPath %q: %w", src, err)
			}
			p.toks = append(p.toks, tok)
			i = n
		case s[i] == '[':
			n, tok, err := bracket(s, i)
			if err != nil {
				return nil, fmt.Errorf("JSONPath %q: %w", src, err)
			}
			p.toks = append(p.toks, tok)
			i = n
		default:
			return nil, fmt.Errorf("JSONPath %q: unexpected %q at %d", src, s[i], i)
		}
	}
	if n := len(p.toks); n > 0 && p.toks[n-1].k == tScan {
		return nil, fmt.Errorf("JSONPath %q: path must not end with a recursive descent (..)", src)
	}
	return p, nil
}

func dotName(s string, i int) (int, token, error) {
	start := i
	for i < len(s) && s[i] != '.' && s[i] != '[' {
		i++
	}
	name := s[start:i]
	switch {
	case name == "":
		return 0, token{}, fmt.Errorf("empty property name at %d", start)
	case name == "*":
		return i, token{k: tWild}, nil
	case strings.ContainsAny(name, " ()'\"?@,"):
		return 0, token{}, fmt.Errorf("invalid property name %q", name)
	}
	return i, token{k: tProp, props: []string{name}}, nil
}

func bracket(s string, i int) (int, token, error) {
	end := matchingBracket(s, i)
	if end < 0 {
		return 0, token{}, fmt.Errorf("unclosed [ at %d", i)
	}
	in := strings.TrimSpace(s[i+1 : end])
	next := end + 1
	switch {
	case in == "*":
		return next, token{k: tWild}, nil
	case strings.HasPrefix(in, "?"):
		f, err := parseFilter(in)
		if err != nil {
			return 0, token{}, err
		}
		return next, token{k: tFilter, f: f}, nil
	case strings.HasPrefix(in, "'") || strings.HasPrefix(in, "\""):
		var props []string
		rest := in
		for {
			q := rest[0]
			j := 1
			var sb strings.Builder
			for j < len(rest) && rest[j] != q {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
				}
				sb.WriteByte(rest[j])
				j++
			}
			if j >= len(rest) {
				return 0, token{}, fmt.Errorf("unterminated quoted name in %q", in)
			}
			props = append(props, sb.String())
			rest = strings.TrimSpace(rest[j+1:])
			if rest == "" {
				break
			}
			if rest[0] != ',' {
				return 0, token{}, fmt.Errorf("expected , in %q", in)
			}
			rest = strings.TrimSpace(rest[1:])
			if rest == "" || (rest[0] != '\'' && rest[0] != '"') {
				return 0, token{}, fmt.Errorf("expected quoted name in %q", in)
			}
		}
		return next, token{k: tProp, props: props}, nil
	default:
		var idx []int
		for _, part := range strings.Split(in, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return 0, token{}, fmt.Errorf("unsupported bracket expression [%s]", in)
			}
			idx = append(idx, n)
		}
		return next, token{k: tIndex, idx: idx}, nil
	}
}

// matchingBracket finds the ']' closing the '[' at i, skipping quotes and parentheses.
func matchingBracket(s string, i int) int {
	depth := 0
	var q byte
	for j := i; j < len(s); j++ {
		c := s[j]
		if q != 0 {
			switch c {
			case '\\':
				j++
			case q:
				q = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			q = c
		case '[', '(':
			depth++
		case ']', ')':
			depth--
			if depth == 0 && c == ']' {
				return j
			}
		}
	}
	return -1
}

func parseFilter(in string) (*filter, error) {
	body := strings.TrimSpace(in[1:])
	if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
		return nil, fmt.Errorf("filter %q: expected ?(...)", in)
	}
	body = strings.TrimSpace(body[1 : len(body)-1])
	f := &filter{}
	left := body
	for _, op := range []string{"==", "!="} {
		if k := strings.Index(body, op); k >= 0 {
			f.op = op
			left = strings.TrimSpace(body[:k])
			lit := strings.TrimSpace(body[k+2:])
			if err := f.setLiteral(lit); err != nil {
				return nil, fmt.Errorf("filter %q: %w", in, err)
			}
			break
		}
	}
	if !strings.HasPrefix(left, "@") {
		return nil, fmt.Errorf("filter %q: left side must be @-relative", in)
	}
	rel, err := compilePath("$" + left[1:])
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", in, err)
	}
	for _, t := range rel.toks {
		if t.k != tProp || len(t.props) != 1 {
			return nil, fmt.Errorf("filter %q: only @.a.b paths are supported", in)
		}
		f.path = append(f.path, t.props[0])
	}
	if f.op == "" && strings.ContainsAny(body, "<>=!&|") {
		return nil, fmt.Errorf("filter %q: unsupported operator", in)
	}
	return f, nil
}

func (f *filter) setLiteral(lit string) error {
	switch {
	case len(lit) >= 2 && (lit[0] == '\'' || lit[0] == '"') && lit[len(lit)-1] == lit[0]:
		f.lit = newString(lit[1 : len(lit)-1])
	case lit == "null":
		f.lit = value{k: kNull}
	case lit == "true":
		f.lit = value{k: kTrue}
	case lit == "false":
		f.lit = value{k: kFalse}
	default:
		if _, ok := new(big.Float).SetString(lit); !ok {
			return fmt.Errorf("unsupported literal %s", lit)
		}
		f.lit = value{k: kNumber, s: lit}
		f.isNum = true
	}
	return nil
}

// accept evaluates the filter with @ = v. A missing @-path is undefined:
// == is false and != is true for it, as in Jayway.
func (f *filter) accept(v *value) bool {
	cur := v
	for _, key := range f.path {
		if cur.k != kObject {
			cur = nil
			break
		}
		cur = cur.get(key)
		if cur == nil {
			break
		}
	}
	if f.op == "" {
		return cur != nil
	}
	eq := cur != nil && literalEqual(cur, &f.lit)
	if f.op == "==" {
		return eq
	}
	return !eq
}

func literalEqual(v, lit *value) bool {
	switch lit.k {
	case kString:
		switch v.k {
		case kString:
			return v.s == lit.s
		case kNumber:
			return numberString(v.s) == lit.s || v.s == lit.s
		}
		return false
	case kNumber:
		switch v.k {
		case kNumber, kString:
			a, ok1 := new(big.Float).SetString(v.s)
			b, ok2 := new(big.Float).SetString(lit.s)
			return ok1 && ok2 && a.Cmp(b) == 0
		}
		return false
	default:
		return v.k == lit.k
	}
}

// match is one update target: a single node, or the present keys of a
// multi-key leaf on one object.
type match struct {
	v    *value
	obj  *value
	keys []string
	// parent and pkey locate v when it was reached as a member of an
	// object (for augments, which add a sibling member).
	parent *value
	pkey   string
}

// eval collects every match of the path in doc, in document order, before
// anything changes (Jayway's collect-then-apply).
func (p *jsonPath) eval(doc *value, out []match) []match {
	if len(p.toks) == 0 {
		return append(out, match{v: doc})
	}
	e := evaluator{p: p, out: out}
	e.tok(0, doc)
	return e.out
}

type evaluator struct {
	p   *jsonPath
	out []match
}

func (e *evaluator) leaf(i int) bool { return i == len(e.p.toks)-1 }

func (e *evaluator) next(i int, v *value) {
	if e.leaf(i) {
		e.out = append(e.out, match{v: v})
		return
	}
	e.tok(i+1, v)
}

func (e *evaluator) tok(i int, v *value) {
	t := &e.p.toks[i]
	switch t.k {
	case tProp:
		if v.k != kObject {
			return
		}
		if len(t.props) > 1 && e.leaf(i) {
			e.out = append(e.out, match{obj: v, keys: t.props})
			return
		}
		for _, key := range t.props {
			if c := v.get(key); c != nil {
				if e.leaf(i) {
					e.out = append(e.out, match{v: c, parent: v, pkey: key})
					continue
				}
				e.next(i, c)
			}
		}
	case tWild:
		switch v.k {
		case kObject:
			for j := range v.obj {
				if c := v.obj[j].v; c.k != kDeleted {
					if e.leaf(i) {
						e.out = append(e.out, match{v: c, parent: v, pkey: v.obj[j].key})
						continue
					}
					e.next(i, c)
				}
			}
		case kArray:
			for _, c := range v.arr {
				if c.k != kDeleted {
					e.next(i, c)
				}
			}
		}
	case tIndex:
		if v.k != kArray {
			return
		}
		live := liveElems(v)
		for _, n := range t.idx {
			if n < 0 {
				n += len(live)
			}
			if n >= 0 && n < len(live) {
				e.next(i, live[n])
			}
		}
	case tFilter:
		switch v.k {
		case kObject:
			if t.f.accept(v) {
				e.next(i, v)
			}
		case kArray:
			for _, c := range v.arr {
				if c.k != kDeleted && t.f.accept(c) {
					e.next(i, c)
				}
			}
		}
	case tScan:
		e.walk(i+1, v)
	}
}

func liveElems(v *value) []*value {
	for _, c := range v.arr {
		if c.k == kDeleted {
			out := make([]*value, 0, len(v.arr))
			for _, c := range v.arr {
				if c.k != kDeleted {
					out = append(out, c)
				}
			}
			return out
		}
	}
	return v.arr
}

// scanMatches is Jayway's scan predicate for the token after "..".
func (e *evaluator) scanMatches(i int, v *value) bool {
	t := &e.p.toks[i]
	switch t.k {
	case tProp:
		if v.k != kObject {
			return false
		}
		if len(t.props) > 1 && !e.leaf(i) {
			return true
		}
		for _, key := range t.props {
			if v.get(key) == nil {
				return false
			}
		}
		return true
	case tIndex:
		return v.k == kArray
	case tWild:
		return true
	case tFilter:
		return t.f.accept(v)
	}
	return false
}

// walk is Jayway's ScanPathToken walk: pre-order over objects and arrays.
func (e *evaluator) walk(i int, v *value) {
	switch v.k {
	case kObject:
		if e.scanMatches(i, v) {
			e.tok(i, v)
		}
		for j := range v.obj {
			if c := v.obj[j].v; c.isContainer() {
				e.walk(i, c)
			}
		}
	case kArray:
		if e.scanMatches(i, v) {
			if e.leaf(i) {
				e.tok(i, v)
			} else {
				for _, c := range v.arr {
					if c.k != kDeleted {
						e.tok(i+1, c)
					}
				}
			}
		}
		for _, c := range v.arr {
			if c.isContainer() {
				e.walk(i, c)
			}
		}
	}
}

// evalAll evaluates several paths over the same (unchanged) document and
// returns each path's matches, exactly as eval would one by one. Paths
// that start with a deep scan share one walk of the tree.
func evalAll(paths []*jsonPath, doc *value, out [][]match) [][]match {
	// The match lists of out (up to its capacity) are reused, emptied.
	out = out[:min(cap(out), len(paths))]
	for len(out) < len(paths) {
		out = append(out, nil)
	}
	var scans []*evaluator
	var idx []int
	for i, p := range paths {
		if len(p.toks) > 1 && p.toks[0].k == tScan {
			scans = append(scans, &evaluator{p: p, out: out[i][:0]})
			idx = append(idx, i)
			continue
		}
		out[i] = p.eval(doc, out[i][:0])
	}
	switch len(scans) {
	case 0:
	case 1:
		scans[0].walk(1, doc)
		out[idx[0]] = scans[0].out
	default:
		w := newMultiWalk(scans)
		w.walk(doc)
		for j, e := range scans {
			out[idx[j]] = e.out
		}
	}
	return out
}

// multiWalk walks once for several deep-scan evaluators (each at token 1).
// Those whose scan looks for one property key are found through an index
// of their keys, so an object costs one lookup per member rather than one
// search per path.
type multiWalk struct {
	byKey map[string][]*evaluator
	other []*evaluator
}

func newMultiWalk(evs []*evaluator) *multiWalk {
	w := &multiWalk{byKey: map[string][]*evaluator{}}
	for _, e := range evs {
		if t := &e.p.toks[1]; t.k == tProp && len(t.props) == 1 {
			w.byKey[t.props[0]] = append(w.byKey[t.props[0]], e)
			continue
		}
		w.other = append(w.other, e)
	}
	return w
}

func (w *multiWalk) walk(v *value) {
	switch v.k {
	case kObject:
		if len(w.byKey) > 0 {
			for j := range v.obj {
				m := &v.obj[j]
				if m.v.k == kDeleted {
					continue
				}
				for _, e := range w.byKey[m.key] {
					e.tok(1, v)
				}
			}
		}
		for _, e := range w.other {
			if e.scanMatches(1, v) {
				e.tok(1, v)
			}
		}
		for j := range v.obj {
			if c := v.obj[j].v; c.k == kObject || c.k == kArray {
				w.walk(c)
			}
		}
	case kArray:
		for _, e := range w.other {
			if e.scanMatches(1, v) {
				if e.leaf(1) {
					e.tok(1, v)
				} else {
					for _, c := range v.arr {
						if c.k != kDeleted {
							e.tok(2, c)
						}
					}
				}
			}
		}
		for _, c := range v.arr {
			if c.k == kObject || c.k == kArray {
				w.walk(c)
			}
		}
	}
}

// walkMany is walk for several evaluators at once (each at token 1),
// without the key index; kept as the reference for tests.
func walkMany(evs []*evaluator, v *value) {
	switch v.k {
	case kObject:
		for _, e := range evs {
			if e.scanMatches(1, v) {
				e.tok(1, v)
			}
		}
		for j := range v.obj {
			if c := v.obj[j].v; c.k == kObject || c.k == kArray {
				walkMany(evs, c)
			}
		}
	case kArray:
		for _, e := range evs {
			if e.scanMatches(1, v) {
				if e.leaf(1) {
					e.tok(1, v)
				} else {
					for _, c := range v.arr {
						if c.k != kDeleted {
							e.tok(2, c)
						}
					}
				}
			}
		}
		for _, c := range v.arr {
			if c.k == kObject || c.k == kArray {
				walkMany(evs, c)
			}
		}
	}
}
