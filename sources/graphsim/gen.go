package graphsim

import (
	"encoding/base64"
	"strconv"
)

// This file holds the deterministic building blocks: hashing, a tiny random
// stream, identifiers and a JSON appender. Nothing here allocates per call
// beyond the destination slice.

// mix is splitmix64's finaliser: a bijection on uint64 with good avalanche.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Kinds of derived values, so that (user 3, day 5) never collides with
// (group 3, member 5).
const (
	kUser uint64 = iota + 1
	kUserIDLow
	kGroup
	kGroupMember
	kTeam
	kChannel
	kChat
	kChatDay
	kChatMsg
	kChanDay
	kChanMsg
	kMailDay
	kMail
	kEventDay
	kEvent
	kCallDay
	kCall
	kCopilotDay
	kCopilot
	kSettings
	kFault
	kMask
	kSecret
)

// h derives a value from the tenant seed and up to three coordinates.
func (t *Tenant) h(kind uint64, a, b, c int64) uint64 {
	x := mix(t.seed ^ kind*0x9e3779b97f4a7c15)
	x = mix(x ^ uint64(a)*0xc2b2ae3d27d4eb4f)
	x = mix(x ^ uint64(b)*0x165667b19e3779f9)
	return mix(x ^ uint64(c)*0xd6e8feb86659fd93)
}

// rng is a splitmix64 stream seeded from one derived value.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a value in [0, n); n must be > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// countAround returns a count with mean m: floor(m*f) with f uniform in
// [0.5, 1.5), the fraction carried over probabilistically.
func countAround(r *rng, m float64) int {
	if m <= 0 {
		return 0
	}
	f := 0.5 + float64(r.next()>>11)/(1<<53)
	x := m * f
	n := int(x)
	if float64(r.next()>>11)/(1<<53) < x-float64(n) {
		n++
	}
	return n
}

const hexdigits = "0123456789abcdef"

// appendUUID appends a lower-case RFC 4122 text form of hi:lo.
func appendUUID(b []byte, hi, lo uint64) []byte {
	var raw [16]byte
	for i := 0; i < 8; i++ {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexdigits[c>>4], hexdigits[c&15])
	}
	return b
}

// parseUUID parses the text form back into hi:lo.
func parseUUID(s string) (hi, lo uint64, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return 0, 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		v, ok := unhex(s[i])
		if !ok {
			return 0, 0, false
		}
		if n < 16 {
			hi = hi<<4 | uint64(v)
		} else {
			lo = lo<<4 | uint64(v)
		}
		n++
	}
	return hi, lo, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func appendHex64(b []byte, x uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexdigits[(x>>uint(i))&15])
	}
	return b
}

// appendB64 appends the unpadded URL-safe base64 form of the 8-byte words.
func appendB64(b []byte, words ...uint64) []byte {
	var raw [48]byte
	n := 0
	for _, w := range words {
		for i := 0; i < 8 && n < len(raw); i++ {
			raw[n] = byte(w >> (56 - 8*i))
			n++
		}
	}
	return base64.RawURLEncoding.AppendEncode(b, raw[:n])
}

// appendStr appends s as a JSON string.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendStrRaw appends s as a JSON string, escaping only quotes and
// backslashes (for values known to hold no control characters, such as
// HTML bodies, where Graph leaves < > & as they are).
func appendStrRaw(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		} else if c < 0x20 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&15])
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Time formats, all UTC. Times are int64 milliseconds since the Unix epoch.
const (
	tsSeconds = iota // 2026-11-26T09:15:02Z (mail, directory)
	tsMillis         // 2026-11-26T09:15:02.123Z (Teams, Copilot)
	tsSeven          // 2026-11-26T09:15:02.1230000Z (calendar created/modified)
	tsEvent          // 2026-11-26T09:15:00.0000000 (dateTimeTimeZone, no zone letter)
)

func civil(days int64) (y, m, d int64) {
	// Howard Hinnant's days_from_civil inverse.
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendTime appends ms as a JSON string in format f.
func appendTime(b []byte, ms int64, f int) []byte {
	b = append(b, '"')
	b = appendTimeRaw(b, ms, f)
	return append(b, '"')
}

func appendTimeRaw(b []byte, ms int64, f int) []byte {
	secs := floorDiv(ms, 1000)
	frac := ms - secs*1000
	days := floorDiv(secs, 86400)
	sod := secs - days*86400
	y, m, d := civil(days)
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, sod/3600)
	b = append(b, ':')
	b = append2(b, sod/60%60)
	b = append(b, ':')
	b = append2(b, sod%60)
	switch f {
	case tsSeconds:
		return append(b, 'Z')
	case tsMillis:
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		return append(b, 'Z')
	case tsSeven:
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10), '0', '0', '0', '0')
		return append(b, 'Z')
	default:
		return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10), '0', '0', '0', '0')
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// obj writes one JSON object field by field, leaving out fields the
// request's $select did not name.
type obj struct {
	b     []byte
	sel   map[string]bool // nil: every field
	first bool
}

func (o *obj) open()  { o.b = append(o.b, '{'); o.first = true }
func (o *obj) close() { o.b = append(o.b, '}') }

// key writes a field name unconditionally.
func (o *obj) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

// field writes a field name if it is selected and reports whether it did.
func (o *obj) field(k string) bool {
	if o.sel != nil && !o.sel[k] {
		return false
	}
	o.key(k)
	return true
}

func (o *obj) str(k, v string) {
	if o.field(k) {
		o.b = appendStr(o.b, v)
	}
}

func (o *obj) null(k string) {
	if o.field(k) {
		o.b = append(o.b, "null"...)
	}
}

func (o *obj) boolean(k string, v bool) {
	if o.field(k) {
		o.b = strconv.AppendBool(o.b, v)
	}
}

func (o *obj) num(k string, v int64) {
	if o.field(k) {
		o.b = appendInt(o.b, v)
	}
}

func (o *obj) time(k string, ms int64, f int) {
	if o.field(k) {
		o.b = appendTime(o.b, ms, f)
	}
}

func (o *obj) raw(k, v string) {
	if o.field(k) {
		o.b = append(o.b, v...)
	}
}
