package graph

import (
	"errors"
	"fmt"

	"m365export/internal/jsonscan"
)

// errMalformed marks a body that is not one whole JSON object: on a 2xx
// answer that means it was cut short, and the fetch is retried.
var errMalformed = errors.New("malformed or truncated JSON body")

// links holds the paging members of a Graph collection response.
type links struct {
	next, delta string
	// records counts the elements of the top-level value array (0: none).
	records int
}

// scanLinks reads the top-level @odata.nextLink and @odata.deltaLink of a
// JSON object and checks, on the way, that the object is complete. It skips
// values without decoding them, so it costs a small fraction of a full
// json.Unmarshal of the page.
func scanLinks(b []byte) (links, error) {
	var l links
	i := jsonscan.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return l, errMalformed
	}
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return l, checkEnd(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return l, errMalformed
		}
		ks := i
		ke, err := jsonscan.SkipString(b, i)
		if err != nil {
			return l, errMalformed
		}
		key := b[ks+1 : ke-1]
		i = jsonscan.SkipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return l, errMalformed
		}
		i = jsonscan.SkipWS(b, i+1)
		vs := i
		if string(key) == "value" && i < len(b) && b[i] == '[' {
			i, l.records, err = skipArray(b, i)
		} else {
			i, err = jsonscan.SkipValue(b, i)
		}
		if err != nil {
			return l, errMalformed
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
		i = jsonscan.SkipWS(b, i)
		if i >= len(b) {
			return l, errMalformed
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipWS(b, i+1)
		case '}':
			return l, checkEnd(b, i+1)
		default:
			return l, errMalformed
		}
	}
}

// skipArray skips the array at b[i] and counts its elements.
func skipArray(b []byte, i int) (end, n int, err error) {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, 0, nil
	}
	for {
		if i, err = jsonscan.SkipValue(b, i); err != nil {
			return i, n, err
		}
		n++
		i = jsonscan.SkipWS(b, i)
		if i >= len(b) {
			return i, n, errMalformed
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipWS(b, i+1)
		case ']':
			return i + 1, n, nil
		default:
			return i, n, errMalformed
		}
	}
}

func checkEnd(b []byte, i int) error {
	if jsonscan.SkipWS(b, i) != len(b) {
		return errMalformed
	}
	return nil
}

// jsonString decodes a JSON string value; null is "".
func jsonString(v []byte) (string, error) {
	if len(v) == 4 && string(v) == "null" {
		return "", nil
	}
	s, ok := jsonscan.String(v)
	if !ok {
		return "", fmt.Errorf("paging link is not a string: %w", errMalformed)
	}
	return s, nil
}
