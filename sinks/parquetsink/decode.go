package parquetsink

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"m365export/internal/jsonscan"
	"m365export/sinks"
)

// ErrInvalidRecord marks a record that does not fit its table's schema (a
// value of the wrong JSON type, a malformed date-time, malformed JSON). The
// writer stays usable: the record is not written. It is
// sinks.ErrInvalidRecord; the error is an *sinks.InvalidRecordError.
var ErrInvalidRecord = sinks.ErrInvalidRecord

// decoder turns one record's JSON into the column values of one Parquet
// row, streaming: it never builds a map or an interface value. Strings
// without escapes are referenced in place; the caller keeps the JSON alive
// until the row is written.
type decoder struct {
	c     *compiled
	cols  [][]parquet.Value // per leaf column
	data  []byte
	pos   int
	arena []byte // unescaped strings and _extra, reset per batch by the caller
	extra []byte
	path  []byte
	seen  []bool
	zones map[string]*time.Location
	// pred[n.id][j] is the member the j-th key of struct n named last
	// time: Graph writes members in a stable order, so a string compare
	// usually replaces a map lookup.
	pred [][]*node
}

func newDecoder(c *compiled) *decoder {
	d := &decoder{c: c, cols: make([][]parquet.Value, c.nLeaves), zones: map[string]*time.Location{}, pred: make([][]*node, c.structs)}
	for i := range d.cols {
		d.cols[i] = make([]parquet.Value, 0, 4)
	}
	return d
}

// fieldError is a value that does not fit its column. Neither field
// quotes the value: errors and logs never carry record content.
type fieldError struct {
	path    string
	problem string // the classification: "invalid timestamp", …
	msg     string
}

func (e *fieldError) Error() string { return "field " + e.path + ": " + e.msg }

// syntaxError is malformed JSON.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.pos, e.msg)
}

// invalidRecord classifies a decode error for the caller (sinks.RejectReason).
func invalidRecord(err error) *sinks.InvalidRecordError {
	switch e := err.(type) {
	case *fieldError:
		return &sinks.InvalidRecordError{Field: e.path, Problem: e.problem, Err: err}
	default:
		return &sinks.InvalidRecordError{Problem: "malformed JSON", Err: err}
	}
}

// decode fills d.cols with the record's values. On error the columns hold
// a partial row the caller must discard.
func (d *decoder) decode(data []byte) error {
	for i := range d.cols {
		d.cols[i] = d.cols[i][:0]
	}
	d.data, d.pos = data, 0
	d.extra = d.extra[:0]
	d.path = d.path[:0]
	d.seen = d.seen[:0]
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return d.syntax("a record must be a JSON object")
	}
	if err := d.object(d.c.root, 0); err != nil {
		return err
	}
	d.ws()
	if d.pos != len(d.data) {
		return d.syntax("trailing data after the record")
	}
	return nil
}

func (d *decoder) syntax(msg string) error { return &syntaxError{pos: d.pos, msg: msg} }

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// put appends v to column leaf with its levels (set in place: cheaper
// than Value.Level's copy).
func (d *decoder) put(leaf int, v parquet.Value, rep, def int) {
	col := append(d.cols[leaf], v)
	p := &col[len(col)-1]
	p.SetRepetitionLevel(rep)
	p.SetDefinitionLevel(def)
	p.SetColumnIndex(leaf)
	d.cols[leaf] = col
}

// nulls writes a null for every leaf under n, defined up to level def.
func (d *decoder) nulls(n *node, rep, def int) {
	for l := n.first; l < n.end; l++ {
		col := append(d.cols[l], parquet.Value{})
		p := &col[len(col)-1]
		p.SetRepetitionLevel(rep)
		p.SetDefinitionLevel(def)
		p.SetColumnIndex(l)
		d.cols[l] = col
	}
}

func (d *decoder) typeErr(n *node, want string) error {
	got := "unknown"
	if d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			got = "string"
		case c == '{':
			got = "object"
		case c == '[':
			got = "array"
		case c == 't' || c == 'f':
			got = "boolean"
		case c == '-' || (c >= '0' && c <= '9'):
			got = "number"
		}
	}
	return &fieldError{path: n.path, problem: "wrong type", msg: "want " + want + ", got " + got}
}

// object decodes the members of a struct (or the record) at d.pos == '{'.
func (d *decoder) object(n *node, rep int) error {
	d.pos++ // '{'
	base := len(d.seen)
	for range n.fields {
		d.seen = append(d.seen, false)
	}
	pathLen := len(d.path)
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for j := 0; ; j++ {
			d.ws()
			key, err := d.key()
			if err != nil {
				return err
			}
			var child *node
			p := d.pred[n.id]
			if j < len(p) && p[j] != nil && p[j].source == string(key) {
				child = p[j]
			} else {
				child = n.byKey[string(key)]
				for len(p) <= j {
					p = append(p, nil)
				}
				p[j] = child
				d.pred[n.id] = p
			}
			d.path = d.path[:pathLen]
			if pathLen > 0 {
				d.path = append(d.path, '.')
			}
			d.path = append(d.path, key...)
			d.ws()
			if child == nil {
				if err := d.unknown(); err != nil {
					return err
				}
			} else {
				i := child.idx
				if d.seen[base+i] {
					return &fieldError{path: child.path, problem: "duplicate key", msg: "duplicate key"}
				}
				d.seen[base+i] = true
				if err := d.value(child, rep); err != nil {
					return err
				}
			}
			d.ws()
			if d.pos >= len(d.data) {
				return d.syntax("unterminated object")
			}
			c := d.data[d.pos]
			d.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				return d.syntax("want , or } in object")
			}
		}
	}
	for i, f := range n.fields {
		if !d.seen[base+i] {
			d.nulls(f, rep, n.def)
		}
	}
	d.seen = d.seen[:base]
	d.path = d.path[:pathLen]
	return nil
}

// key reads an object key and the colon after it; the key is returned in
// its escaped JSON form (keys with escapes never match a column).
func (d *decoder) key() ([]byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return nil, d.syntax("want object key")
	}
	start := d.pos + 1
	end, err := d.skipString()
	if err != nil {
		return nil, err
	}
	key := d.data[start : end-1]
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		return nil, d.syntax("want : after key")
	}
	d.pos++
	return key, nil
}

// unknown keeps a member the schema does not name in _extra, under its
// dotted path; nulls are dropped.
func (d *decoder) unknown() error {
	start := d.pos
	if err := d.skipValue(); err != nil {
		return err
	}
	raw := d.data[start:d.pos]
	if string(raw) == "null" {
		return nil
	}
	if len(d.extra) == 0 {
		d.extra = append(d.extra, '{')
	} else {
		d.extra = append(d.extra, ',')
	}
	d.extra = append(d.extra, '"')
	d.extra = append(d.extra, d.path...)
	d.extra = append(d.extra, '"', ':')
	d.extra = append(d.extra, raw...)
	return nil
}

// value decodes the value at d.pos into column n.
func (d *decoder) value(n *node, rep int) error {
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of record")
	}
	c := d.data[d.pos]
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		d.nulls(n, rep, n.def-1)
		return nil
	}
	switch n.typ {
	case sinks.String:
		switch {
		case c == '"':
			s, err := d.str()
			if err != nil {
				return err
			}
			d.put(n.leaf, parquet.ByteArrayValue(s), rep, n.def)
		case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
			// Documented coercion: a number or boolean in a string
			// column keeps its JSON text.
			start := d.pos
			if err := d.skipValue(); err != nil {
				return err
			}
			d.put(n.leaf, parquet.ByteArrayValue(d.data[start:d.pos]), rep, n.def)
		default:
			return d.typeErr(n, "string")
		}
	case sinks.Int64:
		if c != '-' && (c < '0' || c > '9') {
			return d.typeErr(n, "integer")
		}
		start := d.pos
		d.number()
		v, err := strconv.ParseInt(unsafe.String(&d.data[start], d.pos-start), 10, 64)
		if err != nil {
			d.pos = start
			return &fieldError{path: n.path, problem: "invalid integer", msg: "want a 64-bit integer"}
		}
		d.put(n.leaf, parquet.Int64Value(v), rep, n.def)
	case sinks.Float64:
		if c != '-' && (c < '0' || c > '9') {
			return d.typeErr(n, "number")
		}
		start := d.pos
		d.number()
		v, err := strconv.ParseFloat(unsafe.String(&d.data[start], d.pos-start), 64)
		if err != nil || math.IsInf(v, 0) {
			return &fieldError{path: n.path, problem: "invalid number", msg: "want a finite 64-bit number"}
		}
		d.put(n.leaf, parquet.DoubleValue(v), rep, n.def)
	case sinks.Bool:
		switch c {
		case 't':
			if err := d.literal("true"); err != nil {
				return err
			}
			d.put(n.leaf, parquet.BooleanValue(true), rep, n.def)
		case 'f':
			if err := d.literal("false"); err != nil {
				return err
			}
			d.put(n.leaf, parquet.BooleanValue(false), rep, n.def)
		default:
			return d.typeErr(n, "boolean")
		}
	case sinks.Timestamp:
		if c != '"' {
			return d.typeErr(n, "date-time string")
		}
		s, err := d.str()
		if err != nil {
			return err
		}
		us, ok := parseTimestamp(s)
		if !ok {
			return &fieldError{path: n.path, problem: "invalid timestamp", msg: "want an ISO 8601 date-time"}
		}
		d.put(n.leaf, parquet.Int64Value(us), rep, n.def)
	case sinks.JSON:
		start := d.pos
		if err := d.skipValue(); err != nil {
			return err
		}
		d.put(n.leaf, parquet.ByteArrayValue(d.data[start:d.pos]), rep, n.def)
	case sinks.Struct:
		if c != '{' {
			return d.typeErr(n, "object")
		}
		return d.object(n, rep)
	case sinks.List:
		if c != '[' {
			return d.typeErr(n, "array")
		}
		return d.list(n, rep)
	case sinks.DateTimeTimeZone:
		if c != '{' {
			return d.typeErr(n, "{dateTime, timeZone} object")
		}
		return d.dateTimeTimeZone(n, rep)
	default:
		return &fieldError{path: n.path, problem: "unsupported type", msg: "unsupported type " + string(n.typ)}
	}
	return nil
}

func (d *decoder) list(n *node, rep int) error {
	d.pos++ // '['
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.nulls(n, rep, n.def) // present and empty
		return nil
	}
	pathLen := len(d.path)
	r := rep
	for i := 0; ; i++ {
		d.ws()
		d.path = append(d.path[:pathLen], '[')
		d.path = strconv.AppendInt(d.path, int64(i), 10)
		d.path = append(d.path, ']')
		if err := d.value(n.elem, r); err != nil {
			return err
		}
		r = n.repList
		d.ws()
		if d.pos >= len(d.data) {
			return d.syntax("unterminated array")
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			return d.syntax("want , or ] in array")
		}
	}
	d.path = d.path[:pathLen]
	return nil
}

// dateTimeTimeZone decodes Graph's {dateTime, timeZone}: both strings as
// sent, plus the UTC instant when the zone is known (UTC, an IANA name or a
// Windows zone name); utc is null for a zone it cannot resolve.
func (d *decoder) dateTimeTimeZone(n *node, rep int) error {
	d.pos++ // '{'
	pathLen := len(d.path)
	var dt, tz []byte
	var haveDT, haveTZ bool
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			d.ws()
			key, err := d.key()
			if err != nil {
				return err
			}
			d.ws()
			d.path = append(append(d.path[:pathLen], '.'), key...)
			switch string(key) {
			case "dateTime", "timeZone":
				var s []byte
				present := true
				if d.pos < len(d.data) && d.data[d.pos] == 'n' {
					if err := d.literal("null"); err != nil {
						return err
					}
					present = false
				} else if d.pos < len(d.data) && d.data[d.pos] == '"' {
					if s, err = d.str(); err != nil {
						return err
					}
				} else {
					return &fieldError{path: n.path + "." + string(key), problem: "wrong type", msg: "want string"}
				}
				if string(key) == "dateTime" {
					if haveDT {
						return &fieldError{path: n.path + ".dateTime", problem: "duplicate key", msg: "duplicate key"}
					}
					dt, haveDT = s, present
				} else {
					if haveTZ {
						return &fieldError{path: n.path + ".timeZone", problem: "duplicate key", msg: "duplicate key"}
					}
					tz, haveTZ = s, present
				}
			default:
				if err := d.unknown(); err != nil {
					return err
				}
			}
			d.ws()
			if d.pos >= len(d.data) {
				return d.syntax("unterminated object")
			}
			c := d.data[d.pos]
			d.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				return d.syntax("want , or } in object")
			}
		}
	}
	d.path = d.path[:pathLen]
	if haveDT {
		d.put(n.dtDateTime.leaf, parquet.ByteArrayValue(dt), rep, n.def+1)
	} else {
		d.nulls(n.dtDateTime, rep, n.def)
	}
	if haveTZ {
		d.put(n.dtTimeZone.leaf, parquet.ByteArrayValue(tz), rep, n.def+1)
	} else {
		d.nulls(n.dtTimeZone, rep, n.def)
	}
	if haveDT {
		if us, ok := d.zoned(dt, tz, haveTZ); ok {
			d.put(n.dtUTC.leaf, parquet.Int64Value(us), rep, n.def+1)
			return nil
		} else if _, ok := parseLocal(dt); !ok {
			return &fieldError{path: n.path + ".dateTime", problem: "invalid timestamp", msg: "want an ISO 8601 date-time"}
		}
	}
	d.nulls(n.dtUTC, rep, n.def)
	return nil
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.syntax("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

func (d *decoder) number() {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			d.pos++
		default:
			return
		}
	}
}

// skipString moves past the string at d.pos == '"' and returns the offset
// after its closing quote.
func (d *decoder) skipString() (int, error) {
	end, err := jsonscan.SkipString(d.data, d.pos)
	if err != nil {
		return 0, d.scanErr(err)
	}
	d.pos = end
	return end, nil
}

// scanErr turns a jsonscan error into the decoder's syntaxError.
func (d *decoder) scanErr(err error) error {
	if se, ok := err.(*jsonscan.SyntaxError); ok {
		return &syntaxError{pos: se.Offset, msg: se.Msg}
	}
	return d.syntax(err.Error())
}

// str reads the string at d.pos == '"' and returns its content, unescaped
// into the arena when it has escapes.
func (d *decoder) str() ([]byte, error) {
	start := d.pos + 1
	q := bytes.IndexByte(d.data[start:], '"')
	if q < 0 {
		return nil, d.syntax("unterminated string")
	}
	s := d.data[start : start+q]
	if bytes.IndexByte(s, '\\') >= 0 {
		return d.unescape(start)
	}
	d.pos = start + q + 1
	return s, nil
}

func (d *decoder) unescape(start int) ([]byte, error) {
	out := len(d.arena)
	arena, end, err := jsonscan.AppendUnescaped(d.arena, d.data, start)
	d.arena = arena
	if err != nil {
		return nil, d.scanErr(err)
	}
	d.pos = end
	return d.arena[out:len(d.arena):len(d.arena)], nil
}

// skipValue moves past one JSON value.
func (d *decoder) skipValue() error {
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of record")
	}
	switch c := d.data[d.pos]; {
	case c == '"' || c == '{' || c == '[':
		// Strings and containers: checked for balance, not validated.
		end, err := jsonscan.SkipValue(d.data, d.pos)
		if err != nil {
			return d.scanErr(err)
		}
		d.pos = end
		return nil
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		d.number()
		return nil
	}
	return d.syntax("invalid value")
}

// recordID finds the record's top-level "id" for error messages.
func recordID(data []byte) string {
	d := &decoder{data: data}
	d.ws()
	if d.pos >= len(data) || data[d.pos] != '{' {
		return ""
	}
	d.pos++
	for {
		d.ws()
		key, err := d.key()
		if err != nil {
			return ""
		}
		d.ws()
		if string(key) == "id" && d.pos < len(data) && data[d.pos] == '"' {
			s, err := d.str()
			if err != nil {
				return ""
			}
			return string(s)
		}
		if d.skipValue() != nil {
			return ""
		}
		d.ws()
		if d.pos >= len(data) || data[d.pos] != ',' {
			return ""
		}
		d.pos++
	}
}
