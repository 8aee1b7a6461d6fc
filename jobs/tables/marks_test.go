package tables

import (
	"testing"

	"m365export/jobs/connector"
)

// TestMarks measures the privacy marks through the rules: a column each
// kind of rule acts on gets its mark, and every leaf column has one.
func TestMarks(t *testing.T) {
	want := map[string]map[string]string{
		"users":  {"mail": MarkPseudonymized, "displayName": MarkRemoved, "department": MarkKept, "businessPhones": MarkReduced},
		"events": {"subject": MarkReduced, "start.utc": MarkDerived, "start.dateTime": MarkKept, "location.locationUri": MarkRemoved, "attendees[].emailAddress.address": MarkPseudonymized},
		"teams":  {"id": MarkKept, "displayName": MarkRemoved},
	}
	seen := 0
	for _, tb := range connector.Tables() {
		marks, err := Marks(tb)
		if err != nil {
			t.Fatal(err)
		}
		if len(marks) == 0 {
			t.Errorf("%s: no marks", tb.Name)
		}
		for col, m := range marks {
			if m == "" {
				t.Errorf("%s.%s: no mark", tb.Name, col)
			}
		}
		for col, m := range want[tb.Name] {
			seen++
			if m != "" && marks[col] != m {
				t.Errorf("%s.%s: mark %q, want %q", tb.Name, col, marks[col], m)
			}
		}
		if tb.Name == "chat_messages" {
			if marks["eventDetail"] != MarkReduced || marks["body.+content:textDigest"] != MarkDerived {
				t.Errorf("chat_messages: eventDetail %q, body digest %q", marks["eventDetail"], marks["body.+content:textDigest"])
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d expected marks checked", seen)
	}
}
