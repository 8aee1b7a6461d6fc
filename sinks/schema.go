package sinks

import (
	"errors"
	"fmt"
	"strings"
)

// Schema is a table's typed layout, declared as data by the connector.
// Schemas only grow: a new version may add nullable columns, never remove
// or retype one.
type Schema struct {
	Version int
	Columns []Column
}

// Column is one column: a Graph property mapped to a Parquet type.
type Column struct {
	// Name is the Parquet column name, valid in BigQuery and Athena
	// (letters, digits and underscores, not starting with a digit).
	Name string
	// Source is the JSON property it comes from; "" means Name.
	Source string
	Type   Type
	// Fields are a struct's members (Type == Struct).
	Fields []Column
	// Elem is a list's element (Type == List); its Name and Source are
	// ignored.
	Elem *Column
	// Doc describes the column for the data dictionary.
	Doc string
}

// SourceName is the JSON property the column reads.
func (c *Column) SourceName() string {
	if c.Source != "" {
		return c.Source
	}
	return c.Name
}

// Type is a column's logical type.
type Type string

// Column types.
const (
	String    Type = "string"
	Int64     Type = "int64"
	Float64   Type = "float64"
	Bool      Type = "bool"
	Timestamp Type = "timestamp" // ISO 8601 date-time → TIMESTAMP(MICROS, UTC)
	Struct    Type = "struct"
	List      Type = "list"
	JSON      Type = "json" // any JSON value, kept as a JSON string
	// DateTimeTimeZone is Graph's {dateTime, timeZone} object (calendar
	// start and end): a struct of both strings as Graph sent them plus
	// utc, the instant as TIMESTAMP(MICROS, UTC).
	DateTimeTimeZone Type = "dateTimeTimeZone"
)

// Columns every row carries, written by the sink; a schema must not
// declare them.
const (
	ColOwner      = "_owner"       // the owner's id as users.id holds it
	ColRunID      = "_run_id"      // the run that wrote the row
	ColExportedAt = "_exported_at" // when the run exported the row
	ColExtra      = "_extra"       // sanitized fields the schema does not name, as a JSON object
)

// Validate checks names, types and nesting; errors wrap ErrConfig.
func (s *Schema) Validate() error {
	if s == nil {
		return fmt.Errorf("nil schema: %w", ErrConfig)
	}
	if s.Version < 1 {
		return fmt.Errorf("schema version %d, want ≥ 1: %w", s.Version, ErrConfig)
	}
	var errs []error
	validateColumns("", s.Columns, true, &errs)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

func validateColumns(path string, cols []Column, top bool, errs *[]error) {
	names := map[string]bool{} // lower-cased: Athena folds case
	sources := map[string]bool{}
	for i := range cols {
		c := &cols[i]
		p := path + c.Name
		if !ValidName(c.Name) {
			*errs = append(*errs, fmt.Errorf("column %q: invalid name", p))
		}
		if top && len(c.Name) > 0 && c.Name[0] == '_' {
			*errs = append(*errs, fmt.Errorf("column %q: names starting with _ are reserved for the sink", p))
		}
		if names[strings.ToLower(c.Name)] {
			*errs = append(*errs, fmt.Errorf("column %q: duplicate name (names are compared case-insensitively)", p))
		}
		names[strings.ToLower(c.Name)] = true
		if sources[c.SourceName()] {
			*errs = append(*errs, fmt.Errorf("column %q: duplicate source %q", p, c.SourceName()))
		}
		sources[c.SourceName()] = true
		validateType(p, c, errs)
	}
}

func validateType(p string, c *Column, errs *[]error) {
	switch c.Type {
	case String, Int64, Float64, Bool, Timestamp, JSON, DateTimeTimeZone:
		if len(c.Fields) > 0 || c.Elem != nil {
			*errs = append(*errs, fmt.Errorf("column %q: %s takes no fields or element", p, c.Type))
		}
	case Struct:
		if len(c.Fields) == 0 {
			*errs = append(*errs, fmt.Errorf("column %q: struct without fields", p))
		}
		validateColumns(p+".", c.Fields, false, errs)
	case List:
		if c.Elem == nil {
			*errs = append(*errs, fmt.Errorf("column %q: list without element", p))
			return
		}
		if c.Elem.Type == List {
			*errs = append(*errs, fmt.Errorf("column %q: list of lists is not supported", p))
			return
		}
		e := *c.Elem
		e.Name = "element"
		validateType(p+"[]", &e, errs)
	default:
		*errs = append(*errs, fmt.Errorf("column %q: unknown type %q", p, c.Type))
	}
}

// ValidName reports whether name is a column name BigQuery and Athena
// accept unquoted: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
