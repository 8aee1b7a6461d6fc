// Package tables is the analysts' view of the connector registry: every
// table the exporter writes, with its typed Parquet schema, and the data
// dictionary rendered from them (`make docs` writes
// jobs/tables/data-dictionary.md). The schemas themselves are declared by
// each connector, in its folder under jobs/connectors.
//
// Schemas only grow: a change adds nullable columns and bumps the schema's
// Version. A column leaves or changes type only through a breaking-change
// entry of its collection's declaration (connector.Breaking), which the
// tests read and the dictionary shows.
package tables

import (
	"strings"
	"unicode"

	"m365export/jobs/connector"
	// Every connector registers its tables.
	_ "m365export/jobs/connectors/all"
	"m365export/sinks"
)

// Table is one collection's schema and where it comes from.
type Table struct {
	Connector  string // the connector that writes it
	Collection string // the table name
	Endpoint   string // the Graph endpoint it is read from
	Doc        string
	Schema     *sinks.Schema
	// Breaking lists the changes that removed or retyped a column.
	Breaking []connector.Breaking

	decl connector.Table // the declaration, for the privacy marks
}

// All lists every table, ordered by connector and collection.
func All() []Table {
	var out []Table
	for _, t := range connector.Tables() {
		out = append(out, Table{Connector: t.Connector.Name, Collection: t.Name, Endpoint: t.Endpoint(),
			Doc: sentence(t.Doc), Schema: t.Schema, Breaking: t.Breaking, decl: t})
	}
	return out
}

// Lookup returns the schema of a connector's collection, or nil.
func Lookup(connectorName, collection string) *sinks.Schema {
	for _, t := range All() {
		if t.Connector == connectorName && t.Collection == collection {
			return t.Schema
		}
	}
	return nil
}

// sentence capitalizes a doc line and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	s = string(r)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
