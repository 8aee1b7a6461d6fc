package tables

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"m365export/sinks"
)

// Engines the DDL is generated for.
const (
	DuckDB   = "duckdb"
	BigQuery = "bigquery"
	Athena   = "athena"
)

// Engines lists the engines DDL supports.
var Engines = []string{DuckDB, BigQuery, Athena}

// DefaultSince is the first day Athena's partition projection covers
// unless DDLOptions.Since says otherwise.
const DefaultSince = "2020-01-01"

// Errors of DDL. Both mean the request cannot be served as given.
var (
	// ErrEngine is an unknown engine.
	ErrEngine = errors.New("unknown engine")
	// ErrDest is a destination the engine cannot read.
	ErrDest = errors.New("destination the engine cannot read")
)

// DDLOptions says which tables to register and where.
type DDLOptions struct {
	Engine string // DuckDB, BigQuery or Athena
	// Dest is the export's destination URL (s3://, gs://, file://); its
	// query parameters (region, …) are dropped.
	Dest string
	// Connectors selects the tables; nil or "all" means every connector.
	Connectors []string
	// Dataset qualifies table names: a DuckDB schema (none by default), a
	// BigQuery dataset or an Athena database (required for both).
	Dataset string
	// Connection is BigQuery's connection (`project.region.name`): with
	// it, the tables are BigLake tables, and s3:// is read through
	// BigQuery Omni.
	Connection string
	// Since is the first dt Athena's projection covers (YYYY-MM-DD);
	// "" means DefaultSince.
	Since string
}

// TableName is the name a table is registered under: its collection, or
// connector_collection when two connectors write a collection of that
// name (mailbox_settings), over the whole registry so the name does not
// depend on the selection.
func TableName(t Table) string {
	n := 0
	for _, o := range All() {
		if o.Collection == t.Collection {
			n++
		}
	}
	if n > 1 {
		return strings.ReplaceAll(t.Connector, "-", "_") + "_" + t.Collection
	}
	return t.Collection
}

var (
	sinceRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	// datasetRE: a DuckDB schema, a BigQuery [project.]dataset (project
	// ids have hyphens), a connection project.region.name.
	datasetRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	// athenaDBRE: Athena database names are letters, digits and
	// underscores (stored lower-case).
	athenaDBRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// DDL returns the statements, separated by ";\n\n", that register every
// selected table over the export at o.Dest for o.Engine. It refuses a
// destination the engine cannot read (ErrDest) and an unknown engine or
// connector (ErrEngine, or an error naming the connector).
func DDL(o DDLOptions) (string, error) {
	root, err := destRoot(o)
	if err != nil {
		return "", err
	}
	sel, err := selectTables(o.Connectors)
	if err != nil {
		return "", err
	}
	if o.Dataset != "" && !datasetRE.MatchString(o.Dataset) || o.Engine == Athena && o.Dataset != "" && !athenaDBRE.MatchString(o.Dataset) {
		return "", fmt.Errorf("%s: invalid dataset name %q", o.Engine, o.Dataset)
	}
	if o.Connection != "" && (o.Engine != BigQuery || !datasetRE.MatchString(o.Connection)) {
		return "", fmt.Errorf("%s: invalid connection %q (BigQuery only: project.region.name)", o.Engine, o.Connection)
	}
	var b strings.Builder
	switch o.Engine {
	case DuckDB:
		if o.Dataset != "" {
			fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n\n", duckIdent(o.Dataset))
		}
		for _, t := range sel {
			writeDuckDB(&b, o, root, t)
		}
	case BigQuery:
		if o.Dataset == "" {
			return "", fmt.Errorf("bigquery: a dataset is required")
		}
		for _, t := range sel {
			writeBigQuery(&b, o, root, t)
		}
	case Athena:
		if o.Dataset == "" {
			return "", fmt.Errorf("athena: a database is required")
		}
		if o.Since == "" {
			o.Since = DefaultSince
		}
		if !sinceRE.MatchString(o.Since) {
			return "", fmt.Errorf("athena: projection start %q, want YYYY-MM-DD", o.Since)
		}
		fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS %s;\n\n", hiveIdent(strings.ToLower(o.Dataset)))
		for _, t := range sel {
			writeAthena(&b, o, root, t)
		}
	}
	return b.String(), nil
}

// destRoot checks that the engine can read dest and returns it without
// its query, with no trailing slash (a local path for file://).
func destRoot(o DDLOptions) (string, error) {
	if !slices.Contains(Engines, o.Engine) {
		return "", fmt.Errorf("%w %q, want one of %s", ErrEngine, o.Engine, strings.Join(Engines, ", "))
	}
	u, err := url.Parse(o.Dest)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("%w: dest %q is not a URL (s3://, gs:// or file://)", ErrDest, o.Dest)
	}
	if strings.ContainsAny(u.Path, "'\\*?[") || strings.ContainsAny(u.Host, "'\\*?[") {
		return "", fmt.Errorf("%w: dest %q has a quote, backslash or wildcard", ErrDest, o.Dest)
	}
	path := strings.TrimRight(u.Path, "/")
	switch u.Scheme {
	case "s3":
		switch {
		case o.Engine == BigQuery && o.Connection == "":
			return "", fmt.Errorf("%w: BigQuery reads s3:// only through BigQuery Omni: give the Omni connection (--bigquery-connection project.aws-region.name)", ErrDest)
		}
		return "s3://" + u.Host + path, nil
	case "gs":
		if o.Engine == Athena {
			return "", fmt.Errorf("%w: Athena reads only s3://, not %s (use BigQuery or DuckDB for a GCS bucket)", ErrDest, o.Dest)
		}
		return "gs://" + u.Host + path, nil
	case "file":
		if o.Engine != DuckDB {
			return "", fmt.Errorf("%w: %s cannot read a local directory (%s): only DuckDB can", ErrDest, o.Engine, o.Dest)
		}
		if u.Host != "" && u.Host != "localhost" {
			path = u.Host + path // file://out = ./out
		}
		if path == "" {
			path = "/"
		}
		return path, nil
	}
	return "", fmt.Errorf("%w: %s does not read %s:// (want s3://, gs:// or file://)", ErrDest, o.Engine, u.Scheme)
}

// selectTables returns the tables of the named connectors, in registry
// order.
func selectTables(connectors []string) ([]Table, error) {
	all := All()
	if len(connectors) == 0 || len(connectors) == 1 && connectors[0] == "all" {
		return all, nil
	}
	var out []Table
	for _, c := range connectors {
		n := len(out)
		for _, t := range all {
			if t.Connector == c {
				out = append(out, t)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("unknown connector %q", c)
		}
	}
	return out, nil
}

// location is the table's folder under root.
func location(root string, t Table) string {
	return root + "/" + t.Connector + "/" + t.Collection
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func duckIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// bqIdent and hiveIdent quote with backticks; names are validated
// (sinks.ValidName) and never hold one.
func bqIdent(s string) string   { return "`" + s + "`" }
func hiveIdent(s string) string { return "`" + s + "`" }

func writeDuckDB(b *strings.Builder, o DDLOptions, root string, t Table) {
	name := duckIdent(TableName(t))
	if o.Dataset != "" {
		name = duckIdent(o.Dataset) + "." + name
	}
	// hive_types pins dt to DATE rather than whatever DuckDB infers.
	fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS\nSELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE});\n\n",
		name, sqlString(location(root, t)+"/*/*.parquet"))
}

// sinkColumns are the columns the sink adds to every table.
var sinkColumns = []sinks.Column{
	{Name: sinks.ColOwner, Type: sinks.String},
	{Name: sinks.ColRunID, Type: sinks.String},
	{Name: sinks.ColExportedAt, Type: sinks.Timestamp},
	{Name: sinks.ColExtra, Type: sinks.JSON},
}

// Columns are a table's physical columns in DDL order: the declared ones,
// then the sink's (the partition dt is not among them).
func Columns(s *sinks.Schema) []sinks.Column {
	return append(slices.Clone(s.Columns), sinkColumns...)
}

// bqType is c's BigQuery type.
func bqType(c *sinks.Column) string {
	switch c.Type {
	case sinks.String, sinks.JSON:
		return "STRING"
	case sinks.Int64:
		return "INT64"
	case sinks.Float64:
		return "FLOAT64"
	case sinks.Bool:
		return "BOOL"
	case sinks.Timestamp:
		return "TIMESTAMP"
	case sinks.DateTimeTimeZone:
		return "STRUCT<`dateTime` STRING, `timeZone` STRING, `utc` TIMESTAMP>"
	case sinks.List:
		return "ARRAY<" + bqType(c.Elem) + ">"
	case sinks.Struct:
		f := make([]string, len(c.Fields))
		for i := range c.Fields {
			f[i] = bqIdent(c.Fields[i].Name) + " " + bqType(&c.Fields[i])
		}
		return "STRUCT<" + strings.Join(f, ", ") + ">"
	}
	return "STRING"
}

func writeBigQuery(b *strings.Builder, o DDLOptions, root string, t Table) {
	loc := location(root, t)
	fmt.Fprintf(b, "CREATE OR REPLACE EXTERNAL TABLE %s (\n", bqIdent(o.Dataset+"."+TableName(t)))
	cols := Columns(t.Schema)
	for i := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %s %s%s\n", bqIdent(cols[i].Name), bqType(&cols[i]), sep)
	}
	b.WriteString(")\nWITH PARTITION COLUMNS (`dt` DATE)\n")
	if o.Connection != "" {
		fmt.Fprintf(b, "WITH CONNECTION %s\n", bqIdent(o.Connection))
	}
	// The wildcard ends in .parquet so the manifests beside the files
	// are not read; enable_list_inference reads Parquet LISTs as ARRAYs.
	fmt.Fprintf(b, "OPTIONS (\n  format = 'PARQUET',\n  uris = [%s],\n  hive_partition_uri_prefix = %s,\n  require_hive_partition_filter = false,\n  enable_list_inference = true\n);\n\n",
		sqlString(loc+"/*.parquet"), sqlString(loc))
}

// athenaType is c's Athena (Hive DDL) type. Names are lower-cased: the
// Glue catalog stores them so, and Athena matches Parquet columns and
// struct fields case-insensitively.
func athenaType(c *sinks.Column) string {
	switch c.Type {
	case sinks.String, sinks.JSON:
		return "string"
	case sinks.Int64:
		return "bigint"
	case sinks.Float64:
		return "double"
	case sinks.Bool:
		return "boolean"
	case sinks.Timestamp:
		return "timestamp"
	case sinks.DateTimeTimeZone:
		return "struct<`datetime`:string,`timezone`:string,`utc`:timestamp>"
	case sinks.List:
		return "array<" + athenaType(c.Elem) + ">"
	case sinks.Struct:
		f := make([]string, len(c.Fields))
		for i := range c.Fields {
			f[i] = hiveIdent(strings.ToLower(c.Fields[i].Name)) + ":" + athenaType(&c.Fields[i])
		}
		return "struct<" + strings.Join(f, ",") + ">"
	}
	return "string"
}

func writeAthena(b *strings.Builder, o DDLOptions, root string, t Table) {
	loc := location(root, t)
	name := hiveIdent(strings.ToLower(o.Dataset)) + "." + hiveIdent(TableName(t))
	// Athena has no CREATE OR REPLACE for external tables; dropping one
	// leaves its files alone.
	fmt.Fprintf(b, "DROP TABLE IF EXISTS %s;\n\n", name)
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE %s (\n", name)
	cols := Columns(t.Schema)
	for i := range cols {
		sep := ","
		if i == len(cols)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %s %s%s\n", hiveIdent(strings.ToLower(cols[i].Name)), athenaType(&cols[i]), sep)
	}
	// dt is a string partition key (yyyy-MM-dd), as Athena's projection
	// examples declare it: compare it with '2026-11-24' or date(dt).
	b.WriteString(")\nPARTITIONED BY (`dt` string)\nSTORED AS PARQUET\n")
	fmt.Fprintf(b, "LOCATION %s\nTBLPROPERTIES (\n", sqlString(loc+"/"))
	props := [][2]string{
		{"projection.enabled", "true"},
		{"projection.dt.type", "date"},
		{"projection.dt.format", "yyyy-MM-dd"},
		{"projection.dt.range", o.Since + ",NOW"},
		{"projection.dt.interval", "1"},
		{"projection.dt.interval.unit", "DAYS"},
		{"storage.location.template", loc + "/dt=${dt}/"},
	}
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %s = %s%s\n", sqlString(p[0]), sqlString(p[1]), sep)
	}
	b.WriteString(");\n\n")
}
