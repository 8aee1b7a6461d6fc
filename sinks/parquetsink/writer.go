package parquetsink

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob"

	"m365export/sinks"
)

const (
	batchRows    = 256     // rows handed to parquet-go at once, at most
	batchValues  = 16384   // column values in a batch, at most (wide schemas get fewer rows)
	arenaBytes   = 1 << 20 // record JSON kept alive for one batch, about
	batches      = 4       // batches in flight: one filling, the rest queued or being written
	uploadBuffer = 8 << 20 // S3 part and GCS chunk size
	// With a byte budget, uploads buffer less: S3 parts of S3's minimum
	// part size, one in flight, and GCS chunks of 2 MiB (a multiple of
	// the 256 KiB GCS requires).
	budgetS3Part    = 5 << 20
	budgetGCSChunk  = 2 << 20
	uploadInFlight  = 2 // S3 parts in flight
	budgetS3Flights = 1
)

// batch is rows decoded by Write and not yet handed to parquet-go. Values
// reference the batch's arena (the records' JSON and unescaped strings),
// so a batch is reused only after the worker wrote it.
type batch struct {
	rows  []parquet.Row
	vals  []parquet.Value
	arena []byte
	flush bool // end the row group after this batch
}

// writer is the RecordWriter of one partition and shard. Write decodes each
// record into a Parquet row on the caller's goroutine; a worker goroutine
// hands batches of rows to parquet-go (encoding, zstd, upload), flushes row
// groups and rolls to a new staged file at the target size. Decoding and
// encoding thus use two cores.
type writer struct {
	// ctx is the writer's context, as blob.Writer keeps it: the
	// RecordWriter interface has no per-call context.
	ctx  context.Context //nolint:containedctx // see above
	s    *Sink
	k    partKey
	c    *compiled
	d    *decoder
	opts []parquet.WriterOption

	// Caller side.
	cur        *batch
	groupRows  int64
	groupBytes int64
	held       int64 // taken from the byte budget for the group filling
	records    int64
	err        error // sticky: the writer can only be closed
	closed     bool
	work       chan *batch
	free       chan *batch
	done       chan struct{}

	// Worker side (the caller's after done is closed).
	werr     atomic.Pointer[error] // the worker's first error
	pw       *parquet.GenericWriter[any]
	bw       *blob.Writer
	bwCancel context.CancelFunc
	aw       *asyncWriter
	// Row groups: one receives rows while the other, full, is encoded
	// and written by a committer goroutine (pending).
	rgs    [2]*parquet.ConcurrentRowGroupWriter
	rg     int // index of the row group receiving rows
	rgRows int64
	// fileGroups counts the row groups of the open file: a file keeps
	// each group's metadata (column chunks, page indexes) until its
	// footer, so groups ended early by the byte budget roll the file
	// sooner (maxGroupsPerFile).
	fileGroups int
	pending    chan error
	// uploadHeld is what the open file's upload buffers took from the
	// byte budget (Sink.uploadCost), given back when the file is done.
	uploadHeld int64
	file       stagedFile
	files      []stagedFile
}

func newWriter(ctx context.Context, s *Sink, k partKey, c *compiled) *writer {
	o := s.opts
	opts := []parquet.WriterOption{
		c.schema,
		parquet.Compression(s.codec),
		parquet.PageBufferSize(o.PageBufferSize),
		parquet.MaxRowsPerRowGroup(o.RowGroupRows),
		parquet.CreatedBy(o.CreatedBy, "", ""),
		parquet.KeyValueMetadata("m365export.table", k.connector+"/"+k.collection),
		parquet.KeyValueMetadata("m365export.schema_version", strconv.Itoa(c.version)),
	}
	if o.Compat {
		opts = append(opts, parquet.DataPageVersion(1), parquet.DefaultEncodingFor(parquet.ByteArray, &parquet.Plain))
	}
	w := &writer{
		ctx:  ctx,
		s:    s,
		k:    k,
		c:    c,
		d:    newDecoder(c),
		opts: opts,
		work: make(chan *batch, batches),
		free: make(chan *batch, batches),
		done: make(chan struct{}),
	}
	// What an open writer holds whatever its records: its batches'
	// buffers once grown, the row groups' column buffers, the file's
	// writers. Given back by Close.
	s.opts.Budget.Take(WriterOpenCost)
	w.cur = w.newBatch()
	for range batches - 1 {
		w.free <- w.newBatch()
	}
	go w.run()
	return w
}

// batchBufs are a batch's buffers, kept by the Sink as spares (see run).
type batchBufs struct {
	rows  []parquet.Row
	vals  []parquet.Value
	arena []byte
}

// spareBatches bounds the spare batch buffers a Sink keeps: about 6 MiB
// the byte budget does not see. Measured on 10 shared mailboxes × 30 days
// under 192MiB: without spares, batches regrowing their arenas from
// nothing cost about 5 % of the run's CPU.
const spareBatches = 4

// takeSpare gives the empty batch b a spare's buffers, if the Sink has
// one whose values hold a batch of nLeaves columns.
func (s *Sink) takeSpare(b *batch, nLeaves int) {
	select {
	case sp := <-s.spares:
		if cap(sp.vals) >= batchValues+4*nLeaves {
			b.rows, b.vals, b.arena = sp.rows[:0], sp.vals[:0], sp.arena[:0]
		}
	default:
	}
}

// newBatch makes an empty batch; its buffers grow with use (up to about
// batchRows rows and arenaBytes of JSON), so that a writer of a small
// partition stays small.
func (w *writer) newBatch() *batch {
	return &batch{}
}

// Write decodes rec into one row. A record that does not fit the schema
// returns an error wrapping an *sinks.InvalidRecordError (ErrInvalidRecord)
// and is skipped; any other error is final and Close must still be called.
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
	b := w.cur
	if len(b.arena)+len(rec.JSON)+len(rec.Owner)+len(rec.RunID) > arenaBytes && len(b.rows) > 0 {
		if err := w.send(false); err != nil {
			return err
		}
		b = w.cur
	}
	// One arena per batch holds the record's JSON, its unescaped strings
	// and the sink's columns.
	d, c := w.d, w.c
	if b.vals == nil {
		w.s.takeSpare(b, c.nLeaves)
	}
	start := len(b.arena)
	d.arena = append(b.arena, rec.JSON...)
	data := d.arena[start:len(d.arena):len(d.arena)]
	if err := d.decode(data); err != nil {
		b.arena = d.arena[:start]
		return fmt.Errorf("%s: record %q (#%d): %w", w.k.collection, recordID(rec.JSON), w.records, invalidRecord(err))
	}
	w.records++
	w.meta(c.owner, rec.Owner)
	w.meta(c.runID, rec.RunID)
	if !rec.ExportedAt.IsZero() {
		d.cols[c.exptAt] = append(d.cols[c.exptAt], parquet.Int64Value(rec.ExportedAt.UnixMicro()).Level(0, 1, c.exptAt))
	} else {
		d.cols[c.exptAt] = append(d.cols[c.exptAt], parquet.Value{}.Level(0, 0, c.exptAt))
	}
	if len(d.extra) > 0 {
		d.extra = append(d.extra, '}')
		appendMeta(d, c.extra, d.extra)
	} else {
		d.cols[c.extra] = append(d.cols[c.extra], parquet.Value{}.Level(0, 0, c.extra))
	}
	b.arena = d.arena
	if b.vals == nil {
		// Sized once so that rows never point into an outgrown array.
		b.vals = make([]parquet.Value, 0, batchValues+4*c.nLeaves)
		b.rows = make([]parquet.Row, 0, batchRows)
	}
	r := len(b.vals)
	for i := range d.cols {
		b.vals = append(b.vals, d.cols[i]...)
	}
	b.rows = append(b.rows, parquet.Row(b.vals[r:len(b.vals):len(b.vals)]))
	w.groupRows++
	w.groupBytes += int64(len(rec.JSON))
	total := w.s.buffered.Add(int64(len(rec.JSON)))
	o := &w.s.opts
	cost := writerFactor * int64(len(rec.JSON)+len(rec.Owner)+len(rec.RunID))
	fits := o.Budget.Take(cost)
	w.held += cost
	if w.groupRows >= o.RowGroupRows || w.groupBytes >= o.RowGroupBytes ||
		(total > o.BufferBytes && w.groupBytes >= o.RowGroupBytes/8) ||
		((!fits || o.Budget.Short()) && w.groupBytes >= o.RowGroupBytes/8) {
		// Full, or the Sink's writers together hold more than
		// BufferBytes (a window of many days opens a writer per day), or
		// the process's byte budget is short: end the group early,
		// unless it is small. Under a budget the floor is 1/8 of a
		// group, as for BufferBytes: at 1/32 a 30-day backfill under
		// 192MiB (the budget always short) wrote groups of 180 records,
		// 391 files and 521 MB where a run without a limit wrote 312 MB;
		// at 1/8, groups of 720 records, 113 files, 334 MB, and less
		// CPU (60 against 67–75 CPU-s: a tenth as many groups to encode),
		// at the same peak RSS. At 1/4 pages waited on the budget and the
		// run took a third longer.
		w.endBuffered()
		return w.send(true)
	}
	if len(b.rows) >= batchRows || len(b.vals) >= batchValues {
		return w.send(false)
	}
	return nil
}

// maxGroupsPerFile rolls a writer with a byte budget to its next file
// after this many row groups: small groups, ended early under memory
// pressure, would otherwise pile up metadata in memory until the file
// reached TargetFileSize.
const maxGroupsPerFile = 32

// WriterOpenCost is what an open writer takes from the byte budget
// besides its group filling (see newWriter): measured with a heap
// profile of a 30-day outlook-mail export, 31 writers open, about 4 MiB
// each (batches, column buffers, the row group being committed). A
// caller that bounds its open writers (pipeline.Job.MaxOpenWriters)
// sizes the bound with it.
const WriterOpenCost = 4 << 20

// writerFactor is what a writer holds per byte of record JSON in the
// group filling: the JSON in the batch's arena, the decoded values that
// point into it, and the row group's column buffers.
const writerFactor = 3

// endBuffered gives back what the group filling held, in the Sink's
// count and in the byte budget: the group is handed to the worker.
func (w *writer) endBuffered() {
	w.s.buffered.Add(-w.groupBytes)
	w.s.opts.Budget.Put(w.held)
	w.groupRows, w.groupBytes, w.held = 0, 0, 0
}

// meta appends a string value of one of the sink's columns, copied into
// the arena ("" is null).
func (w *writer) meta(leaf int, s string) { appendMeta(w.d, leaf, s) }

func appendMeta[T string | []byte](d *decoder, leaf int, s T) {
	if len(s) == 0 {
		d.cols[leaf] = append(d.cols[leaf], parquet.Value{}.Level(0, 0, leaf))
		return
	}
	o := len(d.arena)
	d.arena = append(d.arena, s...)
	d.cols[leaf] = append(d.cols[leaf], parquet.ByteArrayValue(d.arena[o:len(d.arena):len(d.arena)]).Level(0, 1, leaf))
}

// send queues the current batch for the worker and takes a free one.
func (w *writer) send(flush bool) error {
	w.cur.flush = flush
	w.work <- w.cur
	w.cur = <-w.free
	if err := w.werr.Load(); err != nil {
		w.err = *err
		return w.err
	}
	return nil
}

// run is the worker: it writes batches until work is closed. After an
// error it only recycles batches.
func (w *writer) run() {
	defer close(w.done)
	for b := range w.work {
		if w.werr.Load() == nil {
			if err := w.writeBatch(b); err != nil {
				w.werr.Store(&err)
			}
		}
		b.rows, b.vals, b.arena, b.flush = b.rows[:0], b.vals[:0], b.arena[:0], false
		if w.s.opts.Budget.Short() {
			// A batch keeps its grown buffers (about 1.4 MiB) for the next
			// one; with a writer per day open that is what the budget
			// cannot see, so when it is short they go to the Sink's few
			// spares (the next batch to start, of any writer, takes
			// them rather than growing its own again) or to the collector.
			select {
			case w.s.spares <- batchBufs{b.rows, b.vals, b.arena}:
			default:
			}
			b.rows, b.vals, b.arena = nil, nil, nil
		}
		w.free <- b
	}
}

func (w *writer) writeBatch(b *batch) error {
	if len(b.rows) > 0 {
		if w.pw == nil {
			if err := w.openFile(); err != nil {
				return err
			}
		}
		if _, err := w.rgs[w.rg].WriteRows(b.rows); err != nil {
			return fmt.Errorf("write rows of %s: %w", w.file.staging, err)
		}
		w.file.rows += int64(len(b.rows))
		w.rgRows += int64(len(b.rows))
	}
	if b.flush && w.pw != nil && w.rgRows > 0 {
		return w.endGroup()
	}
	return nil
}

// endGroup hands the full row group to a committer goroutine and switches
// to the other one. Once the committed part of the file reaches the target
// size, it commits the group in place and closes the file instead.
func (w *writer) endGroup() error {
	if err := w.waitCommit(); err != nil {
		return err
	}
	w.fileGroups++
	if w.pw.Size() >= w.s.opts.TargetFileSize || (w.s.opts.Budget != nil && w.fileGroups >= maxGroupsPerFile) {
		return w.closeFile()
	}
	rg := w.rgs[w.rg]
	w.pending = make(chan error, 1)
	go func(ch chan<- error) {
		_, err := rg.Commit()
		ch <- err
	}(w.pending)
	w.rg = 1 - w.rg
	w.rgRows = 0
	return nil
}

// waitCommit waits for the row group being committed, if any.
func (w *writer) waitCommit() error {
	if w.pending == nil {
		return nil
	}
	err := <-w.pending
	w.pending = nil
	if err != nil {
		return fmt.Errorf("write row group of %s: %w", w.file.staging, err)
	}
	return nil
}

func (w *writer) openFile() error {
	seq := w.s.nextSeq(w.k)
	w.file = stagedFile{
		staging: w.s.stagingDir(w.k) + fmt.Sprintf("part-%d-%d.%s.tmp", w.k.shard, seq, w.s.token),
		name:    fmt.Sprintf("part-%d-%d.parquet", w.k.shard, seq),
	}
	ctx, cancel := context.WithCancel(w.ctx)
	bw, err := w.s.bucket.NewWriter(ctx, w.file.staging, &blob.WriterOptions{
		ContentType: "application/vnd.apache.parquet",
		BeforeWrite: w.s.opts.BeforeWrite,
		// Bound what an upload buffers (see Sink.upload): the defaults,
		// 16 MiB GCS chunks and five S3 parts, would cost 16–40 MiB per
		// open writer.
		BufferSize:     w.s.upload.buffer,
		MaxConcurrency: w.s.upload.inFlight,
	})
	if err != nil {
		cancel()
		return fmt.Errorf("open staged file: %w", err) // blob names the key
	}
	// The upload's buffers are held from here until the file is done.
	w.uploadHeld = w.s.upload.cost
	w.s.opts.Budget.Take(w.uploadHeld)
	w.bw, w.bwCancel = bw, cancel
	w.aw = newAsyncWriter(bw)
	// A new parquet writer per file: in parquet-go v0.32 Reset after Close
	// keeps writing to the previous output.
	w.pw = parquet.NewGenericWriter[any](w.aw, w.opts...)
	w.rgs = [2]*parquet.ConcurrentRowGroupWriter{w.pw.BeginRowGroup(), w.pw.BeginRowGroup()}
	w.rg, w.rgRows, w.fileGroups = 0, 0, 0
	w.s.opts.Logger.Debug("parquet file opened", "collection", w.k.collection, "dt", w.k.day, "shard", w.k.shard, "seq", seq)
	return nil
}

// closeFile writes the footer and completes the staged object.
func (w *writer) closeFile() error {
	if w.bw == nil {
		return nil
	}
	err := w.waitCommit()
	if err == nil && w.rgRows > 0 {
		_, err = w.rgs[w.rg].Commit()
		w.rgRows = 0
	}
	if err == nil {
		err = w.pw.Close()
	}
	if aerr := w.aw.Close(); err == nil {
		err = aerr
	}
	bw, cancel := w.bw, w.bwCancel
	w.bw, w.bwCancel, w.pw = nil, nil, nil
	defer w.putUpload()
	if err != nil {
		cancel()       // abort the upload: nothing of this file becomes an object
		_ = bw.Close() // fails as cancelled; err says what went wrong
		return fmt.Errorf("finish %s: %w", w.file.staging, err)
	}
	err = bw.Close()
	cancel()
	if err != nil {
		return fmt.Errorf("upload staged file: %w", err) // blob names the key
	}
	w.file.bytes = w.aw.n
	w.file.sha256 = hex.EncodeToString(w.aw.sum.Sum(nil))
	w.files = append(w.files, w.file)
	w.s.opts.Logger.Debug("parquet file staged", "collection", w.k.collection, "dt", w.k.day, "shard", w.k.shard, "name", w.file.name, "rows", w.file.rows, "bytes", w.file.bytes)
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
	w.endBuffered()
	// The writer's own memory is held until its last file is done.
	defer w.s.opts.Budget.Put(WriterOpenCost)
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.err = fmt.Errorf("close %s dt=%s: %w", w.k.collection, w.k.day, err)
		}
	}
	if w.err == nil && len(w.cur.rows) > 0 {
		w.cur.flush = true
		w.work <- w.cur
		w.cur = nil
	}
	close(w.work)
	<-w.done
	if w.err == nil {
		if err := w.werr.Load(); err != nil {
			w.err = *err
		}
	}
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.err = fmt.Errorf("close %s dt=%s: %w", w.k.collection, w.k.day, err)
		}
	}
	if w.err == nil {
		if err := w.closeFile(); err != nil {
			w.err = fmt.Errorf("close %s dt=%s: %w", w.k.collection, w.k.day, err)
		}
	}
	if w.err != nil {
		w.abort()
		w.s.finish(w.k, nil, false)
		return w.err
	}
	w.s.finish(w.k, w.files, true)
	return nil
}

// putUpload gives back what the open file's upload took from the budget.
func (w *writer) putUpload() {
	w.s.opts.Budget.Put(w.uploadHeld)
	w.uploadHeld = 0
}

func (w *writer) abort() {
	if w.bw != nil {
		// Cancel the upload first so that nothing below waits on it. The
		// writer already failed (w.err); these only release what it holds,
		// and their errors are those of the cancelled upload.
		w.bwCancel()
		_ = w.waitCommit()
		_ = w.aw.Close()
		_ = w.bw.Close()
		w.bw, w.bwCancel, w.pw = nil, nil, nil
		w.putUpload()
	}
	// Delete what this writer staged, including the file in flight: an
	// upload cancelled while completing may still have created it.
	ctx := context.WithoutCancel(w.ctx)
	keys := make([]string, 0, len(w.files)+1)
	for _, f := range w.files {
		keys = append(keys, f.staging)
	}
	if w.file.staging != "" && (len(w.files) == 0 || w.files[len(w.files)-1].staging != w.file.staging) {
		keys = append(keys, w.file.staging)
	}
	if err := w.s.deleteQuietly(ctx, keys...); err != nil {
		w.s.opts.Logger.Warn("staged file left behind", "collection", w.k.collection, "dt", w.k.day, "err", err)
	}
	w.files = nil
}
