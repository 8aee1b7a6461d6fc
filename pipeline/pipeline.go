// Package pipeline moves records from sources to sinks: for each collection
// of a job it lists the owners (users, teams, …) of this shard, reads their
// pages concurrently under a limit, sanitizes each page, splits it into
// records, keeps those that belong to the window, and streams them into one
// writer per (collection, day). When every owner of a collection is done it
// commits each day's partition; a run summary and per-owner ledger record
// the outcome.
//
// The pipeline never retries: retrying happens once, in the source's page
// fetch. It imports only the interface packages sources, sinks and rules.
//
// # Errors
//
// Run returns an error wrapping sources.ErrConfig when the configuration is
// wrong (no retry can help), ErrPartial when some owners failed after the
// source's retries (their records are missing; the rest is committed), and
// any other error when the run as a whole failed (nothing of the failed
// collection was committed).
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"strings"
	"sync/atomic"
	"time"

	"m365export/sinks"
	"m365export/sources"
)

// ErrPartial: some owners failed; what the others produced is committed.
var ErrPartial = errors.New("some owners failed")

// Sanitizer sanitizes one whole response, chosen by its request URL (the
// rules package's *Ruleset implements it).
type Sanitizer interface {
	Sanitize(requestURL string, response []byte) ([]byte, error)
}

// Committer makes a partition's files visible with their manifest (the
// Parquet sink implements it through an adapter in jobs). Commit is called
// once per (table, partition) after the partition's writer closed, also for
// days that produced no record, so that a re-run removes stale files.
type Committer interface {
	Commit(ctx context.Context, t sinks.Table, partition string, info CommitInfo) error
}

// CommitInfo is what a manifest records besides the files.
type CommitInfo struct {
	RunID  string
	Window Window
	Shards int
}

// Collection is one table of a connector and how to read it.
type Collection struct {
	Name      string
	Source    sources.Source
	Sanitizer Sanitizer
	Table     sinks.Table
	// TimeField is the dotted JSON path of the record time that places it
	// in the window and its day partition ("sentDateTime",
	// "start.dateTime"). "" makes the collection a snapshot: every record
	// goes to the snapshot day.
	TimeField string
	// SenderField, when set, is the dotted path of the id of the user who
	// sent a record that several owners read (chat messages come once per
	// participant): the record is kept only by its sender's partition when
	// the sender is one of the collection's owners, so each is written
	// once, whatever the sharding. Records of other senders are
	// deduplicated by DedupeKey within the process.
	SenderField string
	// DedupeKey lists the dotted paths whose values identify a record for
	// deduplication ("chatId", "id").
	DedupeKey []string
}

// Window is a half-open time range [From, To).
type Window struct {
	From, To time.Time
}

// Days lists the UTC days (as dt strings) the window covers.
func (w Window) Days() []string {
	var out []string
	for d := w.From.UTC().Truncate(24 * time.Hour); d.Before(w.To); d = d.Add(24 * time.Hour) {
		out = append(out, d.Format("2006-01-02"))
	}
	return out
}

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Job is one run of one connector on one shard.
type Job struct {
	Connector   string
	Collections []Collection
	Sink        sinks.Sink
	Committer   Committer
	Window      Window
	// SnapshotDay is the dt of snapshot collections (the run's day).
	SnapshotDay string
	RunID       string
	Shard       int
	Shards      int
	// Concurrency bounds the owners read at once (default 16).
	Concurrency int
	// OwnerID maps a raw owner id to the form users.id takes in this run
	// (a pseudonym); it is what _owner and the ledger hold.
	OwnerID func(string) string
	// Done reports collections an earlier attempt of this run already
	// committed (a resumed run); nil means none.
	Done func(collection string) bool
	// Checkpoints, with a Sink that implements sinks.Resumer, saves each
	// collection's progress about every CheckpointEvery (0: never) and
	// resumes an unfinished collection from its last checkpoint (see
	// checkpoint.go).
	Checkpoints     CheckpointStore
	CheckpointEvery time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
	// Progress, if set, is updated as the run goes.
	Progress *Progress

	lastOwners *sources.IDs // the previous collection's owners
}

// Progress holds live counters, safe to read while the run goes.
type Progress struct {
	Records     atomic.Int64
	OwnersDone  atomic.Int64
	OwnersTotal atomic.Int64
	Pages       atomic.Int64
}

// OnCommit, if set on the context via WithCommitHook, is called after each
// collection is committed (jobs uses it to checkpoint a resumable run).
type commitHookKey struct{}

// WithCommitHook returns a context whose runs call hook(collection) after
// each collection's partitions are committed.
func WithCommitHook(ctx context.Context, hook func(ctx context.Context, collection string) error) context.Context {
	return context.WithValue(ctx, commitHookKey{}, hook)
}

// Run runs the job. The summary is filled also when err != nil.
func Run(ctx context.Context, job *Job) (*Summary, error) {
	if job.Concurrency <= 0 {
		job.Concurrency = 16
	}
	if job.Shards <= 0 {
		job.Shards = 1
	}
	if job.Now == nil {
		job.Now = time.Now
	}
	if job.OwnerID == nil {
		job.OwnerID = func(s string) string { return s }
	}
	log := job.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if job.Progress == nil {
		job.Progress = &Progress{}
	}
	s := &Summary{SummaryHead: SummaryHead{
		Connector: job.Connector, RunID: job.RunID, Shard: job.Shard, Shards: job.Shards,
		WindowFrom: job.Window.From, WindowTo: job.Window.To, Started: job.Now().UTC(),
	}}
	var partial bool
	for _, c := range job.Collections {
		if job.Done != nil && job.Done(c.Name) {
			s.Collections = append(s.Collections, CollectionSummary{Name: c.Name, Committed: true, Resumed: true})
			log.Info("collection already committed by an earlier attempt", "collection", c.Name)
			continue
		}
		cs, ledger, err := runCollection(ctx, job, c, log.With("collection", c.Name))
		s.Collections = append(s.Collections, cs)
		if ledger != nil {
			s.Ledger.add(ledger)
		}
		s.Records += cs.Records
		if err != nil {
			s.Finished = job.Now().UTC()
			s.Status = "failed"
			s.Error = err.Error()
			return s, fmt.Errorf("collection %s: %w", c.Name, err)
		}
		if hook, ok := ctx.Value(commitHookKey{}).(func(context.Context, string) error); ok {
			if err := hook(ctx, c.Name); err != nil {
				s.Finished = job.Now().UTC()
				s.Status = "failed"
				s.Error = err.Error()
				return s, fmt.Errorf("checkpoint after %s: %w", c.Name, err)
			}
		}
		if cs.Failed > 0 {
			partial = true
		}
	}
	s.Finished = job.Now().UTC()
	s.Status = "ok"
	if partial {
		s.Status = "partial"
		return s, ErrPartial
	}
	return s, nil
}

// InShard reports whether owner belongs to shard i of n: owners are spread
// by a stable hash, so N shards together read exactly what one process
// would.
func InShard(owner string, i, n int) bool {
	if n <= 1 {
		return true
	}
	h := sha256.Sum256([]byte(owner))
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(h[:8]), uint64(n))
	return int(hi) == i
}

// codedError is implemented by source errors that carry the service's
// error code (Graph's error.code).
type codedError interface{ ErrorCode() string }

func errorCode(err error) string {
	var c codedError
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}

func writePage(job *Job, c Collection, ws *writerSet, pg sources.Page, ownerCol, owner string, allOwners map[string]struct{},
	timePath, senderPath []string, keyPaths [][]string, seen *seenSet, exportedAt time.Time) (int64, error) {
	raw, err := splitValue(pg.Body)
	if err != nil {
		return 0, fmt.Errorf("split response: %w", err)
	}
	clean, err := c.Sanitizer.Sanitize(pg.URL, pg.Body)
	if err != nil {
		return 0, fmt.Errorf("sanitize: %w", err)
	}
	recs, err := splitValue(clean)
	if err != nil {
		return 0, fmt.Errorf("split sanitized response: %w", err)
	}
	if len(recs) != len(raw) {
		return 0, fmt.Errorf("sanitized page has %d records, the response %d: rules must not drop value[] elements", len(recs), len(raw))
	}
	var n int64
	for i, r := range raw {
		if v, _ := objectField(r, "@removed"); v != nil {
			continue
		}
		dt := job.SnapshotDay
		if timePath != nil {
			tv, err := path(r, timePath)
			if err != nil {
				return n, fmt.Errorf("record %d: %w", i, err)
			}
			ts, ok := stringValue(tv)
			if !ok {
				return n, fmt.Errorf("record %d: %s is missing or not a string", i, c.TimeField)
			}
			t, err := parseGraphTime(ts)
			if err != nil {
				return n, fmt.Errorf("record %d: %s: %w", i, c.TimeField, err)
			}
			if !job.Window.Contains(t) {
				continue // outside [from, to): gt/lt filters and overlapping events
			}
			dt = t.UTC().Format("2006-01-02")
		}
		dedupe := keyPaths != nil
		if senderPath != nil {
			sv, _ := path(r, senderPath)
			sender, _ := stringValue(sv)
			if _, known := allOwners[sender]; known {
				if sender != owner {
					continue // its sender's partition writes it
				}
				dedupe = false
			}
		}
		if dedupe {
			var key strings.Builder
			for _, kp := range keyPaths {
				kv, _ := path(r, kp)
				key.Write(kv)
				key.WriteByte(0)
			}
			if !seen.add(hashKey(key.String())) {
				continue
			}
		}
		rec := sinks.Record{JSON: recs[i], Owner: ownerCol, RunID: job.RunID, ExportedAt: exportedAt}
		if err := ws.write(dt, rec); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// parseGraphTime parses Graph's date-times: RFC 3339 with up to seven
// fractional digits, or without a zone (calendar dateTime, UTC by default).
func parseGraphTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.9999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a date-time: %q", s)
}
