package graph

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"m365export/sources"
	"m365export/sources/graph/graphsim"
)

// BenchmarkClient_Graphsim: first pages of 100 SentItems messages through
// the client from the emulator over plain HTTP on loopback, limits off
// on both sides. The emulator renders every record, so this measures the
// pair; BenchmarkClient_Loopback measures the client alone.
func BenchmarkClient_Graphsim(b *testing.B) {
	s := startSim(b, graphsim.Options{Users: 200, Seed: 1, PlainGraph: true, Limits: graphsim.Limits{Disabled: true}})
	c := simClient(b, s, &Options{Limits: &Limits{}, HTTPClient: defaultHTTPClient()})
	owners := s.Tenant().Owners("messages")
	col := sentItems(c, graphsim.DefaultNow.Add(-14*24*time.Hour), graphsim.DefaultNow, 100)
	var next atomic.Int64
	before := s.Stats()
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o := owners[int(next.Add(1))%len(owners)]
			if _, err := col.Page(context.Background(), o, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	secs := time.Since(start).Seconds()
	after := s.Stats()
	b.ReportMetric(float64(after.Served-before.Served)/secs, "req/s")
	b.ReportMetric(float64(after.Records-before.Records)/secs, "records/s")
}

// BenchmarkGovernor_OutlookEfficiencyGraphsim: 200 mailboxes of the
// emulator under its Outlook limits scaled in time (100 requests per 6 s
// per mailbox, 4 in flight, fixed windows), two workers per mailbox paging
// SentItems for two windows. efficiency = useful requests/s ÷ permitted
// requests/s; %429 = share of answers that were 429. Target ≥ 0.95 with
// ≤ 1 % 429s.
func BenchmarkGovernor_OutlookEfficiencyGraphsim(b *testing.B) {
	const (
		mailboxes = 200
		n         = 100
		window    = 6 * time.Second
		run       = 2 * window
	)
	s := startSim(b, graphsim.Options{Users: 215, Seed: 2, PlainGraph: true,
		Limits: graphsim.Limits{TimeScale: 0.01, Mailbox: graphsim.Rate{N: n, Per: window}, RetryAfter: "fraction"}})
	lim := DefaultLimits()
	lim.Mailbox = Rate{n, window}
	lim.Headroom = 0.01
	c := simClient(b, s, &Options{Limits: &lim, HTTPClient: defaultHTTPClient()})
	owners := s.Tenant().Owners("messages")[:mailboxes]
	col := sentItems(c, graphsim.DefaultNow.Add(-14*24*time.Hour), graphsim.DefaultNow, 10)
	for b.Loop() {
		before := s.Stats()
		ctx, cancel := context.WithTimeout(context.Background(), run)
		var wg sync.WaitGroup
		start := time.Now()
		for _, o := range owners {
			for range 2 {
				wg.Go(func() {
					for ctx.Err() == nil {
						for _, err := range sources.Pages(ctx, col, o, "") {
							if err != nil {
								break
							}
						}
					}
				})
			}
		}
		wg.Wait()
		cancel()
		secs := time.Since(start).Seconds()
		after := s.Stats()
		served := float64(after.Served - before.Served)
		throttled := float64(after.Throttled - before.Throttled)
		permitted := float64(mailboxes) * n / window.Seconds()
		b.ReportMetric(served/secs/permitted, "efficiency")
		b.ReportMetric(throttled/(served+throttled)*100, "%429")
		b.ReportMetric(served/secs, "useful-req/s")
	}
}
