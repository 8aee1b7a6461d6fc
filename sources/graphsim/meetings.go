package graphsim

import (
	"encoding/base64"
	"math"
	"net/url"
	"slices"
	"strings"
)

// ---------------------------------------------------------------------------
// Online meetings and their attendance reports.
//
// Every group call record (one with a joinWebUrl) is a session of an
// online meeting organized by the call's organizer_v2. The meeting's chat
// thread is 19:meeting_X@thread.v2, where X is the call's id in base64url
// (so the meeting, like a real one, outlives its call record's 30-day
// retention: a meeting whose record is gone is still served). The same
// meeting's join URL is written differently in different places, as in
// Microsoft's own examples:
//
//	call record    https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0
//	onlineMeeting  https://teams.microsoft.com/l/meetup-join/19%3Ameeting_X%40thread.v2/0?context=%7B%22Tid%22%3A%22{tenant}%22%2C%22Oid%22%3A%22{organizer}%22%7D
//
// GET /users/{id}/onlineMeetings?$filter=JoinWebUrl eq '{url}' serves the
// meeting to its organizer only ("this filter works for the organizer
// only": another user gets an empty value[]). Which encodings Graph
// matches is not documented; the emulator matches any URL that decodes to
// the meeting's thread id (an assumption), so an exporter that sends the
// URL exactly as it read it is right either way.
//
// Access needs, besides OnlineMeetings.Read.All (meetings) and
// OnlineMeetingArtifact.Read.All (attendance reports), a Teams application
// access policy granted to the organizer (New-CsApplicationAccessPolicy,
// Grant-CsApplicationAccessPolicy). Without it Graph answers 403 Forbidden
// "No application access policy found for this app." (Microsoft's
// cloud-communication-online-meeting-application-access-policy page): for
// every organizer with Options.NoMeetingPolicy, and otherwise for the
// organizers the tenant's policy does not cover (meetingPolicyDenied).
//
// A meeting has one attendance report per session (1 to 3; an emulator
// choice: Teams makes one each time the meeting starts again after
// everyone left), each with the attendance records of the people who
// joined it: the call's participants (the organizer in every session),
// their roles, intervals and total seconds. attendanceRecords pages hold
// meetingRecordsPage records (an emulator choice, so that paging is
// exercised; Microsoft documents @odata.nextLink without a size).
//
// Throttling: Microsoft documents no limit of their own for these APIs;
// the emulator counts them in a class of their own, Limits.Meetings
// (50,000 per 15 seconds per tenant, the cloud communications limit
// Microsoft gives for calls: an assumption).

// meetingRecordsPage is the emulator's attendanceRecords page size.
const meetingRecordsPage = 3

var onlineMeetingFields = []string{"id", "creationDateTime", "startDateTime", "endDateTime", "joinWebUrl",
	"subject", "chatInfo", "participants", "allowedPresenters", "isEntryExitAnnounced", "lobbyBypassSettings",
	"joinMeetingIdSettings", "videoTeleconferenceId", "audioConferencing", "joinInformation", "recordAutomatically",
	"allowAttendeeToEnableCamera", "allowAttendeeToEnableMic", "allowMeetingChat", "allowTeamworkReactions"}

var attendanceReportFields = []string{"id", "totalParticipantCount", "meetingStartDateTime", "meetingEndDateTime", "attendanceRecords"}

var attendanceRecordFields = []string{"id", "emailAddress", "identity", "role", "totalAttendanceInSeconds", "attendanceIntervals"}

var onlineMeetingSubjects = []string{"Weekly Sync", "Project Planning", "1:1 Catch-up", "Customer Review with Contoso",
	"Sprint Retro", "Budget discussion", "All Hands"}

// meetingPolicyDenied reports whether the tenant's application access
// policy leaves out organizer u (a policy granted per user, not
// globally): their meetings answer 403.
func meetingPolicyDenied(u int) bool { return u%50 == 41 }

// meeting is a group call seen as an online meeting.
type meeting struct {
	day        int64
	i          int
	start, end int64
	org        int
	people     []int // distinct participants, the organizer first
	subject    string
	reports    int
	// ev: a meeting scheduled in a calendar that never took place (no
	// call, no reports): the event of organizer org's slot j on day.
	ev bool
	j  int
}

// callPeople replays renderCall's draws for call (day, i) as served in
// full: its interval, organizer and participants (with repeats).
func (t *Tenant) callPeople(day int64, i int) (start, end int64, org int, parts []int) {
	n := t.callCount(day)
	start = t.callStart(day, i, n)
	r := rng{t.h(kCall, day, int64(i), 1)}
	end = start + int64(30+r.intn(3600))*1000
	org = r.intn(t.users)
	np := 2 + r.intn(5)
	r.next() // id
	r.next()
	r.intn(3)     // version
	r.chance(0.5) // modalities
	r.intn(600)   // lastModifiedDateTime
	if np > 2 {
		r.next() // joinWebUrl
	}
	parts = append(parts, org)
	for k := 1; k < np; k++ {
		parts = append(parts, r.intn(t.users))
	}
	return start, end, org, parts
}

// meetingAt returns the meeting of call (day, i); false for a call that is
// not a group call (no join URL), not held, or not started yet.
func (t *Tenant) meetingAt(day int64, i int) (meeting, bool) {
	if day < t.firstDay() || i < 0 || i >= t.callCount(day) {
		return meeting{}, false
	}
	start, end, org, parts := t.callPeople(day, i)
	if len(parts) <= 2 || start >= t.nowMS() {
		return meeting{}, false
	}
	m := meeting{day: day, i: i, start: start, end: end, org: org}
	seen := map[int]bool{}
	for _, p := range parts {
		if !seen[p] {
			seen[p] = true
			m.people = append(m.people, p)
		}
	}
	x := t.h(kCall, day, int64(i), 9)
	m.subject = onlineMeetingSubjects[x%uint64(len(onlineMeetingSubjects))]
	m.reports = 1 + int(x>>8%3)
	return m, true
}

// appendThreadX appends call (day, i)'s meeting key X, the call id's 16
// bytes in base64url.
func (t *Tenant) appendThreadX(b []byte, day int64, i int) []byte {
	hi, lo := t.callID(day, i)
	return appendB64(b, hi, lo)
}

// meetingByThread finds the meeting whose thread id is
// 19:meeting_X@thread.v2 somewhere in s, after percent-decoding (a join
// URL in any encoding, a thread id, or a decoded meeting id).
func (t *Tenant) meetingByThread(s string) (meeting, bool) {
	for range 3 { // %253a → %3a → :
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			break
		}
		s = d
	}
	const pre, post = "19:meeting_", "@thread.v2"
	a := strings.Index(s, pre)
	if a < 0 {
		return meeting{}, false
	}
	s = s[a+len(pre):]
	e := strings.Index(s, post)
	if e < 0 {
		return meeting{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[:e])
	if err != nil || len(raw) != 16 {
		return meeting{}, false
	}
	var hi, lo uint64
	for k := 0; k < 8; k++ {
		hi = hi<<8 | uint64(raw[k])
		lo = lo<<8 | uint64(raw[8+k])
	}
	if lo>>62 == 1 { // an event's meeting (eventLo)
		day, o, j := int64(int32(uint32(lo>>24))), int(lo>>4&(1<<20-1)), int(lo&15)
		m, ok := t.eventMeeting(o, day, j)
		if !ok || t.eventUID(o, day, j) != hi {
			return meeting{}, false
		}
		return m, true
	}
	key := t.h(kCall, -7, 0, 0) &^ (3 << 62)
	x := (lo &^ (3 << 62)) ^ key
	day, i := int64(x>>32), int(uint32(x))
	if h2, l2 := t.callID(day, i); h2 != hi || l2 != lo {
		return meeting{}, false
	}
	return t.meetingAt(day, i)
}

// appendMeetingID appends the meeting's id: as in Microsoft's examples,
// the base64 of "1*{organizer id}*0**{thread id}" (the id is opaque to
// clients; its content is an observation, not a documented contract).
func (t *Tenant) appendMeetingID(b []byte, m meeting) []byte {
	raw := []byte("1*")
	raw = t.appendObjID(raw, kUser, m.org)
	raw = append(raw, "*0**19:meeting_"...)
	raw = t.appendMeetingX(raw, m)
	raw = append(raw, "@thread.v2"...)
	return base64.RawURLEncoding.AppendEncode(b, raw)
}

func (t *Tenant) appendMeetingJoinURL(b []byte, m meeting) []byte {
	b = append(b, "https://teams.microsoft.com/l/meetup-join/19%3Ameeting_"...)
	b = t.appendMeetingX(b, m)
	b = append(b, "%40thread.v2/0?context=%7B%22Tid%22%3A%22"...)
	b = append(b, t.opts.tenantID...)
	b = append(b, "%22%2C%22Oid%22%3A%22"...)
	b = t.appendObjID(b, kUser, m.org)
	return append(b, "%22%7D"...)
}

// renderMeeting renders the onlineMeeting of m.
func (t *Tenant) renderMeeting(b []byte, m meeting, sel map[string]bool) []byte {
	o := obj{b: b, sel: sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendMeetingID(o.b, m)
		o.b = append(o.b, '"')
	}
	o.time("creationDateTime", m.start-15*minMS, tsMillis)
	o.time("startDateTime", m.start, tsMillis)
	o.time("endDateTime", m.end, tsMillis)
	if o.field("joinWebUrl") {
		o.b = append(o.b, '"')
		o.b = t.appendMeetingJoinURL(o.b, m)
		o.b = append(o.b, '"')
	}
	o.str("subject", m.subject)
	if o.field("chatInfo") {
		o.b = append(o.b, `{"threadId":"19:meeting_`...)
		o.b = t.appendMeetingX(o.b, m)
		o.b = append(o.b, `@thread.v2","messageId":"0","replyChainMessageId":null}`...)
	}
	if o.field("participants") {
		o.b = append(o.b, `{"organizer":`...)
		o.b = t.appendMeetingParticipant(o.b, m.org, "presenter")
		o.b = append(o.b, `,"attendees":[`...)
		for k, p := range m.people[1:] {
			if k > 0 {
				o.b = append(o.b, ',')
			}
			o.b = t.appendMeetingParticipant(o.b, p, "attendee")
		}
		o.b = append(o.b, "]}"...)
	}
	o.str("allowedPresenters", "everyone")
	o.boolean("isEntryExitAnnounced", false)
	o.raw("lobbyBypassSettings", `{"scope":"organization","isDialInBypassEnabled":false}`)
	if o.field("joinMeetingIdSettings") {
		o.b = append(o.b, `{"isPasscodeRequired":true,"joinMeetingId":"`...)
		o.b = appendInt(o.b, int64(t.h(kCall, m.day, int64(m.i), 10)%1e12))
		o.b = append(o.b, `","passcode":"sim`...)
		o.b = appendInt(o.b, int64(t.h(kCall, m.day, int64(m.i), 11)%1e6))
		o.b = append(o.b, `"}`...)
	}
	o.null("videoTeleconferenceId")
	if o.field("audioConferencing") {
		o.b = append(o.b, `{"conferenceId":"`...)
		o.b = appendInt(o.b, int64(t.h(kCall, m.day, int64(m.i), 12)%1e9))
		o.b = append(o.b, `","tollNumber":"+1 555 0100","tollFreeNumber":null,"tollNumbers":["+1 555 0100"],"tollFreeNumbers":[],"dialinUrl":"https://dialin.teams.microsoft.com/sim"}`...)
	}
	if o.field("joinInformation") {
		o.b = append(o.b, `{"content":"data:text/html,%3cdiv%3eJoin+`...)
		o.b = append(o.b, url.QueryEscape(m.subject)...)
		o.b = append(o.b, `%3c%2fdiv%3e","contentType":"html"}`...)
	}
	o.boolean("recordAutomatically", false)
	o.boolean("allowAttendeeToEnableCamera", true)
	o.boolean("allowAttendeeToEnableMic", true)
	o.str("allowMeetingChat", "enabled")
	o.boolean("allowTeamworkReactions", true)
	o.close()
	return o.b
}

// appendMeetingParticipant is a meetingParticipantInfo.
func (t *Tenant) appendMeetingParticipant(b []byte, u int, role string) []byte {
	p := t.person(u)
	b = append(b, `{"upn":"`...)
	b = t.appendAddress(b, p)
	b = append(b, `","role":"`...)
	b = append(b, role...)
	b = append(b, `","identity":{"user":`...)
	b = append(b, `{"id":"`...)
	b = t.appendObjID(b, kUser, u)
	b = append(b, `","displayName":"`...)
	b = p.appendName(b)
	b = append(b, `","tenantId":"`...)
	b = append(b, t.opts.tenantID...)
	return append(b, `"},"application":null,"device":null}}`...)
}

// reportSpan is report j's meeting interval: the call's interval cut in
// m.reports sessions.
func (m meeting) reportSpan(j int) (start, end int64) {
	w := (m.end - m.start) / int64(m.reports)
	return m.start + int64(j)*w, m.start + int64(j+1)*w - 1000
}

// reportID is report j's id, a GUID.
func (t *Tenant) appendReportID(b []byte, m meeting, j int) []byte {
	hi := t.h(kCall, m.day, int64(m.i), 20+int64(j))&^0xf000 | 0x4000
	lo := uint64(j)<<56 ^ t.h(kCall, m.day, int64(m.i), 30)&^(3<<62) | 1<<63
	return appendUUID(b, hi, lo)
}

// reportIndex finds the report of m with id.
func (t *Tenant) reportIndex(m meeting, id string) (int, bool) {
	for j := 0; j < m.reports; j++ {
		if string(t.appendReportID(nil, m, j)) == id {
			return j, true
		}
	}
	return 0, false
}

// reportPeople lists who attended report j: everyone in the first
// session, the organizer and about half of the others in later ones.
func (t *Tenant) reportPeople(m meeting, j int) []int {
	if j == 0 {
		return m.people
	}
	out := []int{m.org}
	x := t.h(kCall, m.day, int64(m.i), 40+int64(j))
	for k, p := range m.people[1:] {
		if x>>uint(k%60)&1 == 1 {
			out = append(out, p)
		}
	}
	return out
}

func (t *Tenant) renderReport(b []byte, m meeting, j int, sel map[string]bool) []byte {
	s, e := m.reportSpan(j)
	o := obj{b: b, sel: sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendReportID(o.b, m, j)
		o.b = append(o.b, '"')
	}
	o.num("totalParticipantCount", int64(len(t.reportPeople(m, j))))
	o.time("meetingStartDateTime", s, tsMillis)
	o.time("meetingEndDateTime", e, tsMillis)
	o.raw("attendanceRecords", "[]") // the list never expands them (Microsoft's example)
	o.close()
	return o.b
}

// renderAttendance renders attendee k of report j.
func (t *Tenant) renderAttendance(b []byte, m meeting, j, k int, sel map[string]bool) []byte {
	people := t.reportPeople(m, j)
	u := people[k]
	s, e := m.reportSpan(j)
	x := t.h(kCall, m.day, int64(m.i), 100+int64(j)*64+int64(k))
	join := s + int64(x%uint64((e-s)/4+1))
	leave := e - int64(x>>20%uint64((e-s)/4+1))
	if u == m.org {
		join, leave = s, e
	}
	var ivs [][2]int64
	if x>>40%3 == 0 && leave-join > 4000 { // left and came back
		mid := join + (leave-join)/2
		ivs = [][2]int64{{join, mid - 1000}, {mid + 1000, leave}}
	} else {
		ivs = [][2]int64{{join, leave}}
	}
	total := int64(0)
	for _, iv := range ivs {
		total += (iv[1] - iv[0]) / 1000
	}
	role := "Attendee"
	if u == m.org {
		role = "Organizer"
	} else if x>>50%4 == 0 {
		role = "Presenter"
	}
	p := t.person(u)
	o := obj{b: b, sel: sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendObjID(o.b, kUser, u)
		o.b = append(o.b, '"')
	}
	if o.field("emailAddress") {
		o.b = append(o.b, '"')
		o.b = t.appendAddress(o.b, p)
		o.b = append(o.b, '"')
	}
	o.num("totalAttendanceInSeconds", total)
	o.str("role", role)
	if o.field("identity") {
		o.b = append(o.b, `{"id":"`...)
		o.b = t.appendObjID(o.b, kUser, u)
		o.b = append(o.b, `","displayName":"`...)
		o.b = p.appendName(o.b)
		o.b = append(o.b, `","tenantId":"`...)
		o.b = append(o.b, t.opts.tenantID...)
		o.b = append(o.b, `"}`...)
	}
	if o.field("attendanceIntervals") {
		o.b = append(o.b, '[')
		for n, iv := range ivs {
			if n > 0 {
				o.b = append(o.b, ',')
			}
			o.b = append(o.b, `{"joinDateTime":`...)
			o.b = appendTime(o.b, iv[0], tsMillis)
			o.b = append(o.b, `,"leaveDateTime":`...)
			o.b = appendTime(o.b, iv[1], tsMillis)
			o.b = append(o.b, `,"durationInSeconds":`...)
			o.b = appendInt(o.b, (iv[1]-iv[0])/1000)
			o.b = append(o.b, '}')
		}
		o.b = append(o.b, ']')
	}
	o.close()
	return o.b
}

// meetingOwner packs (day, i, report) into a collection owner.
func meetingOwner(m meeting, j int) int { return int(m.day)<<20 | m.i<<2 | j }

func unpackMeetingOwner(t *Tenant, owner int) (meeting, int, bool) {
	m, ok := t.meetingAt(int64(owner>>20), owner>>2&(1<<18-1))
	return m, owner & 3, ok
}

var collAttendance = &collection{name: "attendance_records", fields: attendanceRecordFields,
	walk: func(t *Tenant, owner int, _ *query, start *cursor, fn func(cursor) bool) {
		m, j, ok := unpackMeetingOwner(t, owner)
		if !ok {
			return
		}
		k := int64(0)
		if start != nil {
			k = start[0]
		}
		for n := int64(len(t.reportPeople(m, j))); k < n; k++ {
			if !fn(cursor{k}) {
				return
			}
		}
	},
	render: func(t *Tenant, b []byte, owner int, q *query, c cursor) []byte {
		m, j, _ := unpackMeetingOwner(t, owner)
		return t.renderAttendance(b, m, j, int(c[0]), q.sel)
	}}

var collReports = &collection{name: "attendance_reports", fields: attendanceReportFields,
	walk: func(t *Tenant, owner int, _ *query, start *cursor, fn func(cursor) bool) {
		m, _, ok := unpackMeetingOwner(t, owner)
		if !ok {
			return
		}
		j := int64(0)
		if start != nil {
			j = start[0]
		}
		for ; j < int64(m.reports); j++ {
			if !fn(cursor{j}) {
				return
			}
		}
	},
	render: func(t *Tenant, b []byte, owner int, q *query, c cursor) []byte {
		m, _, _ := unpackMeetingOwner(t, owner)
		return t.renderReport(b, m, int(c[0]), q.sel)
	}}

// meetingGate checks the organizer u's access policy (404 for an unknown
// or deleted user comes first, from lookupUser).
func (s *Server) meetingGate(u int) *apiError {
	if s.opts.NoMeetingPolicy || meetingPolicyDenied(u) {
		return &apiError{status: 403, code: "Forbidden", msg: "No application access policy found for this app."}
	}
	return nil
}

// onlineMeetings serves GET /users/{id}/onlineMeetings?$filter=JoinWebUrl
// eq '…' (app-only Graph lists no meetings: without the filter it is 400).
func (s *Server) onlineMeetings(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	u, e := s.lookupUser(rc)
	if e != nil {
		return nil, 0, e
	}
	if e := s.meetingGate(u); e != nil {
		return nil, 0, e
	}
	sel, e := parseSelect(v, onlineMeetingFields, "onlineMeeting")
	if e != nil {
		return nil, 0, e
	}
	f := strings.TrimSpace(v.Get("$filter"))
	prop, val, ok := strings.Cut(f, " ")
	op, lit, ok2 := strings.Cut(strings.TrimSpace(val), " ")
	lit = strings.TrimSpace(lit)
	if !ok || !ok2 || !strings.EqualFold(prop, "JoinWebUrl") || !strings.EqualFold(op, "eq") ||
		len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return nil, 0, badRequest("BadRequest", "Filter on joinWebUrl (JoinWebUrl eq '{joinWebUrl}') is required for this request in application context.")
	}
	lit = strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
	b = append(b, `{"@odata.context":`...)
	b = appendStr(b, odataCtx)
	b = append(b, `,"value":[`...)
	n := 0
	if m, ok := s.tenant.meetingByThread(lit); ok && m.org == u && !s.meetingGone(m) {
		b = s.tenant.renderMeeting(b, m, sel)
		n = 1
	}
	return append(b, "]}"...), n, nil
}

// meetingOf resolves the meeting id of a route for organizer u: 404 for
// an id that is not u's meeting.
func (s *Server) meetingOf(rc *reqCtx, u int) (meeting, *apiError) {
	raw, err := base64.RawURLEncoding.DecodeString(rc.rt.objID)
	if err != nil {
		raw, err = base64.StdEncoding.DecodeString(rc.rt.objID)
	}
	m, ok := s.tenant.meetingByThread(string(raw))
	if err != nil || !ok || m.org != u || s.meetingGone(m) || string(s.tenant.appendMeetingID(nil, m)) != strings.TrimRight(rc.rt.objID, "=") {
		return meeting{}, &apiError{status: 404, code: "NotFound", msg: "The specified online meeting was not found."}
	}
	return m, nil
}

// requestedMeeting is the meeting a request's path names, for its
// organizer only, behind the application access policy.
func (s *Server) requestedMeeting(rc *reqCtx) (meeting, *apiError) {
	u, e := s.lookupUser(rc)
	if e != nil {
		return meeting{}, e
	}
	if e := s.meetingGate(u); e != nil {
		return meeting{}, e
	}
	return s.meetingOf(rc, u)
}

// attendanceReports serves GET …/onlineMeetings/{id}/attendanceReports.
func (s *Server) attendanceReports(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	m, e := s.requestedMeeting(rc)
	if e != nil {
		return nil, 0, e
	}
	q := fullQuery()
	if q.sel, e = parseSelect(v, attendanceReportFields, "meetingAttendanceReport"); e != nil {
		return nil, 0, e
	}
	q.top = 100
	return s.page(rc, b, collReports, meetingOwner(m, 0), q, odataCtx)
}

// attendanceRecords serves GET …/attendanceReports/{reportId}/attendanceRecords,
// meetingRecordsPage records a page.
func (s *Server) attendanceRecords(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	m, e := s.requestedMeeting(rc)
	if e != nil {
		return nil, 0, e
	}
	j, ok := s.tenant.reportIndex(m, rc.rt.chanID)
	if !ok || s.reportGone(m, j) {
		return nil, 0, &apiError{status: 404, code: "NotFound", msg: "The specified attendance report was not found."}
	}
	q := fullQuery()
	if q.sel, e = parseSelect(v, attendanceRecordFields, "attendanceRecord"); e != nil {
		return nil, 0, e
	}
	if q.top, e = parseTop(v, meetingRecordsPage, meetingRecordsPage); e != nil {
		return nil, 0, e
	}
	return s.page(rc, b, collAttendance, meetingOwner(m, j), q, odataCtx)
}

// reportGone reports whether report j of m has disappeared
// (Faults.GoneReportEvery).
func (s *Server) reportGone(m meeting, j int) bool {
	n := s.opts.Faults.GoneReportEvery
	return n > 0 && m.reports > 1 && j == m.reports-1 && s.tenant.h(kFault, m.day, int64(m.i), 5)%uint64(n) == 0
}

// meetingGone reports whether meeting m has disappeared
// (Faults.GoneMeetingEvery): only meetings that never took place do.
func (s *Server) meetingGone(m meeting) bool {
	n := s.opts.Faults.GoneMeetingEvery
	return n > 0 && m.ev && s.tenant.h(kFault, m.day, int64(m.i), 6)%uint64(n) == 0
}

// GoneMeeting reports whether the meeting with threadID has disappeared
// under Faults.GoneMeetingEvery: test support, for the ground truth of a
// run with that fault.
func (s *Server) GoneMeeting(threadID string) bool {
	m, ok := s.tenant.meetingByThread(threadID)
	return ok && s.meetingGone(m)
}

// GoneReport reports whether report j (0-based, in the reports list's
// order) of the meeting with threadID answers 404 under
// Faults.GoneReportEvery: test support, for the ground truth of a run
// with that fault.
func (s *Server) GoneReport(threadID string, j int) bool {
	m, ok := s.tenant.meetingByThread(threadID)
	return ok && s.reportGone(m, j)
}

// Meetings lists the online meetings a window [from, to) (zero times:
// unbounded) finds: those whose call record started in it and is still
// kept (CallStart), and the scheduled ones whose event in the organizer's
// calendar starts in it (EventStart; whether that calendar answers is the
// organizer's matter), in the order of their calls; with each, its
// organizer's id, its attendance reports and their attendance records as
// served. A meeting is listed once. It is for the ground-truth oracle
// (simtruth).
func (t *Tenant) Meetings(from, to int64) []MeetingTruth {
	var out []MeetingTruth
	first := t.firstDay()
	last := floorDiv(t.nowMS()-1, dayMS)
	if d := floorDiv(from, dayMS); from != math.MinInt64 && d > first {
		first = d
	}
	if d := floorDiv(to-1, dayMS); to != math.MaxInt64 && d < last {
		last = d
	}
	for day := first; day <= last; day++ {
		for i := range t.callCount(day) {
			m, ok := t.meetingAt(day, i)
			if !ok {
				continue
			}
			mt := MeetingTruth{Organizer: t.UserID(m.org), ThreadID: "19:meeting_" + string(t.appendMeetingX(nil, m)) + "@thread.v2",
				PolicyDenied: meetingPolicyDenied(m.org)}
			if m.start >= from && m.start < to && t.callRetained(m.start) {
				mt.CallStart = m.start / 1000 * 1000
			}
			if s, _ := m.eventSpan(); t.scheduled(m) && s >= from && s < to {
				mt.EventStart = s
			}
			if mt.CallStart == 0 && mt.EventStart == 0 {
				continue
			}
			mt.Meeting = t.renderMeeting(nil, m, nil)
			for j := 0; j < m.reports; j++ {
				people := t.reportPeople(m, j)
				for k := range people {
					mt.Attendance = append(mt.Attendance, t.renderAttendance(nil, m, j, k, nil))
				}
				mt.Reports = append(mt.Reports, len(people))
				mt.ReportIDs = append(mt.ReportIDs, string(t.appendReportID(nil, m, j)))
			}
			out = append(out, mt)
		}
	}
	// Meetings scheduled and never held, found by their events only.
	for o := range t.users {
		for day := first; day <= last; day++ {
			for j := range t.eventCount(o, day) {
				m, ok := t.eventMeeting(o, day, j)
				if !ok || m.start < from || m.start >= to {
					continue
				}
				out = append(out, MeetingTruth{Organizer: t.UserID(o), ThreadID: "19:meeting_" + string(t.appendMeetingX(nil, m)) + "@thread.v2",
					PolicyDenied: meetingPolicyDenied(o), EventStart: m.start, Meeting: t.renderMeeting(nil, m, nil)})
			}
		}
	}
	return out
}

// MeetingTruth is one meeting as the emulator serves it.
type MeetingTruth struct {
	Organizer    string
	ThreadID     string
	CallStart    int64    // its call record's startDateTime as served (whole seconds), in Unix ms; 0: not found by one
	EventStart   int64    // its organizer's event's start, in Unix ms; 0: not found by one
	Meeting      []byte   // the onlineMeeting
	Attendance   [][]byte // every attendance record of every report
	Reports      []int    // the number of attendance records of each report
	ReportIDs    []string // each report's id
	PolicyDenied bool     // the organizer's meetings answer 403
}

// ---------------------------------------------------------------------------
// Scheduled and ad-hoc meetings.
//
// About two in three meetings were scheduled (scheduled): the organizer's
// calendar holds the meeting's event, at the quarter hour the call began
// in, 30 or 60 minutes long, with isOrganizer and isOnlineMeeting true and
// onlineMeeting.joinUrl the meeting's join URL encoded a third way
// (lower-case percent escapes, as in Microsoft's event examples):
//
//	event  https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0?context=%7b%22Tid%22%3a%22{tenant}%22%2c%22Oid%22%3a%22{organizer}%22%7d
//
// The others are ad-hoc ("Meet now"): a call record and no event. Only the
// organizer's copy of a scheduled meeting's event is emulated (the
// attendees' copies are left out: an emulator simplification). A scheduled
// meeting outlives its call record's 30-day retention (with HistoryDays
// over 30): its event is then the only way to find it. An organizer
// without a mailbox has no calendar, and one whose mailbox an Exchange
// access policy blocks answers 403: their scheduled meetings are found
// through call records only.

// meetingEventSlot is the first cursor slot of a day's scheduled-meeting
// events in a calendar: above the regular events' j·8+k.
const meetingEventSlot = maxEventSlots * 8

// scheduled reports whether meeting m was scheduled (has an event in its
// organizer's calendar) rather than started ad hoc.
func (t *Tenant) scheduled(m meeting) bool { return t.h(kCall, m.day, int64(m.i), 13)%3 != 0 }

// scheduledOn lists the call indexes of the scheduled meetings organizer
// v held on day, ascending. The day's list is computed once and kept
// (8 bytes a meeting).
func (t *Tenant) scheduledOn(day int64, v int) []int {
	t.schedMu.Lock()
	l, ok := t.sched[day]
	if !ok {
		for i := range t.callCount(day) {
			if m, ok := t.meetingAt(day, i); ok && t.scheduled(m) {
				l = append(l, uint64(m.org)<<32|uint64(i))
			}
		}
		slices.Sort(l)
		if t.sched == nil {
			t.sched = map[int64][]uint64{}
		}
		t.sched[day] = l
	}
	t.schedMu.Unlock()
	k, _ := slices.BinarySearch(l, uint64(v)<<32)
	var out []int
	for ; k < len(l) && int(l[k]>>32) == v; k++ {
		out = append(out, int(uint32(l[k])))
	}
	return out
}

// eventSpan is the scheduled meeting's event interval: from the quarter
// hour its call began in, 30 minutes, or 60 for a call longer than 30.
func (m meeting) eventSpan() (start, end int64) {
	start = m.start - m.start%(15*minMS)
	if m.end-m.start > 30*minMS {
		return start, start + 60*minMS
	}
	return start, start + 30*minMS
}

// appendEventJoinURL appends the join URL as the meeting's event carries
// it: the meeting's URL with its percent escapes in lower case.
func (t *Tenant) appendEventJoinURL(b []byte, m meeting) []byte {
	start := len(b)
	b = t.appendMeetingJoinURL(b, m)
	for i := start; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
		}
	}
	return b
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// renderMeetingEvent renders the event of the meeting of call (day, i) in
// its organizer v's calendar.
func (t *Tenant) renderMeetingEvent(b []byte, v int, q *query, day int64, i int) []byte {
	m, _ := t.meetingAt(day, i)
	start, end := m.eventSpan()
	x := t.h(kCall, day, int64(i), 14)
	created := start - int64(1+x%7)*dayMS - int64(x>>8%uint64(dayMS))
	modified := created + int64(x>>40%uint64(hourMS))
	slot := meetingEventSlot + int64(i)
	o := obj{b: b, sel: q.sel}
	o.open()
	o.key("@odata.etag")
	o.b = append(o.b, `"W/\"`...)
	o.b = appendB64(o.b, t.h(kCall, day, int64(i), 15))
	o.b = append(o.b, `==\""`...)
	o.key("id")
	o.b = append(o.b, `"AAMkAD`...)
	o.b = appendB64(o.b, t.h(kEvent, int64(v), day, slot), uint64(v)<<32|uint64(uint32(day)), uint64(slot))
	o.b = append(o.b, `AAA="`...)
	o.time("createdDateTime", created, tsSeven)
	o.time("lastModifiedDateTime", modified, tsSeven)
	if o.field("changeKey") {
		o.b = append(o.b, '"')
		o.b = appendB64(o.b, t.h(kCall, day, int64(i), 16))
		o.b = append(o.b, `=="`...)
	}
	o.raw("categories", "[]")
	o.null("transactionId")
	o.str("originalStartTimeZone", "UTC")
	o.str("originalEndTimeZone", "UTC")
	if o.field("iCalUId") {
		hi, lo := t.callID(day, i)
		o.b = append(o.b, `"040000008200E00074C5B7101A82E00800000000`...)
		o.b = appendHex64(o.b, hi)
		o.b = appendHex64(o.b, lo)
		o.b = append(o.b, '"')
	}
	o.num("reminderMinutesBeforeStart", 15)
	o.boolean("isReminderOn", true)
	o.boolean("hasAttachments", false)
	o.str("subject", m.subject)
	preview := "Agenda: " + m.subject
	o.str("bodyPreview", preview)
	o.str("importance", "normal")
	o.str("sensitivity", "normal")
	o.boolean("isAllDay", false)
	o.boolean("isCancelled", false)
	o.boolean("isOrganizer", true)
	o.boolean("responseRequested", true)
	o.null("seriesMasterId")
	o.str("showAs", "busy")
	o.str("type", "singleInstance")
	if o.field("webLink") {
		o.b = append(o.b, `"https://outlook.office365.com/owa/?itemid=AAMkAD`...)
		o.b = appendB64(o.b, t.h(kEvent, int64(v), day, slot))
		o.b = append(o.b, `&exvsurl=1&path=/calendar/item"`...)
	}
	o.null("onlineMeetingUrl")
	o.boolean("isOnlineMeeting", true)
	o.str("onlineMeetingProvider", "teamsForBusiness")
	o.boolean("allowNewTimeProposals", true)
	o.boolean("isDraft", false)
	o.boolean("hideAttendees", false)
	o.raw("responseStatus", `{"response":"organizer","time":"0001-01-01T00:00:00Z"}`)
	if o.field("body") {
		o.b = append(o.b, `{"contentType":"html","content":`...)
		o.b = appendStrRaw(o.b, eventBody(preview, t.opts.eventBodyBytes))
		o.b = append(o.b, '}')
	}
	if o.field("start") {
		o.b = append(o.b, `{"dateTime":`...)
		o.b = appendTime(o.b, start, tsEvent)
		o.b = append(o.b, `,"timeZone":"UTC"}`...)
	}
	if o.field("end") {
		o.b = append(o.b, `{"dateTime":`...)
		o.b = appendTime(o.b, end, tsEvent)
		o.b = append(o.b, `,"timeZone":"UTC"}`...)
	}
	const teams = `{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueId":"Microsoft Teams Meeting","uniqueIdType":"private"}`
	o.raw("location", teams)
	o.raw("locations", "["+teams+"]")
	o.null("recurrence")
	if o.field("attendees") {
		o.b = append(o.b, '[')
		for k, a := range m.people[1:] {
			if k > 0 {
				o.b = append(o.b, ',')
			}
			o.b = append(o.b, `{"type":"required","status":{"response":"none","time":"0001-01-01T00:00:00Z"},`...)
			ea := t.appendEmailAddress(nil, a)
			o.b = append(o.b, ea[1:]...) // "emailAddress":{…}}
		}
		o.b = append(o.b, ']')
	}
	if o.field("organizer") {
		o.b = t.appendEmailAddress(o.b, m.org)
	}
	if o.field("onlineMeeting") {
		o.b = append(o.b, `{"joinUrl":"`...)
		o.b = t.appendEventJoinURL(o.b, m)
		o.b = append(o.b, `"}`...)
	}
	o.close()
	return o.b
}

// ---------------------------------------------------------------------------
// Meetings scheduled and never held.
//
// Every Teams event of the calendars (calendar.go: kinds 0 to 5) is an
// online meeting too, as in Graph, where scheduling a Teams meeting
// creates it: its join URL, the same in every attendee's copy, finds it
// for its organizer. These meetings never took place (no call record, no
// attendance report; an emulator choice, so that the meetings that did
// are the call records' only). Each occurrence of the daily stand-up
// carries a meeting of its own (an emulator simplification: Teams gives a
// recurring series one meeting).

// eventUID is the uid key of organizer o's event j on day (the iCalUId's
// and the meeting thread's high word).
func (t *Tenant) eventUID(o int, day int64, j int) uint64 {
	if j == 0 && t.standup(o, day) {
		return t.h(kEvent, int64(o), -3, 0)
	}
	return t.h(kEvent, int64(o), day, int64(j)+1<<30)
}

// eventLo is the low word of the thread of organizer o's event j on day:
// bit 62 set (bit 63, a call's, clear), day, o and j.
func eventLo(o int, day int64, j int) uint64 {
	return 1<<62 | uint64(uint32(day))<<24 | uint64(o)&(1<<20-1)<<4 | uint64(j)&15
}

// appendMeetingX appends meeting m's thread key X (19:meeting_X@thread.v2).
func (t *Tenant) appendMeetingX(b []byte, m meeting) []byte {
	if m.ev {
		return appendB64(b, t.eventUID(m.org, m.day, m.j), eventLo(m.org, m.day, m.j))
	}
	return t.appendThreadX(b, m.day, m.i)
}

// eventMeeting returns the meeting of organizer o's event j on day; false
// if there is no such event or it is not a Teams meeting.
func (t *Tenant) eventMeeting(o int, day int64, j int) (meeting, bool) {
	if o < 0 || o >= t.users || o >= 1<<20 || j < 0 || day < t.firstDay() || day > floorDiv(t.nowMS(), dayMS)+futureDays {
		return meeting{}, false
	}
	n := t.eventCount(o, day)
	if j >= n {
		return meeting{}, false
	}
	sp := t.eventSpec(o, day, j, n)
	r := rng{sp.x} // renderEvent's draws: the subject, then the kind
	subject := pick(&r, meetingSubjects)
	if sp.standup {
		subject = "Daily stand-up"
	}
	if r.intn(10) > 5 {
		return meeting{}, false // Zoom or a room
	}
	m := meeting{day: day, i: -(o*maxEventSlots + j + 1), ev: true, j: j, start: sp.start, end: sp.end, org: o, subject: subject, people: []int{o}}
	step := t.eventStep(j)
	for k := 1; k < sp.size && k < t.users; k++ {
		if a := int((int64(o) + int64(k)*step) % int64(t.users)); !slices.Contains(m.people, a) {
			m.people = append(m.people, a)
		}
	}
	return m, true
}
