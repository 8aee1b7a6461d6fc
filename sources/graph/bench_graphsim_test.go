package graph

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"m365export/sources"
	"m365export/sources/graphsim"
	"m365export/sources/graphsim/simtruth"
)

// BenchmarkClient_Graphsim: first pages of 100 SentItems messages through
// the client from the emulator over plain HTTP on loopback, limits off
// on both sides. The emulator renders every record, so this measures the
// pair; BenchmarkClient_Loopback measures the client alone.
func BenchmarkClient_Graphsim(b *testing.B) {
	s := startSim(b, graphsim.Options{Users: 200, Seed: 1, PlainGraph: true, Limits: graphsim.Limits{Disabled: true}})
	c := simClient(b, s, &Options{Limits: &Limits{}, HTTPClient: defaultHTTPClient()})
	owners := simtruth.Owners(s.Tenant(), "messages")
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
// per mailbox, 4 in flight, fixed windows), four workers per mailbox (its in-flight limit) paging
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
	owners := simtruth.Owners(s.Tenant(), "messages")[:mailboxes]
	col := sentItems(c, graphsim.DefaultNow.Add(-14*24*time.Hour), graphsim.DefaultNow, 1) // small pages: count requests, not rendering
	for b.Loop() {
		before := s.Stats()
		ctx, cancel := context.WithTimeout(context.Background(), run)
		var wg sync.WaitGroup
		start := time.Now()
		for _, o := range owners {
			for range 4 { // as many as may be in flight per mailbox
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

// BenchmarkGovernor_TenantLimitsGraphsim: directory resource units and the
// Teams export budget, each a tenant-wide bucket, with eight workers
// hammering the emulator for 3 s under tight limits (directory 300 RU/s,
// getAllMessages 100 rps). Reports efficiency (useful units per second ÷
// permitted) and the share of 429s.
func BenchmarkGovernor_TenantLimitsGraphsim(b *testing.B) {
	const run = 3 * time.Second
	type load struct {
		name  string
		urls  func(t *graphsim.Tenant) []string
		cost  int // resource units per request
		limit int // per second
	}
	for _, ld := range []load{
		{"directory-members", func(t *graphsim.Tenant) []string {
			var u []string
			for _, g := range simtruth.Owners(t, "group_members") {
				u = append(u, "/v1.0/groups/"+g+"/members?$top=999")
			}
			return u
		}, 3, 300},
		{"teams-chat-export", func(t *graphsim.Tenant) []string {
			var u []string
			for _, o := range simtruth.Owners(t, "chat_messages")[:50] {
				u = append(u, "/v1.0/users/"+o+"/chats/getAllMessages?$top=50&$filter=lastModifiedDateTime+gt+2026-11-26T00:00:00Z+and+lastModifiedDateTime+lt+2026-11-27T00:00:00Z")
			}
			return u
		}, 1, 100},
	} {
		b.Run(ld.name, func(b *testing.B) {
			s := startSim(b, graphsim.Options{Users: 100, Seed: 3, PlainGraph: true, Limits: graphsim.Limits{
				Directory: graphsim.Rate{N: ld.limit, Per: time.Second}, TeamsExport: graphsim.Rate{N: ld.limit, Per: time.Second},
				RetryAfter: "fraction"}})
			lim := DefaultLimits()
			lim.DirectoryRU = Rate{ld.limit, time.Second}
			lim.TeamsExport = Rate{ld.limit, time.Second}
			lim.Headroom = 0.01
			c := simClient(b, s, &Options{Limits: &lim, HTTPClient: defaultHTTPClient()})
			urls := ld.urls(s.Tenant())
			for b.Loop() {
				before := s.Stats()
				ctx, cancel := context.WithTimeout(context.Background(), run)
				var wg sync.WaitGroup
				start := time.Now()
				for w := range 8 {
					wg.Go(func() {
						for i := w; ctx.Err() == nil; i++ {
							_, _ = c.Get(ctx, urls[i%len(urls)]) // load only: the server counts outcomes
						}
					})
				}
				wg.Wait()
				cancel()
				secs := time.Since(start).Seconds()
				after := s.Stats()
				served := float64(after.Served - before.Served)
				throttled := float64(after.Throttled - before.Throttled)
				b.ReportMetric(served*float64(ld.cost)/secs/float64(ld.limit), "efficiency")
				b.ReportMetric(throttled/(served+throttled)*100, "%429")
			}
		})
	}
}
