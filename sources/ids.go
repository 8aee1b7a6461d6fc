package sources

// IDs is a compact list of ids (owners): their bytes in one slice and
// their ends in another, so that 100k owners cost their bytes plus four
// bytes each, with no string header for the garbage collector to scan. A
// GUID in Graph's form (lower-case, hyphenated: every user, group and
// team id) takes 17 bytes: a marker and its 16 bytes. The zero value is
// an empty list.
type IDs struct {
	data []byte
	ends []uint32
}

// guidMark starts a packed GUID: 0xff never occurs in UTF-8 text.
const guidMark = 0xff

// Append adds id.
func (l *IDs) Append(id string) {
	l.data = appendPacked(l.data, id)
	l.ends = append(l.ends, uint32(len(l.data)))
}

// appendPacked appends id as IDs stores it.
func appendPacked(dst []byte, id string) []byte {
	if g, ok := packGUID(id); ok {
		return append(append(dst, guidMark), g[:]...)
	}
	return append(dst, id...)
}

// raw is id i as stored.
func (l *IDs) raw(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.data[start:l.ends[i]]
}

// packGUID packs a lower-case hyphenated GUID into 16 bytes.
func packGUID(s string) (g [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		g[j] = hi<<4 | lo
		j++
	}
	return g, j == 16
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false // upper case is kept as text: it must come back as it was
}

func unpackGUID(g []byte) string {
	const hexd = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range g {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexd[c>>4], hexd[c&15]
		j += 2
	}
	return string(b[:])
}

// Len is the number of ids.
func (l *IDs) Len() int {
	if l == nil {
		return 0
	}
	return len(l.ends)
}

// At returns id i (a new string).
func (l *IDs) At(i int) string {
	b := l.raw(i)
	if len(b) == 17 && b[0] == guidMark {
		return unpackGUID(b[1:])
	}
	return string(b)
}

// Strings returns the ids as a new slice.
func (l *IDs) Strings() []string {
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// Equal reports whether l holds exactly ids.
func (l *IDs) Equal(ids []string) bool {
	if l.Len() != len(ids) {
		return false
	}
	var buf [64]byte
	for i, id := range ids {
		if string(appendPacked(buf[:0], id)) != string(l.raw(i)) {
			return false
		}
	}
	return true
}

// CompactIDs copies ids into an IDs.
func CompactIDs(ids []string) *IDs {
	n := 0
	for _, id := range ids {
		n += len(id)
	}
	l := &IDs{data: make([]byte, 0, min(n, 17*len(ids))), ends: make([]uint32, 0, len(ids))}
	for _, id := range ids {
		l.Append(id)
	}
	return l
}
