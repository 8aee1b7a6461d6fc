package graphsim

import (
	"math"
)

// A cursor addresses one record of a collection for one owner; its meaning
// is per collection (e.g. day and index for mail). Walks are in cursor
// order, which is the order the emulator serves.
type cursor [3]int64

// query is what a request asks of a collection.
type query struct {
	top      int
	sel      map[string]bool // canonical field names; nil: all
	lo, hi   int64           // half-open window in ms on the collection's time property
	desc     bool
	appClass string
	defaults bool // users: no $select, serve Graph's default property set
	expand   bool // call records: $expand=participants_v2
	// userFilter keeps users by index (/users $filter); nil keeps all.
	userFilter func(i int) bool
}

func fullQuery() *query { return &query{lo: math.MinInt64, hi: math.MaxInt64} }

// A collection walks records of one owner in order and renders them.
type collection struct {
	name   string
	fields []string // canonical property names accepted by $select
	// walk calls fn with the cursor of each record of owner that matches q,
	// starting at start (nil: the beginning), until fn returns false.
	walk func(t *Tenant, owner int, q *query, start *cursor, fn func(cursor) bool)
	// render appends the record at c.
	render func(t *Tenant, b []byte, owner int, q *query, c cursor) []byte
}

const (
	dayMS  = 86400000
	hourMS = 3600000
	minMS  = 60000
)

// dayRange returns the days to visit for a window [lo, hi) on a property
// that may lag the record's creation day by up to lag ms.
func (t *Tenant) dayRange(q *query, lag int64) (first, last int64) {
	first = t.firstDay()
	last = floorDiv(t.nowMS()-1, dayMS)
	if q.lo != math.MinInt64 {
		if d := floorDiv(q.lo-lag, dayMS); d > first {
			first = d
		}
	}
	if q.hi != math.MaxInt64 {
		if d := floorDiv(q.hi-1, dayMS); d < last {
			last = d
		}
	}
	return
}

func weekend(day int64) bool {
	wd := (day + 4) % 7 // 1970-01-01 was a Thursday (4); 0 = Sunday
	return wd == 0 || wd == 6
}

func dayFactor(day int64) float64 {
	if weekend(day) {
		return 0.15
	}
	return 1
}

// ---------------------------------------------------------------------------
// Mail: SentItems messages.

var messageFields = []string{"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
	"receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview",
	"importance", "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
	"isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender",
	"from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag", "uniqueBody"}

const workStartMS = 7 * hourMS
const workSpanS = 12 * 3600

func (t *Tenant) mailCount(u int, day int64) int {
	if !hasMailbox(u) {
		return 0
	}
	r := rng{t.h(kMailDay, int64(u), day, 0)}
	n := countAround(&r, t.opts.mailPerDay*dayFactor(day))
	if n > workSpanS {
		n = workSpanS
	}
	return n
}

// mailTime is the sentDateTime (ms, whole seconds) of message j of n.
func (t *Tenant) mailTime(u int, day int64, j, n int) int64 {
	w := int64(workSpanS / n)
	off := int64(j)*w + int64(t.h(kMail, int64(u), day, int64(j))%uint64(w))
	return day*dayMS + workStartMS + off*1000
}

func walkMail(t *Tenant, u int, q *query, start *cursor, fn func(cursor) bool) {
	first, last := t.dayRange(q, 0)
	now := t.nowMS()
	if q.desc {
		d0, j0 := last, int64(-1)
		if start != nil {
			d0, j0 = start[0], start[1]
		}
		for d := d0; d >= first; d-- {
			n := t.mailCount(u, d)
			j := int64(n - 1)
			if d == d0 && j0 >= 0 {
				j = j0
			}
			for ; j >= 0; j-- {
				ts := t.mailTime(u, d, int(j), n)
				if ts >= q.hi || ts >= now {
					continue
				}
				if ts < q.lo {
					return
				}
				if !fn(cursor{d, j}) {
					return
				}
			}
		}
		return
	}
	d0, j0 := first, int64(0)
	if start != nil {
		d0, j0 = start[0], start[1]
	}
	for d := d0; d <= last; d++ {
		n := t.mailCount(u, d)
		j := int64(0)
		if d == d0 {
			j = j0
		}
		for ; j < int64(n); j++ {
			ts := t.mailTime(u, d, int(j), n)
			if ts < q.lo {
				continue
			}
			if ts >= q.hi || ts >= now {
				return
			}
			if !fn(cursor{d, j}) {
				return
			}
		}
	}
}

var subjects = []string{"Quarterly planning", "Re: Budget review", "Customer follow-up", "Design review notes",
	"Hiring update", "Fwd: Contract draft", "Weekly status", "Launch checklist", "Re: Incident report",
	"Offsite logistics", "Roadmap feedback", "Invoice question", "Re: Onboarding plan", "Lunch on Friday?"}

var previews = []string{"Hi all, sharing the latest numbers ahead of our sync.",
	"Thanks for the quick turnaround, a few comments inline.",
	"Please find the draft attached; let me know what you think.",
	"Quick reminder about the deadline later this week.",
	"Following up on our conversation from yesterday."}

func (t *Tenant) appendMailID(b []byte, prefix string, u int, day int64, j int64) []byte {
	b = append(b, prefix...)
	b = appendB64(b, t.h(kMail, int64(u), day, j+1<<40), uint64(u)<<32|uint64(uint32(day)), uint64(j)<<32|t.h(kMail, int64(u), day, j+2<<40)&0xffffffff)
	return append(b, "AAA="...)
}

func renderMail(t *Tenant, b []byte, u int, q *query, c cursor) []byte {
	day, j := c[0], c[1]
	n := t.mailCount(u, day)
	sent := t.mailTime(u, day, int(j), n)
	r := rng{t.h(kMail, int64(u), day, j+3<<40)}
	o := obj{b: b, sel: q.sel}
	o.open()
	o.key("@odata.etag")
	o.b = append(o.b, `"W/\"CQAAABYAAAA`...)
	o.b = appendB64(o.b, r.next())
	o.b = append(o.b, `\""`...)
	o.key("id")
	o.b = append(o.b, '"')
	o.b = t.appendMailID(o.b, "AAMkAG", u, day, j)
	o.b = append(o.b, '"')
	o.time("createdDateTime", sent-1000, tsSeconds)
	o.time("lastModifiedDateTime", sent+2000, tsSeconds)
	if o.field("changeKey") {
		// From a copy of the generator: a record's values must not depend
		// on what $select names, as Graph's do not.
		ck := r
		o.b = append(o.b, `"CQAAABYAAAA`...)
		o.b = appendB64(o.b, ck.next())
		o.b = append(o.b, '"')
	}
	o.raw("categories", "[]")
	o.time("receivedDateTime", sent, tsSeconds)
	o.time("sentDateTime", sent, tsSeconds)
	attach := r.chance(0.15)
	o.boolean("hasAttachments", attach)
	imid := r.next() // drawn whether selected or not: values must not depend on $select
	if o.field("internetMessageId") {
		o.b = append(o.b, `"<`...)
		o.b = appendHex64(o.b, imid)
		o.b = append(o.b, '@')
		o.b = append(o.b, t.opts.domain...)
		o.b = append(o.b, `>"`...)
	}
	subj := pick(&r, subjects)
	o.str("subject", subj)
	prev := pick(&r, previews)
	o.str("bodyPreview", prev)
	imp := "normal"
	if r.chance(0.08) {
		imp = "high"
	}
	o.str("importance", imp)
	if o.field("parentFolderId") {
		o.b = append(o.b, '"')
		o.b = appendB64(o.b, t.h(kMail, int64(u), -1, 0))
		o.b = append(o.b, `AAA="`...)
	}
	conv := r.next()
	if o.field("conversationId") {
		o.b = append(o.b, `"AAQkAG`...)
		o.b = appendB64(o.b, conv, uint64(u))
		o.b = append(o.b, `="`...)
	}
	if o.field("conversationIndex") {
		o.b = append(o.b, `"AQH`...)
		o.b = appendB64(o.b, conv)
		o.b = append(o.b, `=="`...)
	}
	o.boolean("isDeliveryReceiptRequested", false)
	o.boolean("isReadReceiptRequested", r.chance(0.05))
	o.boolean("isRead", true)
	o.boolean("isDraft", false)
	if o.field("webLink") {
		o.b = append(o.b, `"https://outlook.office365.com/owa/?ItemID=`...)
		o.b = t.appendMailID(o.b, "AAMkAG", u, day, j)
		o.b = append(o.b, `&exvsurl=1&viewmodel=ReadMessageItem"`...)
	}
	o.str("inferenceClassification", "focused")
	if o.field("body") {
		o.b = append(o.b, `{"contentType":"html","content":`...)
		o.b = appendStrRaw(o.b, "<html><body><p>"+prev+"</p></body></html>")
		o.b = append(o.b, '}')
	}
	if o.field("sender") {
		o.b = t.appendEmailAddress(o.b, u)
	}
	if o.field("from") {
		o.b = t.appendEmailAddress(o.b, u)
	}
	nTo, nCc := 1+r.intn(4), 0
	if r.chance(0.3) {
		nCc = 1 + r.intn(2)
	}
	rcpt := func(k string, n int) {
		if !o.field(k) {
			for i := 0; i < n; i++ {
				r.next()
				r.next()
			}
			return
		}
		o.b = append(o.b, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			x := r.next()
			if r.next()%20 == 0 {
				p := person{i: int(x % 100000), first: int(x>>20) % len(firstNames), last: int(x>>30) % len(lastNames), guest: true, dom: "external.example"}
				o.b = append(o.b, `{"emailAddress":{"name":"`...)
				o.b = p.appendName(o.b)
				o.b = append(o.b, `","address":"`...)
				o.b = t.appendAddress(o.b, p)
				o.b = append(o.b, `"}}`...)
				continue
			}
			o.b = t.appendEmailAddress(o.b, int(x%uint64(t.users)))
		}
		o.b = append(o.b, ']')
	}
	rcpt("toRecipients", nTo)
	rcpt("ccRecipients", nCc)
	o.raw("bccRecipients", "[]")
	o.raw("replyTo", "[]")
	o.raw("flag", `{"flagStatus":"notFlagged"}`)
	o.close()
	return o.b
}

// ---------------------------------------------------------------------------
// Mailbox settings.

var mailboxSettingsFields = []string{"archiveFolder", "timeZone", "automaticRepliesSetting", "language",
	"workingHours", "dateFormat", "timeFormat", "delegateMeetingMessageDeliveryOptions", "userPurpose"}

func renderMailboxSettings(t *Tenant, b []byte, u int, q *query) []byte {
	r := rng{t.h(kSettings, int64(u), 0, 0)}
	tz := pick(&r, timeZones)
	lang := pick(&r, languages)
	// Every draw is made whether its property is selected or not: values
	// never depend on $select.
	archive := r.next()
	replies := "disabled"
	if r.chance(0.1) {
		replies = "scheduled"
	}
	repliesStart := t.nowMS() + int64(r.intn(20))*dayMS
	workStart, workEnd := byte('7'+r.intn(3)), byte('6'+r.intn(3))
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("archiveFolder") {
		o.b = append(o.b, `"AAMkAG`...)
		o.b = appendB64(o.b, archive, uint64(u))
		o.b = append(o.b, `AAA="`...)
	}
	o.str("timeZone", tz)
	o.str("delegateMeetingMessageDeliveryOptions", "sendToDelegateOnly")
	o.str("dateFormat", "M/d/yyyy")
	o.str("timeFormat", "h:mm tt")
	o.str("userPurpose", "user")
	if o.field("automaticRepliesSetting") {
		start := repliesStart
		o.b = append(o.b, `{"status":"`...)
		o.b = append(o.b, replies...)
		o.b = append(o.b, `","externalAudience":"all","internalReplyMessage":"I am out of the office until next week.","externalReplyMessage":"Thank you for your message; I will reply when I am back.","scheduledStartDateTime":{"dateTime":`...)
		o.b = appendTime(o.b, floorDiv(start, dayMS)*dayMS, tsEvent)
		o.b = append(o.b, `,"timeZone":"UTC"},"scheduledEndDateTime":{"dateTime":`...)
		o.b = appendTime(o.b, floorDiv(start, dayMS)*dayMS+5*dayMS, tsEvent)
		o.b = append(o.b, `,"timeZone":"UTC"}}`...)
	}
	if o.field("language") {
		o.b = append(o.b, `{"locale":"`...)
		o.b = append(o.b, lang...)
		o.b = append(o.b, `","displayName":"`...)
		o.b = append(o.b, lang...)
		o.b = append(o.b, `"}`...)
	}
	if o.field("workingHours") {
		o.b = append(o.b, `{"daysOfWeek":["monday","tuesday","wednesday","thursday","friday"],"startTime":"0`...)
		o.b = append(o.b, workStart)
		o.b = append(o.b, `:00:00.0000000","endTime":"1`...)
		o.b = append(o.b, workEnd)
		o.b = append(o.b, `:00:00.0000000","timeZone":{"name":"`...)
		o.b = append(o.b, tz...)
		o.b = append(o.b, `"}}`...)
	}
	o.close()
	return o.b
}
