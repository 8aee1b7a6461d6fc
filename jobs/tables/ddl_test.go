package tables_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"m365export/jobs/tables"
	"m365export/sinks"
)

// TestGolden_DDL keeps testdata/ddl/<engine>.sql, the statements for every
// table, for review: a schema change shows there as a DDL diff. -update
// rewrites them.
func TestGolden_DDL(t *testing.T) {
	for _, o := range []tables.DDLOptions{
		{Engine: tables.DuckDB, Dest: "s3://bucket/prefix"},
		{Engine: tables.BigQuery, Dest: "gs://bucket/prefix", Dataset: "m365export"},
		{Engine: tables.Athena, Dest: "s3://bucket/prefix", Dataset: "m365export"},
	} {
		got, err := tables.DDL(o)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "ddl", o.Engine+".sql")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s (go test ./jobs/tables -run Golden_DDL -update): %v", path, err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s is stale; run go test ./jobs/tables -run Golden_DDL -update and review (-want +got):\n%s", path, diff)
		}
	}
}

// sqlType is a parsed column type: a scalar name, a struct's fields or a
// list's element.
type sqlType struct {
	name   string // upper-cased: STRING, STRUCT, ARRAY, …
	fields []sqlField
	elem   *sqlType
}

type sqlField struct {
	name string
	typ  *sqlType
}

// typeParser reads BigQuery (`a` T, …) and Athena (`a`:t,…) types.
type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) skip() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *typeParser) peek() byte {
	p.skip()
	if p.pos >= len(p.s) {
		return 0
	}
	return p.s[p.pos]
}

func (p *typeParser) expect(c byte) error {
	if p.peek() != c {
		return fmt.Errorf("at %d of %q: want %q", p.pos, p.s, c)
	}
	p.pos++
	return nil
}

func (p *typeParser) ident() (string, error) {
	if err := p.expect('`'); err != nil {
		return "", err
	}
	end := strings.IndexByte(p.s[p.pos:], '`')
	if end < 0 {
		return "", fmt.Errorf("unterminated identifier in %q", p.s)
	}
	id := p.s[p.pos : p.pos+end]
	p.pos += end + 1
	return id, nil
}

func (p *typeParser) typ() (*sqlType, error) {
	p.skip()
	start := p.pos
	for p.pos < len(p.s) && (p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z' || p.s[p.pos] >= 'A' && p.s[p.pos] <= 'Z' || p.s[p.pos] >= '0' && p.s[p.pos] <= '9') {
		p.pos++
	}
	t := &sqlType{name: strings.ToUpper(p.s[start:p.pos])}
	if t.name == "" {
		return nil, fmt.Errorf("at %d of %q: want a type", p.pos, p.s)
	}
	switch t.name {
	case "ARRAY":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		e, err := p.typ()
		if err != nil {
			return nil, err
		}
		t.elem = e
		return t, p.expect('>')
	case "STRUCT":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		for {
			name, err := p.ident()
			if err != nil {
				return nil, err
			}
			if p.peek() == ':' {
				p.pos++
			}
			ft, err := p.typ()
			if err != nil {
				return nil, err
			}
			t.fields = append(t.fields, sqlField{name, ft})
			if p.peek() == ',' {
				p.pos++
				continue
			}
			return t, p.expect('>')
		}
	}
	return t, nil
}

func parseType(s string) (*sqlType, error) {
	p := &typeParser{s: s}
	t, err := p.typ()
	if err == nil && p.pos != len(strings.TrimRight(s, " ")) {
		err = fmt.Errorf("trailing text %q", s[p.pos:])
	}
	return t, err
}

// dialect is what the test expects of an engine: its scalar type names
// and how it writes column names.
type dialect struct {
	scalar map[sinks.Type]string
	name   func(string) string
}

var (
	bigQuery = dialect{
		scalar: map[sinks.Type]string{sinks.String: "STRING", sinks.JSON: "STRING", sinks.Int64: "INT64",
			sinks.Float64: "FLOAT64", sinks.Bool: "BOOL", sinks.Timestamp: "TIMESTAMP"},
		name: func(s string) string { return s },
	}
	athena = dialect{
		scalar: map[sinks.Type]string{sinks.String: "STRING", sinks.JSON: "STRING", sinks.Int64: "BIGINT",
			sinks.Float64: "DOUBLE", sinks.Bool: "BOOLEAN", sinks.Timestamp: "TIMESTAMP"},
		name: strings.ToLower,
	}
)

// checkType compares a parsed type with the column it must represent,
// recursively, reporting every difference under path.
func checkType(t *testing.T, d dialect, path string, c *sinks.Column, got *sqlType) {
	t.Helper()
	switch c.Type {
	case sinks.Struct, sinks.DateTimeTimeZone:
		fields := c.Fields
		if c.Type == sinks.DateTimeTimeZone {
			fields = []sinks.Column{{Name: "dateTime", Type: sinks.String}, {Name: "timeZone", Type: sinks.String}, {Name: "utc", Type: sinks.Timestamp}}
		}
		if got.name != "STRUCT" || len(got.fields) != len(fields) {
			t.Errorf("%s: %s with %d fields, want STRUCT of %d", path, got.name, len(got.fields), len(fields))
			return
		}
		for i := range fields {
			if want := d.name(fields[i].Name); got.fields[i].name != want {
				t.Errorf("%s: field %d is %q, want %q", path, i, got.fields[i].name, want)
			}
			checkType(t, d, path+"."+fields[i].Name, &fields[i], got.fields[i].typ)
		}
	case sinks.List:
		if got.name != "ARRAY" {
			t.Errorf("%s: %s, want ARRAY", path, got.name)
			return
		}
		checkType(t, d, path+"[]", c.Elem, got.elem)
	default:
		if want := d.scalar[c.Type]; got.name != want || want == "" {
			t.Errorf("%s: %s, want %s (%s)", path, got.name, want, c.Type)
		}
	}
}

// statement is one parsed CREATE … TABLE.
type statement struct {
	table     string
	columns   []sqlField
	partition string            // "dt DATE"
	options   map[string]string // BigQuery OPTIONS / Athena TBLPROPERTIES, values unquoted
	rest      string            // the text between the columns and the options
}

var (
	createRE = regexp.MustCompile("(?s)^CREATE (?:OR REPLACE )?EXTERNAL TABLE (\\S+) \\(\n(.*?)\n\\)\n(.*?)(?:OPTIONS|TBLPROPERTIES) \\(\n(.*)\n\\)$")
	columnRE = regexp.MustCompile("^  `([^`]+)` (.+?),?$")
	optionRE = regexp.MustCompile(`^  '?([a-z_.]+)'? = (.+?),?$`)
	partRE   = regexp.MustCompile("(?:WITH PARTITION COLUMNS|PARTITIONED BY) \\(`dt` (\\w+)\\)")
)

// parseDDL parses the CREATE statements of sql, keyed by table name.
func parseDDL(t *testing.T, sql string) map[string]*statement {
	t.Helper()
	out := map[string]*statement{}
	for _, s := range strings.Split(strings.TrimSpace(sql), ";\n\n") {
		s = strings.TrimSuffix(s, ";")
		if !strings.HasPrefix(s, "CREATE") || strings.HasPrefix(s, "CREATE DATABASE") {
			continue
		}
		m := createRE.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("statement does not parse:\n%s", s)
		}
		st := &statement{table: m[1], rest: m[3], options: map[string]string{}}
		for _, line := range strings.Split(m[2], "\n") {
			cm := columnRE.FindStringSubmatch(line)
			if cm == nil {
				t.Fatalf("%s: column line %q does not parse", st.table, line)
			}
			typ, err := parseType(cm[2])
			if err != nil {
				t.Fatalf("%s: column %s: %v", st.table, cm[1], err)
			}
			st.columns = append(st.columns, sqlField{cm[1], typ})
		}
		if pm := partRE.FindStringSubmatch(m[3]); pm != nil {
			st.partition = "dt " + strings.ToUpper(pm[1])
		}
		for _, line := range strings.Split(m[4], "\n") {
			om := optionRE.FindStringSubmatch(line)
			if om == nil {
				t.Fatalf("%s: option line %q does not parse", st.table, line)
			}
			st.options[om[1]] = strings.Trim(om[2], "'")
		}
		out[st.table] = st
	}
	return out
}

// checkColumns compares a statement's columns with the table's schema
// plus the sink's columns, in order, field by field.
func checkColumns(t *testing.T, d dialect, tb tables.Table, st *statement) {
	t.Helper()
	want := append(append([]sinks.Column{}, tb.Schema.Columns...),
		sinks.Column{Name: sinks.ColOwner, Type: sinks.String}, sinks.Column{Name: sinks.ColRunID, Type: sinks.String},
		sinks.Column{Name: sinks.ColExportedAt, Type: sinks.Timestamp}, sinks.Column{Name: sinks.ColExtra, Type: sinks.JSON})
	if len(st.columns) != len(want) {
		t.Errorf("%s: %d columns, want %d", st.table, len(st.columns), len(want))
		return
	}
	for i := range want {
		if n := d.name(want[i].Name); st.columns[i].name != n {
			t.Errorf("%s: column %d is %q, want %q", st.table, i, st.columns[i].name, n)
		}
		checkType(t, d, st.table+"."+want[i].Name, &want[i], st.columns[i].typ)
	}
}

func TestDDL_BigQueryMatchesSchemas(t *testing.T) {
	sql, err := tables.DDL(tables.DDLOptions{Engine: tables.BigQuery, Dest: "gs://bkt/exports/?x=1", Dataset: "proj.m365"})
	if err != nil {
		t.Fatal(err)
	}
	got := parseDDL(t, sql)
	all := tables.All()
	if len(got) != len(all) {
		t.Errorf("%d tables, want %d", len(got), len(all))
	}
	for _, tb := range all {
		name := "`proj.m365." + tables.TableName(tb) + "`"
		st := got[name]
		if st == nil {
			t.Errorf("no statement for %s", name)
			continue
		}
		checkColumns(t, bigQuery, tb, st)
		if st.partition != "dt DATE" {
			t.Errorf("%s: partition %q, want dt DATE", name, st.partition)
		}
		loc := "gs://bkt/exports/" + tb.Connector + "/" + tb.Collection
		for k, v := range map[string]string{"format": "PARQUET", "uris": "['" + loc + "/*.parquet']",
			"hive_partition_uri_prefix": loc, "enable_list_inference": "true"} {
			if st.options[k] != v {
				t.Errorf("%s: option %s = %q, want %q", name, k, st.options[k], v)
			}
		}
		if strings.Contains(st.rest, "WITH CONNECTION") {
			t.Errorf("%s: a connection without --bigquery-connection", name)
		}
	}
}

func TestDDL_BigQueryOmniOverS3(t *testing.T) {
	sql, err := tables.DDL(tables.DDLOptions{Engine: tables.BigQuery, Dest: "s3://bkt/p?region=us-east-1", Dataset: "m365",
		Connection: "proj.aws-us-east-1.omni", Connectors: []string{"entra-id"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range parseDDL(t, sql) {
		if !strings.Contains(st.rest, "WITH CONNECTION `proj.aws-us-east-1.omni`") || !strings.HasPrefix(st.options["hive_partition_uri_prefix"], "s3://bkt/p/entra-id/") {
			t.Errorf("%s: connection or prefix missing: %q %v", name, st.rest, st.options)
		}
	}
}

func TestDDL_AthenaMatchesSchemas(t *testing.T) {
	sql, err := tables.DDL(tables.DDLOptions{Engine: tables.Athena, Dest: "s3://bkt/exports?region=eu-west-1", Dataset: "M365", Since: "2024-06-01"})
	if err != nil {
		t.Fatal(err)
	}
	got := parseDDL(t, sql)
	all := tables.All()
	if len(got) != len(all) {
		t.Errorf("%d tables, want %d", len(got), len(all))
	}
	for _, tb := range all {
		name := "`m365`.`" + tables.TableName(tb) + "`"
		st := got[name]
		if st == nil {
			t.Errorf("no statement for %s", name)
			continue
		}
		if !strings.Contains(sql, "DROP TABLE IF EXISTS "+name+";") {
			t.Errorf("%s: not dropped before it is created (Athena has no CREATE OR REPLACE)", name)
		}
		checkColumns(t, athena, tb, st)
		for _, c := range st.columns {
			if c.name != strings.ToLower(c.name) {
				t.Errorf("%s: column %q is not lower-case", name, c.name)
			}
		}
		if st.partition != "dt STRING" {
			t.Errorf("%s: partition %q, want dt STRING", name, st.partition)
		}
		loc := "s3://bkt/exports/" + tb.Connector + "/" + tb.Collection + "/"
		if !strings.Contains(st.rest, "STORED AS PARQUET\nLOCATION '"+loc+"'\n") {
			t.Errorf("%s: storage and location %q, want PARQUET at %s", name, st.rest, loc)
		}
		want := map[string]string{
			"projection.enabled":          "true",
			"projection.dt.type":          "date",
			"projection.dt.format":        "yyyy-MM-dd",
			"projection.dt.range":         "2024-06-01,NOW",
			"projection.dt.interval":      "1",
			"projection.dt.interval.unit": "DAYS",
			"storage.location.template":   loc + "dt=${dt}/",
		}
		for k, v := range want {
			if st.options[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, st.options[k], v)
			}
		}
		if len(st.options) != len(want) {
			t.Errorf("%s: properties %v, want %v", name, st.options, want)
		}
	}
}

func TestDDL_TableNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, tb := range tables.All() {
		n := tables.TableName(tb)
		if o, ok := seen[n]; ok {
			t.Errorf("%s/%s and %s are both named %s", tb.Connector, tb.Collection, o, n)
		}
		seen[n] = tb.Connector + "/" + tb.Collection
	}
}

func TestDDL_RefusesWhatTheEngineCannotRead(t *testing.T) {
	for _, c := range []struct {
		o    tables.DDLOptions
		want error
		text string
	}{
		{tables.DDLOptions{Engine: tables.Athena, Dest: "gs://b/p", Dataset: "d"}, tables.ErrDest, "Athena reads only s3://"},
		{tables.DDLOptions{Engine: tables.Athena, Dest: "file:///tmp/x", Dataset: "d"}, tables.ErrDest, "local directory"},
		{tables.DDLOptions{Engine: tables.BigQuery, Dest: "s3://b/p", Dataset: "d"}, tables.ErrDest, "Omni connection"},
		{tables.DDLOptions{Engine: tables.BigQuery, Dest: "file:///tmp/x", Dataset: "d"}, tables.ErrDest, "local directory"},
		{tables.DDLOptions{Engine: tables.DuckDB, Dest: "mem://"}, tables.ErrDest, "mem://"},
		{tables.DDLOptions{Engine: tables.DuckDB, Dest: "out"}, tables.ErrDest, "not a URL"},
		{tables.DDLOptions{Engine: tables.DuckDB, Dest: "s3://b/it's"}, tables.ErrDest, "quote"},
		{tables.DDLOptions{Engine: "postgres", Dest: "s3://b/p"}, tables.ErrEngine, "postgres"},
		{tables.DDLOptions{Engine: tables.DuckDB, Dest: "s3://b/p", Connectors: []string{"nope"}}, nil, `unknown connector "nope"`},
		{tables.DDLOptions{Engine: tables.Athena, Dest: "s3://b/p", Dataset: "d", Since: "2024"}, nil, "YYYY-MM-DD"},
		{tables.DDLOptions{Engine: tables.Athena, Dest: "s3://b/p", Dataset: "my-db"}, nil, "invalid dataset"},
		{tables.DDLOptions{Engine: tables.BigQuery, Dest: "gs://b/p", Dataset: "d`; DROP"}, nil, "invalid dataset"},
		{tables.DDLOptions{Engine: tables.BigQuery, Dest: "gs://b/p"}, nil, "dataset is required"},
		{tables.DDLOptions{Engine: tables.Athena, Dest: "s3://b/p", Dataset: "d", Connection: "p.r.c"}, nil, "BigQuery only"},
	} {
		_, err := tables.DDL(c.o)
		if err == nil || c.want != nil && !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("DDL(%+v) = %v, want %v mentioning %q", c.o, err, c.want, c.text)
		}
	}
	for _, o := range []tables.DDLOptions{
		{Engine: tables.DuckDB, Dest: "s3://b/p"}, {Engine: tables.DuckDB, Dest: "gs://b/p"}, {Engine: tables.DuckDB, Dest: "file:///tmp/x"},
		{Engine: tables.BigQuery, Dest: "gs://b/p", Dataset: "d"}, {Engine: tables.Athena, Dest: "s3://b/p", Dataset: "d"},
	} {
		if _, err := tables.DDL(o); err != nil {
			t.Errorf("DDL(%+v) = %v, want statements", o, err)
		}
	}
}
