package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// This file holds a small allocation-free JSON scanner: the pipeline only
// needs to split a page's value[] into elements and read a few string
// properties of each, so a full decode per record would be waste.

var errSyntax = errors.New("invalid JSON")

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
// It jumps from quote to quote (bytes.IndexByte is vectorised) and counts
// the backslashes before each: an odd run escapes the quote.
func skipString(b []byte, i int) (int, error) {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, fmt.Errorf("%w: unterminated string", errSyntax)
		}
		j += i
		k := j
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j + 1, nil
		}
		i = j + 1
	}
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, fmt.Errorf("%w: unterminated container", errSyntax)
	default:
		j := i
	scalar:
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\n', '\t', '\r':
				break scalar
			}
			j++
		}
		if j == i {
			return 0, fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, b[i], i)
		}
		return j, nil
	}
}

// objectField returns the raw value of key in the JSON object obj, or nil.
// A key that occurs nowhere in obj's bytes (and obj has no escapes that
// could spell it) is answered without walking the object; what objectField
// skips over is checked for balance, not validated.
func objectField(obj []byte, key string) ([]byte, error) {
	if !bytes.Contains(obj, []byte(key)) && bytes.IndexByte(obj, '\\') < 0 {
		return nil, nil
	}
	vs, err := fieldStart(obj, key)
	if err != nil || vs < 0 {
		return nil, err
	}
	ve, err := skipValue(obj, vs)
	if err != nil {
		return nil, err
	}
	return obj[vs:ve], nil
}

// fieldStart returns the offset in obj where key's value starts, or -1 when
// obj is not an object or has no such key. The value itself is not
// scanned, so that a caller walking it (splitValue) reads it once.
func fieldStart(obj []byte, key string) (int, error) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return -1, nil
	}
	i++
	for {
		i = skipWS(obj, i)
		if i >= len(obj) {
			return -1, fmt.Errorf("%w: unterminated object", errSyntax)
		}
		if obj[i] == '}' {
			return -1, nil
		}
		if obj[i] == ',' {
			i++
			continue
		}
		if obj[i] != '"' {
			return -1, fmt.Errorf("%w: expected key at offset %d", errSyntax, i)
		}
		ks := i
		ke, err := skipString(obj, i)
		if err != nil {
			return -1, err
		}
		i = skipWS(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return -1, fmt.Errorf("%w: expected ':' at offset %d", errSyntax, i)
		}
		vs := skipWS(obj, i+1)
		if vs >= len(obj) {
			return -1, fmt.Errorf("%w: unexpected end", errSyntax)
		}
		if keyEquals(obj[ks+1:ke-1], key) {
			return vs, nil
		}
		if i, err = skipValue(obj, vs); err != nil {
			return -1, err
		}
	}
}

func keyEquals(raw []byte, key string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	s, err := strconv.Unquote(`"` + string(raw) + `"`)
	return err == nil && s == key
}

// path returns the raw value at a dotted path ("start.dateTime") or nil.
func path(obj []byte, keys []string) ([]byte, error) {
	v := obj
	for _, k := range keys {
		var err error
		v, err = objectField(v, k)
		if err != nil || v == nil {
			return nil, err
		}
	}
	return v, nil
}

// stringValue decodes a raw JSON string; ok is false for other values.
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	s, err := strconv.Unquote(string(raw))
	if err != nil {
		return "", false
	}
	return s, true
}

// splitValue returns the elements of the top-level "value" array of a Graph
// collection page. A page without value[] (a single object, such as
// mailboxSettings) is returned as one element.
func splitValue(page []byte) ([][]byte, error) {
	vs, err := fieldStart(page, "value")
	if err != nil {
		return nil, err
	}
	if vs < 0 {
		i := skipWS(page, 0)
		if i >= len(page) || page[i] != '{' {
			return nil, fmt.Errorf("%w: page is not a JSON object", errSyntax)
		}
		end, err := skipValue(page, i)
		if err != nil {
			return nil, err
		}
		return [][]byte{page[i:end]}, nil
	}
	if page[vs] != '[' {
		return nil, fmt.Errorf("%w: value is not an array", errSyntax)
	}
	var out [][]byte
	i := vs + 1
	for {
		i = skipWS(page, i)
		if i >= len(page) {
			return nil, fmt.Errorf("%w: unterminated value array", errSyntax)
		}
		switch page[i] {
		case ']':
			return out, nil
		case ',':
			i++
			continue
		}
		end, err := skipValue(page, i)
		if err != nil {
			return nil, err
		}
		out = append(out, page[i:end])
		i = end
	}
}
