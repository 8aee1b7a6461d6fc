package sinks

// Schema is a table's typed layout, declared as data by the connector.
// Schemas only grow: a new version may add nullable columns, never remove
// or retype one.
type Schema struct {
	Version int
	Columns []Column
}

// Column is one column: a Graph property mapped to a Parquet type.
type Column struct {
	// Name is the Parquet column name, valid in BigQuery and Athena.
	Name string
	// Source is the JSON property it comes from; "" means Name.
	Source string
	Type   Type
	// Fields are a struct's members (Type == Struct).
	Fields []Column
	// Elem is a list's element (Type == List).
	Elem *Column
	// Doc describes the column for the data dictionary.
	Doc string
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
)
