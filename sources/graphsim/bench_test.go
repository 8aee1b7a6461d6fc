package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkRenderMessages measures generating SentItems records with the
// exporter's $select, without HTTP.
func BenchmarkRenderMessages(b *testing.B) {
	o := Options{Users: 1000, MessagesPerUserDay: 200}
	o.defaults()
	tn := newTenant(&o)
	q, e := mailQuery(map[string][]string{"$select": {"id,sentDateTime,from,toRecipients,ccRecipients,bccRecipients,subject,conversationId,internetMessageId,isRead,hasAttachments,importance"}, "$orderby": {"sentDateTime"}})
	if e != nil {
		b.Fatal(e)
	}
	buf := make([]byte, 0, 1<<20)
	n, u := 0, 0
	b.ResetTimer()
	for b.Loop() {
		buf = buf[:0]
		u++
		walkMail(tn, u%1000, q, nil, func(c cursor) bool {
			buf = renderMail(tn, buf, u%1000, q, c)
			n++
			return len(buf) < 1<<20
		})
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkServeMessages measures whole pages of 1,000 messages over
// HTTPS from an in-process emulator, client included.
func BenchmarkServeMessages(b *testing.B) {
	s, err := Start(Options{Users: 200, MessagesPerUserDay: 1500, Limits: Limits{Disabled: true}, Auth: Auth{Anonymous: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := s.HTTPClient()
	from := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	recs := 0
	u := 0
	owners := truthOwners(s.Tenant(), "messages")
	next := ""
	b.ResetTimer()
	for b.Loop() {
		if next == "" {
			next = s.GraphURL() + "/v1.0/users/" + owners[u%len(owners)] + "/mailFolders/SentItems/messages?$filter=sentDateTime%20ge%20" +
				from.Format(time.RFC3339) + "%20and%20sentDateTime%20lt%20" + from.Add(24*time.Hour).Format(time.RFC3339) +
				"&$orderby=sentDateTime&$top=1000&$select=id,sentDateTime,from,toRecipients,ccRecipients,bccRecipients,subject,conversationId,internetMessageId,isRead,hasAttachments,importance"
			u++
		}
		resp, err := c.Get(next)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %v %s", resp.StatusCode, err, body[:min(len(body), 300)])
		}
		var p pageBody
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
		recs += len(p.Value)
		next = p.Next
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}
