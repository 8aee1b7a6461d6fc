package all_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/pipeline"
	"m365export/sinks"
	"m365export/sources/graphsim/graphmeta"
)

// entityTypes maps each collection to the Graph type of its records.
// A collection missing here fails TestMetadata_ColumnsAreDeclared.
var entityTypes = map[string]string{
	"users":                "microsoft.graph.user",
	"groups":               "microsoft.graph.group",
	"group_members":        "microsoft.graph.directoryObject", // with @odata.type: users (and other derived types)
	"events":               "microsoft.graph.event",
	"messages":             "microsoft.graph.message",
	"mailbox_settings":     "microsoft.graph.mailboxSettings",
	"teams":                "microsoft.graph.team",
	"channels":             "microsoft.graph.channel",
	"chats":                "microsoft.graph.chat",
	"chat_messages":        "microsoft.graph.chatMessage",
	"channel_messages":     "microsoft.graph.chatMessage",
	"call_records":         "microsoft.graph.callRecords.callRecord",
	"copilot_interactions": "microsoft.graph.aiInteraction",
	"online_meetings":      "microsoft.graph.onlineMeeting",
	"meeting_attendance":   "microsoft.graph.attendanceRecord",
}

// documentedUnexpanded lists navigation properties that Microsoft's
// documented responses carry without $expand (graph-api-notes §8 fact 4:
// organizer_v2 on the call-record list and get).
var documentedUnexpanded = map[string]bool{
	"microsoft.graph.callRecords.callRecord/organizer_v2": true,
}

// mappedSources are the documented name mappings of cols: a column named
// so reads a JSON member that is no Graph property.
var mappedSources = map[string]string{
	"odata_type":          "@odata.type",
	"odata_etag":          "@odata.etag",
	"odata_id":            "@odata.id",
	"content_text_digest": "+content:textDigest",
	// Members the job stamps on derived meetings' records (Collection.Stamp).
	"found_date_time": "_foundDateTime",
	"report_id":       "_reportId",
}

// TestMetadata_ColumnsAreDeclared checks every table column of every
// connector against Microsoft's v1.0 metadata: a declared property of the
// collection's type (or of a type derived from it), a navigation property
// the first request expands or Microsoft documents unexpanded, or a
// documented mapping (odata_type, odata_etag, odata_id,
// content_text_digest). Struct and list members are checked against the
// property's type; members of open types may be properties Graph adds.
func TestMetadata_ColumnsAreDeclared(t *testing.T) {
	meta := graphmeta.Load(t, "../../..")
	w := pipeline.Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	for _, tb := range connector.Tables() {
		typ, ok := entityTypes[tb.Name]
		if !ok {
			t.Errorf("%s/%s: no entity type mapped in entityTypes", tb.Connector.Name, tb.Name)
			continue
		}
		expanded := map[string]bool{}
		if u, err := url.Parse(tb.First("x", w, settings[0])); err == nil {
			for _, x := range strings.Split(u.Query().Get("$expand"), ",") {
				expanded[strings.TrimSpace(x)] = true
			}
		}
		for _, c := range tb.Schema.Columns {
			checkColumn(t, meta, tb.Connector.Name+"/"+tb.Name, typ, c, expanded, true)
		}
	}
}

func checkColumn(t *testing.T, meta *graphmeta.Metadata, where, typ string, c sinks.Column, expanded map[string]bool, top bool) {
	t.Helper()
	if src, ok := mappedSources[c.Name]; ok && c.SourceName() == src {
		return
	}
	if meta.Types[typ] == nil {
		// A type the subset lacks (callRecords.organizer, the type of
		// organizer_v2, is not in it): nothing to check against.
		return
	}
	p, ok := meta.PropAny(typ, c.SourceName())
	if !ok {
		if meta.IsOpen(typ) && !top {
			return // a member Graph adds to an open type (tenantId on a Teams identity)
		}
		t.Errorf("%s: column %s: %s declares no property %s", where, c.Name, typ, c.SourceName())
		return
	}
	if p.Navigation && (!top || !expanded[c.Name] && !documentedUnexpanded[typ+"/"+c.Name]) {
		t.Errorf("%s: column %s: navigation property of %s, neither expanded by the first request nor documented unexpanded", where, c.Name, typ)
	}
	switch {
	case c.Type == sinks.Struct:
		for _, f := range c.Fields {
			checkColumn(t, meta, where+"/"+c.Name, p.Type, f, nil, false)
		}
	case c.Type == sinks.List && c.Elem.Type == sinks.Struct:
		for _, f := range c.Elem.Fields {
			checkColumn(t, meta, where+"/"+c.Name+"[]", p.Type, f, nil, false)
		}
	}
}

// TestMetadata_SelectNamesDeclared checks that every $select of the
// connectors' first requests names declared, non-navigation properties.
func TestMetadata_SelectNamesDeclared(t *testing.T) {
	meta := graphmeta.Load(t, "../../..")
	w := pipeline.Window{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	n := 0
	for _, tb := range connector.Tables() {
		u, err := url.Parse(tb.First("x", w, settings[0]))
		if err != nil {
			t.Fatal(err)
		}
		sel := u.Query().Get("$select")
		if sel == "" {
			continue
		}
		for _, name := range strings.Split(sel, ",") {
			n++
			p, ok := meta.PropAny(entityTypes[tb.Name], name)
			switch {
			case !ok:
				t.Errorf("%s/%s: $select names %s, which %s does not declare", tb.Connector.Name, tb.Name, name, entityTypes[tb.Name])
			case p.Navigation:
				t.Errorf("%s/%s: $select names navigation property %s", tb.Connector.Name, tb.Name, name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no $select checked")
	}
}
