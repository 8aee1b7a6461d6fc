// Package parquetsink writes sanitized records as typed Parquet into a
// gocloud *blob.Bucket (S3, GCS, a local directory or memory), one table per
// collection, with an atomic commit per (collection, partition, shard).
//
// # Layout
//
//	{prefix}/{connector}/{collection}/dt=YYYY-MM-DD/part-{shard}-{seq}.parquet
//	{prefix}/{connector}/{collection}/dt=YYYY-MM-DD/_manifest-{shard}.json
//	{prefix}/{connector}/_staging/{collection}/dt=YYYY-MM-DD/part-{shard}-{seq}.{token}.tmp
//
// A writer writes its files under _staging, outside the collection's folder
// and with no .parquet suffix, so no glob reader (read_parquet('…/*/*.parquet'),
// a BigQuery or Athena external table on the collection's folder) sees them.
// Files are rolled at Options.TargetFileSize; seq numbers are deterministic
// (0, 1, … per partition and shard), so a re-run of the same window writes
// the same names.
//
// # Commit
//
// The caller, for each (table, partition) of its shard: opens one writer
// (NewWriter), writes every record, closes it, then calls Commit with a
// sinks.Manifest naming the run. Commit:
//
//  0. checks that every staged file exists (a commit that cannot promote
//     all of them fails before touching the partition);
//  1. copies each staged file to its final part-{shard}-{seq}.parquet name
//     (bucket.Copy, server-side; an existing part of that name is replaced
//     whole, never seen half-written);
//  2. writes _manifest-{shard}.json (run id, window, files with row counts,
//     byte sizes and sha256, schema version, rules hash, salt fingerprint,
//     exporter version, shard count);
//  3. deletes this shard's parts that the manifest does not name; shard 0
//     also deletes the parts and manifests of shard indices ≥ the shard
//     count (a re-run with fewer shards);
//  4. deletes this shard's staged files of the partition, including ones an
//     earlier, crashed run left behind.
//
// # Resume
//
// Sink implements sinks.Resumer. Staged lists the files closed writers
// (and Adopt) staged for a partition that no Commit promoted yet, in seq
// order; a caller records them at a checkpoint. A later Sink (another
// process, another token) hands them to Adopt, which checks that each is
// this shard's, lies in the partition's staging folder under its part
// name, exists and has the recorded size, and moves the partition's next
// seq past them; its Commit then promotes them in step 1 with its own
// files, and step 4 removes only what is left: staged files of crashed
// runs that nobody adopted. Adopt is refused while a writer of the
// partition is open, and Commit while an Adopt of it runs. Neither
// Close nor anything but Commit (and an aborting writer, of its own
// files) deletes a staged file.
//
// A run that fails or is cancelled before Commit leaves the committed
// partition as it was (its files sit in _staging only). Once step 1 has
// started, Commit runs to its end even if ctx is cancelled
// (context.WithoutCancel, bounded by Options.CommitTimeout), which keeps
// the window where a glob reader could see a mix of old and new parts down
// to a few server-side copies. Object stores have no multi-object rename,
// so that window cannot be closed: a process killed, or a store failing,
// inside it leaves parts of both runs (the manifest still names the
// previous run, so a reader that checks manifests and their sha256 sees
// it), and the next run of the window repairs the partition.
// A writer whose context is cancelled leaves no object at all.
//
// A partition that received no record gets no part file; its manifest lists
// no files, and committing it removes the parts of an earlier run.
//
// # Schema mapping
//
// Each sinks.Column becomes an optional Parquet column: String and JSON
// → BYTE_ARRAY (STRING), Int64 → INT64, Float64 → DOUBLE, Bool → BOOLEAN,
// Timestamp → INT64 TIMESTAMP(MICROS, isAdjustedToUTC), Struct → group,
// List → 3-level LIST, DateTimeTimeZone → group {dateTime STRING, timeZone
// STRING, utc TIMESTAMP}. Every row also has _owner, _run_id, _exported_at
// and _extra (a JSON object of the sanitized members the schema does not
// name, keyed by dotted path such as "newField", "from.emailAddress.name" or
// "toRecipients[0].emailAddress.name"; null members are dropped; _extra is
// null when nothing is left over).
//
// Conversions are strict: a value of the wrong JSON type for its column
// fails the record with ErrInvalidRecord, naming the collection, the field
// path and the record's id. Documented coercions: a number or boolean in a
// String column keeps its JSON text; date-times are truncated to
// microseconds and a date-time without an offset in a Timestamp column is
// taken as UTC; the utc member of a DateTimeTimeZone is null when its zone
// is neither UTC, an IANA name nor a known Windows zone name.
//
// # Performance and memory
//
// A writer decodes JSON straight into Parquet rows (no map, no
// interface values) on the caller's goroutine, while a worker goroutine
// encodes and compresses batches of rows, a row group's final pages are
// written by a third, and the output is hashed and uploaded by a fourth:
// on two cores, 1M sanitized sent-mail messages go from JSON to zstd
// Parquet on fileblob at about 250,000 records/s, 6.5 CPU-µs each, in
// about 125 MiB peak RSS for the whole benchmark process (BenchmarkParquet1M
// in jobs/tables). A writer holds at most two row groups (Options
// RowGroupBytes, RowGroupRows) plus about 4 MiB once its first file is
// open, and on S3 and GCS its upload's buffers (16 and 8 MiB; 5 and 2
// MiB with Options.Budget, which they are taken from while the file is
// open); Sink.WriterCost is the sum. The Sink is safe for concurrent use; a writer is not (one
// goroutine, or a lock, per writer).
//
// # Config
//
// Open takes a bucket URL: file:///abs/dir, mem://, s3://bucket/prefix?region=…
// (also endpoint, use_path_style, disable_https), gs://bucket/prefix. The
// package blank-imports fileblob, memblob, s3blob and gcsblob, so callers
// need not. A path after the bucket becomes a key prefix; so does gocloud's
// ?prefix= parameter. Options set file size, row groups, compression
// compatibility and logging; nil means defaults.
//
// # Errors
//
// An unknown scheme, a malformed URL, a missing or inaccessible bucket and
// an invalid schema wrap sinks.ErrConfig and are reported by Open or
// NewWriter before any object is written. A record that does not fit the
// schema wraps ErrInvalidRecord. S3 multipart uploads (files over 16 MiB)
// cancelled mid-write can leave an incomplete multipart upload: give the
// bucket an AbortIncompleteMultipartUpload lifecycle rule.
package parquetsink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs
	_ "gocloud.dev/blob/gcsblob"  // gs:// URLs
	_ "gocloud.dev/blob/memblob"  // mem:// URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// URLs
	"gocloud.dev/gcerrors"

	"m365export/internal/membudget"
	"m365export/sinks"
)

// Options configure a Sink; the zero value (or nil) means defaults.
type Options struct {
	// Logger receives Debug lines per file and Info lines per commit; nil
	// discards.
	Logger *slog.Logger
	// TargetFileSize rolls a writer to its next file once the current one
	// reaches it, checked after each row group (default 128 MiB).
	TargetFileSize int64
	// RowGroupRows bounds the rows of a row group (default 65536).
	RowGroupRows int64
	// RowGroupBytes ends a row group once this much record JSON went into
	// it, which bounds memory: a writer holds two row groups, one filling
	// and one being encoded (default 8 MiB, about 4,500 sent-mail
	// messages and 1–1.5 MiB of Parquet; measured: 16 MiB row groups
	// and a 64k-entry pseudonym cache held the 10k-user export's peak RSS
	// at 197 MiB, 8 MiB and 16k entries at 134 MiB, at the same speed).
	RowGroupBytes int64
	// BufferBytes bounds the record JSON that the Sink's writers hold
	// together in row groups still filling (default 3 × RowGroupBytes):
	// over it, a writer ends its group early (once it holds at least
	// RowGroupBytes/8), so that a window of many days, a writer per day,
	// needs no more memory than a few.
	BufferBytes int64
	// Budget is the process's byte budget: a writer takes from it what
	// its row group still filling holds (writerFactor bytes per byte of
	// record JSON) without ever waiting, and ends the group early, once
	// it holds at least RowGroupBytes/8, when the budget is short. nil:
	// only BufferBytes bounds the writers.
	Budget *membudget.Budget
	// PageBufferSize is the Parquet page buffer size (default 1 MiB).
	PageBufferSize int
	// Compat writes data page v1 and PLAIN strings for readers without
	// DELTA_LENGTH_BYTE_ARRAY (older Spark, Velox, Iceberg vectorized
	// readers); --parquet-compat.
	Compat bool
	// CreatedBy is the exporter version, written into each file's
	// created_by (default "m365export").
	CreatedBy string
	// BeforeWrite, if set, is handed to every blob writer (gocloud's
	// blob.WriterOptions.BeforeWrite), e.g. to set S3 server-side
	// encryption through As.
	BeforeWrite func(asFunc func(any) bool) error
	// CommitTimeout bounds a Commit once it started promoting files
	// (default 10 minutes).
	CommitTimeout time.Duration
	// Now is the clock for manifests (default time.Now).
	Now func() time.Time
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.TargetFileSize <= 0 {
		r.TargetFileSize = 128 << 20
	}
	if r.RowGroupRows <= 0 {
		r.RowGroupRows = 65536
	}
	if r.RowGroupBytes <= 0 {
		r.RowGroupBytes = 8 << 20
	}
	if r.BufferBytes <= 0 {
		r.BufferBytes = 3 * r.RowGroupBytes
	}
	if r.PageBufferSize <= 0 {
		r.PageBufferSize = 1 << 20
	}
	if r.CreatedBy == "" {
		r.CreatedBy = "m365export"
	}
	if r.CommitTimeout <= 0 {
		r.CommitTimeout = 10 * time.Minute
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Sink writes Parquet into a bucket. It implements sinks.Sink,
// sinks.Committer and sinks.Resumer and is safe for concurrent use.
type Sink struct {
	bucket *blob.Bucket
	owned  bool
	opts   Options
	token  string // distinguishes this process's staged files
	codec  *zstdCodec
	upload uploadSizes
	// buffered is the record JSON in row groups still filling, over all
	// writers (see Options.BufferBytes).
	buffered atomic.Int64
	// spares are batch buffers writers gave up when the budget was short
	// (see writer.run), for the next batch to start.
	spares chan batchBufs

	mu        sync.Mutex
	schemas   map[schemaKey]*compiled
	pending   map[partKey]*pendingPart
	committed map[partKey]bool
	isClosed  bool
}

var (
	_ sinks.Committer = (*Sink)(nil)
	_ sinks.Resumer   = (*Sink)(nil)
	_ sinks.Discarder = (*Sink)(nil)
)

type schemaKey struct {
	schema *sinks.Schema
	name   string
}

type partKey struct {
	connector, collection, day string
	shard                      int
}

// pendingPart is what writers staged for one partition and shard, waiting
// for Commit.
type pendingPart struct {
	files    []stagedFile
	nextSeq  int
	open     int // writers not yet closed
	adopting int // Adopt calls checking files; Commit is refused meanwhile
}

type stagedFile struct {
	staging string // staging key
	name    string // final base name
	rows    int64
	bytes   int64
	sha256  string
}

// Open opens the bucket at bucketURL and checks that it exists before any
// work. Errors that retrying cannot fix wrap sinks.ErrConfig. Close the Sink
// to close the bucket.
func Open(ctx context.Context, bucketURL string, opts *Options) (*Sink, error) {
	b, err := openBucket(ctx, bucketURL)
	if err != nil {
		return nil, err
	}
	s, err := New(b, opts)
	if err != nil {
		_ = b.Close() // nothing was written through b: err is the news
		return nil, err
	}
	s.owned = true
	return s, nil
}

func openBucket(ctx context.Context, bucketURL string) (*blob.Bucket, error) {
	u, err := url.Parse(bucketURL)
	if err != nil {
		return nil, fmt.Errorf("bucket URL: %w: %w", sinks.ErrConfig, err)
	}
	if u.Scheme == "" || !blob.DefaultURLMux().ValidBucketScheme(u.Scheme) {
		return nil, fmt.Errorf("bucket URL scheme %q: %w: want file, mem, s3 or gs", u.Scheme, sinks.ErrConfig)
	}
	prefix := ""
	if u.Scheme != "file" {
		prefix = strings.Trim(u.Path, "/")
		if prefix != "" {
			prefix += "/"
		}
		u.Path, u.RawPath = "", ""
		if u.Scheme != "mem" && u.Host == "" {
			return nil, fmt.Errorf("bucket URL %s: %w: no bucket name", redactURL(u), sinks.ErrConfig)
		}
	}
	b, err := blob.DefaultURLMux().OpenBucketURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w: %w", redactURL(u), sinks.ErrConfig, err)
	}
	ok, err := b.IsAccessible(ctx)
	if err == nil && !ok {
		err = fmt.Errorf("bucket %s does not exist: %w", redactURL(u), sinks.ErrConfig)
	} else if err != nil {
		switch gcerrors.Code(err) {
		case gcerrors.PermissionDenied, gcerrors.NotFound, gcerrors.InvalidArgument:
			err = fmt.Errorf("bucket %s: %w: %w", redactURL(u), sinks.ErrConfig, err)
		default:
			err = fmt.Errorf("bucket %s: %w", redactURL(u), err)
		}
	}
	if err != nil {
		_ = b.Close() // nothing was written through b: err is the news
		return nil, err
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix)
	}
	return b, nil
}

// redactURL drops query parameters and user info from a URL for messages.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

// New makes a Sink writing into b, which the caller keeps and closes.
func New(b *blob.Bucket, opts *Options) (*Sink, error) {
	if b == nil {
		return nil, fmt.Errorf("nil bucket: %w", sinks.ErrConfig)
	}
	var tok [6]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("staging token: %w", err)
	}
	o := opts.withDefaults()
	return &Sink{
		bucket:    b,
		opts:      o,
		upload:    uploadSizesOf(b, o.Budget != nil),
		codec:     newZstdCodec(o.PageBufferSize),
		token:     hex.EncodeToString(tok[:]),
		schemas:   map[schemaKey]*compiled{},
		pending:   map[partKey]*pendingPart{},
		committed: map[partKey]bool{},
		spares:    make(chan batchBufs, spareBatches),
	}, nil
}

// uploadSizes are the blob writer's buffer options for a bucket and what
// an open staged file's upload holds in memory.
type uploadSizes struct {
	buffer, inFlight int
	cost             int64 // bytes buffered by one open upload
}

// uploadSizesOf sizes uploads to the bucket's backend. S3 (s3blob's
// upload manager) buffers up to inFlight parts of buffer bytes, GCS one
// chunk of buffer bytes (an assumption from their documented options:
// the part and chunk sizes are what they buffer). fileblob writes to a
// temporary file as it goes and buffers nothing worth counting; memblob
// holds the object in memory, as the bucket does once it is written.
// With a byte budget the buffers are smaller (see budgetS3Part).
func uploadSizesOf(b *blob.Bucket, budget bool) uploadSizes {
	var s3c *s3.Client
	if b.As(&s3c) {
		if budget {
			return uploadSizes{buffer: budgetS3Part, inFlight: budgetS3Flights, cost: budgetS3Part * budgetS3Flights}
		}
		return uploadSizes{buffer: uploadBuffer, inFlight: uploadInFlight, cost: uploadBuffer * uploadInFlight}
	}
	var gcs *storage.Client
	if b.As(&gcs) {
		if budget {
			return uploadSizes{buffer: budgetGCSChunk, inFlight: 1, cost: budgetGCSChunk}
		}
		return uploadSizes{buffer: uploadBuffer, inFlight: 1, cost: uploadBuffer}
	}
	return uploadSizes{buffer: uploadBuffer, inFlight: uploadInFlight}
}

// WriterCost is what one open writer holds besides its row group
// filling: WriterOpenCost plus its upload's buffers on this bucket. A
// caller bounding its open writers to fit a byte budget divides by it.
func (s *Sink) WriterCost() int64 { return WriterOpenCost + s.upload.cost }

// Close closes the bucket if Open opened it. Staged files that were never
// committed are left for the next commit of their partition to remove.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return nil
	}
	s.isClosed = true
	if s.owned {
		return s.bucket.Close()
	}
	return nil
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	dayRE  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// day accepts "YYYY-MM-DD" or "dt=YYYY-MM-DD".
func day(partition string) (string, error) {
	d := strings.TrimPrefix(partition, "dt=")
	if !dayRE.MatchString(d) {
		return "", fmt.Errorf("partition %q: %w: want YYYY-MM-DD", partition, sinks.ErrConfig)
	}
	if _, err := time.Parse("2006-01-02", d); err != nil {
		return "", fmt.Errorf("partition %q: %w: %w", partition, sinks.ErrConfig, err)
	}
	return d, nil
}

func checkTable(t sinks.Table) error {
	if !nameRE.MatchString(t.Connector) {
		return fmt.Errorf("connector %q: %w: want [a-z0-9_-]", t.Connector, sinks.ErrConfig)
	}
	if !nameRE.MatchString(t.Collection) {
		return fmt.Errorf("collection %q: %w: want [a-z0-9_-]", t.Collection, sinks.ErrConfig)
	}
	if t.Shard < 0 {
		return fmt.Errorf("shard %d: %w", t.Shard, sinks.ErrConfig)
	}
	return nil
}

func (s *Sink) compiled(t sinks.Table) (*compiled, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := schemaKey{t.Schema, t.Collection}
	if c, ok := s.schemas[k]; ok {
		return c, nil
	}
	c, err := compile(t.Collection, t.Schema)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t.Collection, err)
	}
	s.schemas[k] = c
	return c, nil
}

func (s *Sink) partDir(k partKey) string {
	return k.connector + "/" + k.collection + "/dt=" + k.day + "/"
}

func (s *Sink) stagingDir(k partKey) string {
	return k.connector + "/_staging/" + k.collection + "/dt=" + k.day + "/"
}

// NewWriter opens a writer for one day partition ("YYYY-MM-DD" or
// "dt=YYYY-MM-DD") of t on shard t.Shard. The writer is not safe for
// concurrent use. Its files become visible at Commit.
func (s *Sink) NewWriter(ctx context.Context, t sinks.Table, partition string) (sinks.RecordWriter, error) {
	if err := checkTable(t); err != nil {
		return nil, err
	}
	d, err := day(partition)
	if err != nil {
		return nil, err
	}
	c, err := s.compiled(t)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open writer for %s dt=%s: %w", t.Collection, d, err)
	}
	k := partKey{t.Connector, t.Collection, d, t.Shard}
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil, errors.New("sink is closed")
	}
	p := s.pending[k]
	if p == nil {
		p = &pendingPart{}
		s.pending[k] = p
	}
	p.open++
	s.mu.Unlock()
	return newWriter(ctx, s, k, c), nil
}

// nextSeq reserves the next part number of a partition.
func (s *Sink) nextSeq(k partKey) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[k]
	n := p.nextSeq
	p.nextSeq++
	return n
}

// finish records a closed writer's staged files (nil on failure).
func (s *Sink) finish(k partKey, files []stagedFile, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[k]
	p.open--
	if ok {
		p.files = append(p.files, files...)
	}
}

// deleteQuietly deletes keys, ignoring NotFound, and returns the first
// other error.
func (s *Sink) deleteQuietly(ctx context.Context, keys ...string) error {
	var first error
	for _, k := range keys {
		if err := s.bucket.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound && first == nil {
			first = err // blob names the key
		}
	}
	return first
}

// asyncWriter hands what parquet-go writes to a goroutine that hashes it
// (sha256 for the manifest), counts it and writes it to the blob writer, so
// that the upload path (fileblob's MD5 and file writes, the cloud SDKs'
// buffering) overlaps with encoding. It buffers at most two chunks.
type asyncWriter struct {
	cur  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  atomic.Pointer[error]
	n    int64 // bytes written to w; read after Close
	sum  hash.Hash
}

const asyncChunk = 128 << 10

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{
		cur:  make([]byte, 0, asyncChunk),
		full: make(chan []byte, 1),
		free: make(chan []byte, 2), // room for both chunks: Close never blocks the goroutine
		done: make(chan struct{}),
		sum:  sha256.New(),
	}
	a.free <- make([]byte, 0, asyncChunk)
	go func() {
		defer close(a.done)
		for b := range a.full {
			if a.err.Load() == nil {
				n, err := w.Write(b)
				a.sum.Write(b[:n])
				a.n += int64(n)
				if err != nil {
					a.err.Store(&err)
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	if err := a.err.Load(); err != nil {
		return 0, *err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(a.cur)-len(a.cur))
		a.cur = append(a.cur, p[:k]...)
		p = p[k:]
		if len(a.cur) == cap(a.cur) {
			a.full <- a.cur
			a.cur = <-a.free
		}
	}
	return n, nil
}

// Close writes what is buffered and stops the goroutine; it does not close
// the underlying writer.
func (a *asyncWriter) Close() error {
	if len(a.cur) > 0 {
		a.full <- a.cur
		a.cur = nil
	}
	close(a.full)
	<-a.done
	if err := a.err.Load(); err != nil {
		return *err
	}
	return nil
}
