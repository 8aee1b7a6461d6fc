package graphsim

import (
	"math"
	"net/url"
	"time"
)

// DeltaTokenTTL is how long delta tokens stay valid in wall-clock time
// (Graph: 7 days for directory objects); ExpireDeltaTokens ends them early.
const DeltaTokenTTL = 7 * 24 * time.Hour

func (s *Server) expired(rc *reqCtx) *apiError {
	loc := rc.graphRoot() + rc.r.URL.EscapedPath()
	if raw := stripParams(rc.r.URL.RawQuery, "$skiptoken", "$deltatoken"); raw != "" {
		loc += "?" + raw
	}
	return &apiError{status: 410, code: "resyncRequired", location: loc,
		msg: "Resync required. Replace any local items with the server objects from a full resync."}
}

// deltaState reads $skiptoken or $deltatoken: start cursor (nil for the
// first page), the token and whether it is a delta token.
func (s *Server) deltaState(rc *reqCtx, v url.Values) (*token, bool, *apiError) {
	str, isDelta := v.Get("$skiptoken"), false
	if str == "" {
		str, isDelta = v.Get("$deltatoken"), true
	}
	if str == "" {
		return nil, false, nil
	}
	tk, err := s.decodeToken(str)
	if err != nil || tk.pathHash != pathHash(rc.canonPath()) {
		return nil, false, badRequest("BadRequest", "Invalid token.")
	}
	now := s.opts.Clock().UnixMilli()
	if tk.epoch != s.epoch.Load() || now-tk.issued > DeltaTokenTTL.Milliseconds() {
		return nil, false, s.expired(rc)
	}
	return &tk, isDelta, nil
}

// usersDelta serves /users/delta and /groups/delta: a full round (pages,
// then a deltaLink holding the directory change sequence), then rounds of
// changes since: users deleted since, as @removed with reason "changed"
// (groups do not change).
func (s *Server) usersDelta(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	c, fields, typ := collUsers, userFields, "user"
	if rc.rt.ep == epGroupsDelta {
		c, fields, typ = collGroups, groupFields, "group"
	}
	q := fullQuery()
	var e *apiError
	if q.sel, e = parseSelect(v, fields, typ); e != nil {
		return nil, 0, e
	}
	q.defaults = q.sel == nil
	q.top = 100
	tk, isDelta, e := s.deltaState(rc, v)
	if e != nil {
		return nil, 0, e
	}
	now := s.opts.Clock().UnixMilli()
	ph := pathHash(rc.canonPath())
	t := s.tenant
	if isDelta {
		var ch []change
		if typ == "user" {
			ch = t.changesSince(tk.a)
		}
		b = append(b, `{"@odata.context":`...)
		b = appendStr(b, odataCtx)
		b = append(b, `,"value":[`...)
		for i, c := range ch {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"@odata.type":"#microsoft.graph.user","id":"`...)
			b = t.appendObjID(b, kUser, c.user)
			b = append(b, `","@removed":{"reason":"changed"}}`...)
		}
		b = append(b, `],"@odata.deltaLink":`...)
		b = appendStr(b, s.deltaLink(rc, token{pathHash: ph, a: t.dirSeq(), epoch: s.epoch.Load(), issued: now}))
		return append(b, '}'), len(ch), nil
	}
	var start *cursor
	seq := t.dirSeq()
	if tk != nil {
		start, seq = &tk.cur, tk.a
	}
	var curs []cursor
	c.walk(t, 0, q, start, func(cu cursor) bool {
		curs = append(curs, cu)
		return len(curs) <= q.top
	})
	b = append(b, `{"@odata.context":`...)
	b = appendStr(b, odataCtx)
	more := len(curs) > q.top
	if more {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendStr(b, s.nextLink(rc, token{pathHash: ph, cur: curs[q.top], a: seq, epoch: s.epoch.Load(), issued: now}))
		curs = curs[:q.top]
	}
	b = append(b, `,"value":[`...)
	for i, cu := range curs {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.render(t, b, 0, q, cu)
	}
	b = append(b, ']')
	if !more {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendStr(b, s.deltaLink(rc, token{pathHash: ph, a: seq, epoch: s.epoch.Load(), issued: now}))
	}
	return append(b, '}'), len(curs), nil
}

// channelDelta serves teams/{id}/channels/{id}/messages/delta over root
// messages: a full round of messages not deleted, then rounds of messages
// created, edited or deleted (as @removed) since the previous round's data
// clock. Tokens hold the round's window on lastModifiedDateTime.
func (s *Server) channelDelta(rc *reqCtx, b []byte, v url.Values, odataCtx string) ([]byte, int, *apiError) {
	team, e := s.lookupTeam(rc.rt.objID)
	if e != nil {
		return nil, 0, e
	}
	ch, ok := s.tenant.channelIndex(team, rc.rt.chanID)
	if !ok {
		return nil, 0, &apiError{status: 404, code: "NotFound", msg: "Channel not found."}
	}
	q := fullQuery()
	if q.top, e = parseTop(v, 50, 50); e != nil {
		return nil, 0, e
	}
	tk, isDelta, e := s.deltaState(rc, v)
	if e != nil {
		return nil, 0, e
	}
	t := s.tenant
	now := s.opts.Clock().UnixMilli()
	ph := pathHash(rc.canonPath())
	// round window [lo, hi): lo 0 means a full round.
	var lo, hi int64
	var start *cursor
	switch {
	case tk == nil:
		lo, hi = 0, t.nowMS()
	case isDelta:
		lo, hi = tk.a, t.nowMS()
	default:
		lo, hi, start = tk.a, tk.b, &tk.cur
	}
	q.lo, q.hi = lo, hi
	if lo == 0 {
		q.lo = math.MinInt64
	}
	owner := team<<8 | ch
	var curs []cursor
	walkChannelDelta(t, owner, q, start, func(c cursor) bool {
		curs = append(curs, c)
		return len(curs) <= q.top
	})
	b = append(b, `{"@odata.context":`...)
	b = appendStr(b, odataCtx)
	more := len(curs) > q.top
	if more {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendStr(b, s.nextLink(rc, token{pathHash: ph, cur: curs[q.top], a: lo, b: hi, epoch: s.epoch.Load(), issued: now}))
		curs = curs[:q.top]
	}
	b = append(b, `,"value":[`...)
	for i, c := range curs {
		if i > 0 {
			b = append(b, ',')
		}
		b = renderChannelDelta(t, b, owner, q, c)
	}
	b = append(b, ']')
	if !more {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendStr(b, s.deltaLink(rc, token{pathHash: ph, a: hi, epoch: s.epoch.Load(), issued: now}))
	}
	return append(b, '}'), len(curs), nil
}
