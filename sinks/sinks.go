// Package sinks defines where sanitized records go: a Sink opens one
// RecordWriter per (table, partition); nothing a writer writes is visible
// until its Close returns nil (and, for a Committer, until Commit returns
// nil), and cancelling the writer's context aborts it leaving no object
// (gocloud blob.Writer semantics).
//
// Table schemas are data, declared by each connector and handed to the
// sink. Implementations live in sub-packages (sinks/parquetsink) and never
// import pipeline, jobs, sources or rules.
//
// # Partition commit
//
// A sink that stages what its writers wrote until the whole partition is
// done implements Committer. The caller, for each (table, partition) of its
// shard, opens one writer, writes every record, closes it, and then calls
// Commit with a Manifest that names the run. Commit promotes the staged
// files to their final names, writes the shard's manifest and removes the
// shard's parts that the manifest does not name. Commit is also called for a
// partition that received no record, so that a re-run removes stale parts.
// Until Commit returns nil, readers see the previously committed partition.
//
// A Committer that also implements Resumer lets a later process carry on
// with what an earlier one staged: the earlier one asks Staged for the
// files its closed writers left for a partition and records them (with the
// work they hold) in its own state; after a crash, the next process hands
// them to Adopt, and its Commit of the partition promotes the adopted files
// together with its own. Adopt comes before the partition's writers are
// opened (it is refused while one is open). Nothing but the partition's
// Commit removes a staged file of a closed writer, so what a checkpoint
// lists survives until then; staged files nobody adopts are removed by the
// partition's next Commit.
//
// # Errors
//
// Errors that mean "the destination or the configuration is wrong, retrying
// cannot help" (unknown URL scheme, missing bucket, invalid schema) wrap
// ErrConfig; jobs.Run gives them exit code 2.
//
// A Write error that wraps ErrInvalidRecord concerns that one record (it
// does not fit the table): the record was not written, the writer is still
// usable, and no retry can fix it. Sinks report which field is wrong and how
// with an *InvalidRecordError, never with the value.
package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrConfig marks a destination or configuration error (exit code 2).
var ErrConfig = errors.New("sink configuration error")

// ErrInvalidRecord classifies a Write error about one record that does not
// fit its table (a value of the wrong JSON type, a malformed date-time,
// malformed JSON): the record was not written and the writer is still
// usable (see RecordWriter.Write).
var ErrInvalidRecord = errors.New("invalid record")

// InvalidRecordError says why a record was rejected without quoting any of
// its content; it matches ErrInvalidRecord. Sinks wrap it with what they
// were doing (the table, the record's id).
type InvalidRecordError struct {
	// Field is the dotted path of the offending value ("[]" marks a list
	// element: "toRecipients[].emailAddress"); "" when the record as a
	// whole is malformed.
	Field string
	// Problem is a short, fixed classification: "invalid timestamp",
	// "wrong type", "malformed JSON", …
	Problem string
	// Err, if set, is the detail; like the rest it never holds a value.
	Err error
}

// Reason is the classification the run summary, the ledger and the
// manifests count rejected records by: "invalid timestamp in
// createdDateTime", or the Problem alone when Field is "".
func (e *InvalidRecordError) Reason() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Problem + " in " + e.Field
}

func (e *InvalidRecordError) Error() string {
	if e.Err != nil {
		return ErrInvalidRecord.Error() + ": " + e.Err.Error()
	}
	return ErrInvalidRecord.Error() + ": " + e.Reason()
}

// Is makes errors.Is(err, ErrInvalidRecord) hold.
func (e *InvalidRecordError) Is(target error) bool { return target == ErrInvalidRecord }

func (e *InvalidRecordError) Unwrap() error { return e.Err }

// RejectReason is the reason a rejected record is counted by: the
// InvalidRecordError's Reason, else ErrInvalidRecord's text.
func RejectReason(err error) string {
	var ie *InvalidRecordError
	if errors.As(err, &ie) {
		return ie.Reason()
	}
	return ErrInvalidRecord.Error()
}

// Sink opens writers.
type Sink interface {
	// NewWriter opens a writer for one partition (dt=YYYY-MM-DD) of table
	// t. Cancel ctx to abort; always call Close.
	NewWriter(ctx context.Context, t Table, partition string) (RecordWriter, error)
}

// RecordWriter streams records of one table partition.
type RecordWriter interface {
	// Write adds one sanitized record. An error wrapping
	// ErrInvalidRecord means the record does not fit the table: it was
	// not written, and the writer stays usable (the caller counts the
	// record as rejected and goes on). Any other error is final: the
	// writer can only be closed, and Close fails.
	Write(rec Record) error
	// Close completes the files written (a sink that implements
	// Committer makes them visible at Commit); after a cancelled context
	// or a failed write it returns an error and leaves no object.
	Close() error
}

// Committer is implemented by sinks that stage a partition's files until
// the caller commits it (see the package doc). partition is the day,
// "YYYY-MM-DD"; the sink fills in the manifest's files, row counts and
// schema version.
type Committer interface {
	Commit(ctx context.Context, t Table, partition string, m Manifest) error
}

// Resumer is implemented by Committers whose staged files outlive the
// process (see the package doc).
type Resumer interface {
	// Staged returns the files closed writers staged for the partition
	// (own and adopted) that Commit has not yet promoted, in seq order;
	// nil if there are none.
	Staged(t Table, partition string) []StagedFile
	// Adopt makes files an earlier process staged for the partition (as
	// its Staged returned them) part of the partition's next Commit, and
	// new writers of the partition never reuse their names. It fails,
	// adopting nothing and naming the file, if one is not a staged file
	// of the table's shard and partition, is listed twice, is missing or
	// differs in size; and if a writer of the partition is open. After a
	// failure the caller redoes the work the files held.
	Adopt(ctx context.Context, t Table, partition string, files []StagedFile) error
}

// Discarder is implemented by Resumers that can delete what closed
// writers staged for a partition and no Commit promoted. A caller that
// abandons a partition before its Commit (a cancelled run) discards its
// staged files, keeping those a saved checkpoint names (keep, by Key),
// which a later process adopts; so no staged file outlives the run that
// nothing refers to. Discard removes the deleted files from what Staged
// lists; it returns the first deletion error, naming the file.
type Discarder interface {
	Discard(ctx context.Context, t Table, partition string, keep []StagedFile) error
}

// StagedFile is one staged, not yet committed file of a partition.
type StagedFile struct {
	Key    string `json:"key"`  // where it is staged
	Name   string `json:"name"` // its base name once committed
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // hex
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

// Manifest is what a shard's commit of one partition records in
// _manifest-{shard}.json. The caller fills the run's fields and the records
// it rejected for the partition (Rejected, RejectedReasons); the sink fills
// Connector, Collection, Partition, Shard, SchemaVersion, Files, Rows and
// CommittedAt.
type Manifest struct {
	Format          int            `json:"format"`
	Connector       string         `json:"connector"`
	Collection      string         `json:"collection"`
	Partition       string         `json:"partition"`
	Shard           int            `json:"shard"`
	Shards          int            `json:"shards"`
	RunID           string         `json:"run_id"`
	Window          Window         `json:"window"`
	SchemaVersion   int            `json:"schema_version"`
	RulesHash       string         `json:"rules_hash"`
	SaltFingerprint string         `json:"salt_fingerprint"`
	ExporterVersion string         `json:"exporter_version"`
	CommittedAt     time.Time      `json:"committed_at"`
	Rows            int64          `json:"rows"`
	Files           []ManifestFile `json:"files"`
	// Rejected counts the records of the partition that were not
	// written because they do not fit the table, and RejectedReasons
	// by reason (InvalidRecordError.Reason); both absent when none.
	Rejected        int64            `json:"rejected,omitempty"`
	RejectedReasons map[string]int64 `json:"rejected_reasons,omitempty"`
}

// Window is the half-open time range [From, To) a run exports. It is the
// module's one window type: the pipeline places records by it, jobs
// computes it and manifests record it.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Days lists the UTC days (as "YYYY-MM-DD" partitions) the window covers.
func (w Window) Days() []string {
	var out []string
	for d := w.From.UTC().Truncate(24 * time.Hour); d.Before(w.To); d = d.Add(24 * time.Hour) {
		out = append(out, d.Format("2006-01-02"))
	}
	return out
}

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// ManifestFile is one committed part.
type ManifestFile struct {
	Name   string `json:"name"` // base name, e.g. "part-0-0.parquet"
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // hex
}
