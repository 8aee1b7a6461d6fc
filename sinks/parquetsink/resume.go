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
// staged for the partition that no Commit has promoted yet, in seq order;
// nil for none or an invalid partition. While a Commit of the partition
// runs, its files are no longer listed (they are again if it fails).
func (s *Sink) Staged(t sinks.Table, partition string) []sinks.StagedFile {
	d, err := day(partition)
	if err != nil {
		return nil
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[k]
	if p == nil || len(p.files) == 0 {
		return nil
	}
	out := make([]sinks.StagedFile, 0, len(p.files))
	for _, f := range p.files {
		out = append(out, sinks.StagedFile{Key: f.staging, Name: f.name, Rows: f.rows, Bytes: f.bytes, SHA256: f.sha256})
	}
	sort.Slice(out, func(i, j int) bool { return partSeqLess(out[i].Name, out[j].Name) })
	return out
}

// Discard implements sinks.Discarder: it deletes the files closed writers
// and Adopt staged for the partition, other than those keep names by key,
// and forgets them, so that neither Staged nor a Commit sees them.
func (s *Sink) Discard(ctx context.Context, t sinks.Table, partition string, keep []sinks.StagedFile) error {
	d, err := day(partition)
	if err != nil {
		return err
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	kept := make(map[string]bool, len(keep))
	for _, f := range keep {
		kept[f.Key] = true
	}
	s.mu.Lock()
	var drop []string
	if p := s.pending[k]; p != nil {
		n := 0
		for _, f := range p.files {
			if kept[f.staging] {
				p.files[n] = f
				n++
			} else {
				drop = append(drop, f.staging)
			}
		}
		p.files = p.files[:n]
	}
	s.mu.Unlock()
	if err := s.deleteQuietly(ctx, drop...); err != nil {
		return fmt.Errorf("discard staged files of %s dt=%s: %w", t.Collection, d, err)
	}
	return nil
}

// Adopt implements sinks.Resumer: files another Sink (an earlier process)
// staged for the partition join this Sink's pending files, so that the
// partition's next Commit promotes them with the rest, and the partition's
// next seq moves past theirs, so that no writer reuses a name. Every file
// must be named part-{shard}-{seq}.parquet of t.Shard, staged directly in
// the partition's staging folder under that name, present, of the
// recorded size, and not share a name with another adopted or staged file;
// no writer of the partition may be open. Otherwise Adopt fails, naming
// the file, and adopts nothing. Adopting no file changes nothing. While
// Adopt runs, a Commit of the partition is refused (it would remove the
// files being adopted).
func (s *Sink) Adopt(ctx context.Context, t sinks.Table, partition string, files []sinks.StagedFile) error {
	if err := checkTable(t); err != nil {
		return err
	}
	d, err := day(partition)
	if err != nil {
		return err
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return fmt.Errorf("adopt %s dt=%s: sink is closed", t.Collection, d)
	}
	p := s.pending[k]
	if p != nil && p.open > 0 {
		s.mu.Unlock()
		return fmt.Errorf("adopt %s dt=%s: %d writer(s) open", t.Collection, d, p.open)
	}
	if len(files) == 0 {
		s.mu.Unlock()
		return nil
	}
	created := p == nil
	if created {
		p = &pendingPart{}
		s.pending[k] = p
	}
	p.adopting++
	s.mu.Unlock()
	adopted, maxSeq, err := s.checkAdopted(ctx, t, k, files)

	s.mu.Lock()
	defer s.mu.Unlock()
	p.adopting--
	// A Commit is refused while we run, so p is still the partition's.
	if err == nil && p.open > 0 {
		err = fmt.Errorf("adopt %s dt=%s: %d writer(s) opened meanwhile", t.Collection, d, p.open)
	}
	if err == nil {
		// Names staged before, or meanwhile by a writer or another Adopt.
	check:
		for _, f := range p.files {
			for _, a := range adopted {
				if f.name == a.name {
					err = fmt.Errorf("adopt %s dt=%s: %s (%s) is already staged as %s", t.Collection, d, a.staging, a.name, f.staging)
					break check
				}
			}
		}
	}
	if err != nil {
		if created && p.open == 0 && p.adopting == 0 && len(p.files) == 0 && p.nextSeq == 0 {
			// Leave no trace: after a Commit, another stays refused.
			delete(s.pending, k)
		}
		return err
	}
	p.files = append(p.files, adopted...)
	p.nextSeq = max(p.nextSeq, maxSeq+1)
	s.opts.Logger.Info("staged files adopted", "collection", t.Collection, "dt", d, "shard", t.Shard, "files", len(adopted))
	return nil
}

// checkAdopted checks the files Adopt was handed (see there) and returns
// them as pending files with their highest seq.
func (s *Sink) checkAdopted(ctx context.Context, t sinks.Table, k partKey, files []sinks.StagedFile) ([]stagedFile, int, error) {
	dir := s.stagingDir(k)
	names := map[string]string{}
	maxSeq := -1
	adopted := make([]stagedFile, 0, len(files))
	for _, f := range files {
		seq, ok := partSeq(f.Name, t.Shard)
		base, inDir := strings.CutPrefix(f.Key, dir)
		if !ok || !inDir || strings.Contains(base, "/") || !strings.HasPrefix(base, strings.TrimSuffix(f.Name, ".parquet")+".") || !strings.HasSuffix(base, ".tmp") {
			return nil, 0, fmt.Errorf("adopt %s dt=%s: %q (%s) is not a staged file of shard %d of this partition", t.Collection, k.day, f.Key, f.Name, t.Shard)
		}
		if other, dup := names[f.Name]; dup {
			return nil, 0, fmt.Errorf("adopt %s dt=%s: %s and %s both stage %s", t.Collection, k.day, other, f.Key, f.Name)
		}
		names[f.Name] = f.Key
		attrs, err := s.bucket.Attributes(ctx, f.Key)
		if err != nil {
			return nil, 0, fmt.Errorf("adopt %s dt=%s: staged file %s: %w", t.Collection, k.day, f.Key, err)
		}
		if attrs.Size != f.Bytes {
			return nil, 0, fmt.Errorf("adopt %s dt=%s: staged file %s has %d bytes, want %d", t.Collection, k.day, f.Key, attrs.Size, f.Bytes)
		}
		maxSeq = max(maxSeq, seq)
		adopted = append(adopted, stagedFile{staging: f.Key, name: f.Name, rows: f.Rows, bytes: f.Bytes, sha256: f.SHA256})
	}
	return adopted, maxSeq, nil
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
