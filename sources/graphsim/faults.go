package graphsim

import (
	"sync/atomic"
	"time"
)

// Faults injects failures into Graph responses, decided per request from
// Seed and the request's sequence number, so a run with the same requests
// in the same order sees the same faults. Rates are probabilities in [0, 1].
type Faults struct {
	Seed int64
	// ErrorRate answers 500, 502, 503 (with Retry-After) or 504.
	ErrorRate float64
	// ResetRate closes the connection without a response.
	ResetRate float64
	// TruncateRate sends half the body of a complete response, then closes.
	TruncateRate float64
	// SlowRate delays the response by SlowDelay (default 2s).
	SlowRate  float64
	SlowDelay time.Duration
	// StormEvery and StormLength make a throttling storm: requests n with
	// n mod StormEvery < StormLength answer 429 TooManyRequests.
	StormEvery, StormLength int
	// DeleteUsers users are deleted after DeleteAfter Graph requests
	// (spread over the directory; never user 0).
	DeleteUsers, DeleteAfter int
	// GoneReportEvery n > 0 makes the last attendance report of about one
	// meeting in n (of those with several reports) disappear after the
	// reports list named it: its attendanceRecords answer 404 NotFound
	// (Server.GoneReport says which).
	GoneReportEvery int
	// GoneMeetingEvery n > 0 makes about one in n of the meetings that
	// were scheduled and never took place disappear after their
	// organizer's calendar listed them (the organizer cancelled them; the
	// calendar had been read before): the organizer's lookup by join URL
	// finds nothing, and requests naming the meeting answer 404
	// (Server.GoneMeeting says which).
	GoneMeetingEvery int
}

type faulter struct {
	f       Faults
	seq     atomic.Int64
	deleted atomic.Bool
}

func newFaulter(f *Faults) *faulter {
	if f.SlowDelay <= 0 {
		f.SlowDelay = 2 * time.Second
	}
	return &faulter{f: *f}
}

// decision is what happens to one request.
type decision struct {
	status      int
	reset       bool
	truncate    bool
	slow        time.Duration
	deleteUsers int
}

func (d decision) apiError() *apiError {
	switch d.status {
	case 429:
		return &apiError{status: 429, code: "TooManyRequests", msg: "Too many requests.", retryAfter: "1"}
	case 500:
		return &apiError{status: 500, code: "InternalServerError", msg: "An internal server error occurred."}
	case 502:
		return &apiError{status: 502, code: "BadGateway", msg: "Bad gateway."}
	case 503:
		return &apiError{status: 503, code: "serviceNotAvailable", msg: "Service unavailable.", retryAfter: "1"}
	default:
		return &apiError{status: 504, code: "UnknownError", msg: "Gateway timeout."}
	}
}

func (fl *faulter) next() decision {
	n := fl.seq.Add(1)
	f := &fl.f
	var d decision
	if f.DeleteUsers > 0 && n > int64(f.DeleteAfter) && fl.deleted.CompareAndSwap(false, true) {
		d.deleteUsers = f.DeleteUsers
	}
	if f.StormEvery > 0 && int((n-1)%int64(f.StormEvery)) < f.StormLength {
		d.status = 429
		return d
	}
	r := rng{mix(uint64(f.Seed)^0xfa017) ^ uint64(n)*0x9e3779b97f4a7c15}
	if f.SlowRate > 0 && r.chance(f.SlowRate) {
		d.slow = f.SlowDelay
	}
	x := float64(r.next()>>11) / (1 << 53)
	switch {
	case x < f.ErrorRate:
		d.status = []int{500, 502, 503, 504}[r.intn(4)]
	case x < f.ErrorRate+f.ResetRate:
		d.reset = true
	case x < f.ErrorRate+f.ResetRate+f.TruncateRate:
		d.truncate = true
	}
	return d
}

// deleteSome deletes n users spread over the directory (never user 0).
func (s *Server) deleteSome(n int) {
	t := s.tenant
	if t.users < 2 {
		return
	}
	n = min(n, t.users-1)
	for k, done := 0, 0; done < n && k < 100*n; k++ {
		i := 1 + int(t.h(kFault, int64(k), 0, 0)%uint64(t.users-1))
		if !t.isDeleted(i) {
			t.DeleteUser(i)
			done++
		}
	}
}
