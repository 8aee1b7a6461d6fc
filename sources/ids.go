package sources

// IDs is a compact list of ids (owners): their bytes in one slice and
// their ends in another, so that 100k owners cost their bytes plus four
// bytes each, with no string header for the garbage collector to scan.
// The zero value is an empty list.
type IDs struct {
	data []byte
	ends []uint32
}

// Append adds id.
func (l *IDs) Append(id string) {
	l.data = append(l.data, id...)
	l.ends = append(l.ends, uint32(len(l.data)))
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
	start := uint32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return string(l.data[start:l.ends[i]])
}

// Strings returns the ids as a new slice.
func (l *IDs) Strings() []string {
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// CompactIDs copies ids into an IDs.
func CompactIDs(ids []string) *IDs {
	n := 0
	for _, id := range ids {
		n += len(id)
	}
	l := &IDs{data: make([]byte, 0, n), ends: make([]uint32, 0, len(ids))}
	for _, id := range ids {
		l.Append(id)
	}
	return l
}
