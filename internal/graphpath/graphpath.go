// Package graphpath puts the path of a Microsoft Graph URL into one
// canonical form, so that the layers that read a request's path (rule
// matching in rules, throttle scoping in sources/graph) see the same
// request whichever syntax Graph used for it.
//
// Graph writes a resource's key either as a path segment (users/{id}) or
// in OData key syntax (users('{id}')): Microsoft documents the next links
// of chats and channels getAllMessages in key form, and Outlook's next
// links are commonly so too (graph-api-notes §8, fact 1). The canonical
// form is the path-segment one, which is what rule files (psoxy's
// included) are written for. Links are still fetched exactly as Graph
// returned them: only the copy a layer compares is canonicalized.
//
// It is a leaf: it imports nothing of the module, so rules and sources can
// both use it without importing each other.
package graphpath

import "strings"

// Canonical returns a Graph URL path (no scheme, host or query) with every
// key segment in OData key syntax written as a path segment:
//
//	users('x')         → users/x
//	users(id='x')      → users/x
//	users(%27x%27)     → users/x   (percent-encoded quotes)
//	users('o''brien')  → users/o'brien (a doubled quote is one quote)
//
// The key is kept otherwise as it was (percent-escapes stay, as they do in
// a path segment; a '/' in a key is always escaped, since it would end the
// segment). Function calls such
// as delta() or getAllMessages(model='A'), composite or other named keys,
// and the case of every name are left as they are: the rules and the
// throttle scope compare names case-insensitively. The version segment
// (v1.0, beta) is not touched. A path without '(' is returned as it is,
// without allocating.
func Canonical(path string) string {
	if strings.IndexByte(path, '(') < 0 {
		return path
	}
	var b strings.Builder
	changed := false
	rest := path
	for {
		seg, tail, more := strings.Cut(rest, "/")
		if name, key, ok := keySegment(seg); ok {
			if !changed {
				b.Grow(len(path))
				b.WriteString(path[:len(path)-len(rest)])
				changed = true
			}
			b.WriteString(name)
			b.WriteByte('/')
			b.WriteString(key)
		} else if changed {
			b.WriteString(seg)
		}
		if !more {
			break
		}
		if changed {
			b.WriteByte('/')
		}
		rest = tail
	}
	if !changed {
		return path
	}
	return b.String()
}

// keySegment splits a segment name('key') (or name(id='key'), quotes
// possibly as %27) into its name and its unquoted key.
func keySegment(seg string) (name, key string, ok bool) {
	i := strings.IndexByte(seg, '(')
	if i <= 0 || !strings.HasSuffix(seg, ")") {
		return "", "", false
	}
	name, in := seg[:i], seg[i+1:len(seg)-1]
	if len(in) > 3 && strings.EqualFold(in[:3], "id=") {
		in = in[3:]
	}
	q := quoteLen(in)
	if q == 0 {
		return "", "", false
	}
	in = in[q:]
	var k strings.Builder
	for {
		if in == "" {
			return "", "", false // no closing quote
		}
		if q := quoteLen(in); q > 0 {
			after := in[q:]
			if q2 := quoteLen(after); q2 > 0 {
				k.WriteByte('\'') // '' is a quote in the key
				in = after[q2:]
				continue
			}
			if after != "" {
				return "", "", false // e.g. a composite key 'a',b='c'
			}
			break
		}
		k.WriteByte(in[0])
		in = in[1:]
	}
	if k.Len() == 0 {
		return "", "", false
	}
	return name, k.String(), true
}

// quoteLen is the length of the quote at the start of s: 1 for ', 3 for
// %27, 0 for none.
func quoteLen(s string) int {
	switch {
	case s != "" && s[0] == '\'':
		return 1
	case len(s) >= 3 && s[0] == '%' && s[1] == '2' && s[2] == '7':
		return 3
	}
	return 0
}
