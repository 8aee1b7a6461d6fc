package parquetsink

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"m365export/sinks"
)

// Staged implements sinks.Resumer: the files closed writers (and Adopt)
// staged for the partition that no Commit has promoted yet.
func (s *Sink) Staged(t sinks.Table, partition string) []sinks.StagedFile {
	d, err := day(partition)
	if err != nil {
		return nil
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[k]
	if p == nil {
		return nil
	}
	out := make([]sinks.StagedFile, 0, len(p.files))
	for _, f := range p.files {
		out = append(out, sinks.StagedFile{Key: f.staging, Name: f.name, Rows: f.rows, Bytes: f.bytes, SHA256: f.sha256})
	}
	sort.Slice(out, func(i, j int) bool { return partSeqLess(out[i].Name, out[j].Name) })
	return out
}

// Adopt implements sinks.Resumer: files another Sink (an earlier process)
// staged for the partition join this Sink's pending files, so that the
// partition's next Commit promotes them with the rest. Every file must be
// this shard's, in the partition's staging folder, present and of the
// recorded size; otherwise nothing is adopted.
func (s *Sink) Adopt(ctx context.Context, t sinks.Table, partition string, files []sinks.StagedFile) error {
	if err := checkTable(t); err != nil {
		return err
	}
	d, err := day(partition)
	if err != nil {
		return err
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	dir := s.stagingDir(k)
	names := map[string]bool{}
	s.mu.Lock()
	if p := s.pending[k]; p != nil {
		if p.open > 0 {
			s.mu.Unlock()
			return fmt.Errorf("adopt %s dt=%s: %d writer(s) open", t.Collection, d, p.open)
		}
		for _, f := range p.files {
			names[f.name] = true
		}
	}
	s.mu.Unlock()
	maxSeq := -1
	adopted := make([]stagedFile, 0, len(files))
	for _, f := range files {
		seq, ok := partSeq(f.Name, t.Shard)
		base, inDir := strings.CutPrefix(f.Key, dir)
		if !ok || !inDir || strings.Contains(base, "/") || !strings.HasPrefix(base, strings.TrimSuffix(f.Name, ".parquet")+".") || !strings.HasSuffix(base, ".tmp") {
			return fmt.Errorf("adopt %s dt=%s: %q (%s) is not a staged file of shard %d of this partition", t.Collection, d, f.Key, f.Name, t.Shard)
		}
		if names[f.Name] {
			return fmt.Errorf("adopt %s dt=%s: %s twice", t.Collection, d, f.Name)
		}
		names[f.Name] = true
		attrs, err := s.bucket.Attributes(ctx, f.Key)
		if err != nil {
			return fmt.Errorf("adopt %s dt=%s: staged file %s: %w", t.Collection, d, f.Key, err)
		}
		if attrs.Size != f.Bytes {
			return fmt.Errorf("adopt %s dt=%s: staged file %s has %d bytes, the checkpoint says %d", t.Collection, d, f.Key, attrs.Size, f.Bytes)
		}
		maxSeq = max(maxSeq, seq)
		adopted = append(adopted, stagedFile{staging: f.Key, name: f.Name, rows: f.Rows, bytes: f.Bytes, sha256: f.SHA256})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[k]
	if p == nil {
		p = &pendingPart{}
		s.pending[k] = p
	}
	if p.open > 0 {
		return fmt.Errorf("adopt %s dt=%s: %d writer(s) open", t.Collection, d, p.open)
	}
	p.files = append(p.files, adopted...)
	p.nextSeq = max(p.nextSeq, maxSeq+1)
	return nil
}

// partSeq parses the seq of "part-{shard}-{seq}.parquet" of shard.
func partSeq(name string, shard int) (int, bool) {
	rest, ok := strings.CutPrefix(name, "part-"+strconv.Itoa(shard)+"-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".parquet")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// partSeqLess orders part names by shard, then seq.
func partSeqLess(a, b string) bool {
	sa, _ := partShard(a)
	sb, _ := partShard(b)
	if sa != sb {
		return sa < sb
	}
	na, _ := partSeq(a, sa)
	nb, _ := partSeq(b, sb)
	return na < nb
}
