package rules

// PrettyJSON re-prints compact JSON the way psoxy's tests do (Jackson's
// default pretty printer without spaces before colons: two-space indent,
// one array element per line, "[ ]" and "{ }" for empties). Input that is
// not JSON is returned unchanged.
func PrettyJSON(b []byte) []byte {
	docs, err := parseDocuments(b)
	if err != nil {
		return b
	}
	var out []byte
	for i, d := range docs {
		if i > 0 {
			out = append(out, '\n')
		}
		out = appendPretty(out, d, 0)
	}
	return append(out, '\n')
}

func indent(b []byte, n int) []byte {
	b = append(b, '\n')
	for i := 0; i < n; i++ {
		b = append(b, ' ', ' ')
	}
	return b
}

func appendPretty(b []byte, v *value, depth int) []byte {
	switch v.k {
	case kObject:
		ms := live(v)
		if len(ms) == 0 {
			return append(b, '{', ' ', '}')
		}
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = indent(b, depth+1)
			b = appendQuoted(b, m.key, m.kesc)
			b = append(b, ':')
			b = appendPretty(b, m.v, depth+1)
		}
		b = indent(b, depth)
		return append(b, '}')
	case kArray:
		es := liveElems(v)
		if len(es) == 0 {
			return append(b, '[', ' ', ']')
		}
		b = append(b, '[')
		for i, e := range es {
			if i > 0 {
				b = append(b, ',')
			}
			b = indent(b, depth+1)
			b = appendPretty(b, e, depth+1)
		}
		b = indent(b, depth)
		return append(b, ']')
	}
	return appendValue(b, v)
}
