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
func skipString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1, nil
		default:
			i++
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", errSyntax)
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
		for j < len(b) && !bytes.ContainsRune([]byte(",}] \n\t\r"), rune(b[j])) {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, b[i], i)
		}
		return j, nil
	}
}

// objectField returns the raw value of key in the JSON object obj, or nil.
func objectField(obj []byte, key string) ([]byte, error) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, nil
	}
	i++
	for {
		i = skipWS(obj, i)
		if i >= len(obj) {
			return nil, fmt.Errorf("%w: unterminated object", errSyntax)
		}
		if obj[i] == '}' {
			return nil, nil
		}
		if obj[i] == ',' {
			i++
			continue
		}
		if obj[i] != '"' {
			return nil, fmt.Errorf("%w: expected key at offset %d", errSyntax, i)
		}
		ks := i
		ke, err := skipString(obj, i)
		if err != nil {
			return nil, err
		}
		i = skipWS(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return nil, fmt.Errorf("%w: expected ':' at offset %d", errSyntax, i)
		}
		vs := skipWS(obj, i+1)
		ve, err := skipValue(obj, vs)
		if err != nil {
			return nil, err
		}
		if keyEquals(obj[ks+1:ke-1], key) {
			return obj[vs:ve], nil
		}
		i = ve
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
	arr, err := objectField(page, "value")
	if err != nil {
		return nil, err
	}
	if arr == nil {
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
	if arr[0] != '[' {
		return nil, fmt.Errorf("%w: value is not an array", errSyntax)
	}
	var out [][]byte
	i := 1
	for {
		i = skipWS(arr, i)
		if i >= len(arr) {
			return nil, fmt.Errorf("%w: unterminated value array", errSyntax)
		}
		switch arr[i] {
		case ']':
			return out, nil
		case ',':
			i++
			continue
		}
		end, err := skipValue(arr, i)
		if err != nil {
			return nil, err
		}
		out = append(out, arr[i:end])
		i = end
	}
}
