package parquetsink_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"

	"m365export/internal/membudget"
	"m365export/sinks"
	"m365export/sinks/parquetsink"
)

// TestWriter_UploadBuffersAreInTheBudget: on S3 and GCS an open staged
// file's upload buffers (S3 parts, a GCS chunk) are taken from the byte
// budget while the file is open and given back when it is done, and
// WriterCost says so; on a bucket that buffers nothing (fileblob, memblob)
// nothing is taken for them.
func TestWriter_UploadBuffersAreInTheBudget(t *testing.T) {
	const (
		s3Upload  = 5 << 20 // one part of S3's minimum size in flight
		gcsUpload = 2 << 20 // one chunk
	)
	cases := []struct {
		name   string
		open   func(t *testing.T) *blob.Bucket
		upload int64
	}{
		{"s3", func(t *testing.T) *blob.Bucket {
			s := newS3Server(t)
			b, err := s3blob.OpenBucket(t.Context(), s.client(), s.bucket, nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, s3Upload},
		{"gcs", func(t *testing.T) *blob.Bucket {
			_, name := newGCSServer(t)
			b, err := gcsblob.OpenBucket(t.Context(), &gcp.HTTPClient{Client: http.Client{}}, name, nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, gcsUpload},
		{"mem", func(*testing.T) *blob.Bucket { return memblob.OpenBucket(nil) }, 0},
	}
	tbl := sinks.Table{Connector: "c", Collection: "widgets", Schema: &sinks.Schema{Version: 1, Columns: []sinks.Column{{Name: "id", Type: sinks.String}}}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.open(t)
			defer b.Close()
			budget := membudget.New(1 << 30)
			s, err := parquetsink.New(b, &parquetsink.Options{Budget: budget})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.WriterCost(), parquetsink.WriterOpenCost+tc.upload; got != want {
				t.Errorf("WriterCost() = %d, want %d", got, want)
			}
			w, err := s.NewWriter(t.Context(), tbl, "2026-11-26")
			if err != nil {
				t.Fatal(err)
			}
			for i := range 1000 { // several batches: the worker opens the file
				if err := w.Write(sinks.Record{JSON: fmt.Appendf(nil, `{"id":"w%d"}`, i), Owner: "o", RunID: "r", ExportedAt: time.Unix(0, 0)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			st := budget.Stats()
			records := int64(200 << 10) // the group filling's take, at most, for these records
			if st.Peak < parquetsink.WriterOpenCost+tc.upload || st.Peak > parquetsink.WriterOpenCost+tc.upload+records {
				t.Errorf("budget peak %d while the file was open, want %d (writer) + %d (upload) + at most %d (records)",
					st.Peak, parquetsink.WriterOpenCost, tc.upload, records)
			}
			if st.Used != 0 {
				t.Errorf("budget holds %d bytes after Close, want 0", st.Used)
			}
			if err := s.Commit(t.Context(), tbl, "2026-11-26", sinks.Manifest{RunID: "r"}); err != nil {
				t.Fatalf("Commit: %v", err)
			}
		})
	}
}
