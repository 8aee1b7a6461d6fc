package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"m365export/internal/jsonscan"
)

// kind is the type of a JSON value in the document tree.
type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kNumber
	kString
	kObject
	kArray
	kDeleted // removed by a redact; skipped by every reader and by the encoder
)

// value is one node of an ordered JSON tree. Transforms mutate nodes in
// place, so a *value is a stable reference to a position in the document.
type value struct {
	k   kind
	esc bool   // string: s holds characters the encoder must escape
	s   string // string value (decoded) or number text
	obj []member
	arr []*value
}

type member struct {
	key  string
	kesc bool
	v    *value
}

func (v *value) isContainer() bool { return v.k == kObject || v.k == kArray }

// get returns the live member value for key, or nil.
func (v *value) get(key string) *value {
	for i := range v.obj {
		if m := &v.obj[i]; m.key == key && m.v.k != kDeleted {
			return m.v
		}
	}
	return nil
}

func newString(s string) value { return value{k: kString, s: s, esc: needsEscape(s)} }

// SyntaxError reports malformed JSON input with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte offset %d: %s", e.Offset, e.msg)
}

// span is where the value v was in the parsed text.
type span struct {
	v          *value
	start, end int
}

// parser decodes JSON into an ordered tree, taking nodes from chunked arenas.
type parser struct {
	src   string
	pos   int
	vals  []value
	mems  []member
	ptrs  []*value
	stack []member
	astk  []*value
	depth int

	// With wantSpans, the parser notes where each element of the
	// top-level object's "value" array lies in src (SanitizePage pairs
	// sanitized records with raw ones by them).
	wantSpans, capture bool
	spans              []span

	usedVals, freeVals [][]value
	usedMems, freeMems [][]member
	usedPtrs, freePtrs [][]*value
}

const maxDepth = 10000

const (
	valChunk = 512
	memChunk = 1024
	ptrChunk = 1024
)

func (p *parser) alloc() *value {
	if len(p.vals) == 0 {
		if n := len(p.freeVals); n > 0 {
			p.vals, p.freeVals = p.freeVals[n-1], p.freeVals[:n-1]
		} else {
			p.vals = getChunk[value](&valChunks, valChunk)
		}
		p.usedVals = append(p.usedVals, p.vals)
	}
	v := &p.vals[0]
	p.vals = p.vals[1:]
	return v
}

func (p *parser) allocMembers(n int) []member {
	if len(p.mems) < n {
		if n > memChunk {
			return make([]member, n)
		}
		if k := len(p.freeMems); k > 0 {
			p.mems, p.freeMems = p.freeMems[k-1], p.freeMems[:k-1]
		} else {
			p.mems = getChunk[member](&memChunks, memChunk)
		}
		p.usedMems = append(p.usedMems, p.mems)
	}
	obj := p.mems[:n:n]
	p.mems = p.mems[n:]
	return obj
}

func (p *parser) allocPtrs(n int) []*value {
	if len(p.ptrs) < n {
		if n > ptrChunk {
			return make([]*value, n)
		}
		if k := len(p.freePtrs); k > 0 {
			p.ptrs, p.freePtrs = p.freePtrs[k-1], p.freePtrs[:k-1]
		} else {
			p.ptrs = getChunk[*value](&ptrChunks, ptrChunk)
		}
		p.usedPtrs = append(p.usedPtrs, p.ptrs)
	}
	arr := p.ptrs[:n:n]
	p.ptrs = p.ptrs[n:]
	return arr
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// getParser returns a parser of b whose arenas may be reused from an
// earlier document. Nodes it makes are valid until putParser. The parser
// reads b in place, without a copy (a copy of every Graph page was a
// twentieth of a backfill's CPU): b must not change until putParser, and
// a string the parser makes must be copied to outlive the caller's b
// (the pseudonym cache clones its keys).
func getParser(b []byte) *parser { return getParserString(unsafe.String(unsafe.SliceData(b), len(b))) }

func getParserString(src string) *parser {
	p := parserPool.Get().(*parser)
	p.src, p.pos, p.depth = src, 0, 0
	return p
}

// putParser recycles the parser's arenas: no node it made may be used
// afterwards.
func putParser(p *parser) {
	p.freeVals = recycle(p.freeVals, p.usedVals, p.vals)
	p.freeMems = recycle(p.freeMems, p.usedMems, p.mems)
	p.freePtrs = recycle(p.freePtrs, p.usedPtrs, p.ptrs)
	p.usedVals, p.usedMems, p.usedPtrs = p.usedVals[:0], p.usedMems[:0], p.usedPtrs[:0]
	p.vals, p.mems, p.ptrs = nil, nil, nil
	p.src = ""
	clear(p.stack[:cap(p.stack)])
	p.stack = p.stack[:0]
	p.astk = p.astk[:0]
	clear(p.spans)
	p.spans = p.spans[:0]
	p.wantSpans, p.capture = false, false
	// Keep at most keptChunks chunks of each arena per pooled parser
	// (about 0.5 MiB, a typical page's worth): a parser that once met a
	// huge page must not hold its arenas for the rest of the run, or
	// memory grows with the number of pages seen.
	p.freeVals = keepChunks(p.freeVals, &valChunks)
	p.freeMems = keepChunks(p.freeMems, &memChunks)
	p.freePtrs = keepChunks(p.freePtrs, &ptrChunks)
	parserPool.Put(p)
}

// recycle zeroes the used arena chunks and adds them to free. Only the
// part of the last chunk before rest (what alloc has not handed out yet)
// is cleared: a parser of one small record uses a few hundred bytes of a
// 40 KiB chunk, and clearing whole chunks (with write barriers while the
// collector runs) cost a tenth of a backfill's CPU.
func recycle[T any](free, used [][]T, rest []T) [][]T {
	for i, c := range used {
		n := len(c)
		if i == len(used)-1 {
			n -= len(rest)
		}
		clear(c[:n])
		free = append(free, c)
	}
	return free
}

// keptChunks bounds the free chunks a pooled parser keeps per arena.
const keptChunks = 8

// keepChunks keeps keptChunks of free and hands the rest to the shared
// pool of chunks, where any parser takes them before making new ones (a
// page of 150 messages takes some 30 chunks of each arena: made afresh,
// they were a quarter of the bytes a run allocated) and the collector
// frees them when they sit unused.
func keepChunks[T any](free [][]T, pool *sync.Pool) [][]T {
	if len(free) <= keptChunks {
		return free
	}
	for _, c := range free[keptChunks:] {
		pool.Put(&c)
	}
	clear(free[keptChunks:])
	return free[:keptChunks]
}

// Shared pools of zeroed arena chunks (*[]T), beyond what each pooled
// parser keeps.
var valChunks, memChunks, ptrChunks sync.Pool

// getChunk takes a zeroed chunk from pool or makes one of n elements.
func getChunk[T any](pool *sync.Pool, n int) []T {
	if c, ok := pool.Get().(*[]T); ok {
		return *c
	}
	return make([]T, n)
}

func (p *parser) fail(msg string, args ...any) error {
	return &SyntaxError{Offset: p.pos, msg: fmt.Sprintf(msg, args...)}
}

func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// parseDocuments parses one or more whitespace-separated JSON values.
func parseDocuments(b []byte) ([]*value, error) {
	return (&parser{src: string(b)}).documents()
}

func (p *parser) documents() ([]*value, error) {
	var docs []*value
	for {
		p.ws()
		if p.pos >= len(p.src) {
			break
		}
		v := p.alloc()
		if err := p.parseValue(v); err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
	if len(docs) == 0 {
		return nil, p.fail("no JSON value")
	}
	return docs, nil
}

func (p *parser) parseValue(v *value) error {
	if p.pos >= len(p.src) {
		return p.fail("unexpected end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.parseObject(v)
	case c == '[':
		return p.parseArray(v)
	case c == '"':
		s, esc, err := p.parseString()
		if err != nil {
			return err
		}
		*v = value{k: kString, s: s, esc: esc}
		return nil
	case c == 't':
		return p.lit(v, "true", kTrue)
	case c == 'f':
		return p.lit(v, "false", kFalse)
	case c == 'n':
		return p.lit(v, "null", kNull)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber(v)
	default:
		return p.fail("unexpected character %q", c)
	}
}

func (p *parser) lit(v *value, word string, k kind) error {
	if !strings.HasPrefix(p.src[p.pos:], word) {
		return p.fail("invalid literal")
	}
	p.pos += len(word)
	v.k = k
	return nil
}

func (p *parser) parseNumber(v *value) error {
	start := p.pos
	i := p.pos
	if p.src[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(p.src) && p.src[i] == '0' {
		i++
	} else if digits() == 0 {
		p.pos = i
		return p.fail("invalid number")
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return p.fail("invalid number")
		}
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return p.fail("invalid number")
		}
	}
	p.pos = i
	*v = value{k: kNumber, s: p.src[start:i]}
	return nil
}

// parseString parses a string at p.pos (which holds '"'). esc reports
// whether the decoded string contains characters that need escaping.
func (p *parser) parseString() (string, bool, error) {
	p.pos++
	start := p.pos
	src := p.src
	for i := start; i < len(src); i++ {
		c := src[i]
		if c == '"' {
			p.pos = i + 1
			return src[start:i], false, nil
		}
		if c == '\\' {
			return p.parseEscaped(start, i)
		}
		if c < 0x20 {
			p.pos = i
			return "", false, p.fail("control character in string")
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				p.pos = i
				return "", false, p.fail("invalid UTF-8")
			}
			i += size - 1
		}
	}
	p.pos = len(src)
	return "", false, p.fail("unterminated string")
}

func (p *parser) parseEscaped(start, i int) (string, bool, error) {
	src := p.src
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, src[start:i]...)
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			s := string(buf)
			return s, needsEscape(s), nil
		case c == '\\':
			if i+1 >= len(src) {
				p.pos = i
				return "", false, p.fail("unterminated string")
			}
			e := src[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := jsonscan.Hex4(src, i)
				if !ok {
					p.pos = i
					return "", false, p.fail("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if r2, ok2 := jsonscan.Hex4(src, i+2); ok2 && i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i - 2
				return "", false, p.fail("invalid escape")
			}
		case c < 0x20:
			p.pos = i
			return "", false, p.fail("control character in string")
		default:
			if c >= 0x80 {
				r, size := utf8.DecodeRuneInString(src[i:])
				if r == utf8.RuneError && size == 1 {
					p.pos = i
					return "", false, p.fail("invalid UTF-8")
				}
				buf = append(buf, src[i:i+size]...)
				i += size
				continue
			}
			buf = append(buf, c)
			i++
		}
	}
	p.pos = len(src)
	return "", false, p.fail("unterminated string")
}

func (p *parser) parseObject(v *value) error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("nesting too deep")
	}
	p.pos++ // '{'
	base := len(p.stack)
	var index map[string]int
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		p.depth--
		*v = value{k: kObject, obj: []member{}}
		return nil
	}
	for {
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.fail("expected string key")
		}
		key, kesc, err := p.parseString()
		if err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.fail("expected ':'")
		}
		p.pos++
		p.ws()
		child := p.alloc()
		p.capture = p.wantSpans && p.depth == 1 && key == "value"
		if err := p.parseValue(child); err != nil {
			return err
		}
		p.capture = false
		// Jackson keeps the last of duplicate keys, at the first one's
		// position. Small objects are scanned; large ones use an index.
		dup := false
		if n := len(p.stack) - base; n < 32 {
			for i := base; i < len(p.stack); i++ {
				if p.stack[i].key == key {
					p.stack[i].v = child
					dup = true
					break
				}
			}
		} else {
			if index == nil {
				index = make(map[string]int, 2*n)
				for i := base; i < len(p.stack); i++ {
					index[p.stack[i].key] = i
				}
			}
			if i, ok := index[key]; ok {
				p.stack[i].v = child
				dup = true
			} else {
				index[key] = len(p.stack)
			}
		}
		if !dup {
			p.stack = append(p.stack, member{key: key, kesc: kesc, v: child})
		}
		p.ws()
		if p.pos >= len(p.src) {
			return p.fail("unexpected end of input in object")
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		return p.fail("expected ',' or '}'")
	}
	n := len(p.stack) - base
	obj := p.allocMembers(n)
	copy(obj, p.stack[base:])
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	p.depth--
	*v = value{k: kObject, obj: obj}
	return nil
}

func (p *parser) parseArray(v *value) error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail("nesting too deep")
	}
	p.pos++ // '['
	capture := p.capture
	if capture {
		// The last "value" of the object is the one kept.
		clear(p.spans)
		p.spans = p.spans[:0]
	}
	p.capture = false
	base := len(p.astk)
	p.ws()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		p.depth--
		*v = value{k: kArray, arr: []*value{}}
		return nil
	}
	for {
		p.ws()
		child := p.alloc()
		start := p.pos
		if err := p.parseValue(child); err != nil {
			return err
		}
		if capture {
			p.spans = append(p.spans, span{child, start, p.pos})
		}
		p.astk = append(p.astk, child)
		p.ws()
		if p.pos >= len(p.src) {
			return p.fail("unexpected end of input in array")
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] == ']' {
			p.pos++
			break
		}
		return p.fail("expected ',' or ']'")
	}
	n := len(p.astk) - base
	arr := p.allocPtrs(n)
	copy(arr, p.astk[base:])
	clear(p.astk[base:])
	p.astk = p.astk[:base]
	p.depth--
	*v = value{k: kArray, arr: arr}
	return nil
}

// needsEscape reports whether s contains a character Jackson escapes.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

const hexUpper = "0123456789ABCDEF"

// appendQuoted appends s as a JSON string the way Jackson writes it: only
// '"', '\\' and control characters escaped, upper-case \u00XX, everything
// else (including '/', '<', U+2028) raw.
func appendQuoted(b []byte, s string, esc bool) []byte {
	b = append(b, '"')
	if !esc {
		b = append(b, s...)
		return append(b, '"')
	}
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[last:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
		}
		last = i + 1
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}

// appendValue appends v as compact Jackson-style JSON.
func appendValue(b []byte, v *value) []byte {
	switch v.k {
	case kNull:
		return append(b, "null"...)
	case kTrue:
		return append(b, "true"...)
	case kFalse:
		return append(b, "false"...)
	case kNumber:
		return appendNumber(b, v.s)
	case kString:
		return appendQuoted(b, v.s, v.esc)
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
			b = appendQuoted(b, m.key, m.kesc)
			b = append(b, ':')
			b = appendValue(b, m.v)
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
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

func isIntegerText(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

// appendNumber writes a number as Jackson re-prints it: integers as they
// came (Integer/Long/BigInteger), decimals through Java's Double.toString.
func appendNumber(b []byte, s string) []byte {
	if isIntegerText(s) {
		if s == "-0" {
			return append(b, '0')
		}
		return append(b, s...)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		// Out of double range: Jackson would print a non-JSON token here;
		// keep the input text so the output stays valid JSON.
		return append(b, s...)
	}
	return appendJavaDouble(b, f)
}

// numberString is the Java toString of a parsed JSON number.
func numberString(s string) string {
	return string(appendNumber(nil, s))
}

// appendJavaDouble formats f as Java's Double.toString does (shortest
// round-trip digits; plain notation for 1e-3 <= |f| < 1e7, else d.dddE±n).
func appendJavaDouble(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if math.IsNaN(f) {
		return append(b, "NaN"...)
	}
	if math.IsInf(f, 0) {
		if f < 0 {
			return append(b, "-Infinity"...)
		}
		return append(b, "Infinity"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// digits and decimal exponent: f = 0.d1d2d3... * 10^exp
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d.ddddde±xx
	mant := e[:0:0]
	var exp int
	for i, c := range e {
		if c == 'e' {
			mant = e[:i]
			x, _ := strconv.Atoi(string(e[i+1:]))
			exp = x
			break
		}
	}
	digits := make([]byte, 0, 20)
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	// value = digits[0].digits[1:] * 10^exp
	if f >= 1e-3 && f < 1e7 {
		if exp >= 0 {
			intLen := exp + 1
			for i := 0; i < intLen; i++ {
				if i < len(digits) {
					b = append(b, digits[i])
				} else {
					b = append(b, '0')
				}
			}
			b = append(b, '.')
			if intLen < len(digits) {
				b = append(b, digits[intLen:]...)
			} else {
				b = append(b, '0')
			}
			return b
		}
		b = append(b, '0', '.')
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	b = append(b, digits[0], '.')
	if len(digits) > 1 {
		b = append(b, digits[1:]...)
	} else {
		b = append(b, '0')
	}
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(exp), 10)
}
