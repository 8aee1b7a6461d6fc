package graphsim

import (
	"net/url"
	"strings"
)

// ---------------------------------------------------------------------------
// Call records: tenant-wide, about CallsPerUserDay × users per weekday.
// Cursor: (day, index), ordered by startDateTime.

var callRecordFields = []string{"id", "version", "type", "modalities", "lastModifiedDateTime", "startDateTime",
	"endDateTime", "joinWebUrl", "organizer", "participants"}

func (t *Tenant) callCount(day int64) int {
	r := rng{t.h(kCallDay, day, 0, 0)}
	n := countAround(&r, t.opts.callsPerUserDay*float64(t.users)*dayFactor(day))
	return min(n, 40000)
}

func (t *Tenant) callStart(day int64, i, n int) int64 {
	w := int64(12*hourMS) / int64(n)
	return day*dayMS + 7*hourMS + int64(i)*w + int64(t.h(kCall, day, int64(i), 0)%uint64(w))
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
			if s < q.lo {
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
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = appendUUID(o.b, r.next()&^0xf000|0x4000, r.next()&^(3<<62)|1<<63)
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
	if parts == 2 {
		o.null("joinWebUrl")
	} else if o.field("joinWebUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/meetup-join/19%3ameeting_`...)
		o.b = appendB64(o.b, r.next())
		o.b = append(o.b, `%40thread.v2/0"`...)
	}
	if o.field("organizer") {
		o.b = append(o.b, `{"user":`...)
		o.b = t.appendCallIdentity(o.b, org)
		o.b = append(o.b, `,"application":null,"device":null}`...)
	}
	if o.field("participants") {
		o.b = append(o.b, '[')
		for k := 0; k < parts; k++ {
			if k > 0 {
				o.b = append(o.b, ',')
			}
			u := org
			if k > 0 {
				u = r.intn(t.users)
			}
			o.b = append(o.b, `{"user":`...)
			o.b = t.appendCallIdentity(o.b, u)
			o.b = append(o.b, `,"application":null,"device":null}`...)
		}
		o.b = append(o.b, ']')
	}
	o.close()
	return o.b
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
