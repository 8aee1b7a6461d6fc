package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"m365export/pipeline"
)

// state is what a connector's shard remembers between runs, at --state. It
// holds no personal data: fingerprints, times and run ids only.
type state struct {
	Connector       string `json:"connector"`
	Shard           int    `json:"shard"`
	Shards          int    `json:"shards"`
	SaltFingerprint string `json:"salt_fingerprint"`
	RulesHash       string `json:"rules_hash"`
	// Watermark is the end of the last window committed in full.
	Watermark time.Time `json:"watermark,omitzero"`
	// Pending is a run that started and did not finish: a re-run of the
	// same window resumes it, skipping the collections it committed.
	Pending   *pendingRun `json:"pending,omitempty"`
	UpdatedAt time.Time   `json:"updated_at"`
}

type pendingRun struct {
	// ID tells this attempt series from an earlier one of the same run
	// id: checkpoints of another series are ignored.
	ID        string    `json:"id,omitempty"`
	RunID     string    `json:"run_id"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Committed []string  `json:"committed"`
}

// stateStore reads and writes one shard's state object.
type stateStore struct {
	b   *blob.Bucket
	key string
}

// newStateStore is the store of a shard's state: the connector's, or with
// tables (Config.tablesKey) that of runs of those tables alone, which
// keep their own watermark and pending run, apart from the connector's.
func newStateStore(b *blob.Bucket, connector, tables string, shard, shards int) *stateStore {
	return &stateStore{b: b, key: fmt.Sprintf("%s/%sstate-shard-%d-of-%d.json", connector, tablesDir(tables), shard, shards)}
}

// tablesDir is the folder of a --tables run's state and checkpoints under
// the connector's ("" for a run of every table).
func tablesDir(tables string) string {
	if tables == "" {
		return ""
	}
	return "tables-" + tables + "/"
}

// load returns the stored state, or nil if there is none yet.
func (s *stateStore) load(ctx context.Context) (*state, error) {
	b, err := s.b.ReadAll(ctx, s.key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state %s is corrupt: %w", s.key, err)
	}
	return &st, nil
}

func (s *stateStore) save(ctx context.Context, st *state) error {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := s.b.WriteAll(ctx, s.key, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// committed reports whether the pending run r already committed collection c.
func (p *pendingRun) committed(c string) bool { return p != nil && slices.Contains(p.Committed, c) }

// newPendingID returns a random id for a new attempt series.
func newPendingID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkpointStore keeps a pending run's per-collection checkpoints next to
// the shard's state: {connector}/checkpoints/shard-I-of-N/{collection}.json,
// or {connector}/tables-{tables}/checkpoints/… for a --tables run, so that
// it never overwrites a full run's checkpoint of the same table. It
// implements pipeline.CheckpointStore.
type checkpointStore struct {
	b       *blob.Bucket
	prefix  string
	pending string // pendingRun.ID
}

func newCheckpointStore(b *blob.Bucket, connector, tables string, shard, shards int, pendingID string) *checkpointStore {
	return &checkpointStore{b: b, prefix: fmt.Sprintf("%s/%scheckpoints/shard-%d-of-%d/", connector, tablesDir(tables), shard, shards), pending: pendingID}
}

// checkpointFile is a stored checkpoint with the series it belongs to.
type checkpointFile struct {
	Pending    string               `json:"pending"`
	Checkpoint *pipeline.Checkpoint `json:"checkpoint"`
}

func (s *checkpointStore) LoadCheckpoint(ctx context.Context, collection string) (*pipeline.Checkpoint, error) {
	key := s.prefix + collection + ".json"
	b, err := s.b.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("checkpoint %s is corrupt: %w", key, err)
	}
	if f.Pending != s.pending {
		return nil, nil // an earlier series of the same run id
	}
	return f.Checkpoint, nil
}

func (s *checkpointStore) SaveCheckpoint(ctx context.Context, cp *pipeline.Checkpoint) error {
	key := s.prefix + cp.Collection + ".json"
	b, err := json.Marshal(checkpointFile{Pending: s.pending, Checkpoint: cp})
	if err != nil {
		return err
	}
	if err := s.b.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func (s *checkpointStore) DeleteCheckpoint(ctx context.Context, collection string) error {
	key := s.prefix + collection + ".json"
	if err := s.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete checkpoint: %w", err)
	}
	return nil
}
