package rules

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

// hasAugmentKeys reports whether any key in the document starts with '+';
// psoxy then skips all augments.
func hasAugmentKeys(v *value) bool {
	switch v.k {
	case kObject:
		for i := range v.obj {
			m := &v.obj[i]
			if m.v.k == kDeleted {
				continue
			}
			if strings.HasPrefix(m.key, "+") || hasAugmentKeys(m.v) {
				return true
			}
		}
	case kArray:
		for _, e := range v.arr {
			if hasAugmentKeys(e) {
				return true
			}
		}
	}
	return false
}

// parents maps every node to the object that holds it and the key it is
// under (for array elements, the object holding the array).
type parentInfo struct {
	obj *value
	key string
}

func collectParents(v *value, obj *value, key string, out map[*value]parentInfo) {
	switch v.k {
	case kObject:
		for i := range v.obj {
			m := &v.obj[i]
			out[m.v] = parentInfo{obj: v, key: m.key}
			collectParents(m.v, v, m.key, out)
		}
	case kArray:
		for _, e := range v.arr {
			out[e] = parentInfo{obj: obj, key: key}
			collectParents(e, obj, key, out)
		}
	}
}

// textDigest is psoxy's digest of a text: UTF-16 length and the number of
// whitespace-separated words of the trimmed text.
func textDigest(s string) (length, words int) {
	if s == "" {
		return 0, 0
	}
	for _, r := range s {
		length += utf16.RuneLen(r)
	}
	t := strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	words = 1
	inSep := false
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case ' ', '\t', '\n', '\x0B', '\f', '\r':
			if !inSep {
				words++
				inSep = true
			}
		default:
			inSep = false
		}
	}
	return length, words
}

func digestObject(s string) value {
	l, w := textDigest(s)
	return value{k: kObject, obj: []member{
		{key: "length", v: &value{k: kNumber, s: strconv.Itoa(l)}},
		{key: "word_count", v: &value{k: kNumber, s: strconv.Itoa(w)}},
	}}
}

func digestJSON(s string) string {
	l, w := textDigest(s)
	return `{"length":` + strconv.Itoa(l) + `,"word_count":` + strconv.Itoa(w) + `}`
}

// applyAugments adds "+<leaf>:textDigest" siblings, as psoxy's
// AugmentProcessor does. Failures of one match are skipped, never fatal.
func applyAugments(augs []*augment, doc *value) {
	if len(augs) == 0 || hasAugmentKeys(doc) {
		return
	}
	var parents map[*value]parentInfo // built only if a match lacks its parent
	var scratch []match
	for _, a := range augs {
		for _, p := range a.paths {
			scratch = p.eval(doc, scratch[:0])
			for _, m := range scratch {
				if m.v == nil {
					continue // multi-key leaves are not used by augments
				}
				pi := parentInfo{obj: m.parent, key: m.pkey}
				if m.parent == nil && m.v.k != kObject {
					if parents == nil {
						parents = map[*value]parentInfo{}
						collectParents(doc, nil, "", parents)
					}
					pi = parents[m.v]
				}
				augmentOne(a, m.v, pi)
			}
		}
	}
}

func augmentOne(a *augment, src *value, pi parentInfo) {
	if src.k == kNull || src.k == kDeleted {
		return
	}
	if src.k == kObject && a.inner == nil {
		text := string(appendValue(nil, src))
		addMember(src, "+self:textDigest", digestObject(text))
		return
	}
	if pi.obj == nil {
		return
	}
	name := "+" + pi.key + ":textDigest"
	if a.inner != nil {
		if src.k != kString || src.s == "" {
			return
		}
		ip := getParserString(src.s)
		defer putParser(ip)
		docs, err := ip.documents()
		if err != nil || len(docs) != 1 {
			return
		}
		inner := docs[0]
		matches := a.inner.eval(inner, nil)
		applied := false
		for _, m := range matches {
			if m.v == nil || m.v.k != kString {
				continue
			}
			*m.v = newString(digestJSON(m.v.s))
			applied = true
		}
		if applied {
			addMember(pi.obj, name, newString(string(appendSmart(nil, inner))))
		}
		return
	}
	if src.k != kString {
		return
	}
	addMember(pi.obj, name, digestObject(src.s))
}

// addMember puts key=v on obj, replacing a live member of that name.
func addMember(obj *value, key string, v value) {
	nv := new(value)
	*nv = v
	for i := range obj.obj {
		if obj.obj[i].key == key && obj.obj[i].v.k != kDeleted {
			obj.obj[i].v = nv
			return
		}
	}
	obj.obj = append(obj.obj, member{key: key, kesc: needsEscape(key), v: nv})
}

// appendSmart serializes like json-smart's LT_COMPRESS style, which psoxy
// uses for JSON embedded in strings: like Jackson, but U+007F–U+009F and
// U+2000–U+20FF are also written as \uXXXX.
func appendSmart(b []byte, v *value) []byte {
	switch v.k {
	case kString:
		return appendSmartString(b, v.s)
	case kObject:
		b = append(b, '{')
		first := true
		for i := range v.obj {
			m := &v.obj[i]
			if m.v.k == kDeleted {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendSmartString(b, m.key)
			b = append(b, ':')
			b = appendSmart(b, m.v)
		}
		return append(b, '}')
	case kArray:
		b = append(b, '[')
		first := true
		for _, e := range v.arr {
			if e.k == kDeleted {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendSmart(b, e)
		}
		return append(b, ']')
	}
	return appendValue(b, v)
}

func appendSmartString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || (r >= 0x7F && r <= 0x9F) || (r >= 0x2000 && r <= 0x20FF):
			b = append(b, '\\', 'u',
				hexUpper[(r>>12)&0xF], hexUpper[(r>>8)&0xF], hexUpper[(r>>4)&0xF], hexUpper[r&0xF])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
