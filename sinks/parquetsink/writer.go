package parquetsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"gocloud.dev/blob"

	"m365export/sinks"
)

const (
	batchRows  = 256     // rows handed to parquet-go at once
	arenaBytes = 4 << 20 // record JSON kept alive for one batch
)

// writer is the RecordWriter of one partition and shard. It decodes each
// record into a Parquet row, hands rows to parquet-go in batches, flushes
// row groups by rows and bytes and rolls to a new staged file at the
// target size.
type writer struct {
	// ctx is the writer's context, as blob.Writer keeps it: the
	// RecordWriter interface has no per-call context.
	ctx  context.Context //nolint:containedctx // see above
	s    *Sink
	k    partKey
	c    *compiled
	d    *decoder
	opts []parquet.WriterOption

	// current file
	pw       *parquet.GenericWriter[any]
	bw       *blob.Writer
	bwCancel context.CancelFunc
	cw       *countingWriter
	sum      hash.Hash
	cur      stagedFile

	groupRows  int64
	groupBytes int64
	batch      []parquet.Row
	vals       []parquet.Value
	arena      []byte

	files   []stagedFile
	records int64
	err     error // sticky: the writer can only be closed
	closed  bool
}

func newWriter(ctx context.Context, s *Sink, k partKey, c *compiled) *writer {
	o := s.opts
	opts := []parquet.WriterOption{
		c.schema,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.PageBufferSize(o.PageBufferSize),
		parquet.MaxRowsPerRowGroup(o.RowGroupRows),
		parquet.CreatedBy(o.CreatedBy, "", ""),
		parquet.KeyValueMetadata("m365export.table", k.connector+"/"+k.collection),
		parquet.KeyValueMetadata("m365export.schema_version", strconv.Itoa(c.version)),
	}
	if o.Compat {
		opts = append(opts, parquet.DataPageVersion(1), parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain))
	}
	return &writer{
		ctx:   ctx,
		s:     s,
		k:     k,
		c:     c,
		d:     newDecoder(c),
		opts:  opts,
		batch: make([]parquet.Row, 0, batchRows),
		vals:  make([]parquet.Value, 0, batchRows*c.nLeaves*2),
		arena: make([]byte, 0, arenaBytes),
	}
}

// Write decodes rec into one row. A record that does not fit the schema
// returns an error wrapping ErrInvalidRecord and is skipped; any other
// error is final and Close must still be called.
func (w *writer) Write(rec sinks.Record) error {
	if w.closed {
		return errors.New("write after close")
	}
	if w.err != nil {
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.err = fmt.Errorf("write %s dt=%s: %w", w.k.collection, w.k.day, err)
		return w.err
	}
	if len(w.arena)+len(rec.JSON)+len(rec.Owner)+len(rec.RunID) > cap(w.arena) && len(w.batch) > 0 {
		if err := w.flushBatch(); err != nil {
			return err
		}
	}
	start := len(w.arena)
	w.arena = append(w.arena, rec.JSON...)
	data := w.arena[start:len(w.arena):len(w.arena)]
	if err := w.d.decode(data); err != nil {
		w.arena = w.arena[:start]
		id := recordID(rec.JSON)
		return fmt.Errorf("%s: record %q (#%d): %w: %w", w.k.collection, id, w.records, ErrInvalidRecord, err)
	}
	w.records++
	c, d := w.c, w.d
	if rec.Owner != "" {
		o := len(w.arena)
		w.arena = append(w.arena, rec.Owner...)
		d.cols[c.owner] = append(d.cols[c.owner], parquet.ByteArrayValue(w.arena[o:len(w.arena):len(w.arena)]).Level(0, 1, c.owner))
	} else {
		d.cols[c.owner] = append(d.cols[c.owner], parquet.Value{}.Level(0, 0, c.owner))
	}
	if rec.RunID != "" {
		o := len(w.arena)
		w.arena = append(w.arena, rec.RunID...)
		d.cols[c.runID] = append(d.cols[c.runID], parquet.ByteArrayValue(w.arena[o:len(w.arena):len(w.arena)]).Level(0, 1, c.runID))
	} else {
		d.cols[c.runID] = append(d.cols[c.runID], parquet.Value{}.Level(0, 0, c.runID))
	}
	if !rec.ExportedAt.IsZero() {
		d.cols[c.exptAt] = append(d.cols[c.exptAt], parquet.Int64Value(rec.ExportedAt.UnixMicro()).Level(0, 1, c.exptAt))
	} else {
		d.cols[c.exptAt] = append(d.cols[c.exptAt], parquet.Value{}.Level(0, 0, c.exptAt))
	}
	if len(d.extra) > 0 {
		o := len(w.arena)
		w.arena = append(w.arena, d.extra...)
		w.arena = append(w.arena, '}')
		d.cols[c.extra] = append(d.cols[c.extra], parquet.ByteArrayValue(w.arena[o:len(w.arena):len(w.arena)]).Level(0, 1, c.extra))
	} else {
		d.cols[c.extra] = append(d.cols[c.extra], parquet.Value{}.Level(0, 0, c.extra))
	}
	r := len(w.vals)
	for i := range d.cols {
		w.vals = append(w.vals, d.cols[i]...)
	}
	w.batch = append(w.batch, parquet.Row(w.vals[r:len(w.vals):len(w.vals)]))
	w.groupRows++
	w.groupBytes += int64(len(rec.JSON))
	if len(w.batch) >= batchRows {
		if err := w.flushBatch(); err != nil {
			return err
		}
	}
	if w.groupRows >= w.s.opts.RowGroupRows || w.groupBytes >= w.s.opts.RowGroupBytes {
		if err := w.flushGroup(); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// flushBatch hands the batched rows to parquet-go, opening a file first
// if none is open.
func (w *writer) flushBatch() error {
	if len(w.batch) == 0 {
		return nil
	}
	if w.pw == nil {
		if err := w.openFile(); err != nil {
			return err
		}
	}
	if _, err := w.pw.WriteRows(w.batch); err != nil {
		return w.fail(fmt.Errorf("write rows of %s: %w", w.cur.staging, err))
	}
	w.cur.rows += int64(len(w.batch))
	w.batch = w.batch[:0]
	w.vals = w.vals[:0]
	w.arena = w.arena[:0]
	w.d.arena = w.d.arena[:0]
	return nil
}

// flushGroup ends the row group and rolls the file at the target size.
func (w *writer) flushGroup() error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	w.groupRows, w.groupBytes = 0, 0
	if w.pw == nil {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		return w.fail(fmt.Errorf("flush row group of %s: %w", w.cur.staging, err))
	}
	if w.pw.Size() >= w.s.opts.TargetFileSize {
		return w.closeFile()
	}
	return nil
}

func (w *writer) openFile() error {
	seq := w.s.nextSeq(w.k)
	w.cur = stagedFile{
		staging: w.s.stagingDir(w.k) + fmt.Sprintf("part-%d-%d.%s.tmp", w.k.shard, seq, w.s.token),
		name:    fmt.Sprintf("part-%d-%d.parquet", w.k.shard, seq),
	}
	ctx, cancel := context.WithCancel(w.ctx)
	bw, err := w.s.bucket.NewWriter(ctx, w.cur.staging, &blob.WriterOptions{
		ContentType: "application/vnd.apache.parquet",
		BeforeWrite: w.s.opts.BeforeWrite,
	})
	if err != nil {
		cancel()
		return w.fail(fmt.Errorf("open %s: %w", w.cur.staging, err))
	}
	w.bw, w.bwCancel = bw, cancel
	w.sum = sha256.New()
	w.cw = &countingWriter{w: bw, h: w.sum}
	// A new parquet writer per file: Reset after Close keeps writing to
	// the previous output in parquet-go v0.32.
	w.pw = parquet.NewGenericWriter[any](w.cw, w.opts...)
	w.s.opts.Logger.Debug("parquet file opened", "collection", w.k.collection, "dt", w.k.day, "shard", w.k.shard, "seq", seq)
	return nil
}

// closeFile writes the footer and completes the staged object.
func (w *writer) closeFile() error {
	if err := w.flushBatch(); err != nil {
		return err
	}
	if w.bw == nil {
		return nil
	}
	err := w.pw.Close()
	bw, cancel := w.bw, w.bwCancel
	w.bw, w.bwCancel, w.pw = nil, nil, nil
	if err != nil {
		cancel() // abort the upload: nothing of this file becomes an object
		bw.Close()
		return w.fail(fmt.Errorf("finish %s: %w", w.cur.staging, err))
	}
	if err := bw.Close(); err != nil {
		cancel()
		return w.fail(fmt.Errorf("upload %s: %w", w.cur.staging, err))
	}
	cancel()
	w.cur.bytes = w.cw.n
	w.cur.sha256 = hex.EncodeToString(w.sum.Sum(nil))
	w.files = append(w.files, w.cur)
	w.s.opts.Logger.Debug("parquet file staged", "collection", w.k.collection, "dt", w.k.day, "shard", w.k.shard, "name", w.cur.name, "rows", w.cur.rows, "bytes", w.cur.bytes)
	w.groupRows, w.groupBytes = 0, 0
	return nil
}

// Close completes the last file and hands the staged files to the sink
// for Commit. After a cancelled context or an earlier error it aborts:
// the open upload is cancelled and staged files are deleted.
func (w *writer) Close() error {
	if w.closed {
		return errors.New("close of closed writer")
	}
	w.closed = true
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.err = fmt.Errorf("close %s dt=%s: %w", w.k.collection, w.k.day, err)
		}
	}
	if w.err == nil {
		w.closeFile()
	}
	if w.err != nil {
		w.abort()
		w.s.finish(w.k, nil, false)
		return w.err
	}
	w.s.finish(w.k, w.files, true)
	return nil
}

func (w *writer) abort() {
	if w.bw != nil {
		w.bwCancel()
		w.bw.Close()
		w.bw, w.bwCancel = nil, nil
	}
	ctx := context.WithoutCancel(w.ctx)
	for _, f := range w.files {
		if err := w.s.deleteQuietly(ctx, f.staging); err != nil {
			w.s.opts.Logger.Warn("staged file left behind", "collection", w.k.collection, "dt", w.k.day, "err", err)
		}
	}
	w.files = nil
}
