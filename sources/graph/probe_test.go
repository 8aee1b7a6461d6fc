package graph

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbe_AnyHTTPAnswerWillDo(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/v1.0/" || r.Header.Get("Authorization") != "" {
			t.Errorf("probe sent %s %s with Authorization %q, want GET /v1.0/ without a token", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		http.Error(w, `{"error":{"code":"InvalidAuthenticationToken"}}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	c, err := New(&Options{GraphRoot: srv.URL + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(t.Context()); err != nil {
		t.Errorf("Probe() = %v, want nil (a 401 is an answer)", err)
	}
	if n.Load() != 1 {
		t.Errorf("Probe sent %d requests, want 1", n.Load())
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestProbe_ClosedPortTriesTwiceAndNamesTheRoot(t *testing.T) {
	var slept []time.Duration
	root := "http://" + closedPort(t) + "/v1.0"
	c, err := New(&Options{GraphRoot: root, Sleep: func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Probe(t.Context())
	if err == nil {
		t.Fatal("Probe() = nil, want an error for a closed port")
	}
	for _, want := range []string{"cannot reach Microsoft Graph at " + root, "--graph-url", "--cloud", "refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Probe() = %v, want it to mention %q", err, want)
		}
	}
	if len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("Probe paused %v between attempts, want one pause of 1s (two attempts)", slept)
	}
}

func TestProbe_CancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c, err := New(&Options{GraphRoot: "http://" + closedPort(t) + "/v1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(ctx); err != context.Canceled {
		t.Errorf("Probe(cancelled) = %v, want context.Canceled", err)
	}
}
