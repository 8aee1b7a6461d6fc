package graphsim

import "math"

// ---------------------------------------------------------------------------
// Chat messages, as users/{id}/chats/getAllMessages serves them: every
// message of every chat the user is in, so a message comes once per
// participant. Cursor: (chat slot, day, index).

var chatMessageFields = []string{"id", "replyToId", "etag", "messageType", "createdDateTime",
	"lastModifiedDateTime", "lastEditedDateTime", "deletedDateTime", "subject", "summary", "chatId",
	"importance", "locale", "webUrl", "channelIdentity", "policyViolation", "eventDetail", "from", "body",
	"attachments", "mentions", "reactions", "messageHistory"}

const editLagMS = 2 * hourMS

// teamsMsg is one generated Teams message's timing and identity.
type teamsMsg struct {
	created, modified, edited, deleted int64 // ms; 0 = never
	rnd                                uint64
}

// msgTimes derives message j of n on day for a stream identified by key
// (kind, a, b); messages are spread over working hours, edits and deletions
// happen within two hours and only if before now.
func (t *Tenant) msgTimes(kind uint64, a, b int64, day int64, j, n int) teamsMsg {
	w := int64(12*hourMS) / int64(n)
	x := t.h(kind, a, b, day<<20|int64(j))
	m := teamsMsg{rnd: x}
	m.created = day*dayMS + 8*hourMS + int64(j)*w + int64(x%uint64(w))
	m.modified = m.created
	now := t.nowMS()
	switch x >> 56 % 25 {
	case 0, 1: // edited
		if e := m.created + 1000 + int64(x>>20%uint64(editLagMS-1000)); e < now {
			m.edited, m.modified = e, e
		}
	case 2: // deleted
		if e := m.created + 1000 + int64(x>>20%uint64(editLagMS-1000)); e < now {
			m.deleted, m.modified = e, e
		}
	}
	return m
}

func (t *Tenant) chatMsgCount(j, base int, day int64) int {
	act := float64(t.h(kChat, int64(j), int64(base), 3)%200) / 100 // activity in [0, 2)
	r := rng{t.h(kChatDay, int64(j), int64(base), day)}
	n := countAround(&r, t.opts.chatMsgsPerDay*act*dayFactor(day))
	if n > 40000 {
		n = 40000
	}
	return n
}

func walkChatMessages(t *Tenant, u int, q *query, start *cursor, fn func(cursor) bool) {
	first, last := t.dayRange(q, editLagMS)
	now := t.nowMS()
	s0, d0, i0 := int64(0), first, int64(0)
	if start != nil {
		s0, d0, i0 = start[0], start[1], start[2]
	}
	for s := s0; s < int64(chatSlots()); s++ {
		j, base, ok := t.chatOf(u, int(s))
		if !ok {
			continue
		}
		d := first
		if s == s0 {
			d = d0
		}
		for ; d <= last; d++ {
			n := t.chatMsgCount(j, base, d)
			i := int64(0)
			if s == s0 && d == d0 {
				i = i0
			}
			for ; i < int64(n); i++ {
				m := t.msgTimes(kChatMsg, int64(j), int64(base), d, int(i), n)
				if m.created >= now {
					break
				}
				if m.modified < q.lo || m.modified >= q.hi {
					continue
				}
				if !fn(cursor{s, d, i}) {
					return
				}
			}
		}
	}
}

var chatTexts = []string{"Sounds good to me.", "Can we move this to tomorrow?", "Shared the doc in the channel.",
	"Thanks! 👍", "On it.", "Who owns the follow-up?", "Running five minutes late.", "Great work on the demo!"}

func renderChatMessage(t *Tenant, b []byte, u int, q *query, c cursor) []byte {
	j, base, _ := t.chatOf(u, int(c[0]))
	day, i := c[1], int(c[2])
	n := t.chatMsgCount(j, base, day)
	m := t.msgTimes(kChatMsg, int64(j), int64(base), day, i, n)
	members := t.chatMembers(j, base)
	r := rng{m.rnd}
	author := members[r.intn(len(members))]
	o := obj{b: b, sel: q.sel}
	o.open()
	o.key("@odata.type")
	o.b = append(o.b, `"#microsoft.graph.chatMessage"`...)
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, m.created)
		o.b = append(o.b, '"')
	}
	o.null("replyToId")
	if o.field("etag") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, m.modified)
		o.b = append(o.b, '"')
	}
	o.str("messageType", "message")
	if t.opts.malformedTS && t.badTimestamp(j, base, day, i) {
		if o.field("createdDateTime") { // Microsoft's typo: no "T"
			tb := appendTime(nil, m.created, tsMillis)
			o.b = append(o.b, tb[:11]...)
			o.b = append(o.b, tb[12:]...)
		}
	} else {
		o.time("createdDateTime", m.created, tsMillis)
	}
	o.time("lastModifiedDateTime", m.modified, tsMillis)
	t.optTime(&o, "lastEditedDateTime", m.edited)
	t.optTime(&o, "deletedDateTime", m.deleted)
	o.null("subject")
	o.null("summary")
	if o.field("chatId") {
		o.b = append(o.b, '"')
		o.b = t.appendChatID(o.b, j, base)
		o.b = append(o.b, '"')
	}
	o.str("importance", "normal")
	o.str("locale", "en-us")
	o.null("webUrl")
	o.null("channelIdentity")
	o.null("policyViolation")
	o.null("eventDetail")
	if o.field("from") {
		o.b = t.appendFromUser(o.b, author)
	}
	mention := -1
	if len(members) > 2 && r.chance(0.25) {
		mention = members[(r.intn(len(members)-1)+1+indexOf(members, author))%len(members)]
	}
	t.appendTeamsBody(&o, &r, m, mention)
	o.raw("attachments", "[]")
	t.appendMentions(&o, mention)
	o.raw("reactions", "[]")
	o.raw("messageHistory", "[]")
	o.close()
	return o.b
}

// badTimestamp reports whether chat message i of day in chat (j, base) is
// the one Options.MalformedTimestamp spoils (graph-api-notes §8 fact 11:
// Microsoft's own chat-message example has "2021-03-1706:47:05.123Z"): the
// first message of the day before the emulated clock's day in user 0's
// first chat. It is served once per participant, as every chat message
// is; a chat without a message that day spoils none.
func (t *Tenant) badTimestamp(j, base int, day int64, i int) bool {
	if i != 0 || day != floorDiv(t.nowMS(), dayMS)-1 {
		return false
	}
	for s := 0; s < chatSlots(); s++ {
		if bj, bb, ok := t.chatOf(0, s); ok {
			return bj == j && bb == base
		}
	}
	return false
}

func indexOf(xs []int, x int) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

func (t *Tenant) optTime(o *obj, k string, ms int64) {
	if ms == 0 {
		o.null(k)
	} else {
		o.time(k, ms, tsMillis)
	}
}

func (t *Tenant) appendTeamsBody(o *obj, r *rng, m teamsMsg, mention int) {
	text := pick(r, chatTexts)
	if !o.field("body") {
		return
	}
	if m.deleted != 0 {
		o.b = append(o.b, `{"contentType":"html","content":""}`...)
		return
	}
	if mention < 0 {
		o.b = append(o.b, `{"contentType":"text","content":`...)
		o.b = appendStr(o.b, text)
		o.b = append(o.b, '}')
		return
	}
	o.b = append(o.b, `{"contentType":"html","content":"<div><at id=\"0\">`...)
	o.b = t.person(mention).appendName(o.b)
	o.b = append(o.b, `</at> `...)
	o.b = append(o.b, text...)
	o.b = append(o.b, `</div>"}`...)
}

func (t *Tenant) appendMentions(o *obj, mention int) {
	if !o.field("mentions") {
		return
	}
	if mention < 0 {
		o.b = append(o.b, "[]"...)
		return
	}
	o.b = append(o.b, `[{"id":0,"mentionText":"`...)
	o.b = t.person(mention).appendName(o.b)
	o.b = append(o.b, `","mentioned":{"application":null,"device":null,"conversation":null,"tag":null,"user":`...)
	o.b = t.appendIdentity(o.b, mention, true)
	o.b = append(o.b, `}}]`...)
}

// ---------------------------------------------------------------------------
// Channel messages: teams/{id}/channels/getAllMessages (cursor: channel,
// day, index) and the per-channel messages/delta (roots only; cursor: day,
// index). Within a day, about 40% of messages reply to the day's first
// message or to a later root.

func (t *Tenant) chanMsgCount(team, ch int, day int64) int {
	r := rng{t.h(kChanDay, int64(team), int64(ch), day)}
	n := countAround(&r, t.opts.chanMsgsPerDay*dayFactor(day))
	if n > 40000 {
		n = 40000
	}
	return n
}

// replyTo returns the index of the root that message i replies to, or -1.
func replyTo(m teamsMsg, i int) int {
	if i == 0 || m.rnd>>8%10 >= 4 {
		return -1
	}
	return int(m.rnd>>12) % i
}

// rootOf follows replyTo to the thread's root (replies never reply to
// replies: Teams threads are one level deep).
func (t *Tenant) rootOf(team, ch int, day int64, i, n int) int {
	for {
		m := t.msgTimes(kChanMsg, int64(team), int64(ch), day, i, n)
		p := replyTo(m, i)
		if p < 0 {
			return i
		}
		i = p
	}
}

func walkChannelMessages(t *Tenant, team int, q *query, start *cursor, fn func(cursor) bool) {
	first, last := t.dayRange(q, editLagMS)
	now := t.nowMS()
	c0, d0, i0 := int64(0), first, int64(0)
	if start != nil {
		c0, d0, i0 = start[0], start[1], start[2]
	}
	for ch := c0; ch < int64(t.channels(team)); ch++ {
		d := first
		if ch == c0 {
			d = d0
		}
		for ; d <= last; d++ {
			n := t.chanMsgCount(team, int(ch), d)
			i := int64(0)
			if ch == c0 && d == d0 {
				i = i0
			}
			for ; i < int64(n); i++ {
				m := t.msgTimes(kChanMsg, int64(team), ch, d, int(i), n)
				if m.created >= now {
					break
				}
				if m.modified < q.lo || m.modified >= q.hi {
					continue
				}
				if !fn(cursor{ch, d, i}) {
					return
				}
			}
		}
	}
}

var channelTexts = []string{"Release notes for this week are up.", "Please review the proposal before Thursday.",
	"Heads-up: maintenance window tonight.", "Welcome to the team!", "Dashboard numbers look healthy.",
	"Reminder: retro at 3pm.", "Who can take the customer call?", "Merged, thanks everyone."}

func renderChannelMessage(t *Tenant, b []byte, team int, q *query, c cursor) []byte {
	ch, day, i := int(c[0]), c[1], int(c[2])
	n := t.chanMsgCount(team, ch, day)
	m := t.msgTimes(kChanMsg, int64(team), int64(ch), day, i, n)
	r := rng{m.rnd}
	author := t.teamMember(team, r.next())
	o := obj{b: b, sel: q.sel}
	o.open()
	o.key("@odata.type")
	o.b = append(o.b, `"#microsoft.graph.chatMessage"`...)
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, m.created)
		o.b = append(o.b, '"')
	}
	if o.field("replyToId") {
		if p := replyTo(m, i); p >= 0 {
			root := t.rootOf(team, ch, day, p, n)
			rm := t.msgTimes(kChanMsg, int64(team), int64(ch), day, root, n)
			o.b = append(o.b, '"')
			o.b = appendInt(o.b, rm.created)
			o.b = append(o.b, '"')
		} else {
			o.b = append(o.b, "null"...)
		}
	}
	if o.field("etag") {
		o.b = append(o.b, '"')
		o.b = appendInt(o.b, m.modified)
		o.b = append(o.b, '"')
	}
	o.str("messageType", "message")
	o.time("createdDateTime", m.created, tsMillis)
	o.time("lastModifiedDateTime", m.modified, tsMillis)
	t.optTime(&o, "lastEditedDateTime", m.edited)
	t.optTime(&o, "deletedDateTime", m.deleted)
	if replyTo(m, i) < 0 && r.chance(0.3) {
		o.str("subject", pick(&r, groupTopics)+" update")
	} else {
		o.null("subject")
	}
	o.null("summary")
	o.null("chatId")
	o.str("importance", "normal")
	o.str("locale", "en-us")
	if o.field("webUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/message/`...)
		o.b = t.appendChannelID(o.b, team, ch)
		o.b = append(o.b, '/')
		o.b = appendInt(o.b, m.created)
		o.b = append(o.b, `?groupId=`...)
		o.b = t.appendObjID(o.b, kGroup, teamGroup(team))
		o.b = append(o.b, `&tenantId=`...)
		o.b = append(o.b, t.opts.tenantID...)
		o.b = append(o.b, '"')
	}
	if o.field("channelIdentity") {
		o.b = append(o.b, `{"teamId":"`...)
		o.b = t.appendObjID(o.b, kGroup, teamGroup(team))
		o.b = append(o.b, `","channelId":"`...)
		o.b = t.appendChannelID(o.b, team, ch)
		o.b = append(o.b, `"}`...)
	}
	o.null("policyViolation")
	o.null("eventDetail")
	if o.field("from") {
		o.b = t.appendFromUser(o.b, author)
	}
	mention := -1
	if r.chance(0.2) {
		mention = t.teamMember(team, r.next())
	}
	if o.field("body") {
		text := pick(&r, channelTexts)
		switch {
		case m.deleted != 0:
			o.b = append(o.b, `{"contentType":"html","content":""}`...)
		case mention >= 0:
			o.b = append(o.b, `{"contentType":"html","content":"<div><at id=\"0\">`...)
			o.b = t.person(mention).appendName(o.b)
			o.b = append(o.b, `</at> `...)
			o.b = append(o.b, text...)
			o.b = append(o.b, `</div>"}`...)
		default:
			o.b = append(o.b, `{"contentType":"html","content":"<p>`...)
			o.b = append(o.b, text...)
			o.b = append(o.b, `</p>"}`...)
		}
	}
	o.raw("attachments", "[]")
	t.appendMentions(&o, mention)
	o.raw("reactions", "[]")
	o.raw("messageHistory", "[]")
	o.close()
	return o.b
}

// walkChannelDelta walks the root messages of one channel (owner encodes
// team and channel) whose last change is in [q.lo, q.hi); deleted roots
// are included only when q.lo is set (an incremental round), to be served
// as @removed.
func walkChannelDelta(t *Tenant, owner int, q *query, start *cursor, fn func(cursor) bool) {
	team, ch := owner>>8, owner&0xff
	first, last := t.dayRange(q, editLagMS)
	now := t.nowMS()
	d0, i0 := first, int64(0)
	if start != nil {
		d0, i0 = start[0], start[1]
	}
	for d := d0; d <= last; d++ {
		n := t.chanMsgCount(team, ch, d)
		i := int64(0)
		if d == d0 {
			i = i0
		}
		for ; i < int64(n); i++ {
			m := t.msgTimes(kChanMsg, int64(team), int64(ch), d, int(i), n)
			if m.created >= now {
				break
			}
			if replyTo(m, int(i)) >= 0 || m.modified < q.lo || m.modified >= q.hi {
				continue
			}
			if m.deleted != 0 && q.lo == math.MinInt64 {
				continue
			}
			if !fn(cursor{d, i}) {
				return
			}
		}
	}
}

func renderChannelDelta(t *Tenant, b []byte, owner int, q *query, c cursor) []byte {
	team, ch := owner>>8, owner&0xff
	n := t.chanMsgCount(team, ch, c[0])
	m := t.msgTimes(kChanMsg, int64(team), int64(ch), c[0], int(c[1]), n)
	if m.deleted != 0 {
		b = append(b, `{"@odata.type":"#microsoft.graph.chatMessage","id":"`...)
		b = appendInt(b, m.created)
		return append(b, `","@removed":{"reason":"deleted"}}`...)
	}
	return renderChannelMessage(t, b, team, q, cursor{int64(ch), c[0], c[1]})
}
