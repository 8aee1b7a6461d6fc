// Package jsonscan reads JSON in place, without decoding it into values:
// it skips values, finds a member of an object, splits nothing it is not
// asked to, and unescapes strings only when they have escapes. It is the
// one JSON scanner of the module: the Graph client checks pages and finds
// their paging links with it, the pipeline reads a record's time, sender and
// deduplication key with it, and the Parquet sink's decoder skips and
// unescapes with it.
//
// It is a leaf: it imports nothing of the module, so that sources, sinks,
// rules and pipeline can all use it without importing each other.
//
// Scanning checks nesting and string ends, which is what a truncated body
// breaks; it does not validate scalars character by character (callers
// that need that, such as the Parquet decoder, check the scalars they
// decode).
//
// # Errors
//
// Malformed input gives a *SyntaxError, which wraps ErrSyntax.
package jsonscan

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error about malformed JSON.
var ErrSyntax = errors.New("invalid JSON")

// SyntaxError is malformed JSON at byte Offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

func syntax(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// SkipWS returns the index of the first byte at or after i that is not JSON
// white space (len(b) if none).
func SkipWS(b []byte, i int) int {
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

// SkipString returns the index just past the string starting at
// b[i] == '"'. It jumps from quote to quote (bytes.IndexByte is
// vectorised) and counts the backslashes before each: an odd run escapes
// the quote.
func SkipString(b []byte, i int) (int, error) {
	s := i
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, syntax(s, "unterminated string")
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

// SkipValue returns the index just past the JSON value starting at b[i]
// (white space before it is not skipped). A scalar runs to the next
// delimiter or the end of b.
func SkipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntax(i, "unexpected end")
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		s, depth := i, 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j, err := SkipString(b, i)
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
		return 0, syntax(s, "unterminated container")
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
			return 0, syntax(i, "unexpected "+strconv.QuoteRune(rune(b[i])))
		}
		return j, nil
	}
}

// FieldStart returns the offset in obj where key's value starts, or -1
// when obj is not an object or has no such key. The value itself is not
// scanned, so that a caller walking it reads it once.
func FieldStart(obj []byte, key string) (int, error) {
	i := SkipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return -1, nil
	}
	i++
	for {
		i = SkipWS(obj, i)
		if i >= len(obj) {
			return -1, syntax(i, "unterminated object")
		}
		if obj[i] == '}' {
			return -1, nil
		}
		if obj[i] == ',' {
			i++
			continue
		}
		if obj[i] != '"' {
			return -1, syntax(i, "want a key")
		}
		ks := i
		ke, err := SkipString(obj, i)
		if err != nil {
			return -1, err
		}
		i = SkipWS(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return -1, syntax(i, "want ':'")
		}
		vs := SkipWS(obj, i+1)
		if vs >= len(obj) {
			return -1, syntax(vs, "unexpected end")
		}
		if keyEquals(obj[ks+1:ke], key) {
			return vs, nil
		}
		if i, err = SkipValue(obj, vs); err != nil {
			return -1, err
		}
	}
}

// Field returns the raw value of key in the JSON object obj, or nil. A key
// that occurs nowhere in obj's bytes (and obj has no escapes that could
// spell it) is answered without walking the object; what Field skips over
// is checked for balance, not validated.
func Field(obj []byte, key string) ([]byte, error) {
	if !bytes.Contains(obj, []byte(key)) && bytes.IndexByte(obj, '\\') < 0 {
		return nil, nil
	}
	vs, err := FieldStart(obj, key)
	if err != nil || vs < 0 {
		return nil, err
	}
	ve, err := SkipValue(obj, vs)
	if err != nil {
		return nil, err
	}
	return obj[vs:ve], nil
}

// Path returns the raw value at a path of keys ("start", "dateTime"), or
// nil.
func Path(obj []byte, keys []string) ([]byte, error) {
	v := obj
	for _, k := range keys {
		var err error
		v, err = Field(v, k)
		if err != nil || v == nil {
			return nil, err
		}
	}
	return v, nil
}

// keyEquals reports whether a key equals key; text is the key as written,
// from just past its opening quote to its closing quote included.
func keyEquals(text []byte, key string) bool {
	raw := text[:len(text)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	var buf [64]byte
	s, _, err := AppendUnescaped(buf[:0], text, 0)
	return err == nil && string(s) == key
}

// String decodes a raw JSON string value as encoding/json does (invalid
// UTF-8 becomes U+FFFD); ok is false for other values and for malformed
// strings.
func String(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	out, end, err := AppendUnescaped(nil, raw, 1)
	if err != nil || end != len(raw) {
		return "", false
	}
	if !utf8.Valid(out) {
		valid := make([]byte, 0, len(out)+8)
		for len(out) > 0 {
			r, size := utf8.DecodeRune(out)
			valid = utf8.AppendRune(valid, r)
			out = out[size:]
		}
		out = valid
	}
	return string(out), true
}

// AppendUnescaped appends to dst the content of the JSON string whose text
// starts at b[i] (just past the opening quote), with its escapes decoded,
// and returns the index just past the closing quote. A lone or broken
// UTF-16 surrogate becomes U+FFFD, as encoding/json decodes it.
func AppendUnescaped(dst, b []byte, i int) ([]byte, int, error) {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return dst, i + 1, nil
		case c != '\\':
			// Copy the run up to the next quote or backslash at once.
			j := i + 1
			for j < len(b) && b[j] != '"' && b[j] != '\\' {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(b) {
			break
		}
		e := b[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := Hex4(b, i)
			if !ok {
				return dst, i, syntax(i, "invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					r2, ok = Hex4(b, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, i, syntax(i, "invalid escape")
		}
	}
	return dst, i, syntax(i, "unterminated string")
}

// Hex4 decodes the four hex digits at s[i:i+4] (of a \u escape).
func Hex4[T string | []byte](s T, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for k := i; k < i+4; k++ {
		c := s[k]
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
