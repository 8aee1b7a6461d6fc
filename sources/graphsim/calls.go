package graphsim

import (
	"net/url"
	"strings"
)

// ---------------------------------------------------------------------------
// Call records: tenant-wide, about CallsPerUserDay × users per weekday.
// Cursor: (day, index), ordered by startDateTime.
//
// As Microsoft documents (callrecords-cloudcommunications-list-callrecords,
// graph-api-notes §8 fact 4): the list "doesn't include expandable
// relationships such as sessions and participants_v2"; its items carry
// organizer (deprecated: it stopped returning data on 2026-06-30, so it is
// null) and organizer_v2, unexpanded. GET /communications/callRecords/{id}
// returns one record, with participants_v2 when $expand=participants_v2.
// The deprecated participants is never sent. Neither list nor get returns
// a record older than 30 days before the emulated clock.

var callRecordFields = []string{"id", "version", "type", "modalities", "lastModifiedDateTime", "startDateTime",
	"endDateTime", "joinWebUrl", "organizer", "organizer_v2", "participants_v2"}

// callRetentionDays: "This API doesn't return call records older than 30
// days."
const callRetentionDays = 30

func (t *Tenant) callCount(day int64) int {
	r := rng{t.h(kCallDay, day, 0, 0)}
	n := countAround(&r, t.opts.callsPerUserDay*float64(t.users)*dayFactor(day))
	return min(n, 40000)
}

func (t *Tenant) callStart(day int64, i, n int) int64 {
	w := int64(12*hourMS) / int64(n)
	return day*dayMS + 7*hourMS + int64(i)*w + int64(t.h(kCall, day, int64(i), 0)%uint64(w))
}

// callRetained reports whether a call that started at ms is still served.
func (t *Tenant) callRetained(start int64) bool {
	return start >= t.nowMS()-callRetentionDays*dayMS
}

// callID is call (day, i)'s id: a v4-shaped UUID whose low half carries
// (day, i) under a tenant key, so GET …/callRecords/{id} needs no index.
func (t *Tenant) callID(day int64, i int) (hi, lo uint64) {
	key := t.h(kCall, -7, 0, 0) &^ (3 << 62)
	hi = t.h(kCall, day, int64(i), 7)&^0xf000 | 0x4000
	lo = (uint64(day)<<32 | uint64(uint32(i))) ^ key&^(3<<62) | 1<<63
	return
}

// callIndex decodes an id made by callID; false for any other id, a call
// the tenant does not hold, or one past retention.
func (t *Tenant) callIndex(id string) (day int64, i int, ok bool) {
	hi, lo, ok := parseUUID(id)
	if !ok {
		return 0, 0, false
	}
	key := t.h(kCall, -7, 0, 0) &^ (3 << 62)
	x := (lo &^ (3 << 62)) ^ key
	day, i = int64(x>>32), int(uint32(x))
	if h2, l2 := t.callID(day, i); h2 != hi || l2 != lo {
		return 0, 0, false
	}
	n := t.callCount(day)
	if i >= n || day < t.firstDay() {
		return 0, 0, false
	}
	if s := t.callStart(day, i, n); s >= t.nowMS() || !t.callRetained(s) {
		return 0, 0, false
	}
	return day, i, true
}

func walkCalls(t *Tenant, _ int, q *query, start *cursor, fn func(cursor) bool) {
	first, last := t.dayRange(q, 0)
	now := t.nowMS()
	d0, i0 := first, int64(0)
	if start != nil {
		d0, i0 = start[0], start[1]
	}
	for d := d0; d <= last; d++ {
		n := t.callCount(d)
		i := int64(0)
		if d == d0 {
			i = i0
		}
		for ; i < int64(n); i++ {
			s := t.callStart(d, int(i), n)
			if s < q.lo || !t.callRetained(s) {
				continue
			}
			if s >= q.hi || s >= now {
				return
			}
			if !fn(cursor{d, i}) {
				return
			}
		}
	}
}

// renderCall renders call c as the list serves it (q.expand false) or as
// GET …/callRecords/{id} serves it, with participants_v2 if q.expand.
func renderCall(t *Tenant, b []byte, _ int, q *query, c cursor) []byte {
	day, i := c[0], int(c[1])
	n := t.callCount(day)
	start := t.callStart(day, i, n)
	r := rng{t.h(kCall, day, int64(i), 1)}
	end := start + int64(30+r.intn(3600))*1000
	org := r.intn(t.users)
	parts := 2 + r.intn(5)
	o := obj{b: b, sel: q.sel}
	o.open()
	r.next() // the id's two draws before ids encoded (day, index)
	r.next()
	if o.field("id") {
		o.b = append(o.b, '"')
		hi, lo := t.callID(day, i)
		o.b = appendUUID(o.b, hi, lo)
		o.b = append(o.b, '"')
	}
	o.num("version", 1+int64(r.intn(3)))
	if parts == 2 {
		o.str("type", "peerToPeer")
	} else {
		o.str("type", "groupCall")
	}
	if r.chance(0.5) {
		o.raw("modalities", `["audio","video"]`)
	} else {
		o.raw("modalities", `["audio"]`)
	}
	o.time("lastModifiedDateTime", end+int64(60+r.intn(600))*1000, tsSeconds)
	o.time("startDateTime", start, tsSeconds)
	o.time("endDateTime", end, tsSeconds)
	if parts != 2 {
		r.next() // kept, so that the draws after it stay as they were, selected or not
	}
	if parts == 2 {
		o.null("joinWebUrl")
	} else if o.field("joinWebUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/meetup-join/19%3ameeting_`...)
		o.b = t.appendThreadX(o.b, day, i) // its meeting's key (meetings.go)
		o.b = append(o.b, `%40thread.v2/0"`...)
	}
	o.null("organizer") // deprecated; no data since 2026-06-30
	if o.field("organizer_v2") {
		o.b = t.appendCallParticipant(o.b, org)
	}
	if q.expand && o.field("participants_v2") {
		o.b = append(o.b, '[')
		for k := 0; k < parts; k++ {
			if k > 0 {
				o.b = append(o.b, ',')
			}
			u := org
			if k > 0 {
				u = r.intn(t.users)
			}
			o.b = t.appendCallParticipant(o.b, u)
		}
		o.b = append(o.b, ']')
	}
	o.close()
	return o.b
}

// appendCallParticipant is a callRecords participant (organizer_v2 or an
// element of participants_v2): its id and communications identity set.
func (t *Tenant) appendCallParticipant(b []byte, u int) []byte {
	b = append(b, `{"id":"`...)
	b = t.appendObjID(b, kUser, u)
	b = append(b, `","identity":{"@odata.type":"#microsoft.graph.communicationsIdentitySet","user":`...)
	b = t.appendCallIdentity(b, u)
	return append(b, `,"application":null,"device":null}}`...)
}

func (t *Tenant) appendCallIdentity(b []byte, u int) []byte {
	b = append(b, `{"id":"`...)
	b = t.appendObjID(b, kUser, u)
	b = append(b, `","displayName":"`...)
	b = t.person(u).appendName(b)
	b = append(b, `","tenantId":"`...)
	b = append(b, t.opts.tenantID...)
	return append(b, `"}`...)
}

var collCalls = &collection{name: "call_records", fields: callRecordFields, walk: walkCalls, render: renderCall}

func (s *Server) callRecords(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	q := fullQuery()
	var e *apiError
	if q.top, e = parseTop(v, 60, 60); e != nil {
		return nil, 0, e
	}
	if q.sel, e = parseSelect(v, callRecordFields, "callRecords.callRecord"); e != nil {
		return nil, 0, e
	}
	if v.Get("$expand") != "" {
		return nil, 0, badRequest("BadRequest", "Query option '$expand' is not supported on this API.")
	}
	cl, e := parseFilter(v.Get("$filter"))
	if e != nil {
		return nil, 0, e
	}
	for _, c := range cl {
		if !strings.EqualFold(c.prop, "startDateTime") {
			return nil, 0, badRequest("BadRequest", "Filter on property '"+c.prop+"' is not supported.")
		}
		if e := applyTimeClause(q, c, "ge gt le lt"); e != nil {
			return nil, 0, e
		}
	}
	return s.page(rc, b, collCalls, 0, q, odataCtx)
}

// callRecord serves GET /communications/callRecords/{id}: $select, and
// $expand=participants_v2 (sessions are not emulated: 400).
func (s *Server) callRecord(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	day, i, ok := s.tenant.callIndex(rc.rt.objID)
	if !ok {
		return nil, 0, &apiError{status: 404, code: "NotFound", msg: "Call record '" + rc.rt.objID + "' was not found."}
	}
	q := fullQuery()
	var e *apiError
	if q.sel, e = parseSelect(v, callRecordFields, "callRecords.callRecord"); e != nil {
		return nil, 0, e
	}
	switch x := v.Get("$expand"); {
	case x == "":
	case strings.EqualFold(x, "participants_v2"):
		q.expand = true
		if q.sel != nil {
			q.sel["participants_v2"] = true
		}
	default:
		return nil, 0, badRequest("BadRequest", "Expanding '"+x+"' is not supported by the emulator.")
	}
	b = append(b, `{"@odata.context":`...)
	b = appendStr(b, odataCtx)
	b = append(b, ',')
	n := len(b)
	b = renderCall(s.tenant, b, 0, q, cursor{day, int64(i)})
	copy(b[n:], b[n+1:])
	return b[:len(b)-1], 1, nil
}

// ---------------------------------------------------------------------------
// Copilot interactions: per licensed user, pairs of userPrompt and
// aiResponse (same requestId and sessionId). Cursor: (day, index).

var copilotFields = []string{"id", "sessionId", "requestId", "appClass", "interactionType", "conversationType",
	"etag", "createdDateTime", "locale", "contexts", "from", "body", "attachments", "links", "mentions"}

var appClasses = []string{"IPM.SkypeTeams.Message.Copilot.BizChat", "IPM.SkypeTeams.Message.Copilot.Teams",
	"IPM.SkypeTeams.Message.Copilot.Word", "IPM.SkypeTeams.Message.Copilot.Excel",
	"IPM.SkypeTeams.Message.Copilot.PowerPoint", "IPM.SkypeTeams.Message.Copilot.Outlook",
	"IPM.SkypeTeams.Message.Copilot.WebChat"}

var prompts = []string{"Summarize my unread email", "Draft a reply to the budget thread",
	"What did I miss in the planning meeting?", "Create slides from this document",
	"Find the latest roadmap file", "Explain this spreadsheet formula"}

func (t *Tenant) copilotPairs(u int, day int64) int {
	if !hasCopilot(u) || !hasMailbox(u) {
		return 0
	}
	r := rng{t.h(kCopilotDay, int64(u), day, 0)}
	return min(countAround(&r, t.opts.copilotPerDay*dayFactor(day)), 20000)
}

// copilotAt returns the createdDateTime and pair data of item i (2 per pair).
func (t *Tenant) copilotAt(u int, day int64, i, pairs int) (created int64, x uint64) {
	p := i / 2
	w := int64(12*hourMS) / int64(pairs)
	x = t.h(kCopilot, int64(u), day, int64(p))
	created = day*dayMS + 8*hourMS + int64(p)*w + int64(x%uint64(w/2+1))
	if i%2 == 1 {
		created += 2000 + int64(x>>40%18000)
	}
	return
}

func walkCopilot(t *Tenant, u int, q *query, start *cursor, fn func(cursor) bool) {
	first, last := t.dayRange(q, 0)
	now := t.nowMS()
	d0, i0 := first, int64(0)
	if start != nil {
		d0, i0 = start[0], start[1]
	}
	for d := d0; d <= last; d++ {
		pairs := t.copilotPairs(u, d)
		i := int64(0)
		if d == d0 {
			i = i0
		}
		for ; i < int64(2*pairs); i++ {
			created, x := t.copilotAt(u, d, int(i), pairs)
			if created < q.lo || created >= q.hi || created >= now {
				continue
			}
			if q.appClass != "" && appClasses[x%uint64(len(appClasses))] != q.appClass {
				continue
			}
			if !fn(cursor{d, i}) {
				return
			}
		}
	}
}

func renderCopilot(t *Tenant, b []byte, u int, q *query, c cursor) []byte {
	day, i := c[0], int(c[1])
	pairs := t.copilotPairs(u, day)
	created, x := t.copilotAt(u, day, i, pairs)
	app := appClasses[x%uint64(len(appClasses))]
	r := rng{x}
	prompt := pick(&r, prompts)
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, created)
		o.b = append(o.b, '"')
	}
	if o.field("sessionId") {
		o.b = append(o.b, `"19:`...)
		o.b = appendB64(o.b, t.h(kCopilot, int64(u), day, -1), uint64(x%3))
		o.b = append(o.b, `@thread.v2"`...)
	}
	if o.field("requestId") {
		o.b = append(o.b, '"')
		o.b = appendUUID(o.b, x&^0xf000|0x4000, mix(x)&^(3<<62)|1<<63)
		o.b = append(o.b, '"')
	}
	o.str("appClass", app)
	if i%2 == 0 {
		o.str("interactionType", "userPrompt")
	} else {
		o.str("interactionType", "aiResponse")
	}
	o.str("conversationType", strings.ToLower(app[strings.LastIndexByte(app, '.')+1:]))
	if o.field("etag") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, created)
		o.b = append(o.b, '"')
	}
	o.time("createdDateTime", created, tsMillis)
	o.str("locale", "en-us")
	o.raw("contexts", "[]")
	if o.field("from") {
		if i%2 == 0 {
			o.b = append(o.b, `{"@odata.type":"#microsoft.graph.chatMessageFromIdentitySet","device":null,"application":null,"user":`...)
			o.b = t.appendIdentity(o.b, u, true)
			o.b = append(o.b, '}')
		} else {
			o.b = append(o.b, `{"@odata.type":"#microsoft.graph.chatMessageFromIdentitySet","device":null,"user":null,"application":{"@odata.type":"#microsoft.graph.teamworkApplicationIdentity","id":"`...)
			o.b = appendUUID(o.b, t.h(kCopilot, -1, 0, 0)&^0xf000|0x4000, t.h(kCopilot, -1, 1, 0)&^(3<<62)|1<<63)
			o.b = append(o.b, `","displayName":"Microsoft 365 Chat","applicationIdentityType":"bot"}}`...)
		}
	}
	attach := i%2 == 1 && x>>20%3 == 0
	if o.field("body") {
		switch {
		case i%2 == 0:
			o.b = append(o.b, `{"contentType":"text","content":`...)
			o.b = appendStr(o.b, prompt)
			o.b = append(o.b, '}')
		case attach:
			o.b = append(o.b, `{"contentType":"html","content":"<attachment id=\"`...)
			o.b = appendHex64(o.b, x)
			o.b = append(o.b, `\"></attachment>"}`...)
		default:
			o.b = append(o.b, `{"contentType":"text","content":"Here is what I found for: `...)
			o.b = append(o.b, prompt...)
			o.b = append(o.b, `"}`...)
		}
	}
	if o.field("attachments") {
		if attach {
			o.b = append(o.b, `[{"attachmentId":"`...)
			o.b = appendHex64(o.b, x)
			o.b = append(o.b, `","contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":"{\"type\":\"AdaptiveCard\",\"version\":\"1.0\",\"body\":[{\"type\":\"TextBlock\",\"text\":\"Summary ready\"}]}","name":null}]`...)
		} else {
			o.b = append(o.b, "[]"...)
		}
	}
	if o.field("links") {
		if i%2 == 1 && x>>24%4 == 0 {
			o.b = append(o.b, `[{"linkUrl":"https://simcorp.sharepoint.com/sites/docs/`...)
			o.b = appendHex64(o.b, x>>3)
			o.b = append(o.b, `.docx","displayName":"Roadmap.docx","linkType":"File"}]`...)
		} else {
			o.b = append(o.b, "[]"...)
		}
	}
	o.raw("mentions", "[]")
	o.close()
	return o.b
}

var collCopilot = &collection{name: "interactions", fields: copilotFields, walk: walkCopilot, render: renderCopilot}

func (s *Server) copilot(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	u, e := s.lookupUser(rc)
	if e != nil {
		return nil, 0, e
	}
	if !hasCopilot(u) || !hasMailbox(u) {
		return nil, 0, &apiError{status: 403, code: "Forbidden", msg: "The user does not have a valid Microsoft 365 Copilot license."}
	}
	q := fullQuery()
	if q.top, e = parseTop(v, 100, 100); e != nil {
		return nil, 0, e
	}
	if q.sel, e = parseSelect(v, copilotFields, "aiInteraction"); e != nil {
		return nil, 0, e
	}
	cl, e := parseFilter(v.Get("$filter"))
	if e != nil {
		return nil, 0, e
	}
	for _, c := range cl {
		switch {
		case strings.EqualFold(c.prop, "createdDateTime"):
			if e := applyTimeClause(q, c, "gt lt"); e != nil {
				return nil, 0, e
			}
		case strings.EqualFold(c.prop, "appClass") && c.op == "eq":
			q.appClass = strings.Trim(c.val, "'")
		default:
			return nil, 0, badRequest("BadRequest", "Filter on property '"+c.prop+"' is not supported.")
		}
	}
	return s.page(rc, b, collCopilot, u, q, odataCtx)
}
