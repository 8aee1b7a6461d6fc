package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"m365export/internal/membudget"
	"m365export/sinks"
	"m365export/sources"
)

// writerSet holds the open writers of one collection, one per day. With
// a bound (Job.MaxOpenWriters), opening a day's writer when the bound is
// reached first closes the least recently written one: its records are in
// finished staged files of its partition, which the Sink keeps for Commit
// (and Staged lists for a checkpoint), and a later record of that day
// opens a new writer that stages the partition's next part. So a window of
// many days holds the memory of a few writers, not of one per day.
type writerSet struct {
	sink  sinks.Sink
	table sinks.Table
	max   int // open writers at most (0: no bound)
	mu    sync.Mutex
	w     map[string]*lockedWriter
	tick  uint64 // counts writes, for least recently used
	// opened holds every dt a writer was opened for, closed since or
	// not: the days that may have staged files.
	opened map[string]bool
	// closing counts writers being closed to keep within max: their
	// slots are still taken. freed (on mu) is signalled when one is done.
	closing int
	freed   *sync.Cond
	// evicted counts writers closed to keep within max.
	evicted int64
	counts  map[string]int // dt → records, over the whole collection
	// rejected is dt → records rejected, over the whole collection; ""
	// holds those whose time could not be read.
	rejected map[string]Reasons
}

type lockedWriter struct {
	mu     sync.Mutex
	w      sinks.RecordWriter
	closed bool   // under mu: closed to keep within the bound; look it up again
	used   uint64 // under writerSet.mu: the tick of its last write
}

// write writes rec to day dt's writer, opening it with ctx (the
// collection's writer context, which aborts the writers when cancelled)
// if it is not open yet.
func (ws *writerSet) write(ctx context.Context, dt string, rec sinks.Record) error {
	for {
		lw, evict, err := ws.writer(ctx, dt)
		if err != nil {
			return err
		}
		if evict != nil {
			// Closed outside ws.mu, so that other days' writes go on
			// while Close finishes the file (its footer, its upload);
			// its slot stays taken until then.
			evict.mu.Lock()
			evict.closed = true
			err := evict.w.Close()
			evict.mu.Unlock()
			ws.mu.Lock()
			ws.closing--
			ws.freed.Broadcast()
			ws.mu.Unlock()
			if err != nil {
				return err // the sink names the collection and dt
			}
			continue
		}
		lw.mu.Lock()
		if lw.closed {
			lw.mu.Unlock()
			continue // closed after the look-up: open the day again
		}
		err = lw.w.Write(rec)
		lw.mu.Unlock()
		if err == nil {
			ws.mu.Lock()
			ws.counts[dt]++
			ws.mu.Unlock()
		}
		return err
	}
}

// writer returns day dt's open writer, opening it if a slot is free. If
// none is, it returns instead the least recently written writer, which
// the caller must close (its slot is taken until then) before asking
// again. It waits only while every slot is held by a writer being closed.
func (ws *writerSet) writer(ctx context.Context, dt string) (lw, evict *lockedWriter, err error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for {
		ws.tick++
		if lw, ok := ws.w[dt]; ok {
			lw.used = ws.tick
			return lw, nil, nil
		}
		if ws.max <= 0 || len(ws.w)+ws.closing < ws.max {
			break
		}
		if len(ws.w) == 0 {
			ws.freed.Wait()
			continue
		}
		var lruDay string
		for d, o := range ws.w {
			if evict == nil || o.used < evict.used {
				evict, lruDay = o, d
			}
		}
		delete(ws.w, lruDay)
		ws.closing++
		ws.evicted++
		return nil, evict, nil
	}
	w, err := ws.sink.NewWriter(ctx, ws.table, dt)
	if err != nil {
		return nil, nil, err // the sink names the collection and dt
	}
	lw = &lockedWriter{w: w, used: ws.tick}
	ws.w[dt] = lw
	ws.opened[dt] = true
	return lw, nil, nil
}

// reject counts a rejected record of day dt ("": no day).
func (ws *writerSet) reject(dt, reason string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.rejected[dt] == nil {
		ws.rejected[dt] = Reasons{}
	}
	ws.rejected[dt][reason]++
}

// closeAll closes every writer (the first error wins) and forgets them:
// the next write opens new ones.
func (ws *writerSet) closeAll() error {
	var first error
	for _, lw := range ws.w {
		if err := lw.w.Close(); err != nil && first == nil {
			first = err // the sink names the collection and dt
		}
	}
	ws.w = map[string]*lockedWriter{}
	return first
}

// seenSet holds the hashed deduplication keys of records already written.
type seenSet struct {
	mu sync.Mutex
	m  map[dedupeKey]struct{}
}

// add reports whether k is new.
func (s *seenSet) add(k dedupeKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[k]; dup {
		return false
	}
	s.m[k] = struct{}{}
	return true
}

// collectionRun is one collection of one run in progress.
type collectionRun struct {
	job     *Job
	c       Collection
	log     *slog.Logger
	ledger  *ledgerPart
	ws      *writerSet
	seen    *seenSet
	resumer sinks.Resumer // nil: no checkpoints
	// days holds every dt that has staged files (written or adopted).
	days map[string]bool
	// kept is, by dt, the staged files the last checkpoint saved (or
	// resumed from) names: an abandoned collection keeps them.
	kept map[string][]sinks.StagedFile
	// gone are owners an earlier attempt finished that are no longer
	// listed (deleted since): their records are in adopted files.
	gone []OwnerProgress

	allSet               map[string]struct{}
	timePath, senderPath []string
	keyPaths             [][]string
	exportedAt           time.Time
	firstFail            atomic.Pointer[error]
	// denied holds the codes of errors that wrapped sources.ErrDenied
	// (the source classified them as a refusal of access), with the
	// source's advice.
	denied  sync.Map      // code → advice string
	drained time.Duration // the last segment's drain
	// segStart is when the segment being read started (zero: none yet);
	// a segment goes on across parts of the window.
	segStart time.Time
	// warned counts the rejected records logged: after maxRejectWarnings
	// they are only counted.
	warned atomic.Int64
	// pageBytes is the recent maximum of the collection's page bodies
	// (0: none read yet): what a page about to be fetched may be.
	pageBytes atomic.Int64
	// parts are the parts of the window read one after the other (see
	// planParts): the whole window, or runs of days the writer bound
	// holds.
	parts []Window
	// upto is, by owner, the time up to which the owner's records were
	// read (zero: none), when the window is read in parts or an earlier
	// attempt read it so; nil otherwise.
	upto []time.Time
}

// planParts cuts the window into parts of Job.MaxOpenWriters days when it
// has more days than that and the source can read a part of it
// (sources.Narrower): reading every owner over one part before the next
// keeps the writers of a part's days open until the part is read, where
// owners started in waves, or read at once at their own pace, or whose
// pages are not in time order (chat messages), are spread over the whole
// window and close and reopen writers constantly (a file per reopening).
// Parts were once skipped when every owner is read at once; the demo
// tenant (25 users, 7 days, 4 writers under the default limit) then wrote
// 953 files for 1,637 chat messages. Part boundaries are UTC midnights.
func (cr *collectionRun) planParts() {
	job := cr.job
	cr.parts = []Window{job.Window}
	if job.MaxOpenWriters <= 0 || cr.c.TimeField == "" {
		return
	}
	days := job.Window.Days()
	if len(days) <= job.MaxOpenWriters {
		return
	}
	if _, ok := cr.narrowed(job.Window.From, job.Window.To); !ok {
		return
	}
	cr.parts = cr.parts[:0]
	from := job.Window.From
	for k := job.MaxOpenWriters; k < len(days); k += job.MaxOpenWriters {
		to, err := time.Parse("2006-01-02", days[k])
		if err != nil {
			panic(err) // Window.Days formats them so
		}
		cr.parts = append(cr.parts, Window{From: from, To: to})
		from = to
	}
	cr.parts = append(cr.parts, Window{From: from, To: job.Window.To})
	if cr.upto == nil {
		cr.upto = make([]time.Time, cr.ledger.owners.Len())
	}
}

// narrowed returns the collection's source narrowed to [from, to), if it
// can be (sources.Narrower).
func (cr *collectionRun) narrowed(from, to time.Time) (sources.Source, bool) {
	n, ok := cr.c.Source.(sources.Narrower)
	if !ok {
		return nil, false
	}
	return n.Within(from, to)
}

// pending reports whether owner i has records of part win left to read.
func (cr *collectionRun) pending(i int, win Window) bool {
	if cr.ledger.out[i].status != stCancelled {
		return false // done, by this attempt or an earlier one
	}
	return cr.upto == nil || cr.upto[i].Before(win.To)
}

// pageFactor is what a page in flight costs per byte of its body: the
// body, the sanitizer's parse of it (some 4.5 bytes a byte), the
// sanitized records and the slices that pair them with the raw ones
// (measured with a heap profile of 32 full message pages in flight: 35.6
// MB of bodies held 211 MB in SanitizePage, so about 7).
const pageFactor = 7

// pagesInFlight is how many pages of the size MaxPageBytes gives fill
// the pages' share of the byte budget.
const pagesInFlight = 8

// MaxPageBytes is the body size a page should stay under so that
// pagesInFlight of them fit in the pages' share of budget b (what a
// source lowers its page size to, such as graph.Collection.PageBytes);
// 0 without a budget.
func MaxPageBytes(b *membudget.Budget) int64 {
	return int64(float64(b.Total())*membudget.AcquireShare) / pagesInFlight / pageFactor
}

// PageCost is the bytes of the byte budget a page of bodyLen bytes holds
// while it is parsed, sanitized and written.
func PageCost(bodyLen int) int64 { return pageFactor * int64(max(bodyLen, 1)) }

// pageEstimate is what the next page of the collection is expected to
// cost: the largest recent page's cost, or, before any page was read, a
// page of MaxPageBytes (the first pages are not yet lowered to it).
func (cr *collectionRun) pageEstimate() int64 {
	if b := cr.pageBytes.Load(); b > 0 {
		return PageCost(int(b))
	}
	if m := MaxPageBytes(cr.job.Budget); m > 0 {
		return PageCost(int(m))
	}
	return PageCost(256 << 10)
}

// observePage folds a page's size into the recent maximum, which decays by
// a sixteenth a page: an owner's last, short page does not make the next
// full one look small, and one huge page does not hold the estimate up
// for long.
func (cr *collectionRun) observePage(n int) {
	for {
		old := cr.pageBytes.Load()
		next := max(int64(n), old-old/16)
		if cr.pageBytes.CompareAndSwap(old, next) {
			return
		}
	}
}

// maxRejectWarnings bounds the warnings about rejected records per
// collection (a field that is malformed in every record must not flood
// the log); the summary counts them all.
const maxRejectWarnings = 100

func runCollection(ctx context.Context, job *Job, c Collection, log *slog.Logger) (CollectionSummary, *ledgerPart, error) {
	cs := CollectionSummary{Name: c.Name, Partitions: map[string]int{}}
	all, err := c.Source.Partitions(ctx)
	if err != nil {
		return cs, nil, fmt.Errorf("list owners: %w", err)
	}
	nAll := len(all)
	cr := &collectionRun{job: job, c: c, log: log, seen: &seenSet{m: map[dedupeKey]struct{}{}}, days: map[string]bool{},
		exportedAt: job.Now().UTC().Truncate(time.Microsecond)}
	var owners []string
	if c.SenderField != "" {
		cr.allSet = make(map[string]struct{}, len(all))
		cr.senderPath = strings.Split(c.SenderField, ".")
	}
	for _, o := range all {
		if cr.allSet != nil {
			cr.allSet[o] = struct{}{}
		}
		if c.OwnShard || InShard(o, job.Shard, job.Shards) {
			owners = append(owners, o)
		}
	}
	sort.Strings(owners)
	// Collections of one connector mostly share their owners (mail and
	// mailbox settings): share the compact list too.
	ids := job.lastOwners
	if ids == nil || !ids.Equal(owners) {
		ids = sources.CompactIDs(owners)
		job.lastOwners = ids
	}
	// The compact list is what stays: owners and all are dead from here
	// on, which the garbage collector knows without setting them to nil.
	if c.TimeField != "" {
		cr.timePath = strings.Split(c.TimeField, ".")
	}
	for _, k := range c.DedupeKey {
		cr.keyPaths = append(cr.keyPaths, strings.Split(k, "."))
	}
	// Every owner is in the ledger, also those the run never reached.
	cr.ledger = &ledgerPart{collection: c.Name, owners: ids, out: make([]outcome, ids.Len()), ownerID: c.ownerID(job)}
	cs.Owners = ids.Len()
	job.Progress.OwnersTotal.Add(int64(ids.Len()))
	log.Info("collection started", "owners", ids.Len(), "owners_all_shards", nAll)
	budget0 := job.Budget.Stats()

	// The writers get their own context: cancelling the run aborts them,
	// and an error before commit cancels them so nothing becomes visible.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	cr.ws = &writerSet{sink: job.Sink, table: c.Table, max: job.MaxOpenWriters, w: map[string]*lockedWriter{}, opened: map[string]bool{}, counts: map[string]int{}, rejected: map[string]Reasons{}}
	cr.ws.freed = sync.NewCond(&cr.ws.mu)
	abort := func(err error) (CollectionSummary, *ledgerPart, error) {
		wcancel()
		// The writers were cancelled, so Close fails; err says why.
		_ = cr.ws.closeAll()
		cr.discard(ctx)
		return cs, cr.ledger, err
	}
	if job.Checkpoints != nil {
		cr.resumer, _ = job.Sink.(sinks.Resumer)
	}
	if cr.resumer != nil {
		n, err := cr.resume(ctx)
		if err != nil {
			return abort(err)
		}
		cs.FromCheckpoint = n
	}
	cr.planParts()
	if len(cr.parts) > 1 {
		log.Info("reading the window in parts the open writers hold", "parts", len(cr.parts), "days_per_part", job.MaxOpenWriters)
	}
	if err := cr.readOwners(ctx, wctx); err != nil {
		return abort(err)
	}
	if err := ctx.Err(); err != nil {
		return abort(err)
	}
	for i := range cr.ledger.out {
		o := &cr.ledger.out[i]
		cs.Records += o.records
		switch o.status {
		case stOK:
			cs.OK++
		case stSkipped:
			cs.Skipped++
		case stFailed:
			cs.Failed++
		}
	}
	for _, o := range cr.gone {
		cs.Records += o.Records
	}
	for _, r := range cr.ws.rejected {
		cs.RejectedReasons = cs.RejectedReasons.add(r)
	}
	cs.Rejected = cs.RejectedReasons.Total()
	if cs.Failed > 0 && cs.OK == 0 {
		// Not one owner could be read: the job is broken (a bad query, an
		// outage), not a few owners; fail rather than commit nothing.
		err := errors.New("no owner could be read")
		if p := cr.firstFail.Load(); p != nil {
			err = *p
		}
		return abort(fmt.Errorf("all %d owners failed (%d skipped), the first: %w", cs.Failed, cs.Skipped, err))
	}
	if err := allDenied(cr.ledger.out, &cr.denied); err != nil {
		return abort(err)
	}
	if err := cr.ws.closeAll(); err != nil {
		return cs, cr.ledger, err
	}
	days := []string{job.SnapshotDay}
	if c.TimeField != "" {
		days = job.Window.Days()
	}
	for dt, n := range cr.ws.counts {
		cs.Partitions[dt] = n
	}
	if job.Committer != nil {
		base := job.Manifest
		base.RunID, base.Window, base.Shards = job.RunID, job.Window, job.Shards
		for _, dt := range days {
			m := base
			if r := cr.ws.rejected[dt]; len(r) > 0 {
				m.Rejected, m.RejectedReasons = r.Total(), r
			}
			if err := job.Committer.Commit(ctx, c.Table, dt, m); err != nil {
				return cs, cr.ledger, err // the sink names the collection and dt
			}
		}
	}
	cs.Committed = true
	if job.Checkpoints != nil {
		if err := job.Checkpoints.DeleteCheckpoint(ctx, c.Name); err != nil {
			log.Warn("could not delete the collection's checkpoint (a later attempt of this run ignores it)", "error", err)
		}
	}
	logBudget(log, job.Budget, budget0)
	log.Info("collection committed", "records", cs.Records, "writers_closed_early", cr.ws.evicted, "ok", cs.OK, "skipped", cs.Skipped, "failed", cs.Failed, "rejected", cs.Rejected)
	if cs.Rejected > 0 && cs.Records == 0 {
		log.Warn("every record was rejected: check the table's schema and the collection's time field", "rejected", cs.Rejected)
	}
	return cs, cr.ledger, nil
}

// readOwners reads every owner not done yet over each part of the window
// in turn (all owners of a part before the next part), in segments of
// about Job.CheckpointEvery with a checkpoint between two segments.
// Writers are opened with wctx, which outlives the segments.
func (cr *collectionRun) readOwners(ctx, wctx context.Context) error {
	for k, win := range cr.parts {
		if err := cr.readPart(ctx, wctx, win); err != nil {
			return err
		}
		if k < len(cr.parts)-1 {
			// The part's days get no more records: close their writers
			// now (no owner is in flight), or the next part finds every
			// slot taken and evicts them one at a time while its own
			// days' writers, a slot or two between them, evict each
			// other (measured on the demo tenant: 20 writers closed
			// early and up to 6 files a day in a 3-day part).
			if err := cr.ws.closeAll(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPart reads every owner not done yet over part win of the window.
func (cr *collectionRun) readPart(ctx, wctx context.Context, win Window) error {
	job, n := cr.job, cr.ledger.owners.Len()
	every := job.CheckpointEvery
	if cr.resumer == nil {
		every = 0
	}
	next := 0
	for {
		if cr.segStart.IsZero() {
			cr.segStart = time.Now()
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(job.Concurrency)
		dispatched := 0
		for ; next < n && gctx.Err() == nil; next++ {
			if !cr.pending(next, win) {
				continue // done by an earlier attempt, or not to be read further
			}
			if every > 0 && dispatched > 0 && time.Since(cr.segStart) >= every {
				break
			}
			dispatched++
			i := next
			g.Go(func() error { return cr.readOwner(gctx, wctx, i, win) })
		}
		drain := time.Now()
		if err := g.Wait(); err != nil {
			return err
		}
		if next >= n || ctx.Err() != nil {
			return ctx.Err()
		}
		// The time the last owners of the segment took while the other
		// workers waited: what a checkpoint costs (a mailbox that takes
		// minutes makes it dear; raise --checkpoint-every then).
		cr.drained = time.Since(drain)
		if err := cr.checkpoint(ctx); err != nil {
			return err
		}
		cr.segStart = time.Time{}
	}
}

// readOwner reads one owner's pages of part win of the window into the
// writers (opened with wctx) and records its outcome; it returns an error
// only when the whole run must stop. The owner is done once the window's
// last part is read.
func (cr *collectionRun) readOwner(ctx, wctx context.Context, i int, win Window) error {
	job, c, log := cr.job, cr.c, cr.log
	owner := cr.ledger.owners.At(i)
	e := &cr.ledger.out[i]
	ownerCol := c.ownerID(job)(owner)
	src := c.Source
	if cr.upto != nil && cr.upto[i].After(win.From) {
		win.From = cr.upto[i] // an earlier attempt read the owner so far
	}
	if !win.From.Equal(job.Window.From) || !win.To.Equal(job.Window.To) {
		// A part of the window; a source that cannot be narrowed (not
		// reading by parts, resuming an attempt that did) reads the
		// whole window and writePage keeps the part.
		if s, ok := cr.narrowed(win.From, win.To); ok {
			src = s
		}
	}
	last := win.To.Equal(job.Window.To)
	defer func() {
		if last || e.status != stCancelled {
			job.Progress.OwnersDone.Add(1)
		}
	}()
	reject := func(dt string, bad *sinks.InvalidRecordError) {
		reason := bad.Reason()
		cr.ws.reject(dt, reason)
		cr.ledger.reject(i, reason)
		switch n := cr.warned.Add(1); {
		case n <= maxRejectWarnings:
			log.Warn("record rejected: not written, the owner goes on", "owner", ownerCol, "page", e.pages, "field", bad.Field, "reason", reason)
		case n == maxRejectWarnings+1:
			log.Warn("more records rejected: counted in the summary, no longer logged")
		}
	}
	// The page about to be fetched waits for its estimated cost in the
	// byte budget, holding nothing else; once read it holds its real cost
	// until its records are in the writers.
	held := cr.pageEstimate()
	if err := job.Budget.Acquire(ctx, held); err != nil {
		e.status = stCancelled
		return err
	}
	defer func() { job.Budget.Release(held) }()
	for pg, err := range sources.Pages(ctx, src, owner, "") {
		if err != nil {
			if errors.Is(err, sources.ErrDenied) {
				cr.denied.Store(internCode(errorCode(err)), errorAdvice(err))
			}
			switch {
			case errors.Is(err, sources.ErrConfig):
				e.status, e.code = stFailed, internCode(errorCode(err))
				return err
			case ctx.Err() != nil:
				e.status = stCancelled
				return ctx.Err()
			case errors.Is(err, sources.ErrSkipOwner):
				e.status, e.code = stSkipped, internCode(errorCode(err))
				log.Info("owner skipped", "owner", ownerCol, "code", e.code.String())
			default:
				e.status, e.code = stFailed, internCode(errorCode(err))
				log.Warn("owner failed", "owner", ownerCol, "code", e.code.String(), "error", err)
				cr.firstFail.CompareAndSwap(nil, &err)
			}
			return nil
		}
		e.pages++
		job.Progress.Pages.Add(1)
		cost := PageCost(len(pg.Body))
		job.Budget.Resize(held, cost)
		held = cost
		cr.observePage(len(pg.Body))
		n, err := writePage(wctx, job, c, cr.ws, win, pg, ownerCol, owner, cr.allSet, cr.timePath, cr.senderPath, cr.keyPaths, cr.seen, cr.exportedAt, reject)
		e.records += n
		job.Progress.Records.Add(n)
		if err != nil {
			e.status = stCancelled
			return fmt.Errorf("owner %s page %d: %w", ownerCol, e.pages, err)
		}
		job.Budget.Release(held)
		held = 0
		if pg.Next != "" {
			est := cr.pageEstimate()
			if err := job.Budget.Acquire(ctx, est); err != nil {
				e.status = stCancelled
				return err
			}
			held = est
		}
	}
	if !last {
		cr.upto[i] = win.To // the owner's next part is still to read
		return nil
	}
	e.status = stOK
	return nil
}

// checkpoint closes the writers (no owner is in flight), so that every
// record of the owners done so far is in a staged file, and saves which.
// A checkpoint that cannot be saved is not fatal: a crash would redo more.
func (cr *collectionRun) checkpoint(ctx context.Context) error {
	job, c := cr.job, cr.c
	if err := cr.ws.closeAll(); err != nil {
		return err
	}
	for dt := range cr.ws.opened {
		cr.days[dt] = true
	}
	cp := &Checkpoint{RunID: job.RunID, Collection: c.Name, From: job.Window.From, To: job.Window.To,
		Saved: job.Now().UTC(), Files: map[string][]sinks.StagedFile{}, Counts: map[string]int{}}
	for _, dt := range sortedDays(cr.days) {
		if f := cr.resumer.Staged(c.Table, dt); len(f) > 0 {
			cp.Files[dt] = f
		}
	}
	for dt, n := range cr.ws.counts {
		cp.Counts[dt] = n
	}
	for dt, r := range cr.ws.rejected {
		if cp.Rejected == nil {
			cp.Rejected = map[string]Reasons{}
		}
		cp.Rejected[dt] = Reasons(nil).add(r)
	}
	for i := range cr.ledger.out {
		o := &cr.ledger.out[i]
		op := OwnerProgress{Key: OwnerKey(cr.ledger.owners.At(i)), Status: o.status.String(),
			Code: o.code.String(), Records: o.records, Pages: int64(o.pages), Rejected: cr.ledger.rejectedOf(i)}
		if o.status == stCancelled {
			if cr.upto == nil || !cr.upto[i].After(job.Window.From) {
				continue
			}
			// Read over some parts of the window, not all.
			upto := cr.upto[i]
			op.Status, op.Upto = stOK.String(), &upto
		}
		cp.Owners = append(cp.Owners, op)
	}
	cp.Owners = append(cp.Owners, cr.gone...)
	cr.seen.mu.Lock()
	for k := range cr.seen.m {
		cp.Seen = append(cp.Seen, k.String())
	}
	cr.seen.mu.Unlock()
	sort.Strings(cp.Seen)
	if err := job.Checkpoints.SaveCheckpoint(ctx, cp); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cr.log.Warn("checkpoint not saved: a crash would redo the owners read since the last one", "error", err)
		return nil
	}
	cr.kept = cp.Files
	cr.log.Info("checkpoint saved", "owners_done", len(cp.Owners), "days", len(cp.Files), "waited_for_owners_in_flight", cr.drained.Round(time.Millisecond).String())
	return nil
}

// resume continues from the collection's checkpoint, if an earlier
// attempt of this run saved one: the sink adopts the staged files and the
// owners it names are done.
func (cr *collectionRun) resume(ctx context.Context) (int, error) {
	job, c, log := cr.job, cr.c, cr.log
	cp, err := job.Checkpoints.LoadCheckpoint(ctx, c.Name)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		log.Warn("cannot read the collection's checkpoint: reading every owner", "error", err)
		return 0, nil
	}
	if cp == nil {
		return 0, nil
	}
	if !validCheckpoint(cp, job, c) {
		log.Info("ignoring a checkpoint of another run or window", "checkpoint_run_id", cp.RunID)
		return 0, nil
	}
	// Partitions are adopted in day order, the order they are committed
	// in: if the first adoption fails (the files were promoted and
	// removed by a commit the state did not record), nothing is adopted
	// and the collection is read afresh.
	for n, dt := range sortedDays(cp.Files) {
		if err := cr.resumer.Adopt(ctx, c.Table, dt, cp.Files[dt]); err != nil {
			if derr := job.Checkpoints.DeleteCheckpoint(ctx, c.Name); derr != nil {
				log.Warn("could not delete an unusable checkpoint", "error", derr)
			}
			if n == 0 {
				log.Warn("the checkpoint's staged files are gone: reading every owner", "error", err)
				return 0, nil
			}
			return 0, fmt.Errorf("resume from checkpoint (the next attempt starts afresh): %w", err)
		}
		cr.days[dt] = true
	}
	cr.kept = cp.Files
	for dt, n := range cp.Counts {
		cr.ws.counts[dt] += n
	}
	for dt, r := range cp.Rejected {
		cr.ws.rejected[dt] = cr.ws.rejected[dt].add(r)
	}
	for _, s := range cp.Seen {
		if k, ok := parseDedupeKey(s); ok {
			cr.seen.m[k] = struct{}{}
		}
	}
	idx := make(map[string]int, cr.ledger.owners.Len())
	for i := range cr.ledger.owners.Len() {
		idx[OwnerKey(cr.ledger.owners.At(i))] = i
	}
	var records int64
	done := 0
	for _, op := range cp.Owners {
		st, ok := parseStatus(op.Status)
		if !ok || st == stCancelled {
			return 0, fmt.Errorf("resume from checkpoint: owner status %q", op.Status)
		}
		records += op.Records
		i, listed := idx[op.Key]
		if !listed {
			cr.gone = append(cr.gone, op)
			continue
		}
		cr.ledger.out[i] = outcome{records: op.Records, pages: uint32(op.Pages), code: internCode(op.Code), status: st}
		cr.ledger.setRejected(i, op.Rejected)
		if op.Upto != nil && op.Upto.Before(job.Window.To) {
			// Read up to Upto: the owner goes on from there.
			if cr.upto == nil {
				cr.upto = make([]time.Time, cr.ledger.owners.Len())
			}
			cr.ledger.out[i].status, cr.upto[i] = stCancelled, *op.Upto
			continue
		}
		done++
	}
	job.Progress.OwnersDone.Add(int64(done))
	job.Progress.Records.Add(records)
	log.Info("resuming from a checkpoint", "owners_done", done, "owners_gone", len(cr.gone), "records", records, "saved", cp.Saved)
	return done, nil
}

// discard deletes, for an abandoned collection, the files its closed
// writers staged that no saved checkpoint names (writers closed to keep
// within Job.MaxOpenWriters, or at a checkpoint that was not saved): no
// later attempt can adopt them. Those a checkpoint names stay for the
// attempt that resumes from it. Deleting is best effort (a later Commit
// of the partition removes what is left), even though ctx was cancelled.
func (cr *collectionRun) discard(ctx context.Context) {
	d, ok := cr.job.Sink.(sinks.Discarder)
	if !ok {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for dt := range cr.ws.opened {
		cr.days[dt] = true
	}
	for _, dt := range sortedDays(cr.days) {
		if err := d.Discard(ctx, cr.c.Table, dt, cr.kept[dt]); err != nil {
			cr.log.Warn("staged files of an abandoned collection left behind (the next commit of the day removes them)", "dt", dt, "error", err)
		}
	}
}

// allDenied turns "access denied for every owner" into a configuration
// error: one mailbox may be blocked, all of them means missing permission.
// denied holds the codes the source classified as refusals, with the
// source's advice (owners restored from a checkpoint count by their code).
func allDenied(out []outcome, denied *sync.Map) error {
	if len(out) < 2 {
		return nil
	}
	for i := range out {
		if _, ok := denied.Load(out[i].code); out[i].status == stOK || !ok {
			return nil
		}
	}
	advice := "check the application's permissions and the Exchange application access policy"
	if v, _ := denied.Load(out[0].code); v != nil {
		if a, _ := v.(string); a != "" {
			advice = a
		}
	}
	return fmt.Errorf("%w: access denied for all %d owners (%s): %s", sources.ErrConfig, len(out), out[0].code, advice)
}

// logBudget says, with the figures, when the byte budget slowed the
// collection down: pages waited for memory instead of the process
// growing past its limit.
func logBudget(log *slog.Logger, b *membudget.Budget, before membudget.Stats) {
	s := b.Stats()
	waits, waited := s.Waits-before.Waits, s.Waited-before.Waited
	if waits == 0 && s.Oversize == before.Oversize {
		return
	}
	log.Info("memory budget: pages waited for memory rather than let the process outgrow --memory-limit; the run was slower for it (a larger limit would speed it up)",
		"budget_mib", s.Total>>20, "peak_mib", s.Peak>>20, "waits", waits, "pages_waited_total", waited.Round(time.Millisecond).String(),
		"pages_over_budget", s.Oversize-before.Oversize, "writer_overdraws", s.Overdraw-before.Overdraw)
}
