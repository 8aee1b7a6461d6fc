package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGraph is a small Graph stand-in for tests: users and their messages,
// paged by $skiptoken, with owners that fail, and optional faults.
type fakeGraph struct {
	srv      *httptest.Server
	pageSize int
	users    []string
	msgs     map[string][]json.RawMessage
	broken   map[string]fakeErr

	flaky atomic.Bool // every third request fails, cycling through faultKinds
	stall atomic.Bool // hold every request until the client goes away

	n        atomic.Int64 // requests seen
	faultN   atomic.Int64
	mu       sync.Mutex
	headers  []http.Header // request headers, in order
	inFlight map[string]int
	maxIn    map[string]int
}

type fakeErr struct {
	status int
	code   string
}

var faultKinds = []string{"429", "429-no-ra", "503", "500", "504", "reset", "truncated", "cut-json"}

func newFakeGraph(t testing.TB, nUsers, pageSize int) *fakeGraph {
	f := &fakeGraph{
		pageSize: pageSize,
		msgs:     map[string][]json.RawMessage{},
		broken:   map[string]fakeErr{},
		inFlight: map[string]int{},
		maxIn:    map[string]int{},
	}
	for i := range nUsers {
		u := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		f.users = append(f.users, u)
		// User i has (i*7)%23 messages: user 0 has none.
		for j := range (i * 7) % 23 {
			f.msgs[u] = append(f.msgs[u], json.RawMessage(fmt.Sprintf(
				`{"id":"m-%d-%d","subject":"s\"%d","sentDateTime":"2026-11-0%dT10:00:00Z","n":%d}`, i, j, j, 1+j%9, j)))
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) addBroken(id string, status int, code string) {
	f.users = append(f.users, id)
	f.broken[id] = fakeErr{status, code}
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	f.n.Add(1)
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	key := r.URL.Path
	f.inFlight[key]++
	f.maxIn[key] = max(f.maxIn[key], f.inFlight[key])
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight[key]--
		f.mu.Unlock()
	}()
	if f.stall.Load() {
		<-r.Context().Done()
		return
	}
	if f.flaky.Load() {
		if n := f.faultN.Add(1); n%3 == 0 {
			kind := faultKinds[(n/3)%int64(len(faultKinds))]
			if f.fault(w, kind) {
				return
			}
		}
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(segs) == 2 && segs[0] == "v1.0" && segs[1] == "users":
		recs := make([]json.RawMessage, len(f.users))
		for i, u := range f.users {
			recs[i] = json.RawMessage(`{"id":"` + u + `"}`)
		}
		f.page(w, r, recs, 3)
	case len(segs) == 4 && segs[0] == "v1.0" && segs[1] == "users" && segs[3] == "messages":
		u := segs[2]
		if e, ok := f.broken[u]; ok {
			writeGraphError(w, e.status, e.code)
			return
		}
		f.page(w, r, f.msgs[u], f.pageSize)
	default:
		writeGraphError(w, http.StatusNotFound, "Request_BadRequest")
	}
}

// fault writes one failure; false means the kind needs no answer here.
func (f *fakeGraph) fault(w http.ResponseWriter, kind string) bool {
	switch kind {
	case "429":
		w.Header().Set("Retry-After", "0.003")
		writeGraphError(w, http.StatusTooManyRequests, "ApplicationThrottled")
	case "429-no-ra":
		writeGraphError(w, http.StatusTooManyRequests, "TooManyRequests")
	case "503":
		w.Header().Set("Retry-After", "0.002")
		writeGraphError(w, http.StatusServiceUnavailable, "serviceNotAvailable")
	case "500":
		writeGraphError(w, http.StatusInternalServerError, "UnknownError")
	case "504":
		writeGraphError(w, http.StatusGatewayTimeout, "UnknownError")
	// The errors of a hijacked connection are ignored: whatever fails, the
	// client sees a broken answer, which is the fault.
	case "reset":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case "truncated":
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err == nil {
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"value\":[{\"id\":")
			_ = buf.Flush()
			_ = conn.Close()
		}
	case "cut-json":
		// Whole by HTTP's count, cut short as JSON.
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"@odata.context":"x","value":[{"id":"a"},{"id":`))
	default:
		return false
	}
	return true
}

func writeGraphError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req-"+strconv.Itoa(status))
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":"synthetic","innerError":{"request-id":"req-%d","date":"2026-11-28T00:00:00"}}}`, code, status)
}

// page serves recs from $skiptoken on, n per page, nextLink first as Graph
// does.
func (f *fakeGraph) page(w http.ResponseWriter, r *http.Request, recs []json.RawMessage, n int) {
	from, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	to := min(from+n, len(recs))
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#x"`)
	if to < len(recs) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(to))
		next := f.srv.URL + r.URL.Path + "?" + q.Encode()
		nb, _ := json.Marshal(next) // escapes & as \u0026, as Go emulators do
		b.WriteString(`,"@odata.nextLink":`)
		b.Write(nb)
	}
	b.WriteString(`,"value":[`)
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		b.Write(recs[i])
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "ok")
	w.Write([]byte(b.String()))
}

// fastOptions make retries quick and the clock real.
func fastOptions(root string) *Options {
	return &Options{
		GraphRoot:      root,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     20 * time.Millisecond,
		MaxAttempts:    20,
		Limits:         &Limits{},
	}
}
