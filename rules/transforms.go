package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// errNonScalar is psoxy's IllegalArgumentException for pseudonymizing an
// object or array: the whole response fails.
type errNonScalar struct{ path string }

func (e *errNonScalar) Error() string {
	return fmt.Sprintf("pseudonymize at %s: value is not a string or number", e.path)
}

// isBlank is Apache StringUtils.isBlank: empty or only Java whitespace.
func isBlank(s string) bool {
	for _, r := range s {
		if !isJavaWhitespace(r) {
			return false
		}
	}
	return true
}

func isJavaWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1C, 0x1D, 0x1E, 0x1F:
		return true
	case 0x00A0, 0x2007, 0x202F:
		return false
	}
	return unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

// matchLists are evalAll's match lists, reused from one transform and
// page to the next: made afresh, they were a tenth of the bytes a run
// allocated.
var matchLists = sync.Pool{New: func() any { return new([][]match) }}

// apply runs one transform over the document, each JSONPath independently,
// collecting all matches of a path before changing any of them.
func (s *Ruleset) apply(t *transform, doc *value) error {
	if t.applyOnlyWhen != nil {
		if len(t.applyOnlyWhen.eval(doc, nil)) == 0 {
			return nil
		}
	}
	// All paths are matched before any is applied. That equals applying
	// them one after another (as psoxy does) because a change made for one
	// path only replaces or detaches the nodes it matched.
	sc := matchLists.Get().(*[][]match)
	all := evalAll(t.paths, doc, *sc)
	defer func() {
		for i := range all {
			clear(all[i]) // they point into the parser's arenas
			all[i] = all[i][:0]
		}
		*sc = all
		matchLists.Put(sc)
	}()
	for pi, p := range t.paths {
		for i := range all[pi] {
			m := &all[pi][i]
			if m.obj != nil {
				for _, key := range m.keys {
					if v := m.obj.get(key); v != nil {
						if err := s.mapValue(t, p, v, doc); err != nil {
							return err
						}
					}
				}
				continue
			}
			if err := s.mapValue(t, p, m.v, doc); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapValue replaces v (a node of doc) in place by the transform's function of it.
func (s *Ruleset) mapValue(t *transform, p *jsonPath, v, doc *value) error {
	switch t.method {
	case "redact":
		if v == doc {
			// psoxy cannot delete the root; leave it.
			return nil
		}
		*v = value{k: kDeleted}
		return nil
	case "pseudonymize":
		return s.pseudonymize(t, p, v)
	}
	if v.k != kString {
		*v = value{k: kNull}
		return nil
	}
	str := v.s
	switch t.method {
	case "pseudonymizeRegexMatches":
		out, ok, err := s.pseudonymizeMatches(t, str)
		if err != nil {
			return err
		}
		if !ok {
			*v = value{k: kNull}
		} else {
			*v = newString(out)
		}
	case "tokenize":
		if isBlank(str) {
			return nil
		}
		out, err := s.tokenize(t, str)
		if err != nil {
			return err
		}
		*v = newString(out)
	case "redactRegexMatches":
		if isBlank(str) {
			return nil
		}
		for i, re := range t.redactions {
			if t.redactionHints[i].mayMatch(str) {
				str = re.ReplaceAllLiteralString(str, "")
			}
		}
		*v = newString(str)
	case "filterTokenByRegex":
		if isBlank(str) {
			return nil
		}
		var kept []string
		var toks []string
		if t.delimWS {
			toks = splitJavaWhitespace(str)
		} else {
			toks = javaSplit(t.delimiter, str)
		}
		for _, tok := range toks {
			for i, f := range t.filters {
				if strings.HasPrefix(tok, t.filterPrefixes[i]) && f.MatchString(tok) {
					kept = append(kept, tok)
					break
				}
			}
		}
		out := strings.TrimFunc(strings.Join(kept, " "), func(r rune) bool { return r <= ' ' })
		if out == "" {
			*v = value{k: kNull}
		} else {
			*v = newString(out)
		}
	case "redactExceptPhrases":
		if isBlank(str) {
			return nil
		}
		var found []string
		lower := strings.ToLower(str)
		for i, phrase := range t.phrases {
			if !strings.Contains(lower, t.phraseLower[i]) {
				continue
			}
			if m, ok := findPhrase(str, phrase); ok {
				found = append(found, m)
			}
		}
		*v = newString(strings.Join(found, ","))
	case "redactExceptSubstringsMatchingRegexes":
		if isBlank(str) {
			return nil
		}
		best := ""
		for _, re := range t.exceptions {
			if m := re.FindStringSubmatch(str); m != nil && len(m[1]) > len(best) {
				best = m[1]
			}
		}
		*v = newString(best)
	}
	return nil
}

// javaSplit is Java's String.split(regex): no leading empty string for a
// zero-width match at 0, trailing empty strings removed.
func javaSplit(re *regexp.Regexp, s string) []string {
	var out []string
	last := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		if m[1] == 0 {
			continue
		}
		out = append(out, s[last:m[0]])
		last = m[1]
	}
	out = append(out, s[last:])
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// scalarText is the Java toString of a scalar as psoxy hashes it.
func scalarText(v *value) (string, bool) {
	switch v.k {
	case kString:
		return v.s, true
	case kNumber:
		return numberString(v.s), true
	}
	return "", false
}

func (s *Ruleset) pseudonymize(t *transform, p *jsonPath, v *value) error {
	text, ok := scalarText(v)
	if !ok && v.k != kNull {
		return &errNonScalar{path: p.src}
	}
	if v.k == kNull || (v.k == kString && isBlank(text)) {
		if t.encoding == "JSON" {
			*v = newString("null")
		} else {
			*v = value{k: kNull}
		}
		return nil
	}
	id := s.ps.identify(text)
	switch t.encoding {
	case "URL_SAFE_HASH_ONLY":
		*v = newString(id.hashString())
	case "JSON":
		b := make([]byte, 0, 128)
		b = append(b, '{')
		if id.hasDomain {
			b = append(b, `"domain":`...)
			b = appendQuoted(b, id.domain, needsEscape(id.domain))
			b = append(b, ',')
		}
		b = append(b, `"hash":"`...)
		b = append(b, id.hashString()...)
		b = append(b, '"')
		if t.includeOriginal {
			b = append(b, `,"original":`...)
			b = appendQuoted(b, id.original, needsEscape(id.original))
		}
		if t.includeReversible {
			r, err := s.ps.reversibleToken(&id)
			if err != nil {
				return err
			}
			b = append(b, `,"reversible":`...)
			b = appendQuoted(b, r, false)
		}
		b = append(b, '}')
		*v = newString(string(b))
	default:
		if t.includeReversible {
			r, err := s.ps.reversibleToken(&id)
			if err != nil {
				return err
			}
			*v = newString(r)
		} else {
			*v = value{k: kString, s: id.token(), esc: needsEscape(id.domain)}
		}
	}
	return nil
}

// pseudonymizeMatches replaces group 1 (or the whole match) of every match
// by its pseudonym; ok is false when nothing matched.
func (s *Ruleset) pseudonymizeMatches(t *transform, str string) (string, bool, error) {
	if isBlank(str) {
		return "", false, nil
	}
	all := t.regex.FindAllStringSubmatchIndex(str, -1)
	if len(all) == 0 {
		return "", false, nil
	}
	var b strings.Builder
	last := 0
	for _, m := range all {
		a, e := m[0], m[1]
		if len(m) >= 4 {
			a, e = m[2], m[3]
		}
		if a < 0 || isBlank(str[a:e]) {
			continue
		}
		id := s.ps.identify(str[a:e])
		rep := ""
		if t.includeReversible {
			r, err := s.ps.reversibleToken(&id)
			if err != nil {
				return "", false, err
			}
			rep = r
		} else {
			rep = id.token()
		}
		b.WriteString(str[last:a])
		b.WriteString(rep)
		last = e
	}
	b.WriteString(str[last:])
	return b.String(), true, nil
}

func (s *Ruleset) tokenize(t *transform, str string) (string, error) {
	if t.regex == nil {
		return s.ps.tokenizeValue(str)
	}
	m := t.fullRegex().FindStringSubmatch(str)
	if len(m) < 2 || m[1] == "" {
		return str, nil
	}
	tok, err := s.ps.tokenizeValue(m[1])
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(str, m[1], tok), nil
}

// fullRegex anchors the transform's regex for Java's matches().
func (t *transform) fullRegex() *regexp.Regexp {
	return t.full
}

// findPhrase is psoxy's first find() of \b(\Q<phrase>\E)[\s:]*\b with
// Java's CASE_INSENSITIVE (ASCII case folding only) and Java's \b, for
// which letters and digits of any script are word characters. It returns
// the matched text with its original casing.
func findPhrase(s, phrase string) (string, bool) {
	n := len(phrase)
	if n == 0 {
		return "", false
	}
	for i := 0; i+n <= len(s); i++ {
		if !asciiEqualFold(s[i:i+n], phrase) || !javaBoundary(s, i) {
			continue
		}
		end := i + n
		k := end
		for k < len(s) && (s[k] == ':' || s[k] == ' ' || (s[k] >= '\t' && s[k] <= '\r')) {
			k++
		}
		for e := k; e >= end; e-- {
			if javaBoundary(s, e) {
				return s[i:end], true
			}
		}
	}
	return "", false
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y || x >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isJavaWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// javaBoundary reports whether a word boundary is at byte offset i.
func javaBoundary(s string, i int) bool {
	before, after := false, false
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		before = isJavaWordRune(r)
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		after = isJavaWordRune(r)
	}
	return before != after
}

// splitJavaWhitespace is Java's s.split("\\s+"): Java's \s is
// [ \t\n\x0B\f\r]; a leading separator gives a leading "", trailing
// empty strings are dropped.
func splitJavaWhitespace(s string) []string {
	isWS := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	var out []string
	start := 0
	for i := 0; i < len(s); {
		if !isWS(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isWS(s[j]) {
			j++
		}
		out = append(out, s[start:i])
		start, i = j, j
	}
	out = append(out, s[start:])
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// literalHint is a literal every match of a regex contains (its leading
// literal), to skip the regex on strings that cannot match.
type literalHint struct {
	lit  string // "" = no hint
	fold bool   // compare with ASCII case folding
}

func hintFor(src string) literalHint {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return literalHint{}
	}
	re = re.Simplify()
	for re.Op == syntax.OpConcat && len(re.Sub) > 0 {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpLiteral || len(re.Rune) == 0 {
		return literalHint{}
	}
	lit := string(re.Rune)
	fold := re.Flags&syntax.FoldCase != 0
	if fold {
		for _, r := range re.Rune {
			// Unicode folding has cases ASCII folding does not (K, ſ).
			if r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S' {
				return literalHint{}
			}
		}
		lit = strings.ToLower(lit)
	}
	return literalHint{lit: lit, fold: fold}
}

func (h literalHint) mayMatch(s string) bool {
	switch {
	case h.lit == "":
		return true
	case !h.fold:
		return strings.Contains(s, h.lit)
	}
	n := len(h.lit)
	for i := 0; i+n <= len(s); i++ {
		if asciiEqualFold(s[i:i+n], h.lit) {
			return true
		}
	}
	return false
}
