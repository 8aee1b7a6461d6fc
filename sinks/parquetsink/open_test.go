package parquetsink_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob/s3blob"

	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sinks/sinktest"
)

// writeOne writes and commits one small partition through a sink opened
// from a URL.
func writeOne(t *testing.T, bucketURL string) {
	t.Helper()
	ctx := t.Context()
	s, err := parquetsink.Open(ctx, bucketURL, nil)
	if err != nil {
		t.Fatalf("Open(%s) = %v", bucketURL, err)
	}
	defer s.Close()
	w, err := s.NewWriter(ctx, sinktest.Table, "2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sinktest.Records(0, 5, "run-1") {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, sinktest.Table, "2024-03-01", sinks.Manifest{RunID: "run-1", Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

const partKey = "test-conn/widgets/dt=2024-03-01/part-0-0.parquet"

func TestOpen_ConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{
		"",
		"bucket-without-scheme",
		"ftp://host/dir",
		"azblob2://x",
		"file://" + filepath.Join(dir, "missing"),
		"s3://",
		"gs:///prefix",
		"mem://?unknown_param=1",
		"%zz",
	} {
		s, err := parquetsink.Open(t.Context(), u, nil)
		if !errors.Is(err, sinks.ErrConfig) {
			t.Errorf("Open(%q) = %v, want ErrConfig", u, err)
		}
		if s != nil {
			t.Errorf("Open(%q) returned a sink with an error", u)
		}
	}
}

func TestOpen_FileAndMem(t *testing.T) {
	dir := t.TempDir()
	writeOne(t, "file://"+dir)
	if _, err := os.Stat(filepath.Join(dir, partKey)); err != nil {
		t.Errorf("file:// part: %v", err)
	}
	writeOne(t, "file://"+dir+"?prefix=sub/")
	if _, err := os.Stat(filepath.Join(dir, "sub", partKey)); err != nil {
		t.Errorf("file:// ?prefix= part: %v", err)
	}
	writeOne(t, "mem://")
	writeOne(t, "mem://bucket/some/prefix")
}

// s3Env makes the AWS SDK's default chain find static credentials and
// nothing else (no shared files, no instance metadata).
func s3Env(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestOpen_S3URL(t *testing.T) {
	s3Env(t)
	srv := newS3Server(t)
	q := url.Values{"endpoint": {srv.srv.URL}, "use_path_style": {"true"}, "region": {"us-east-1"}, "disable_https": {"true"}}
	writeOne(t, "s3://"+srv.bucket+"/exports/prod?"+q.Encode())
	b, err := s3blob.OpenBucket(t.Context(), srv.client(), srv.bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := b.Exists(t.Context(), "exports/prod/"+partKey); !ok || err != nil {
		t.Errorf("Exists(exports/prod/%s) = %v, %v; want the URL path as prefix", partKey, ok, err)
	}
	_, err = parquetsink.Open(t.Context(), "s3://no-such-bucket?"+q.Encode(), nil)
	if !errors.Is(err, sinks.ErrConfig) || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("Open(missing S3 bucket) = %v, want ErrConfig naming the bucket", err)
	}
}

func TestOpen_GCSURL(t *testing.T) {
	srv, name := newGCSServer(t)
	writeOne(t, "gs://"+name+"/exports/prod")
	if _, err := srv.GetObject(name, "exports/prod/"+partKey); err != nil {
		t.Errorf("GetObject(exports/prod/%s) = %v; want the URL path as prefix", partKey, err)
	}
	_, err := parquetsink.Open(t.Context(), "gs://no-such-bucket/x", nil)
	if !errors.Is(err, sinks.ErrConfig) {
		t.Errorf("Open(missing GCS bucket) = %v, want ErrConfig", err)
	}
}

func TestOpenBucket_SameRulesAsOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := parquetsink.OpenBucket(t.Context(), "file://"+dir+"?prefix=state/")
	if err != nil {
		t.Fatalf("OpenBucket(file) = %v", err)
	}
	if err := b.WriteAll(t.Context(), "k.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "k.json")); err != nil {
		t.Errorf("prefix not applied: %v", err)
	}
	for _, u := range []string{"ftp://x", "file://" + filepath.Join(dir, "missing")} {
		if _, err := parquetsink.OpenBucket(t.Context(), u); !errors.Is(err, sinks.ErrConfig) {
			t.Errorf("OpenBucket(%q) = %v, want ErrConfig", u, err)
		}
	}
}
