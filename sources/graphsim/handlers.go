package graphsim

import (
	"net/url"
	"strings"
)

// Endpoint names (keys of Stats and of the route table).
const (
	epUsers           = "users"
	epUsersDelta      = "users/delta"
	epUser            = "user"
	epMailboxSettings = "mailboxSettings"
	epCalendarView    = "calendarView"
	epMessages        = "messages"
	epChats           = "chats"
	epChatMessages    = "chats/getAllMessages"
	epGroups          = "groups"
	epGroupsDelta     = "groups/delta"
	epMembers         = "groups/members"
	epTeams           = "teams"
	epTeam            = "team"
	epChannels        = "teams/allChannels"
	epChannelMessages = "channels/getAllMessages"
	epChannelDelta    = "channels/messages/delta"
	epCallRecords     = "callRecords"
	epCallRecord      = "callRecord"
	epCopilot         = "copilot/interactions"
	epMeetings        = "onlineMeetings"
	epReports         = "onlineMeetings/attendanceReports"
	epAttendance      = "attendanceReports/attendanceRecords"
	epUnknown         = "unknown"
)

var endpoints = []string{epUsers, epUsersDelta, epUser, epMailboxSettings, epCalendarView, epMessages, epChats,
	epChatMessages, epGroups, epGroupsDelta, epMembers, epTeams, epTeam, epChannels, epChannelMessages, epChannelDelta,
	epCallRecords, epCallRecord, epCopilot, epMeetings, epReports, epAttendance, epUnknown}

// Limit classes.
const (
	clsDirectory = iota
	clsMailbox
	clsTeamsExport // getAllMessages
	clsTeamsDelta  // channel messages/delta (and replies)
	clsTeamsOther  // other Teams GETs
	clsCalls
	clsCopilot
	clsMeetings // online meetings and attendance reports (meetings.go)
)

// route is a parsed Graph path.
type route struct {
	ep     string
	role   string // application permission required
	class  int
	userID string // raw id segment for user-scoped routes
	objID  string // group or team id
	chanID string
	folder string
	canon  string // the path below the version in canonical form
}

// canonNames gives the documented spelling of the path segments the
// router knows; Graph matches them in any case (its documented next links
// say getallMessages).
var canonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"users", "delta", "mailboxSettings", "calendar", "calendarView", "mailFolders",
		"messages", "chats", "getAllMessages", "groups", "members", "teams", "allChannels", "channels",
		"communications", "callRecords", "copilot", "interactionHistory", "getAllEnterpriseInteractions",
		"onlineMeetings", "attendanceReports", "attendanceRecords"} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// splitPath splits a path below the version segment into segments, with
// OData key syntax expanded (users('x') → users, x; mailFolders('SentItems')
// → mailFolders, SentItems), function parentheses dropped
// (getAllMessages() → getAllMessages) and known names in their documented
// case, so that users/x, users('x') and USERS('x') route alike.
func splitPath(p string) []string {
	raw := strings.Split(strings.TrimSuffix(p, "/"), "/")
	segs := make([]string, 0, len(raw)+2)
	for _, sg := range raw {
		sg = strings.TrimSuffix(sg, "()")
		if i := strings.IndexByte(sg, '('); i > 0 && strings.HasSuffix(sg, ")") {
			key := sg[i+1 : len(sg)-1]
			if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
				key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
			}
			segs = append(segs, canonName(sg[:i]), key)
			continue
		}
		segs = append(segs, canonName(sg))
	}
	return segs
}

func canonName(s string) string {
	if c, ok := canonNames[strings.ToLower(s)]; ok {
		return c
	}
	return s
}

// parseRoute maps a path below the version segment to a route. rt.canon is
// the path in one canonical form (slash keys, documented case), which
// paging tokens are bound to.
func parseRoute(p string) (route, bool) {
	segs := splitPath(p)
	rt, ok := matchRoute(segs)
	rt.canon = strings.Join(segs, "/")
	return rt, ok
}

func matchRoute(segs []string) (route, bool) {
	eq := strings.EqualFold
	n := len(segs)
	switch {
	case n == 1 && eq(segs[0], "users"):
		return route{ep: epUsers, role: "User.Read.All", class: clsDirectory}, true
	case n == 2 && eq(segs[0], "users") && eq(segs[1], "delta"):
		return route{ep: epUsersDelta, role: "User.Read.All", class: clsDirectory}, true
	case n == 2 && eq(segs[0], "users"):
		return route{ep: epUser, role: "User.Read.All", class: clsDirectory, userID: segs[1]}, true
	case n == 3 && eq(segs[0], "users") && eq(segs[2], "mailboxSettings"):
		return route{ep: epMailboxSettings, role: "MailboxSettings.Read", class: clsMailbox, userID: segs[1]}, true
	case n == 4 && eq(segs[0], "users") && eq(segs[2], "calendar") && eq(segs[3], "calendarView"),
		n == 3 && eq(segs[0], "users") && eq(segs[2], "calendarView"):
		return route{ep: epCalendarView, role: "Calendars.ReadBasic.All", class: clsMailbox, userID: segs[1]}, true
	case n == 5 && eq(segs[0], "users") && eq(segs[2], "mailFolders") && eq(segs[4], "messages"):
		return route{ep: epMessages, role: "Mail.ReadBasic.All", class: clsMailbox, userID: segs[1], folder: segs[3]}, true
	case n == 3 && eq(segs[0], "users") && eq(segs[2], "chats"):
		return route{ep: epChats, role: "Chat.ReadBasic.All", class: clsTeamsOther, userID: segs[1]}, true
	case n == 4 && eq(segs[0], "users") && eq(segs[2], "chats") && eq(segs[3], "getAllMessages"):
		return route{ep: epChatMessages, role: "Chat.Read.All", class: clsTeamsExport, userID: segs[1]}, true
	case n == 1 && eq(segs[0], "groups"):
		return route{ep: epGroups, role: "GroupMember.Read.All", class: clsDirectory}, true
	case n == 2 && eq(segs[0], "groups") && eq(segs[1], "delta"):
		return route{ep: epGroupsDelta, role: "GroupMember.Read.All", class: clsDirectory}, true
	case n == 3 && eq(segs[0], "groups") && eq(segs[2], "members"):
		return route{ep: epMembers, role: "GroupMember.Read.All", class: clsDirectory, objID: segs[1]}, true
	case n == 1 && eq(segs[0], "teams"):
		return route{ep: epTeams, role: "Team.ReadBasic.All", class: clsTeamsOther}, true
	case n == 2 && eq(segs[0], "teams"):
		return route{ep: epTeam, role: "Team.ReadBasic.All", class: clsTeamsOther, objID: segs[1]}, true
	case n == 3 && eq(segs[0], "teams") && (eq(segs[2], "allChannels") || eq(segs[2], "channels")):
		return route{ep: epChannels, role: "Channel.ReadBasic.All", class: clsTeamsOther, objID: segs[1]}, true
	case n == 4 && eq(segs[0], "teams") && eq(segs[2], "channels") && eq(segs[3], "getAllMessages"):
		return route{ep: epChannelMessages, role: "ChannelMessage.Read.All", class: clsTeamsExport, objID: segs[1]}, true
	case n == 6 && eq(segs[0], "teams") && eq(segs[2], "channels") && eq(segs[4], "messages") && eq(segs[5], "delta"):
		return route{ep: epChannelDelta, role: "ChannelMessage.Read.All", class: clsTeamsDelta, objID: segs[1], chanID: segs[3]}, true
	case n == 2 && eq(segs[0], "communications") && eq(segs[1], "callRecords"):
		return route{ep: epCallRecords, role: "CallRecords.Read.All", class: clsCalls}, true
	case n == 3 && eq(segs[0], "communications") && eq(segs[1], "callRecords"):
		return route{ep: epCallRecord, role: "CallRecords.Read.All", class: clsCalls, objID: segs[2]}, true
	// Online meetings (meetings.go): objID is the meeting, chanID the report.
	case n == 3 && eq(segs[0], "users") && eq(segs[2], "onlineMeetings"):
		return route{ep: epMeetings, role: "OnlineMeetings.Read.All", class: clsMeetings, userID: segs[1]}, true
	case n == 5 && eq(segs[0], "users") && eq(segs[2], "onlineMeetings") && eq(segs[4], "attendanceReports"):
		return route{ep: epReports, role: "OnlineMeetingArtifact.Read.All", class: clsMeetings, userID: segs[1], objID: segs[3]}, true
	case n == 7 && eq(segs[0], "users") && eq(segs[2], "onlineMeetings") && eq(segs[4], "attendanceReports") && eq(segs[6], "attendanceRecords"):
		return route{ep: epAttendance, role: "OnlineMeetingArtifact.Read.All", class: clsMeetings, userID: segs[1], objID: segs[3], chanID: segs[5]}, true
	case n == 5 && eq(segs[0], "copilot") && eq(segs[1], "users") && eq(segs[3], "interactionHistory") && eq(segs[4], "getAllEnterpriseInteractions"):
		return route{ep: epCopilot, role: "AiEnterpriseInteraction.Read.All", class: clsCopilot, userID: segs[2]}, true
	}
	return route{ep: epUnknown}, false
}

// Collections by endpoint.
var (
	collMessages        = &collection{name: "messages", fields: messageFields, walk: walkMail, render: renderMail}
	collUsers           = &collection{name: "users", fields: userFields, walk: walkUsers, render: renderUser}
	collGroups          = &collection{name: "groups", fields: groupFields, walk: walkGroups, render: renderGroup}
	collMembers         = &collection{name: "group_members", fields: userFields, walk: walkMembers, render: renderMember}
	collTeams           = &collection{name: "teams", fields: teamFields, walk: walkTeams, render: renderTeam}
	collChannels        = &collection{name: "channels", fields: channelFields, walk: walkChannels, render: renderChannel}
	collChats           = &collection{name: "chats", fields: chatFields, walk: walkChats, render: renderChat}
	collChatMessages    = &collection{name: "chat_messages", fields: chatMessageFields, walk: walkChatMessages, render: renderChatMessage}
	collChannelMessages = &collection{name: "channel_messages", fields: chatMessageFields, walk: walkChannelMessages, render: renderChannelMessage}
)

func notFoundUser() *apiError {
	return &apiError{status: 404, code: "Request_ResourceNotFound", msg: "Resource could not be discovered."}
}

// lookupUser resolves a user-scoped route's user, with Graph's answers for
// unknown and deleted users.
func (s *Server) lookupUser(rc *reqCtx) (int, *apiError) {
	u, ok := s.tenant.userIndex(rc.rt.userID)
	if !ok || s.tenant.isDeleted(u) {
		return 0, notFoundUser()
	}
	return u, nil
}

// mailbox checks that user u has a mailbox the application may read.
func (s *Server) mailbox(u int) *apiError {
	if !hasMailbox(u) {
		return &apiError{status: 404, code: "MailboxNotEnabledForRESTAPI", msg: "The mailbox is either inactive, soft-deleted, or is hosted on-premise."}
	}
	if mailboxDenied(u) {
		return &apiError{status: 403, code: "ErrorAccessDenied", msg: "Access to OData is disabled: blocked by tenant configured AppOnly AccessPolicy settings."}
	}
	return nil
}

func (s *Server) handle(rc *reqCtx, b []byte) ([]byte, int, *apiError) {
	v := rc.r.URL.Query()
	rt := rc.rt
	t := s.tenant
	ctx := rc.graphRoot() + "/" + rc.version + "/$metadata#"
	switch rt.ep {
	case epUsers:
		q := fullQuery()
		top, e := parseTop(v, 100, 999)
		if e != nil {
			return nil, 0, e
		}
		q.top = top
		if q.sel, e = parseSelect(v, userFields, "user"); e != nil {
			return nil, 0, e
		}
		q.defaults = q.sel == nil
		if q.userFilter, e = userFilter(v.Get("$filter")); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collUsers, 0, q, ctx+"users"+selectSuffix(v))
	case epUsersDelta:
		return s.usersDelta(rc, b, v, ctx+"users"+selectSuffix(v))
	case epGroupsDelta:
		return s.usersDelta(rc, b, v, ctx+"groups"+selectSuffix(v))
	case epUser:
		u, e := s.lookupUser(rc)
		if e != nil {
			return nil, 0, e
		}
		sel, e := parseSelect(v, userFields, "user")
		if e != nil {
			return nil, 0, e
		}
		if sel == nil {
			sel = defaultUserSel
		}
		b = append(b, `{"@odata.context":"`...)
		b = append(b, ctx...)
		b = append(b, `users/$entity",`...)
		n := len(b)
		b = t.appendUser(b, u, sel, false)
		copy(b[n:], b[n+1:]) // drop the object's "{": it was opened above
		return b[:len(b)-1], 1, nil
	case epMailboxSettings:
		u, e := s.lookupUser(rc)
		if e == nil {
			e = s.mailbox(u)
		}
		if e != nil {
			return nil, 0, e
		}
		q := fullQuery()
		if q.sel, e = parseSelect(v, mailboxSettingsFields, "mailboxSettings"); e != nil {
			return nil, 0, e
		}
		b = append(b, `{"@odata.context":"`...)
		b = append(b, ctx...)
		b = append(b, `users('`...)
		b = append(b, rt.userID...)
		b = append(b, `')/mailboxSettings",`...)
		n := len(b)
		b = renderMailboxSettings(t, b, u, q)
		copy(b[n:], b[n+1:])
		return b[:len(b)-1], 1, nil
	case epMessages:
		u, e := s.lookupUser(rc)
		if e == nil {
			e = s.mailbox(u)
		}
		if e != nil {
			return nil, 0, e
		}
		if !strings.EqualFold(rt.folder, "SentItems") {
			return nil, 0, &apiError{status: 404, code: "ErrorItemNotFound", msg: "The specified object was not found in the store."}
		}
		q, e := mailQuery(v)
		if e != nil {
			return nil, 0, e
		}
		q.sel = basicSelect(rc, q.sel, messageFields)
		return s.page(rc, b, collMessages, u, q, ctx+"users('"+rt.userID+"')/mailFolders('SentItems')/messages"+selectSuffix(v))
	case epCalendarView:
		u, e := s.lookupUser(rc)
		if e == nil {
			e = s.mailbox(u)
		}
		if e != nil {
			return nil, 0, e
		}
		q, e := calendarQuery(v)
		if e != nil {
			return nil, 0, e
		}
		q.sel = basicSelect(rc, q.sel, eventFields)
		return s.page(rc, b, collEvents, u, q, ctx+"users('"+rt.userID+"')/calendar/calendarView"+selectSuffix(v))
	case epChats:
		u, e := s.lookupUser(rc)
		if e != nil {
			return nil, 0, e
		}
		q := fullQuery()
		if q.top, e = parseTop(v, 50, 50); e != nil {
			return nil, 0, e
		}
		// List chats documents $expand, $top, $filter and $orderby and
		// says other query parameters are not supported (chat-list);
		// whether Graph ignores or refuses a $select is not documented.
		// The emulator assumes it is ignored: every property comes.
		return s.page(rc, b, collChats, u, q, ctx+"chats")
	case epChatMessages:
		u, e := s.lookupUser(rc)
		if e != nil {
			return nil, 0, e
		}
		q, e := teamsExportQuery(v)
		if e != nil {
			return nil, 0, e
		}
		if e := s.teamsExportGate(v, func(yield func(int) bool) { yield(u) }); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collChatMessages, u, q, ctx+"Collection(chatMessage)")
	case epGroups:
		q := fullQuery()
		var e *apiError
		if q.top, e = parseTop(v, 100, 999); e != nil {
			return nil, 0, e
		}
		if q.sel, e = parseSelect(v, groupFields, "group"); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collGroups, 0, q, ctx+"groups"+selectSuffix(v))
	case epMembers:
		g, ok := t.groupIndex(rt.objID)
		if !ok {
			return nil, 0, &apiError{status: 404, code: "Request_ResourceNotFound", msg: "Resource '" + rt.objID + "' does not exist or one of its queried reference-property objects are not present."}
		}
		q := fullQuery()
		var e *apiError
		if q.top, e = parseTop(v, 100, 999); e != nil {
			return nil, 0, e
		}
		if q.sel, e = parseSelect(v, userFields, "user"); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collMembers, g, q, ctx+"directoryObjects"+selectSuffix(v))
	case epTeams:
		q := fullQuery()
		var e *apiError
		if q.top, e = parseTop(v, 100, 999); e != nil {
			return nil, 0, e
		}
		if q.sel, e = parseSelect(v, teamFields, "team"); e != nil {
			return nil, 0, e
		}
		q.sel = teamListSel(q.sel)
		return s.page(rc, b, collTeams, 0, q, ctx+"teams"+selectSuffix(v))
	case epTeam:
		team, e := s.lookupTeam(rt.objID)
		if e != nil {
			return nil, 0, e
		}
		q := fullQuery()
		if q.sel, e = parseSelect(v, teamFields, "team"); e != nil {
			return nil, 0, e
		}
		b = append(b, `{"@odata.context":"`...)
		b = append(b, ctx...)
		b = append(b, `teams/$entity",`...)
		n := len(b)
		b = renderTeam(t, b, 0, q, cursor{int64(team)})
		copy(b[n:], b[n+1:])
		return b[:len(b)-1], 1, nil
	case epChannels:
		team, e := s.lookupTeam(rt.objID)
		if e != nil {
			return nil, 0, e
		}
		q := fullQuery()
		q.top = 1000
		if q.sel, e = parseSelect(v, channelFields, "channel"); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collChannels, team, q, ctx+"teams('"+rt.objID+"')/allChannels")
	case epChannelMessages:
		team, e := s.lookupTeam(rt.objID)
		if e != nil {
			return nil, 0, e
		}
		q, e := teamsExportQuery(v)
		if e != nil {
			return nil, 0, e
		}
		if e := s.teamsExportGate(v, t.teamMembers(team)); e != nil {
			return nil, 0, e
		}
		return s.page(rc, b, collChannelMessages, team, q, ctx+"Collection(chatMessage)")
	case epChannelDelta:
		return s.channelDelta(rc, b, v, ctx+"Collection(chatMessage)")
	case epCallRecords:
		return s.callRecords(rc, b, v, ctx+"communications/callRecords")
	case epCallRecord:
		return s.callRecord(rc, b, v, ctx+"communications/callRecords/$entity")
	case epMeetings:
		return s.onlineMeetings(rc, b, v, ctx+"users('"+rt.userID+"')/onlineMeetings")
	case epReports:
		return s.attendanceReports(rc, b, v, ctx+"users('"+rt.userID+"')/onlineMeetings('"+rt.objID+"')/attendanceReports")
	case epAttendance:
		return s.attendanceRecords(rc, b, v, ctx+"users('"+rt.userID+"')/onlineMeetings('"+rt.objID+"')/attendanceReports('"+rt.chanID+"')/attendanceRecords")
	case epCopilot:
		return s.copilot(rc, b, v, rc.graphRoot()+"/"+rc.version+"/$metadata#Collection(microsoft.graph.aiInteraction)")
	}
	return nil, 0, &apiError{status: 400, code: "BadRequest", msg: "Unsupported request."}
}

func selectSuffix(v url.Values) string {
	if s := v.Get("$select"); s != "" {
		return "(" + s + ")"
	}
	return ""
}

// graphRoot is scheme://host of this request, as Graph's links use.
func (rc *reqCtx) graphRoot() string {
	if rc.r.TLS == nil {
		return "http://" + rc.r.Host
	}
	return "https://" + rc.r.Host
}

func (s *Server) lookupTeam(id string) (int, *apiError) {
	g, ok := s.tenant.groupIndex(id)
	if !ok || !s.tenant.isTeam(g) {
		return 0, &apiError{status: 404, code: "NotFound", msg: "No team found with Group Id " + id}
	}
	return (g - 1) / 3, nil
}

// mailQuery parses the SentItems messages query: $top ≤ 1000 (default 10),
// $select, $filter on sentDateTime/receivedDateTime and $orderby, which
// must name the first filtered property (else InefficientFilter).
func mailQuery(v url.Values) (*query, *apiError) {
	q := fullQuery()
	var e *apiError
	if q.top, e = parseTop(v, 10, 1000); e != nil {
		return nil, e
	}
	if q.sel, e = parseSelect(v, messageFields, "message"); e != nil {
		return nil, e
	}
	cl, e := parseFilter(v.Get("$filter"))
	if e != nil {
		return nil, e
	}
	for _, c := range cl {
		if !strings.EqualFold(c.prop, "sentDateTime") && !strings.EqualFold(c.prop, "receivedDateTime") {
			return nil, badRequest("ErrorInvalidProperty", "The property '"+c.prop+"' does not support filtering.")
		}
		if e := applyTimeClause(q, c, "ge gt le lt eq"); e != nil {
			return nil, e
		}
	}
	ob := strings.Fields(v.Get("$orderby"))
	if len(ob) > 0 {
		if len(cl) > 0 && !strings.EqualFold(ob[0], cl[0].prop) {
			return nil, badRequest("InefficientFilter", "The restriction or sort order is too complex for this operation.")
		}
		if !strings.EqualFold(ob[0], "sentDateTime") && !strings.EqualFold(ob[0], "receivedDateTime") {
			return nil, badRequest("ErrorInvalidProperty", "The property '"+ob[0]+"' does not support sorting.")
		}
		q.desc = len(ob) > 1 && strings.EqualFold(ob[1], "desc")
	} else {
		q.desc = true // Graph's default order: newest first
	}
	return q, nil
}

// teamsExportQuery parses getAllMessages: $top ≤ 1000 (default 20; Graph
// documents no maximum), $filter on lastModifiedDateTime with gt and lt
// only, model=A|B; no $select, $orderby or $expand.
func teamsExportQuery(v url.Values) (*query, *apiError) {
	q := fullQuery()
	var e *apiError
	if q.top, e = parseTop(v, 20, 1000); e != nil {
		return nil, e
	}
	if v.Get("$select") != "" || v.Get("$orderby") != "" || v.Get("$expand") != "" {
		return nil, badRequest("BadRequest", "Query option is not supported on this API.")
	}
	if m := v.Get("model"); m != "" && m != "A" && m != "B" {
		return nil, badRequest("BadRequest", "Invalid model '"+m+"'; expected A or B.")
	}
	cl, e := parseFilter(v.Get("$filter"))
	if e != nil {
		return nil, e
	}
	for _, c := range cl {
		if !strings.EqualFold(c.prop, "lastModifiedDateTime") {
			return nil, badRequest("BadRequest", "Filter on property '"+c.prop+"' is not supported.")
		}
		if e := applyTimeClause(q, c, "gt lt"); e != nil {
			return nil, e
		}
	}
	return q, nil
}

// teamsExportGate answers what Graph answers before serving getAllMessages
// (graph-api-notes §8 facts 2 and 3), by option:
//
//   - Options.TeamsUnapproved: 403 for every call. Microsoft documents that
//     the protected Teams APIs need an approved access request, not the
//     error an unapproved application gets; the body here (code Forbidden,
//     a message naming the protected API request form) is an assumption.
//   - model=A needs a supported (E5-like) licence for
//     the users named by licensees (chats: the named user; channels: every
//     team member, "any team member" in Microsoft's table). Without one,
//     402 PaymentRequired; the message is an assumption modelled on
//     Microsoft's 402 answers. model=B and no model (Microsoft's
//     "evaluation mode", the default) need no licence. Evaluation mode's
//     monthly quota is not emulated: Microsoft stopped metering these APIs
//     on 2025-08-25 and does not say whether the quota remains.
//     Options.TeamsUnlicensed takes the licence from every user;
//     Options.NoTeamsLicenceCheck turns the check off.
func (s *Server) teamsExportGate(v url.Values, licensees func(yield func(int) bool)) *apiError {
	if s.opts.TeamsUnapproved {
		return &apiError{status: 403, code: "Forbidden", msg: "Invoked API requires Protected API access in application-only context when not using Resource Specific Consent. Visit https://docs.microsoft.com/en-us/graph/teams-protected-apis for more details."}
	}
	if s.opts.NoTeamsLicenceCheck || v.Get("model") != "A" {
		return nil
	}
	for u := range licensees {
		if s.opts.TeamsUnlicensed || !hasTeamsLicence(u) {
			return &apiError{status: 402, code: "PaymentRequired", msg: "The user does not have a license that supports model=A of this API. See https://aka.ms/teams-licenses."}
		}
	}
	return nil
}

// page serves one page of collection c for owner: it walks from the
// request's $skiptoken, renders up to q.top records and links the next page.
func (s *Server) page(rc *reqCtx, b []byte, c *collection, owner int, q *query, odataCtx string) ([]byte, int, *apiError) {
	var start *cursor
	ph := pathHash(rc.canonPath())
	if st := rc.r.URL.Query().Get("$skiptoken"); st != "" {
		tk, err := s.decodeToken(st)
		if err != nil || tk.pathHash != ph || tk.epoch != s.epoch.Load() {
			return nil, 0, badRequest("BadRequest", "Invalid or expired $skiptoken.")
		}
		start = &tk.cur
	}
	curs := make([]cursor, 0, min(q.top+1, 1024))
	c.walk(s.tenant, owner, q, start, func(cu cursor) bool {
		curs = append(curs, cu)
		return len(curs) <= q.top
	})
	b = append(b, `{"@odata.context":`...)
	b = appendStr(b, odataCtx)
	if start == nil && strings.EqualFold(rc.r.URL.Query().Get("$count"), "true") {
		n := 0
		c.walk(s.tenant, owner, q, nil, func(cursor) bool { n++; return true })
		b = append(b, `,"@odata.count":`...)
		b = appendInt(b, int64(n))
	}
	if len(curs) > q.top {
		next := curs[q.top]
		curs = curs[:q.top]
		b = append(b, `,"@odata.nextLink":`...)
		b = appendStr(b, s.nextLink(rc, token{pathHash: ph, cur: next, epoch: s.epoch.Load()}))
	}
	b = append(b, `,"value":[`...)
	for i, cu := range curs {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.render(s.tenant, b, owner, q, cu)
	}
	b = append(b, "]}"...)
	return b, len(curs), nil
}

// canonPath is the request's path in canonical form (slash keys,
// documented case): paging tokens are bound to it, so a link followed in
// either form continues the same walk.
func (rc *reqCtx) canonPath() string { return "/" + rc.version + "/" + rc.rt.canon }

// nextLink is the request's URL with $skiptoken replaced. getAllMessages
// links take the documented OData key form (users('{id}')/chats/
// getallMessages) unless Options.SlashFormLinks.
func (s *Server) nextLink(rc *reqCtx, tk token) string {
	raw := stripParams(rc.r.URL.RawQuery, "$skiptoken", "$deltatoken")
	path := rc.r.URL.EscapedPath()
	if !s.opts.SlashFormLinks {
		switch rc.rt.ep {
		case epChatMessages:
			path = "/" + rc.version + "/users('" + url.PathEscape(rc.rt.userID) + "')/chats/getallMessages"
		case epChannelMessages:
			path = "/" + rc.version + "/teams('" + url.PathEscape(rc.rt.objID) + "')/channels/getallMessages"
		}
	}
	u := rc.graphRoot() + path + "?"
	if raw != "" {
		u += raw + "&"
	}
	return u + "$skiptoken=" + s.encodeToken(tk)
}

func (s *Server) deltaLink(rc *reqCtx, tk token) string {
	raw := stripParams(rc.r.URL.RawQuery, "$skiptoken", "$deltatoken")
	u := rc.graphRoot() + rc.r.URL.EscapedPath() + "?"
	if raw != "" {
		u += raw + "&"
	}
	return u + "$deltatoken=" + s.encodeToken(tk)
}

// userFilter parses the /users filters a user scope needs: accountEnabled
// eq true|false and userType eq 'Member'|'Guest', joined by "and".
func userFilter(f string) (func(i int) bool, *apiError) {
	cl, e := parseFilter(f)
	if e != nil || len(cl) == 0 {
		return nil, e
	}
	unsupported := badRequest("Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property of resource 'User'.")
	var preds []func(int) bool
	for _, c := range cl {
		if c.op != "eq" {
			return nil, unsupported
		}
		val := strings.Trim(c.val, "'")
		switch {
		case strings.EqualFold(c.prop, "accountEnabled") && (val == "true" || val == "false"):
			want := val == "true"
			preds = append(preds, func(i int) bool { return (i%50 != 31) == want })
		case strings.EqualFold(c.prop, "userType") && (strings.EqualFold(val, "Member") || strings.EqualFold(val, "Guest")):
			guest := strings.EqualFold(val, "Guest")
			preds = append(preds, func(i int) bool { return (i%50 == 13) == guest })
		default:
			return nil, unsupported
		}
	}
	return func(i int) bool {
		for _, p := range preds {
			if !p(i) {
				return false
			}
		}
		return true
	}, nil
}
