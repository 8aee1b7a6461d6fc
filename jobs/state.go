package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
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

func newStateStore(b *blob.Bucket, connector string, shard, shards int) *stateStore {
	return &stateStore{b: b, key: fmt.Sprintf("%s/state-shard-%d-of-%d.json", connector, shard, shards)}
}

// load returns the stored state, or nil if there is none yet.
func (s *stateStore) load(ctx context.Context) (*state, error) {
	b, err := s.b.ReadAll(ctx, s.key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", s.key, err)
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
		return fmt.Errorf("write state %s: %w", s.key, err)
	}
	return nil
}

// committed reports whether the pending run r already committed collection c.
func (p *pendingRun) committed(c string) bool { return p != nil && slices.Contains(p.Committed, c) }
