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
// # Rejected records
//
// A record whose time field is not a date-time, or that the sink refuses
// with sinks.ErrInvalidRecord (it does not fit the table), is rejected: it
// is not written, a warning names the collection, the owner (as the ledger
// holds it) and the field, and the record is counted by reason
// (sinks.InvalidRecordError.Reason) in the owner's ledger entry, the
// collection's summary and the manifest of the record's day (a record
// whose time cannot be read has no day: it is in the summary and the
// ledger only). The owner finishes normally: no retry can fix a malformed
// record, so it changes neither the owner's status nor the run's. No
// value of the record is ever logged or written.
//
// # Memory
//
// With a Job.Budget, each page acquires its estimated cost (PageCost of
// the collection's recent largest page) before it is fetched, holds its
// real cost until its records are in the writers, and gives it back
// before the owner's next page waits again: when the budget is short,
// fewer pages are in flight, and a single page larger than the budget
// proceeds alone. Sources lower their page size to MaxPageBytes, and the
// writers take from the same budget (see internal/membudget). With
// Job.MaxOpenWriters, a collection holds at most that many day writers
// open: a window of many days closes the least recently written day's
// writer to a finished staged part, and that day, written again, gets
// another part (more, smaller files; checkpoints and resume see them as
// any staged file). A collection whose window has more days than that,
// and whose Source is a sources.Narrower, is read in parts of that many
// days instead: every owner over the first part, then every owner over
// the next, the part's writers closed before the next part starts, so
// that writers are not closed and reopened as owners (in waves, at their
// own pace, or with pages not in time order) spread over the window (one
// request per owner and part, not per owner). Each collection that had to
// wait logs the figures.
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

	"m365export/internal/jsonscan"
	"m365export/internal/membudget"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sources"
)

// ErrPartial: some owners failed; what the others produced is committed.
var ErrPartial = errors.New("some owners failed")

// Sanitizer sanitizes one whole page, chosen by its request URL, and
// returns its records each paired with the raw record it came from (the
// rules package's *Ruleset implements it). The pipeline reads a record's
// time, sender and key from the raw record and writes the sanitized one;
// it assumes nothing about how many records the rules keep, or their
// order.
type Sanitizer interface {
	SanitizePage(requestURL string, page []byte) (rules.Page, error)
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
	// OwnerID, if set, maps a raw owner id to the form _owner and the
	// ledger hold for this collection: the parent table's id as this run
	// writes it (a team's id as the teams table holds it, say); nil means
	// Job.OwnerID (users).
	OwnerID func(string) string
	// OwnShard: the source lists only this shard's owners (a collection
	// whose owners one shard derives and reads whole), so the pipeline
	// keeps them all instead of spreading them by InShard.
	OwnShard bool
}

// ownerID returns how c's _owner and ledger write an owner.
func (c *Collection) ownerID(job *Job) func(string) string {
	if c.OwnerID != nil {
		return c.OwnerID
	}
	return job.OwnerID
}

// Window is the half-open time range [From, To) a run exports.
type Window = sinks.Window

// Job is one run of one connector on one shard.
type Job struct {
	Connector   string
	Collections []Collection
	Sink        sinks.Sink
	// Committer, if set, makes each (table, partition) visible once the
	// collection is read: Commit is called after the partition's writers
	// closed, also for days that produced no record, so that a re-run
	// removes stale files.
	Committer sinks.Committer
	// Manifest holds the manifest fields that are the same for every
	// partition of the run (rules hash, salt fingerprint, exporter
	// version); the pipeline adds RunID, Window and Shards, the sink the
	// rest.
	Manifest sinks.Manifest
	Window   Window
	// SnapshotDay is the dt of snapshot collections (the run's day).
	SnapshotDay string
	RunID       string
	Shard       int
	Shards      int
	// Concurrency bounds the owners read at once (default 16).
	Concurrency int
	// OwnerID maps a raw owner id to the form users.id takes in this run
	// (a pseudonym); it is what _owner and the ledger hold for collections
	// without their own Collection.OwnerID.
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
	// OnCommit, if set, is called after each collection's partitions are
	// committed (jobs records it so that a resumed run skips the
	// collection); an error fails the run.
	OnCommit func(ctx context.Context, collection string) error
	// Budget is the process's byte budget: each page in flight acquires
	// its estimated cost before it is fetched and holds its cost (see
	// PageCost) until its records are written. nil: unlimited.
	Budget *membudget.Budget
	// MaxOpenWriters bounds the writers a collection holds open, one per
	// day (0: no bound): opening one more first closes the least recently
	// written, whose records are then in finished staged files of its day
	// (see writerSet). A window of many days then holds the memory of
	// this many writers; a day written again after its writer was closed
	// gets one more part file.
	MaxOpenWriters int

	lastOwners *sources.IDs // the previous collection's owners
}

// Progress holds live counters, safe to read while the run goes.
type Progress struct {
	Records     atomic.Int64
	OwnersDone  atomic.Int64
	OwnersTotal atomic.Int64
	Pages       atomic.Int64
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
		s.Rejected += cs.Rejected
		if err != nil {
			s.Finished = job.Now().UTC()
			s.Status = "failed"
			s.Error = err.Error()
			return s, fmt.Errorf("collection %s: %w", c.Name, err)
		}
		if job.OnCommit != nil {
			if err := job.OnCommit(ctx, c.Name); err != nil {
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

// advisedError is an error that says what to do about it
// (graph.Error): the advice of a refusal every owner got.
type advisedError interface{ ErrorAdvice() string }

func errorAdvice(err error) string {
	var a advisedError
	if errors.As(err, &a) {
		return a.ErrorAdvice()
	}
	return ""
}

func errorCode(err error) string {
	var c codedError
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return ""
}

// writePage sanitizes one page and writes the records that belong to this
// owner and win (the run's window, or the part of it being read); it returns how many it wrote. A record that cannot
// be placed or written (see the package doc) goes to reject, with its day
// ("" when its time cannot be read), and the page goes on.
func writePage(ctx context.Context, job *Job, c Collection, ws *writerSet, win Window, pg sources.Page, ownerCol, owner string, allOwners map[string]struct{},
	timePath, senderPath []string, keyPaths [][]string, seen *seenSet, exportedAt time.Time, reject func(dt string, e *sinks.InvalidRecordError)) (int64, error) {
	page, err := c.Sanitizer.SanitizePage(pg.URL, pg.Body)
	if err != nil {
		return 0, fmt.Errorf("sanitize: %w", err)
	}
	var n int64
	for i, r := range page.Records {
		raw := r.Raw
		if v, _ := jsonscan.Field(raw, "@removed"); v != nil {
			continue
		}
		dt := job.SnapshotDay
		var bad *sinks.InvalidRecordError // set: rejected once it is known to be this owner's
		if timePath != nil {
			tv, err := jsonscan.Path(raw, timePath)
			if err != nil {
				return n, fmt.Errorf("record %d: %w", i, err)
			}
			if tv == nil {
				// Not a malformed value: the collection's time field is
				// not where it was declared.
				return n, fmt.Errorf("record %d: %s is missing", i, c.TimeField)
			}
			ts, ok := jsonscan.String(tv)
			var t time.Time
			if ok {
				t, err = parseGraphTime(ts)
			}
			switch {
			case !ok || err != nil:
				bad, dt = &sinks.InvalidRecordError{Field: c.TimeField, Problem: "invalid timestamp", Err: err}, ""
			case !win.Contains(t):
				continue // outside [from, to) of the part read: gt/lt filters and overlapping events
			default:
				dt = t.UTC().Format("2006-01-02")
			}
		}
		dedupe := keyPaths != nil
		if senderPath != nil {
			sv, _ := jsonscan.Path(raw, senderPath)
			sender, _ := jsonscan.String(sv)
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
				kv, _ := jsonscan.Path(raw, kp)
				key.Write(kv)
				key.WriteByte(0)
			}
			if !seen.add(hashKey(key.String())) {
				continue
			}
		}
		if bad != nil {
			reject(dt, bad)
			continue
		}
		rec := sinks.Record{JSON: r.Sanitized, Owner: ownerCol, RunID: job.RunID, ExportedAt: exportedAt}
		if err := ws.write(ctx, dt, rec); err != nil {
			if !errors.Is(err, sinks.ErrInvalidRecord) {
				return n, err
			}
			if !errors.As(err, &bad) {
				bad = &sinks.InvalidRecordError{Problem: "invalid record"}
			}
			reject(dt, bad)
			continue
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
	return time.Time{}, errors.New("not a date-time") // never the value: logs and errors carry no content
}
