package graphsim

import "net/url"

// Calendar: meeting j of organizer o on day d has attendees o + k·step
// (k = 1 … size−1) over the user ring, so the events in user v's calendar
// are found by looking at organizers v − k·step. Each mailbox holds its own
// copy (own id, shared iCalUId). Cursor: (day, j·8 + k). Besides those, an
// organizer's calendar holds the event of each online meeting they
// scheduled (meetings.go: scheduled meetings), cursor (day,
// meetingEventSlot + the call's index).

var eventFields = []string{"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
	"transactionId", "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart",
	"isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity", "isAllDay",
	"isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "showAs", "type", "webLink",
	"onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals",
	"isDraft", "hideAttendees", "responseStatus", "body", "start", "end", "location", "locations", "recurrence",
	"attendees", "organizer", "onlineMeeting"}

const maxEventSlots = 16
const maxAttendees = 7
const futureDays = 14

func (t *Tenant) eventCount(o int, day int64) int {
	if !hasMailbox(o) || t.opts.eventsPerDay <= 0 {
		return 0
	}
	r := rng{t.h(kEventDay, int64(o), day, 0)}
	n := countAround(&r, t.opts.eventsPerDay*dayFactor(day))
	if t.standup(o, day) && n == 0 {
		n = 1
	}
	return min(n, maxEventSlots)
}

// standup reports whether organizer o holds a daily recurring stand-up,
// which is then meeting 0 on weekdays.
func (t *Tenant) standup(o int, day int64) bool {
	return t.h(kEvent, int64(o), -1, 0)%3 == 0 && !weekend(day)
}

type eventSpec struct {
	start, end int64
	size       int
	standup    bool
	x          uint64
}

func (t *Tenant) eventSpec(o int, day int64, j, n int) eventSpec {
	x := t.h(kEvent, int64(o), day, int64(j))
	if j == 0 && t.standup(o, day) {
		s := day*dayMS + 9*hourMS
		return eventSpec{start: s, end: s + 15*minMS, size: min(5, maxAttendees), standup: true, x: x}
	}
	w := maxEventSlots / n
	slot := j*w + int(x%uint64(w))
	s := day*dayMS + 8*hourMS + int64(slot)*30*minMS
	dur := int64(30 * minMS)
	if x>>8%3 == 0 {
		dur = 60 * minMS
	}
	return eventSpec{start: s, end: s + dur, size: 1 + int(x>>16%uint64(maxAttendees)), x: x}
}

func (t *Tenant) eventStep(j int) int64 { return t.steps[j%len(t.steps)] }

// eventAt resolves (day, j·8+k) in v's calendar to its organizer.
func (t *Tenant) eventAt(v int, day int64, jk int64) (o, j, k int, sp eventSpec, ok bool) {
	j, k = int(jk/8), int(jk%8)
	if k >= maxAttendees || t.users == 0 {
		return 0, 0, 0, sp, false
	}
	step := t.eventStep(j)
	o = int(((int64(v)-int64(k)*step)%int64(t.users) + int64(t.users)) % int64(t.users))
	n := t.eventCount(o, day)
	if j >= n {
		return 0, 0, 0, sp, false
	}
	sp = t.eventSpec(o, day, j, n)
	if k >= sp.size || k >= t.users {
		return 0, 0, 0, sp, false
	}
	// first occurrence of v among the attendees only
	for k2 := 0; k2 < k; k2++ {
		if int((int64(o)+int64(k2)*step)%int64(t.users)) == v {
			return 0, 0, 0, sp, false
		}
	}
	return o, j, k, sp, true
}

func walkEvents(t *Tenant, v int, q *query, start *cursor, fn func(cursor) bool) {
	first := t.firstDay()
	last := floorDiv(t.nowMS(), dayMS) + futureDays
	if d := floorDiv(q.lo, dayMS); q.lo != -1<<63 && d > first {
		first = d
	}
	if d := floorDiv(q.hi-1, dayMS); q.hi != 1<<63-1 && d < last {
		last = d
	}
	d0, i0 := first, int64(0)
	if start != nil {
		d0, i0 = start[0], start[1]
	}
	for d := d0; d <= last; d++ {
		i := int64(0)
		if d == d0 {
			i = i0
		}
		for ; i < maxEventSlots*8; i++ {
			_, _, _, sp, ok := t.eventAt(v, d, i)
			if !ok || sp.start >= q.hi || sp.end <= q.lo {
				continue
			}
			if !fn(cursor{d, i}) {
				return
			}
		}
		// The online meetings v scheduled that day (meetingEventSlot).
		if !hasMailbox(v) {
			continue
		}
		for _, x := range t.scheduledOn(d, v) {
			c := cursor{d, meetingEventSlot + int64(x)}
			if c[1] < i {
				continue
			}
			m, _ := t.meetingAt(d, x)
			if s, e := m.eventSpan(); s >= q.hi || e <= q.lo {
				continue
			}
			if !fn(c) {
				return
			}
		}
	}
}

var meetingSubjects = []string{"1:1", "Sprint planning", "Customer call", "Design review", "Budget sync",
	"Interview", "All hands prep", "Roadmap workshop", "Lunch & learn", "Project kickoff"}

var zoomPrefix = "https://simcorp.zoom.us/j/"

func renderEvent(t *Tenant, b []byte, v int, q *query, c cursor) []byte {
	day := c[0]
	if c[1] >= meetingEventSlot {
		return t.renderMeetingEvent(b, v, q, day, int(c[1]-meetingEventSlot))
	}
	o, j, k, sp, _ := t.eventAt(v, day, c[1])
	r := rng{sp.x}
	step := t.eventStep(j)
	subject := pick(&r, meetingSubjects)
	if sp.standup {
		subject = "Daily stand-up"
	}
	kind := r.intn(10) // 0-5 Teams, 6 Zoom, 7-9 room
	created := sp.start - int64(1+r.intn(20))*dayMS - int64(r.intn(dayMS))
	if sp.standup {
		created = (t.firstDay()-30)*dayMS + int64(t.h(kEvent, int64(o), -2, 0)%dayMS)
	}
	modified := created + int64(r.intn(hourMS))
	o2 := obj{b: b, sel: q.sel}
	ob := &o2
	ob.open()
	ob.key("@odata.etag")
	ob.b = append(ob.b, `"W/\"`...)
	ob.b = appendB64(ob.b, r.next())
	ob.b = append(ob.b, `==\""`...)
	ob.key("id")
	ob.b = append(ob.b, `"AAMkAD`...)
	ob.b = appendB64(ob.b, t.h(kEvent, int64(v), day, c[1]), uint64(v)<<32|uint64(uint32(day)), uint64(c[1]))
	ob.b = append(ob.b, `AAA="`...)
	ob.time("createdDateTime", created, tsSeven)
	ob.time("lastModifiedDateTime", modified, tsSeven)
	changeKey := r.next() // drawn whether selected or not: values never depend on $select
	if ob.field("changeKey") {
		ob.b = append(ob.b, '"')
		ob.b = appendB64(ob.b, changeKey)
		ob.b = append(ob.b, `=="`...)
	}
	ob.raw("categories", "[]")
	ob.null("transactionId")
	ob.str("originalStartTimeZone", "UTC")
	ob.str("originalEndTimeZone", "UTC")
	uidKey := t.eventUID(o, day, j)
	if ob.field("iCalUId") { // v1.0 has no uid (beta does)
		ob.b = append(ob.b, `"040000008200E00074C5B7101A82E00800000000`...)
		ob.b = appendHex64(ob.b, uidKey)
		ob.b = appendHex64(ob.b, uint64(o))
		ob.b = append(ob.b, '"')
	}
	ob.num("reminderMinutesBeforeStart", 15)
	ob.boolean("isReminderOn", true)
	ob.boolean("hasAttachments", false)
	ob.str("subject", subject)
	preview := "Agenda: " + subject
	if kind == 6 {
		preview += " " + zoomPrefix + "8" + itoa(int(uidKey%1e9))
	}
	ob.str("bodyPreview", preview)
	ob.str("importance", "normal")
	ob.str("sensitivity", "normal")
	ob.boolean("isAllDay", false)
	ob.boolean("isCancelled", false)
	ob.boolean("isOrganizer", k == 0)
	ob.boolean("responseRequested", true)
	seriesID := func() {
		ob.b = append(ob.b, `"AAMkAD`...)
		ob.b = appendB64(ob.b, t.h(kEvent, int64(o), -4, int64(v)), uint64(v))
		ob.b = append(ob.b, `AAA="`...)
	}
	if sp.standup {
		if ob.field("seriesMasterId") {
			seriesID()
		}
	} else {
		ob.null("seriesMasterId")
	}
	ob.str("showAs", "busy")
	if sp.standup {
		ob.str("type", "occurrence")
	} else {
		ob.str("type", "singleInstance")
	}
	if ob.field("webLink") {
		ob.b = append(ob.b, `"https://outlook.office365.com/owa/?itemid=AAMkAD`...)
		ob.b = appendB64(ob.b, t.h(kEvent, int64(v), day, c[1]))
		ob.b = append(ob.b, `&exvsurl=1&path=/calendar/item"`...)
	}
	ob.null("onlineMeetingUrl")
	ob.boolean("isOnlineMeeting", kind <= 5)
	if kind <= 5 {
		ob.str("onlineMeetingProvider", "teamsForBusiness")
	} else {
		ob.str("onlineMeetingProvider", "unknown")
	}
	ob.boolean("allowNewTimeProposals", true)
	// v1.0 has no occurrenceId (beta does).
	ob.boolean("isDraft", false)
	ob.boolean("hideAttendees", false)
	resp := "organizer"
	if k > 0 {
		resp = []string{"accepted", "tentativelyAccepted", "none", "accepted"}[r.intn(4)]
	}
	if ob.field("responseStatus") {
		ob.b = append(ob.b, `{"response":"`...)
		ob.b = append(ob.b, resp...)
		ob.b = append(ob.b, `","time":"0001-01-01T00:00:00Z"}`...)
	}
	if ob.field("body") {
		ob.b = append(ob.b, `{"contentType":"html","content":`...)
		ob.b = appendStrRaw(ob.b, eventBody(preview, t.opts.eventBodyBytes))
		ob.b = append(ob.b, '}')
	}
	if ob.field("start") {
		ob.b = append(ob.b, `{"dateTime":`...)
		ob.b = appendTime(ob.b, sp.start, tsEvent)
		ob.b = append(ob.b, `,"timeZone":"UTC"}`...)
	}
	if ob.field("end") {
		ob.b = append(ob.b, `{"dateTime":`...)
		ob.b = appendTime(ob.b, sp.end, tsEvent)
		ob.b = append(ob.b, `,"timeZone":"UTC"}`...)
	}
	loc := func() {
		switch {
		case kind <= 5:
			ob.b = append(ob.b, `{"displayName":"Microsoft Teams Meeting","locationType":"default","uniqueId":"Microsoft Teams Meeting","uniqueIdType":"private"}`...)
		case kind == 6:
			url := zoomPrefix + "8" + itoa(int(uidKey%1e9)) + "?pwd=sim" + itoa(int(uidKey>>40%1e6))
			ob.b = append(ob.b, `{"displayName":`...)
			ob.b = appendStr(ob.b, "Zoom "+url)
			ob.b = append(ob.b, `,"locationType":"default","uniqueId":`...)
			ob.b = appendStr(ob.b, url)
			ob.b = append(ob.b, `,"uniqueIdType":"private"}`...)
		default:
			ob.b = append(ob.b, `{"displayName":"Room `...)
			ob.b = appendInt(ob.b, int64(uidKey%40+1))
			ob.b = append(ob.b, `","locationType":"conferenceRoom","uniqueId":"Room `...)
			ob.b = appendInt(ob.b, int64(uidKey%40+1))
			ob.b = append(ob.b, `","uniqueIdType":"private"}`...)
		}
	}
	if ob.field("location") {
		loc()
	}
	if ob.field("locations") {
		ob.b = append(ob.b, '[')
		loc()
		ob.b = append(ob.b, ']')
	}
	ob.null("recurrence")
	if ob.field("attendees") {
		ob.b = append(ob.b, '[')
		first := true
		for k2 := 1; k2 < sp.size && k2 < t.users; k2++ {
			a := int((int64(o) + int64(k2)*step) % int64(t.users))
			if a == o {
				continue
			}
			if !first {
				ob.b = append(ob.b, ',')
			}
			first = false
			typ := "required"
			if k2 > 3 {
				typ = "optional"
			}
			ob.b = append(ob.b, `{"type":"`...)
			ob.b = append(ob.b, typ...)
			ob.b = append(ob.b, `","status":{"response":"none","time":"0001-01-01T00:00:00Z"},`...)
			ea := t.appendEmailAddress(nil, a)
			ob.b = append(ob.b, ea[1:]...) // "emailAddress":{…}}
		}
		ob.b = append(ob.b, ']')
	}
	if ob.field("organizer") {
		ob.b = t.appendEmailAddress(ob.b, o)
	}
	if kind <= 5 {
		if ob.field("onlineMeeting") {
			ob.b = append(ob.b, `{"joinUrl":"https://teams.microsoft.com/l/meetup-join/19%3ameeting_`...)
			ob.b = appendB64(ob.b, uidKey, eventLo(o, day, j)) // its meeting's thread (meetings.go)
			ob.b = append(ob.b, `%40thread.v2/0?context=%7b%22Tid%22%3a%22`...)
			ob.b = append(ob.b, t.opts.tenantID...)
			ob.b = append(ob.b, `%22%7d"}`...)
		}
	} else {
		ob.null("onlineMeeting")
	}
	ob.close()
	return ob.b
}

// calendarQuery parses calendarView: startDateTime and endDateTime are
// required; $top ≤ 1000 (default 10); $select.
func calendarQuery(v url.Values) (*query, *apiError) {
	q := fullQuery()
	var e *apiError
	if q.top, e = parseTop(v, 10, 1000); e != nil {
		return nil, e
	}
	if q.sel, e = parseSelect(v, eventFields, "event"); e != nil {
		return nil, e
	}
	lo, ok1 := parseTimeLit(v.Get("startDateTime"))
	hi, ok2 := parseTimeLit(v.Get("endDateTime"))
	if !ok1 || !ok2 {
		return nil, badRequest("ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
	}
	q.lo, q.hi = lo, hi
	return q, nil
}

var collEvents = &collection{name: "events", fields: eventFields, walk: walkEvents, render: renderEvent}
