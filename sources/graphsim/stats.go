package graphsim

import "sync/atomic"

// Stats counts Graph requests by endpoint since Start.
type Stats struct {
	Requests, Served, Throttled, Errors, Faults, Records int64
	ByEndpoint                                           map[string]EndpointStats
}

// EndpointStats are one endpoint's counters: Requests received, Served
// (200), Throttled (429 from limits), Errors (other error answers,
// including injected 5xx and storms), Faults (injected faults of any kind)
// and Records (value[] items served).
type EndpointStats struct {
	Requests, Served, Throttled, Errors, Faults, Records int64
}

type epCounters struct {
	requests, served, throttled, errors, faults, records atomic.Int64
}

type stats struct{ m map[string]*epCounters }

func (s *stats) init() {
	s.m = make(map[string]*epCounters, len(endpoints))
	for _, e := range endpoints {
		s.m[e] = &epCounters{}
	}
}

func (s *stats) get(ep string) *epCounters {
	if c, ok := s.m[ep]; ok {
		return c
	}
	return s.m[epUnknown]
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	out := Stats{ByEndpoint: map[string]EndpointStats{}}
	for name, c := range s.stats.m {
		e := EndpointStats{Requests: c.requests.Load(), Served: c.served.Load(), Throttled: c.throttled.Load(),
			Errors: c.errors.Load(), Faults: c.faults.Load(), Records: c.records.Load()}
		if e.Requests == 0 {
			continue
		}
		out.ByEndpoint[name] = e
		out.Requests += e.Requests
		out.Served += e.Served
		out.Throttled += e.Throttled
		out.Errors += e.Errors
		out.Faults += e.Faults
		out.Records += e.Records
	}
	return out
}
