// Package sinks defines where sanitized records go: a Sink opens one
// RecordWriter per (table, partition); nothing a writer writes is visible
// until its Close returns nil, and cancelling the writer's context aborts it
// leaving no object (gocloud blob.Writer semantics).
//
// Table schemas are data, declared by each connector and handed to the
// sink. Implementations live in sub-packages (sinks/parquetsink) and never
// import pipeline, jobs, sources or rules.
package sinks

import (
	"context"
	"encoding/json"
	"time"
)

// Sink opens writers.
type Sink interface {
	// NewWriter opens a writer for one partition (dt=YYYY-MM-DD) of table
	// t. Cancel ctx to abort; always call Close.
	NewWriter(ctx context.Context, t Table, partition string) (RecordWriter, error)
}

// RecordWriter streams records of one table partition.
type RecordWriter interface {
	// Write adds one sanitized record.
	Write(rec Record) error
	// Close commits the files written; after a cancelled context it
	// returns an error and leaves nothing visible.
	Close() error
}

// Record is one sanitized Graph object plus the columns every row carries.
type Record struct {
	JSON       json.RawMessage // the sanitized object
	Owner      string          // _owner: the owner's id as users.id holds it
	RunID      string          // _run_id
	ExportedAt time.Time       // _exported_at
}

// Table names one output table and carries its schema.
type Table struct {
	Connector  string // e.g. "outlook-mail"
	Collection string // e.g. "messages"
	Shard      int    // this process's shard index
	Schema     *Schema
}
