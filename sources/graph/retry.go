package graph

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// parseRetryAfter reads a Retry-After header: whole seconds, fractional
// seconds (rounded up to the millisecond, so "0.249" is 249ms and never 0) or
// an HTTP date. ok is false when the header is absent, unreadable, or asks
// for no wait at all: the caller then backs off exponentially instead.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(h, 64); err == nil {
		if f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		if f > float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(math.Ceil(f*1000)) * time.Millisecond, true
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// retryable reports whether a status is worth another try: throttled or a
// server-side failure.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}
