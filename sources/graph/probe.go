package graph

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"m365export/sources"
)

// probeTimeout bounds each attempt of Probe.
const probeTimeout = 15 * time.Second

// Probe sends one request to the Graph root, without a token, so that a
// Graph that cannot be reached (refused connection, unknown host, TLS
// failure) fails a run at once with one message, rather than after minutes
// of retries. Any HTTP answer will do. It tries twice, a second apart, each
// attempt bounded by 15 s; the error names the root and advises checking
// the network, a proxy, --graph-url or --cloud. A cancelled ctx gives
// ctx.Err().
func (c *Client) Probe(ctx context.Context) error {
	req, err := http.NewRequest(http.MethodGet, c.root+"/", nil)
	if err != nil {
		return fmt.Errorf("graph root %s: %w: %w", c.root, err, sources.ErrConfig)
	}
	for attempt := range 2 {
		if attempt > 0 {
			if err := c.sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		if err = c.probeOnce(ctx, req); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("cannot reach Microsoft Graph at %s (check the network, a proxy, --graph-url or --cloud): %w", c.root, err)
}

func (c *Client) probeOnce(ctx context.Context, req *http.Request) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return nil
}
