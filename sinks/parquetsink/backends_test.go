package parquetsink_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"

	"m365export/sinks/sinktest"
)

// s3Server is an in-process S3 (gofakes3) on loopback with one bucket.
type s3Server struct {
	srv    *httptest.Server
	bucket string
}

var bucketSeq atomic.Int64

func newS3Server(t *testing.T) *s3Server {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	name := fmt.Sprintf("bucket-%d", bucketSeq.Add(1))
	if err := backend.CreateBucket(name); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return &s3Server{srv: srv, bucket: name}
}

// client is an aws-sdk-go-v2 S3 client pointed at the fake, path style,
// with static credentials (requests are signed as for real S3).
func (s *s3Server) client() *s3.Client {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(s.srv.URL),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

type closeFuncHarness struct {
	b     *blob.Bucket
	close func()
}

func (h *closeFuncHarness) Bucket() *blob.Bucket { return h.b }
func (h *closeFuncHarness) Close() {
	_ = h.b.Close() // the bucket may be closed already (see sinktest.Harness)
	if h.close != nil {
		h.close()
	}
}

func TestConformance_S3(t *testing.T) {
	sinktest.Run(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		s := newS3Server(t)
		b, err := s3blob.OpenBucket(ctx, s.client(), s.bucket, nil)
		if err != nil {
			return nil, err
		}
		return &closeFuncHarness{b: b}, nil
	})
}

// newGCSServer starts an in-process GCS (fake-gcs-server) on loopback and
// points STORAGE_EMULATOR_HOST at it, which is how the Google client (and
// gcsblob's URL opener) find an emulator for uploads and reads alike.
func newGCSServer(t *testing.T) (*fakestorage.Server, string) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:     "http",
		Host:       "127.0.0.1",
		PublicHost: "127.0.0.1",
		NoListener: false,
		Writer:     testWriter{t},
	})
	if err != nil {
		t.Fatalf("fake-gcs-server: %v", err)
	}
	t.Cleanup(srv.Stop)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	name := fmt.Sprintf("bucket-%d", bucketSeq.Add(1))
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
	return srv, name
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestConformance_GCS(t *testing.T) {
	sinktest.Run(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		srv, name := newGCSServer(t)
		_ = srv
		b, err := gcsblob.OpenBucket(ctx, &gcp.HTTPClient{Client: http.Client{}}, name, nil)
		if err != nil {
			return nil, err
		}
		return &closeFuncHarness{b: b}, nil
	})
}
