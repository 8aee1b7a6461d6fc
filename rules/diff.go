package rules

import (
	"fmt"
	"math/big"
	"strconv"
)

// DiffJSON compares two JSON documents as values, object key order
// included, and describes the first difference ("" when equal). Numbers
// compare by value. Used by the compatibility check and golden tests.
func DiffJSON(want, got []byte) string {
	w, err := parseDocuments(want)
	if err != nil {
		return "want: " + err.Error()
	}
	g, err := parseDocuments(got)
	if err != nil {
		return "got: " + err.Error()
	}
	if len(w) != len(g) {
		return fmt.Sprintf("want %d JSON values, got %d", len(w), len(g))
	}
	for i := range w {
		if d := diffValue("$", w[i], g[i]); d != "" {
			return d
		}
	}
	return ""
}

func short(v *value) string {
	s := string(appendValue(nil, v))
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func diffValue(path string, w, g *value) string {
	if w.k != g.k {
		return fmt.Sprintf("%s: want %s, got %s", path, short(w), short(g))
	}
	switch w.k {
	case kString:
		if w.s != g.s {
			return fmt.Sprintf("%s: want %s, got %s", path, short(w), short(g))
		}
	case kNumber:
		a, _, err1 := big.ParseFloat(w.s, 10, 200, big.ToNearestEven)
		b, _, err2 := big.ParseFloat(g.s, 10, 200, big.ToNearestEven)
		if err1 != nil || err2 != nil || a.Cmp(b) != 0 {
			return fmt.Sprintf("%s: want %s, got %s", path, w.s, g.s)
		}
	case kObject:
		wm, gm := live(w), live(g)
		for i := 0; i < len(wm) || i < len(gm); i++ {
			switch {
			case i >= len(wm):
				return fmt.Sprintf("%s: unexpected key %q", path, gm[i].key)
			case i >= len(gm):
				return fmt.Sprintf("%s: missing key %q", path, wm[i].key)
			case wm[i].key != gm[i].key:
				return fmt.Sprintf("%s: key #%d: want %q, got %q", path, i, wm[i].key, gm[i].key)
			}
			if d := diffValue(path+"."+wm[i].key, wm[i].v, gm[i].v); d != "" {
				return d
			}
		}
	case kArray:
		wa, ga := liveElems(w), liveElems(g)
		if len(wa) != len(ga) {
			return fmt.Sprintf("%s: want %d elements, got %d", path, len(wa), len(ga))
		}
		for i := range wa {
			if d := diffValue(path+"["+strconv.Itoa(i)+"]", wa[i], ga[i]); d != "" {
				return d
			}
		}
	}
	return ""
}

func live(v *value) []member {
	out := make([]member, 0, len(v.obj))
	for _, m := range v.obj {
		if m.v.k != kDeleted {
			out = append(out, m)
		}
	}
	return out
}
