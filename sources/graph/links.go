package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// errMalformed marks a body that is not one whole JSON object: on a 2xx
// answer that means it was cut short, and the fetch is retried.
var errMalformed = errors.New("malformed or truncated JSON body")

// links holds the paging members of a Graph collection response.
type links struct {
	next, delta string
}

// scanLinks reads the top-level @odata.nextLink and @odata.deltaLink of a
// JSON object and checks, on the way, that the object is complete. It skips
// values without decoding them, so it costs a small fraction of a full
// json.Unmarshal of the page.
func scanLinks(b []byte) (links, error) {
	var l links
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return l, errMalformed
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return l, checkEnd(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return l, errMalformed
		}
		ks := i
		ke, err := skipString(b, i)
		if err != nil {
			return l, err
		}
		key := b[ks+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return l, errMalformed
		}
		i = skipWS(b, i+1)
		vs := i
		if i, err = skipValue(b, i); err != nil {
			return l, err
		}
		if len(key) > 6 && key[0] == '@' {
			switch string(key) {
			case "@odata.nextLink":
				if l.next, err = jsonString(b[vs:i]); err != nil {
					return l, err
				}
			case "@odata.deltaLink":
				if l.delta, err = jsonString(b[vs:i]); err != nil {
					return l, err
				}
			}
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return l, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return l, checkEnd(b, i+1)
		default:
			return l, errMalformed
		}
	}
}

func checkEnd(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return errMalformed
	}
	return nil
}

// jsonString decodes a JSON string value; null is "".
func jsonString(v []byte) (string, error) {
	if len(v) == 4 && string(v) == "null" {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' {
		return "", fmt.Errorf("paging link is not a string: %w", errMalformed)
	}
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("paging link: %w", errMalformed)
	}
	return s, nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
// It jumps from quote to quote (bytes.IndexByte is vectorised) and counts
// the backslashes before each to tell an escaped quote from the end.
func skipString(b []byte, i int) (int, error) {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, errMalformed
		}
		q := i + j
		k := q
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1, nil
		}
		i = q + 1
	}
}

// skipValue returns the index after the JSON value starting at b[i]. It
// checks nesting and strings, which is what a truncated body breaks; it
// does not validate scalars character by character.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errMalformed
	}
	switch c := b[i]; c {
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
		return 0, errMalformed
	default:
		// A number, true, false or null: runs to a delimiter.
		s := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if i == s {
					return 0, errMalformed
				}
				return i, nil
			}
			i++
		}
		// A scalar may only end the input if it is the whole document,
		// which a top-level member value never is.
		return 0, errMalformed
	}
}
