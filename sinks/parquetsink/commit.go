package parquetsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gocloud.dev/blob"

	"m365export/sinks"
)

// Commit makes what this shard's writers staged for one partition of t the
// partition's content for the shard (see the package doc). The caller fills
// m's run fields (RunID, Window, Shards, RulesHash, SaltFingerprint,
// ExporterVersion; Shards 0 means 1); Commit fills the rest. It fails if a
// writer of the partition is still open, and if the partition was already
// committed by this Sink with no writer opened since (a second Commit would
// otherwise empty it).
func (s *Sink) Commit(ctx context.Context, t sinks.Table, partition string, m sinks.Manifest) error {
	if err := checkTable(t); err != nil {
		return err
	}
	d, err := day(partition)
	if err != nil {
		return err
	}
	if m.Shards == 0 {
		m.Shards = 1
	}
	if m.Shards < 1 || t.Shard >= m.Shards {
		return fmt.Errorf("commit %s dt=%s: shard %d of %d: %w", t.Collection, d, t.Shard, m.Shards, sinks.ErrConfig)
	}
	if t.Schema == nil {
		return fmt.Errorf("commit %s dt=%s: nil schema: %w", t.Collection, d, sinks.ErrConfig)
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	s.mu.Lock()
	p := s.pending[k]
	if p != nil && p.open > 0 {
		s.mu.Unlock()
		return fmt.Errorf("commit %s dt=%s: %d writer(s) still open", t.Collection, d, p.open)
	}
	if p != nil && p.adopting > 0 {
		// Its cleanup would remove the files being adopted.
		s.mu.Unlock()
		return fmt.Errorf("commit %s dt=%s: staged files are being adopted", t.Collection, d)
	}
	if p == nil && s.committed[k] {
		s.mu.Unlock()
		return fmt.Errorf("commit %s dt=%s shard %d: already committed", t.Collection, d, t.Shard)
	}
	delete(s.pending, k)
	s.mu.Unlock()
	var files []stagedFile
	if p != nil {
		files = p.files
	}
	if err := ctx.Err(); err != nil {
		s.requeue(k, p)
		return fmt.Errorf("commit %s dt=%s: %w", t.Collection, d, err)
	}

	// From here on the commit runs to its end: a cancellation would only
	// widen the window in which old and new parts mix.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CommitTimeout)
	defer cancel()
	dir := s.partDir(k)

	m.Format = 1
	m.Connector, m.Collection, m.Partition, m.Shard = t.Connector, t.Collection, "dt="+d, t.Shard
	m.SchemaVersion = t.Schema.Version
	m.CommittedAt = s.opts.Now().UTC()
	m.Rows = 0
	m.Files = make([]sinks.ManifestFile, 0, len(files))
	// Check every staged file first: a missing one fails the commit
	// before it touches the partition.
	for _, f := range files {
		ok, err := s.bucket.Exists(cctx, f.staging)
		if err != nil {
			err = fmt.Errorf("check staged file: %w", err) // blob names the key
		} else if !ok {
			err = fmt.Errorf("staged file %s is missing", f.staging)
		}
		if err != nil {
			s.requeue(k, p)
			return fmt.Errorf("commit %s dt=%s: %w", t.Collection, d, err) // blob names the key
		}
	}
	keep := map[string]bool{}
	for _, f := range files {
		if err := s.bucket.Copy(cctx, dir+f.name, f.staging, nil); err != nil {
			s.requeue(k, p)
			return fmt.Errorf("commit %s dt=%s: promote: %w", t.Collection, d, err) // blob names both keys
		}
		keep[f.name] = true
		m.Files = append(m.Files, sinks.ManifestFile{Name: f.name, Rows: f.rows, Bytes: f.bytes, SHA256: f.sha256})
		m.Rows += f.rows
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("commit %s dt=%s: encode manifest: %w", t.Collection, d, err)
	}
	manifest := dir + manifestName(t.Shard)
	if err := s.bucket.WriteAll(cctx, manifest, append(body, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("commit %s dt=%s: write manifest: %w", t.Collection, d, err)
	}

	// Remove what the manifest does not name: this shard's other parts,
	// and on shard 0 everything of shard indices ≥ m.Shards.
	var stale []string
	if err := s.list(cctx, dir, func(key string) {
		shard, ok := partShard(key[len(dir):])
		if !ok {
			return
		}
		base := key[len(dir):]
		switch {
		case shard == t.Shard && strings.HasPrefix(base, "part-") && !keep[base]:
			stale = append(stale, key)
		case t.Shard == 0 && shard >= m.Shards:
			stale = append(stale, key)
		}
	}); err != nil {
		return fmt.Errorf("commit %s dt=%s: list partition: %w", t.Collection, d, err)
	}
	if err := s.deleteQuietly(cctx, stale...); err != nil {
		return fmt.Errorf("commit %s dt=%s: remove stale parts: %w", t.Collection, d, err)
	}

	// Staged files of this shard (ours and any a crashed run left).
	sdir := s.stagingDir(k)
	var staged []string
	if err := s.list(cctx, sdir, func(key string) {
		shard, ok := partShard(key[len(sdir):])
		if ok && (shard == t.Shard || (t.Shard == 0 && shard >= m.Shards)) {
			staged = append(staged, key)
		}
	}); err != nil {
		return fmt.Errorf("commit %s dt=%s: list staging: %w", t.Collection, d, err)
	}
	if err := s.deleteQuietly(cctx, staged...); err != nil {
		return fmt.Errorf("commit %s dt=%s: remove staged files: %w", t.Collection, d, err)
	}
	s.mu.Lock()
	s.committed[k] = true
	s.mu.Unlock()
	s.opts.Logger.Info("partition committed", "collection", t.Collection, "dt", d, "shard", t.Shard,
		"files", len(m.Files), "rows", m.Rows, "removed", len(stale))
	return nil
}

// requeue puts staged files back so that a later Commit can retry.
func (s *Sink) requeue(k partKey, p *pendingPart) {
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.pending[k]; q != nil {
		q.files = append(p.files, q.files...)
		if p.nextSeq > q.nextSeq {
			q.nextSeq = p.nextSeq
		}
		return
	}
	s.pending[k] = p
}

func manifestName(shard int) string { return "_manifest-" + strconv.Itoa(shard) + ".json" }

// partShard parses the shard index of "part-{shard}-…" or
// "_manifest-{shard}.json".
func partShard(base string) (int, bool) {
	var rest string
	switch {
	case strings.HasPrefix(base, "part-"):
		rest = base[len("part-"):]
		i := strings.IndexByte(rest, '-')
		if i <= 0 {
			return 0, false
		}
		rest = rest[:i]
	case strings.HasPrefix(base, "_manifest-") && strings.HasSuffix(base, ".json"):
		rest = strings.TrimSuffix(base[len("_manifest-"):], ".json")
	default:
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// list calls fn for each object directly under dir.
func (s *Sink) list(ctx context.Context, dir string, fn func(key string)) error {
	it := s.bucket.List(&blob.ListOptions{Prefix: dir, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !obj.IsDir {
			fn(obj.Key)
		}
	}
}
