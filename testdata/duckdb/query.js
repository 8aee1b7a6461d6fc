// Runs named DuckDB queries and prints their rows as JSON:
//   node query.js '{"name": "SELECT …", …}'
// Used by sinks/parquetsink/duckdb_test.go to read the sink's output the
// way analysts do (read_parquet with hive partitioning and union_by_name).
'use strict';
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const queries = JSON.parse(process.argv[2]);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const out = {};
  for (const [name, sql] of Object.entries(queries)) {
    const reader = await conn.runAndReadAll(sql);
    out[name] = reader.getRowObjectsJson();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
