package parquetsink

import (
	"context"

	"gocloud.dev/blob"
)

// OpenBucket opens a bucket URL exactly as Open does (schemes, key prefix
// in the path, existence check), for the other objects a job keeps: run
// summaries beside the data, state in its own bucket. Errors that retrying
// cannot fix wrap sinks.ErrConfig.
func OpenBucket(ctx context.Context, bucketURL string) (*blob.Bucket, error) {
	return openBucket(ctx, bucketURL)
}
