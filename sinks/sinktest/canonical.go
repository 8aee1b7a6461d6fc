package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"m365export/sinks"
)

// Row is a row in canonical form: structs are maps with every declared
// member, lists are []any, integers int64, date-times strings with six
// fractional digits in UTC, JSON columns and _extra canonical JSON text.
type Row = map[string]any

const tsLayout = "2006-01-02T15:04:05.000000Z"

// Expect computes, independently of the sink (with encoding/json), the
// canonical row the sink must write for rec under schema s.
func Expect(s *sinks.Schema, rec sinks.Record) (Row, error) {
	dec := json.NewDecoder(bytes.NewReader(rec.JSON))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	extra := map[string]any{}
	row := expectStruct(s.Columns, v, "", extra)
	row[sinks.ColOwner] = nilIfEmpty(rec.Owner)
	row[sinks.ColRunID] = nilIfEmpty(rec.RunID)
	row[sinks.ColExportedAt] = nil
	if !rec.ExportedAt.IsZero() {
		row[sinks.ColExportedAt] = rec.ExportedAt.UTC().Truncate(time.Microsecond).Format(tsLayout)
	}
	row[sinks.ColExtra] = nil
	if len(extra) > 0 {
		row[sinks.ColExtra] = canonicalJSON(extra)
	}
	return row, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func expectStruct(cols []sinks.Column, m map[string]any, path string, extra map[string]any) Row {
	row := Row{}
	known := map[string]bool{}
	for i := range cols {
		c := &cols[i]
		known[c.SourceName()] = true
		row[c.Name] = expectValue(c, m[c.SourceName()], join(path, c.SourceName()), extra)
	}
	for k, v := range m {
		if !known[k] && v != nil {
			extra[join(path, k)] = v
		}
	}
	return row
}

func expectValue(c *sinks.Column, v any, path string, extra map[string]any) any {
	if v == nil {
		return nil
	}
	switch c.Type {
	case sinks.String:
		switch x := v.(type) {
		case string:
			return x
		case json.Number:
			return x.String()
		case bool:
			return strconv.FormatBool(x)
		}
	case sinks.Int64:
		n, _ := v.(json.Number).Int64()
		return n
	case sinks.Float64:
		f, _ := v.(json.Number).Float64()
		return f
	case sinks.Bool:
		return v
	case sinks.Timestamp:
		t, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			return "unparsable " + v.(string)
		}
		return t.UTC().Truncate(time.Microsecond).Format(tsLayout)
	case sinks.JSON:
		return canonicalJSON(v)
	case sinks.Struct:
		return expectStruct(c.Fields, v.(map[string]any), path, extra)
	case sinks.List:
		out := []any{}
		for i, e := range v.([]any) {
			out = append(out, expectValue(c.Elem, e, fmt.Sprintf("%s[%d]", path, i), extra))
		}
		return out
	case sinks.DateTimeTimeZone:
		m := v.(map[string]any)
		r := Row{"dateTime": m["dateTime"], "timeZone": m["timeZone"], "utc": nil}
		for k, x := range m {
			if k != "dateTime" && k != "timeZone" && x != nil {
				extra[path+"."+k] = x
			}
		}
		dt, _ := m["dateTime"].(string)
		tz, _ := m["timeZone"].(string)
		names := map[string]string{"UTC": "UTC", "Pacific Standard Time": "America/Los_Angeles", "W. Europe Standard Time": "Europe/Berlin"}
		name, ok := names[tz]
		if !ok {
			name = tz
		}
		if loc, err := time.LoadLocation(name); err == nil && tz != "" {
			if t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", dt, loc); err == nil {
				r["utc"] = t.UTC().Truncate(time.Microsecond).Format(tsLayout)
			}
		}
		return r
	}
	return fmt.Sprintf("unexpected %T for %s", v, c.Type)
}

func canonicalJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

func canonicalJSONText(s string) string {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid JSON: " + s
	}
	return canonicalJSON(v)
}

// ReadArrow reads a Parquet file with Apache Arrow's implementation
// (arrow-go pqarrow), independent of the writer's library, and returns
// its rows in canonical form.
func ReadArrow(ctx context.Context, s *sinks.Schema, data []byte) ([]Row, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("arrow reader: %w", err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("read table: %w", err)
	}
	defer tbl.Release()
	cols := map[string]*sinks.Column{}
	for i := range s.Columns {
		cols[s.Columns[i].Name] = &s.Columns[i]
	}
	meta := map[string]*sinks.Column{
		sinks.ColOwner:      {Name: sinks.ColOwner, Type: sinks.String},
		sinks.ColRunID:      {Name: sinks.ColRunID, Type: sinks.String},
		sinks.ColExportedAt: {Name: sinks.ColExportedAt, Type: sinks.Timestamp},
		sinks.ColExtra:      {Name: sinks.ColExtra, Type: sinks.JSON},
	}
	var rows []Row
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		sc := rec.Schema()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := Row{}
			for j := 0; j < int(rec.NumCols()); j++ {
				name := sc.Field(j).Name
				c := cols[name]
				if c == nil {
					c = meta[name]
				}
				if c == nil {
					return nil, fmt.Errorf("column %q not in the schema", name)
				}
				v, err := fromArrow(c, rec.Column(j), i)
				if err != nil {
					return nil, fmt.Errorf("column %s row %d: %w", name, i, err)
				}
				row[name] = v
			}
			rows = append(rows, row)
		}
	}
	if err := tr.Err(); err != nil {
		return nil, err
	}
	if len(rows) != int(tbl.NumRows()) {
		return nil, fmt.Errorf("read %d rows, table has %d", len(rows), tbl.NumRows())
	}
	return rows, nil
}

func fromArrow(c *sinks.Column, arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch c.Type {
	case sinks.String:
		a, ok := arr.(*array.String)
		if !ok {
			return nil, fmt.Errorf("want string array, got %s", arr.DataType())
		}
		return a.Value(i), nil
	case sinks.JSON:
		a, ok := arr.(*array.String)
		if !ok {
			return nil, fmt.Errorf("want string array, got %s", arr.DataType())
		}
		return canonicalJSONText(a.Value(i)), nil
	case sinks.Int64:
		a, ok := arr.(*array.Int64)
		if !ok {
			return nil, fmt.Errorf("want int64 array, got %s", arr.DataType())
		}
		return a.Value(i), nil
	case sinks.Float64:
		a, ok := arr.(*array.Float64)
		if !ok {
			return nil, fmt.Errorf("want float64 array, got %s", arr.DataType())
		}
		return a.Value(i), nil
	case sinks.Bool:
		a, ok := arr.(*array.Boolean)
		if !ok {
			return nil, fmt.Errorf("want boolean array, got %s", arr.DataType())
		}
		return a.Value(i), nil
	case sinks.Timestamp:
		a, ok := arr.(*array.Timestamp)
		if !ok {
			return nil, fmt.Errorf("want timestamp array, got %s", arr.DataType())
		}
		tt := arr.DataType().(*arrow.TimestampType)
		if tt.Unit != arrow.Microsecond || tt.TimeZone != "UTC" {
			return nil, fmt.Errorf("want timestamp[us, UTC], got %s", tt)
		}
		return a.Value(i).ToTime(tt.Unit).UTC().Format(tsLayout), nil
	case sinks.Struct, sinks.DateTimeTimeZone:
		a, ok := arr.(*array.Struct)
		if !ok {
			return nil, fmt.Errorf("want struct array, got %s", arr.DataType())
		}
		fields := c.Fields
		if c.Type == sinks.DateTimeTimeZone {
			fields = []sinks.Column{{Name: "dateTime", Type: sinks.String}, {Name: "timeZone", Type: sinks.String}, {Name: "utc", Type: sinks.Timestamp}}
		}
		st := a.DataType().(*arrow.StructType)
		if st.NumFields() != len(fields) {
			return nil, fmt.Errorf("struct has %d fields, schema %d", st.NumFields(), len(fields))
		}
		row := Row{}
		for k := range fields {
			idx, ok := st.FieldIdx(fields[k].Name)
			if !ok {
				return nil, fmt.Errorf("struct lacks field %q", fields[k].Name)
			}
			v, err := fromArrow(&fields[k], a.Field(idx), i)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fields[k].Name, err)
			}
			row[fields[k].Name] = v
		}
		return row, nil
	case sinks.List:
		a, ok := arr.(*array.List)
		if !ok {
			return nil, fmt.Errorf("want list array, got %s", arr.DataType())
		}
		start, end := a.ValueOffsets(i)
		out := []any{}
		for k := start; k < end; k++ {
			v, err := fromArrow(c.Elem, a.ListValues(), int(k))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", k-start, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %s", c.Type)
}
