package tables_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"

	"m365export/jobs/tables"
	"m365export/pipeline"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sinks/parquetsink"
	"m365export/sources"
)

// onePage serves one page of records for one owner.
type onePage struct{ body string }

func (onePage) Partitions(context.Context) ([]string, error) { return []string{"u1"}, nil }

func (s onePage) Page(context.Context, string, string) (sources.Page, error) {
	return sources.Page{URL: "/v1.0/users/u1/chats/getAllMessages", Body: []byte(s.body)}, nil
}

// asIs is a sanitizer that keeps every record as it is.
type asIs struct{}

func (asIs) SanitizePage(_ string, b []byte) (rules.Page, error) {
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(b, &env); err != nil {
		return rules.Page{}, err
	}
	var pg rules.Page
	for _, r := range env.Value {
		pg.Records = append(pg.Records, rules.Record{Raw: r, Sanitized: r})
	}
	return pg, nil
}

// TestChatMessages_MicrosoftsMalformedTimestampCostsOneRecord: Microsoft's
// own example chat message has createdDateTime "2021-03-1706:47:05.123Z"
// (placed by its good lastModifiedDateTime): the Parquet sink refuses it
// for the real chat_messages table, and the pipeline counts it in the
// summary, the ledger and the day's manifest; the owner and the run are
// ok and the other messages are committed.
func TestChatMessages_MicrosoftsMalformedTimestampCostsOneRecord(t *testing.T) {
	const dt = "2021-03-17"
	body := `{"value":[
		{"id":"1","createdDateTime":"2021-03-17T06:40:00Z","lastModifiedDateTime":"2021-03-17T06:40:00Z"},
		{"id":"1615943825123","createdDateTime":"2021-03-1706:47:05.123Z","lastModifiedDateTime":"2021-03-17T06:47:05.123Z"},
		{"id":"3","createdDateTime":"2021-03-17T06:50:00Z","lastModifiedDateTime":"2021-03-17T06:50:00Z"}]}`
	b := memblob.OpenBucket(nil)
	defer b.Close()
	sink, err := parquetsink.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	tbl := sinks.Table{Connector: "msft-teams", Collection: "chat_messages", Schema: tables.Lookup("msft-teams", "chat_messages")}
	day := time.Date(2021, 3, 17, 0, 0, 0, 0, time.UTC)
	job := &pipeline.Job{Connector: "msft-teams", Sink: sink, Committer: sink, RunID: "r1",
		Window:      pipeline.Window{From: day, To: day.Add(24 * time.Hour)},
		Collections: []pipeline.Collection{{Name: "chat_messages", Source: onePage{body}, Sanitizer: asIs{}, Table: tbl, TimeField: "lastModifiedDateTime"}}}
	s, err := pipeline.Run(t.Context(), job)
	if err != nil || s.Status != pipeline.StatusOK {
		t.Fatalf("Run = %v, status %q; want ok", err, s.Status)
	}
	const reason = "invalid timestamp in createdDateTime"
	cs := s.Collections[0]
	if cs.Records != 2 || cs.OK != 1 || cs.Rejected != 1 || cs.RejectedReasons[reason] != 1 {
		t.Errorf("collection summary %+v, want 2 records, 1 ok owner, 1 rejected for %q", cs, reason)
	}
	for _, e := range s.Ledger.All() {
		if e.Status != pipeline.StatusOK || e.Records != 2 || e.Rejected != 1 || e.RejectedReasons[reason] != 1 {
			t.Errorf("ledger entry %+v, want ok, 2 records, 1 rejected", e)
		}
	}
	data, err := b.ReadAll(t.Context(), "msft-teams/chat_messages/dt="+dt+"/_manifest-0.json")
	if err != nil {
		t.Fatal(err)
	}
	var m sinks.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Rejected != 1 || m.RejectedReasons[reason] != 1 {
		t.Errorf("manifest rows %d, rejected %d %v; want 2, 1 {%s: 1}", m.Rows, m.Rejected, m.RejectedReasons, reason)
	}
}
