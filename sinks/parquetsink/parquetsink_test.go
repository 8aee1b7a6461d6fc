package parquetsink_test

import (
	"context"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"m365export/sinks/sinktest"
)

type bucketHarness struct{ b *blob.Bucket }

func (h *bucketHarness) Bucket() *blob.Bucket { return h.b }

// Close ignores the error of a bucket a test case closed already (see
// sinktest.Harness).
func (h *bucketHarness) Close() { _ = h.b.Close() }

func TestConformance_Memblob(t *testing.T) {
	sinktest.Run(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return &bucketHarness{memblob.OpenBucket(nil)}, nil
	})
}

func TestConformance_Fileblob(t *testing.T) {
	sinktest.Run(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		b, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			return nil, err
		}
		return &bucketHarness{b}, nil
	})
}
