package graphsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestUsersDelta_RemovedAndExpired(t *testing.T) {
	h := start(t, Options{Users: 250, Seed: 4})
	tn := h.s.Tenant()
	recs, pages, delta := h.all("/v1.0/users/delta?$select=id,displayName")
	if len(recs) != 250 || pages != 3 || delta == "" {
		t.Fatalf("full round: %d users, %d pages, deltaLink %q", len(recs), pages, delta)
	}
	tn.DeleteUser(17)
	recs, _, delta2 := h.all(delta)
	if len(recs) != 1 || delta2 == "" {
		t.Fatalf("after one deletion: %d changes, deltaLink %q", len(recs), delta2)
	}
	var r struct {
		ID      string                  `json:"id"`
		Removed struct{ Reason string } `json:"@removed"`
	}
	_ = json.Unmarshal(recs[0], &r)
	if r.ID != tn.UserID(17) || r.Removed.Reason != "changed" {
		t.Fatalf("change = %s", recs[0])
	}
	if recs, _, _ := h.all(delta2); len(recs) != 0 {
		t.Fatalf("no change since: %d records", len(recs))
	}
	h.s.ExpireDeltaTokens()
	code, hdr, b := h.get(delta2)
	if code != 410 || hdr.Get("Location") == "" || strings.Contains(hdr.Get("Location"), "deltatoken") {
		t.Fatalf("expired token: %d Location %q %s", code, hdr.Get("Location"), b)
	}
}

func TestGroupsDelta_Rounds(t *testing.T) {
	h := start(t, Options{Users: 500})
	recs, pages, delta := h.all("/v1.0/groups/delta")
	if len(recs) != 50 || pages != 1 || delta == "" {
		t.Fatalf("full round: %d groups in %d pages, deltaLink %q", len(recs), pages, delta)
	}
	equalRecords(t, "groups", truth(h.s.Tenant(), "groups", "", time.Time{}, time.Time{}), recs)
	if recs, _, d2 := h.all(delta); len(recs) != 0 || d2 == "" {
		t.Fatalf("second round: %d changes, deltaLink %q", len(recs), d2)
	}
}

func TestChannelDelta_Rounds(t *testing.T) {
	h := start(t, Options{Users: 60, Seed: 8, ChannelMessagesPerChannelDay: 30, Limits: Limits{Disabled: true}})
	tn := h.s.Tenant()
	p := "/v1.0/teams/" + tn.GroupID(teamGroup(1)) + "/channels/" + tn.ChannelID(1, 0) + "/messages/delta"
	first, pages, delta := h.all(p)
	if len(first) == 0 || pages < 2 || delta == "" {
		t.Fatalf("full round: %d messages in %d pages, deltaLink %q", len(first), pages, delta)
	}
	seen := map[string]bool{}
	for _, id := range ids(t, first) {
		if seen[id] {
			t.Fatalf("message %s twice in one round", id)
		}
		seen[id] = true
	}
	old := tn.Now()
	h.s.SetNow(old.Add(24 * time.Hour))
	second, _, delta2 := h.all(delta)
	if len(second) == 0 || delta2 == "" {
		t.Fatalf("a day later: %d changes, deltaLink %q", len(second), delta2)
	}
	for _, rec := range second {
		var m struct {
			ID                   string                   `json:"id"`
			LastModifiedDateTime time.Time                `json:"lastModifiedDateTime"`
			ReplyToID            *string                  `json:"replyToId"`
			Removed              *struct{ Reason string } `json:"@removed"`
		}
		if err := json.Unmarshal(rec, &m); err != nil {
			t.Fatal(err)
		}
		if m.Removed == nil && (m.LastModifiedDateTime.Before(old) || m.ReplyToID != nil) {
			t.Fatalf("second round served %s", rec)
		}
		if m.Removed != nil && m.Removed.Reason != "deleted" {
			t.Fatalf("removed item %s", rec)
		}
	}
	if recs, _, _ := h.all(delta2); len(recs) != 0 {
		t.Fatalf("no time passed: %d changes", len(recs))
	}
}

func TestMessages_DefaultOrderNewestFirst(t *testing.T) {
	h := start(t, Options{Users: 5})
	recs, _, _ := h.all(q("/v1.0/users/" + h.s.Tenant().UserID(0) + "/mailFolders/SentItems/messages?$top=50&$filter=sentDateTime ge " + day + " and sentDateTime lt " + nextDay))
	if len(recs) < 2 {
		t.Fatalf("%d messages", len(recs))
	}
	var prev time.Time
	for i, r := range recs {
		var m struct{ SentDateTime time.Time }
		_ = json.Unmarshal(r, &m)
		if i > 0 && !m.SentDateTime.Before(prev) {
			t.Fatalf("message %d sent %s after %s: not newest first", i, m.SentDateTime, prev)
		}
		prev = m.SentDateTime
	}
	want := truth(h.s.Tenant(), "messages", h.s.Tenant().UserID(0), dayT, nextDayT)
	if len(want) != len(recs) {
		t.Fatalf("desc order served %d, truth %d", len(recs), len(want))
	}
}

func TestChatMessages_OncePerParticipant(t *testing.T) {
	h := start(t, Options{Users: 30, Seed: 6})
	tn := h.s.Tenant()
	count := map[string]int{}
	for _, o := range truthOwners(tn, "chat_messages") {
		for _, r := range truth(tn, "chat_messages", o, dayT, nextDayT) {
			var m struct{ ID, ChatID string }
			_ = json.Unmarshal(r, &m)
			count[m.ChatID+"/"+m.ID]++
		}
	}
	if len(count) == 0 {
		t.Fatal("no chat messages")
	}
	for k, n := range count {
		if n < 2 {
			t.Fatalf("message %s served to %d participant(s), want ≥ 2", k, n)
		}
	}
}
