package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"time"

	"m365export/sinks"
)

// # Per-owner checkpoints
//
// A long collection (a tenant's mail) is cut into segments of about
// Job.CheckpointEvery: the pipeline stops taking owners, lets those in
// flight finish, closes the collection's writers (their files are then
// complete, staged and invisible), and saves a Checkpoint naming the owners
// done, their outcomes, the staged files that hold their records and the
// deduplication keys they used. Then it goes on with new writers. A crashed
// or stopped attempt of the same run resumes from its last checkpoint: the
// sink adopts the staged files, the done owners are not read again, and the
// partition's commit promotes old and new files together. Owners in flight
// at the crash are redone from their start; their records were only in
// writers that never closed, so nothing is duplicated. A collection read in
// parts of its window checkpoints the parts done: an owner in the middle of
// its parts is saved with Upto, and resumes from there.

// Checkpoint is one collection's saved progress within one attempt series
// of a run. It holds no personal data and no raw id: owners and
// deduplication keys are hashed.
type Checkpoint struct {
	RunID      string                        `json:"run_id"`
	Collection string                        `json:"collection"`
	From       time.Time                     `json:"from"`
	To         time.Time                     `json:"to"`
	Saved      time.Time                     `json:"saved"`
	Owners     []OwnerProgress               `json:"owners"`
	Files      map[string][]sinks.StagedFile `json:"files"`  // dt → staged files
	Counts     map[string]int                `json:"counts"` // dt → records
	Seen       []string                      `json:"seen,omitempty"`
	// Rejected is dt → the rejected records of the owners done; "" holds
	// those whose time could not be read.
	Rejected map[string]Reasons `json:"rejected,omitempty"`
}

// OwnerProgress is one finished owner in a Checkpoint.
type OwnerProgress struct {
	Key     string `json:"k"` // OwnerKey(owner)
	Status  string `json:"s"`
	Code    string `json:"c,omitempty"`
	Records int64  `json:"r"`
	Pages   int64  `json:"p"`
	// Rejected is the owner's LedgerEntry.RejectedReasons.
	Rejected Reasons `json:"x,omitempty"`
	// Upto, when set, says the owner is done only up to that time: a
	// collection read in parts of its window (see Job.MaxOpenWriters)
	// read its records of [From, Upto), which Records, Pages and Rejected
	// count; a resumed attempt reads it from Upto on. Status is then
	// "ok".
	Upto *time.Time `json:"u,omitempty"`
}

// CheckpointStore keeps checkpoints (jobs stores them next to the run's
// state). Load returns nil and no error when there is none for the
// collection. Delete is called once the collection is committed.
type CheckpointStore interface {
	LoadCheckpoint(ctx context.Context, collection string) (*Checkpoint, error)
	SaveCheckpoint(ctx context.Context, cp *Checkpoint) error
	DeleteCheckpoint(ctx context.Context, collection string) error
}

// OwnerKey is how a checkpoint names an owner: 96 bits of its SHA-256,
// enough to tell a tenant's owners apart, not the id itself.
func OwnerKey(owner string) string {
	h := sha256.Sum256([]byte(owner))
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// dedupeKey is a record's deduplication key, hashed: 128 bits.
type dedupeKey [16]byte

func hashKey(s string) dedupeKey {
	h := sha256.Sum256([]byte(s))
	return dedupeKey(h[:16])
}

func (k dedupeKey) String() string { return base64.RawURLEncoding.EncodeToString(k[:]) }

func parseDedupeKey(s string) (dedupeKey, bool) {
	var k dedupeKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

// sortedDays returns m's keys in order (the order partitions are adopted
// and committed in).
func sortedDays[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// validCheckpoint reports whether cp belongs to this run and collection.
func validCheckpoint(cp *Checkpoint, job *Job, c Collection) bool {
	return cp != nil && cp.RunID == job.RunID && cp.Collection == c.Name &&
		cp.From.Equal(job.Window.From) && cp.To.Equal(job.Window.To)
}
