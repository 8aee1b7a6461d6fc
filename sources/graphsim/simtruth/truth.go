// Package simtruth is the ground-truth oracle of the Graph emulator
// (m365export/sources/graphsim): for a tenant, it lists the owners of each
// collection whose requests succeed and every record the emulator serves
// them, so tests and benchmarks compare an export with it exactly.
//
// It is test support: only _test.go files and benchmarks import it, never
// production code (the root all_test.go checks this). It reads the
// emulator through Tenant's exported accessors (User, UserIndex, Groups,
// IsTeam, GroupID and Records).
package simtruth

import (
	"encoding/json"
	"math"
	"time"

	"m365export/sources/graphsim"
)

// Collections names the collections Truth knows, with the owner kind and
// the window property of each.
var Collections = map[string]string{
	"users":            "tenant; no window",
	"groups":           "tenant; no window",
	"group_members":    "group id; no window",
	"teams":            "team id (each team read by GET /teams/{id}); no window",
	"channels":         "team id; no window",
	"chats":            "user id; no window",
	"mailbox_settings": "user id; no window",
	"events":           "user id; events overlapping [from, to)",
	"messages":         "user id; sentDateTime in [from, to)",
	"chat_messages":    "user id; lastModifiedDateTime in [from, to)",
	"channel_messages": "team id; lastModifiedDateTime in [from, to)",
	"call_records":     "call record id (each record read by GET …/callRecords/{id}?$expand=participants_v2); startDateTime in [from, to)",
	"interactions":     "user id; createdDateTime in [from, to)",
	// Meetings: see Meetings.
	"online_meetings":    "meeting thread id; the meeting if its call record or its organizer's event started in [from, to) (see Meetings)",
	"meeting_attendance": "meeting thread id; its reports' attendance records if its call record or its organizer's event started in [from, to) (see Meetings)",
}

// Meeting is one online meeting the emulator serves: the meeting of a
// group call, found by its call record or (scheduled meetings) by its
// organizer's calendar event, as its organizer's GET …/onlineMeetings?
// $filter=JoinWebUrl eq '…' serves it, with every attendance record of
// every one of its reports.
type Meeting struct {
	// Organizer is the organizer's user id.
	Organizer string
	// ThreadID is the meeting's chat thread id, 19:meeting_…@thread.v2.
	ThreadID string
	// CallStart is the startDateTime of the meeting's call record, if the
	// window finds it by that (zero: the record started outside the window
	// or is past Graph's 30-day retention).
	CallStart time.Time
	// EventStart is the start of the meeting's event in its organizer's
	// calendar, if the window finds it by that (zero: an ad-hoc meeting,
	// an event outside the window, or a calendar that does not answer:
	// no mailbox, or one an Exchange access policy blocks).
	EventStart time.Time
	// Found is the earlier of CallStart and EventStart that is set: the
	// meeting's found_date_time.
	Found time.Time
	// Meeting is the onlineMeeting record.
	Meeting json.RawMessage
	// Attendance are the attendance records, report after report.
	Attendance []json.RawMessage
	// Reports holds the number of attendance records of each report, in
	// the reports list's order.
	Reports []int
	// ReportIDs are the reports' ids, in the same order.
	ReportIDs []string
	// Denied: the tenant's access policy leaves the organizer out, so
	// every request about the meeting answers 403 (an exporter records the
	// organizer's meetings as refused and exports none of them).
	Denied bool
}

// Meetings lists the online meetings a window [from, to) finds (zero
// times: unbounded), each once, in the order of their calls: those whose
// call record started in it and Graph still keeps, and those whose event
// in the organizer's calendar (a scheduled meeting's) starts in it, if
// that calendar answers. Those whose organizer the policy leaves out are
// listed with Denied. With Options.NoMeetingPolicy every request answers
// 403 instead; Meetings does not know the server's options. Every user is
// taken to be in scope.
func Meetings(t *graphsim.Tenant, from, to time.Time) []Meeting {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	var out []Meeting
	for _, m := range t.Meetings(lo, hi) {
		i, ok := t.UserIndex(m.Organizer)
		if ok && t.User(i).Deleted {
			continue // 404 for a deleted organizer
		}
		mt := Meeting{Organizer: m.Organizer, ThreadID: m.ThreadID, Meeting: m.Meeting, Denied: m.PolicyDenied, Reports: m.Reports, ReportIDs: m.ReportIDs}
		if m.CallStart != 0 {
			mt.CallStart = time.UnixMilli(m.CallStart).UTC()
			mt.Found = mt.CallStart
		}
		if m.EventStart != 0 && ok && serves("events", t.User(i)) {
			mt.EventStart = time.UnixMilli(m.EventStart).UTC()
			if mt.Found.IsZero() || mt.EventStart.Before(mt.Found) {
				mt.Found = mt.EventStart
			}
		}
		if mt.Found.IsZero() {
			continue
		}
		for _, a := range m.Attendance {
			mt.Attendance = append(mt.Attendance, a)
		}
		out = append(out, mt)
	}
	return out
}

// Owners lists the owners of a collection whose requests succeed: "" for
// tenant-wide collections; group, team, call record or user ids otherwise. Users that
// answer an error (no mailbox, denied mailbox, no Copilot licence,
// deleted) are left out; see graphsim.Tenant.User for why.
func Owners(t *graphsim.Tenant, collection string) []string {
	var out []string
	switch collection {
	case "users", "groups":
		return []string{""}
	case "call_records":
		// Every record the list serves (all retained days); an exporter's
		// window holds those whose startDateTime it covers.
		for _, raw := range t.Records("call_records", "", time.Time{}, time.Time{}, []string{"id"}) {
			var r struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &r) == nil {
				out = append(out, r.ID)
			}
		}
	case "online_meetings", "meeting_attendance":
		// Meetings whose organizer the access policy covers.
		for _, m := range Meetings(t, time.Time{}, time.Time{}) {
			if !m.Denied {
				out = append(out, m.ThreadID)
			}
		}
	case "group_members":
		for g := 0; g < t.Groups(); g++ {
			out = append(out, t.GroupID(g))
		}
	case "teams", "channels", "channel_messages":
		for g := 0; g < t.Groups(); g++ {
			if t.IsTeam(g) {
				out = append(out, t.GroupID(g))
			}
		}
	default:
		for u := 0; u < t.Users(); u++ {
			if serves(collection, t.User(u)) {
				out = append(out, t.UserID(u))
			}
		}
	}
	return out
}

// serves reports whether the emulator answers a user-owned collection's
// requests for user u with records rather than an error.
func serves(collection string, u graphsim.UserInfo) bool {
	switch collection {
	case "chats", "chat_messages":
		return !u.Deleted
	case "mailbox_settings", "events", "messages":
		return !u.Deleted && u.Mailbox && !u.Denied
	case "interactions":
		return !u.Deleted && u.Mailbox && u.Copilot
	}
	return false
}

// Truth lists every record the emulator serves for a collection, an owner
// (as listed by Owners) and a half-open window [from, to) on the
// collection's window property (zero times: unbounded), as raw JSON objects
// exactly as served without $select, in the emulator's serving order
// (messages by ascending sentDateTime, as with $orderby=sentDateTime).
// Windows are whole milliseconds; Graph's gt/lt-only filters serve
// (from, to), so a client wanting [from, to) asks for gt from−1ms.
// chat_messages repeats a chat's message for each participant, as
// getAllMessages does. An unknown collection or owner gives nil.
func Truth(t *graphsim.Tenant, coll, owner string, from, to time.Time) []json.RawMessage {
	return TruthSelect(t, coll, owner, from, to, nil)
}

// TruthSelect is Truth for requests with $select=strings.Join(sel, ","):
// records as the emulator serves them then (messages and events keep
// @odata.etag and id; Teams messages keep @odata.type). Names are
// canonical property names; unknown ones are ignored. nil sel is Truth.
func TruthSelect(t *graphsim.Tenant, coll, owner string, from, to time.Time, sel []string) []json.RawMessage {
	switch coll {
	case "chats", "chat_messages", "mailbox_settings", "events", "messages", "interactions":
		i, ok := t.UserIndex(owner)
		if !ok || !serves(coll, t.User(i)) {
			return nil
		}
	}
	switch coll {
	case "online_meetings", "meeting_attendance": // sel is not applied
		for _, m := range Meetings(t, from, to) {
			if m.ThreadID != owner || m.Denied {
				continue
			}
			if coll == "online_meetings" {
				return []json.RawMessage{m.Meeting}
			}
			return m.Attendance
		}
		return nil
	}
	return t.Records(coll, owner, from, to, sel)
}
