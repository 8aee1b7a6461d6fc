package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"m365export/jobs"
	"m365export/jobs/tables"
)

func init() {
	register(command{name: "ddl", summary: "print the SQL that registers the exported tables in DuckDB, BigQuery or Athena", run: runDDL})
}

func runDDL(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("m365export ddl", flag.ContinueOnError)
	var o tables.DDLOptions
	fs.StringVar(&o.Engine, "engine", "", "duckdb, bigquery or athena")
	fs.StringVar(&o.Dest, "dest", "", "the export's destination: s3://bucket/prefix, gs://bucket/prefix or file:///dir (DuckDB only)")
	connectors := fs.String("connector", "all", "comma-separated connectors: "+strings.Join(jobs.ConnectorNames(), ", ")+", or all")
	fs.StringVar(&o.Dataset, "dataset", "", "the DuckDB schema, BigQuery dataset or Athena database of the tables (default: none for DuckDB, m365export otherwise)")
	fs.StringVar(&o.Connection, "bigquery-connection", "", "BigQuery connection (project.region.name): BigLake tables, and the BigQuery Omni connection that reads s3://")
	fs.StringVar(&o.Since, "since", tables.DefaultSince, "Athena: the first dt (YYYY-MM-DD) the partition projection covers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: m365export ddl --engine duckdb|bigquery|athena --dest URL [--connector a,b|all]

Prints the statements that register every exported table over the bucket:
DuckDB views over read_parquet with hive partitioning, BigQuery external
tables partitioned on dt, Athena tables with partition projection on dt (no
partition repair step). Table names are the collections (connector_collection
where two connectors share one). DuckDB binds a view when it is created, so
select only the connectors whose output exists.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if o.Engine == "" || o.Dest == "" {
		return fmt.Errorf("%w: --engine and --dest are required", jobs.ErrUsage)
	}
	if o.Dataset == "" && o.Engine != tables.DuckDB {
		o.Dataset = "m365export"
	}
	o.Connectors = strings.Split(*connectors, ",")
	sql, err := tables.DDL(o)
	if err != nil {
		// Every refusal is about the request (engine, destination,
		// connector, dataset): retrying cannot help.
		return fmt.Errorf("%w: ddl: %w", jobs.ErrUsage, err)
	}
	_, err = io.WriteString(stdout, sql)
	return err
}
