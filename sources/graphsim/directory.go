package graphsim

import "strconv"

// ---------------------------------------------------------------------------
// Users.

var userFields = []string{"id", "accountEnabled", "assignedLicenses", "businessPhones", "city", "companyName",
	"country", "createdDateTime", "department", "displayName", "employeeId", "givenName", "jobTitle", "mail",
	"mailNickname", "mobilePhone", "officeLocation", "otherMails", "preferredLanguage", "proxyAddresses",
	"surname", "usageLocation", "userPrincipalName", "userType", "state", "onPremisesSyncEnabled"}

// defaultUserSel is what Graph returns for a user without $select.
var defaultUserSel = setOf("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// walkUsers walks live users from index start[0].
func walkUsers(t *Tenant, _ int, q *query, start *cursor, fn func(cursor) bool) {
	i := 0
	if start != nil {
		i = int(start[0])
	}
	for ; i < t.users; i++ {
		if t.isDeleted(i) || (q.userFilter != nil && !q.userFilter(i)) {
			continue
		}
		if !fn(cursor{int64(i)}) {
			return
		}
	}
}

func renderUser(t *Tenant, b []byte, _ int, q *query, c cursor) []byte {
	sel := q.sel
	if q.defaults {
		sel = defaultUserSel
	}
	return t.appendUser(b, int(c[0]), sel, false)
}

func (t *Tenant) appendUser(b []byte, i int, sel map[string]bool, asMember bool) []byte {
	p := t.person(i)
	r := rng{t.h(kUser, int64(i), 3, 0)}
	o := obj{b: b, sel: sel}
	o.open()
	if asMember {
		o.key("@odata.type")
		o.b = append(o.b, `"#microsoft.graph.user"`...)
	}
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendObjID(o.b, kUser, i)
		o.b = append(o.b, '"')
	}
	o.boolean("accountEnabled", i%50 != 31)
	if o.field("assignedLicenses") {
		switch {
		case p.guest:
			o.b = append(o.b, "[]"...)
		case hasCopilot(i):
			o.b = append(o.b, `[{"disabledPlans":[],"skuId":"`+skuE5+`"},{"disabledPlans":[],"skuId":"`+skuCopilot+`"}]`...)
		default:
			o.b = append(o.b, `[{"disabledPlans":[],"skuId":"`+skuE5+`"}]`...)
		}
	}
	phone := r.next()
	office := pick(&r, offices)
	if o.field("businessPhones") {
		if p.guest || phone%4 == 0 {
			o.b = append(o.b, "[]"...)
		} else {
			o.b = append(o.b, `["+1 555 01`...)
			o.b = append2(o.b, int64(phone%100))
			o.b = append(o.b, `"]`...)
		}
	}
	o.str("city", office)
	o.str("companyName", "SimCorp")
	o.str("country", "Freedonia")
	o.time("createdDateTime", t.nowMS()-int64(30+r.intn(2000))*dayMS-int64(r.intn(dayMS)), tsSeconds)
	dept := pick(&r, departments)
	o.str("department", dept)
	if o.field("displayName") {
		o.b = append(o.b, '"')
		o.b = p.appendName(o.b)
		o.b = append(o.b, '"')
	}
	if o.field("employeeId") {
		if p.guest {
			o.b = append(o.b, "null"...)
		} else {
			o.b = append(o.b, `"E`...)
			o.b = appendInt(o.b, 100000+int64(i))
			o.b = append(o.b, '"')
		}
	}
	o.str("givenName", firstNames[p.first])
	title := pick(&r, jobTitles)
	if p.guest {
		o.null("jobTitle")
	} else {
		o.str("jobTitle", title)
	}
	if o.field("mail") {
		if hasMailbox(i) || p.guest {
			o.b = append(o.b, '"')
			o.b = t.appendAddress(o.b, p)
			o.b = append(o.b, '"')
		} else {
			o.b = append(o.b, "null"...)
		}
	}
	if o.field("mailNickname") {
		o.b = append(o.b, '"')
		o.b = p.appendLocal(o.b)
		o.b = append(o.b, '"')
	}
	if o.field("mobilePhone") {
		if phone%3 == 0 {
			o.b = append(o.b, `"+1 555 02`...)
			o.b = append2(o.b, int64(phone/7%100))
			o.b = append(o.b, `"`...)
		} else {
			o.b = append(o.b, "null"...)
		}
	}
	if p.guest {
		o.null("officeLocation")
	} else {
		o.str("officeLocation", office)
	}
	if o.field("otherMails") {
		if phone%5 == 1 {
			o.b = append(o.b, `["`...)
			o.b = p.appendLocal(o.b)
			o.b = append(o.b, `@personal.example"]`...)
		} else {
			o.b = append(o.b, "[]"...)
		}
	}
	o.str("preferredLanguage", languages[phone%uint64(len(languages))])
	if o.field("proxyAddresses") {
		switch {
		case p.guest, !hasMailbox(i):
			o.b = append(o.b, "[]"...)
		default:
			o.b = append(o.b, `["SMTP:`...)
			o.b = t.appendAddress(o.b, p)
			o.b = append(o.b, `","smtp:`...)
			o.b = append(o.b, firstLower[p.first]...)
			o.b = appendInt(o.b, int64(i))
			o.b = append(o.b, '@')
			o.b = append(o.b, t.opts.domain...)
			o.b = append(o.b, `"]`...)
		}
	}
	o.str("surname", lastNames[p.last])
	o.str("usageLocation", "US")
	if o.field("userPrincipalName") {
		o.b = append(o.b, '"')
		o.b = p.appendLocal(o.b)
		if p.guest {
			o.b = append(o.b, '_')
			o.b = append(o.b, p.dom...)
			o.b = append(o.b, "#EXT#"...)
		}
		o.b = append(o.b, '@')
		o.b = append(o.b, t.opts.domain...)
		o.b = append(o.b, '"')
	}
	if p.guest {
		o.str("userType", "Guest")
	} else {
		o.str("userType", "Member")
	}
	// Returned only when $select names them (never by default): the
	// tenant is cloud-only and keeps no state.
	o.null("state")
	o.null("onPremisesSyncEnabled")
	o.close()
	return o.b
}

// ---------------------------------------------------------------------------
// Groups and members.

var groupFields = []string{"id", "createdDateTime", "description", "displayName", "groupTypes", "mail",
	"mailEnabled", "mailNickname", "proxyAddresses", "resourceProvisioningOptions", "securityEnabled",
	"visibility", "deletedDateTime", "classification", "renewedDateTime",
	// Declared by Graph v1.0's group and so valid in $select, though the
	// emulator never fills them (absent, as Graph leaves unset ones).
	"expirationDateTime", "isAssignableToRole", "membershipRule", "membershipRuleProcessingState",
	"onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
	"onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
	"resourceBehaviorOptions", "securityIdentifier", "serviceProvisioningErrors", "theme", "uniqueName"}

func walkGroups(t *Tenant, _ int, _ *query, start *cursor, fn func(cursor) bool) {
	g := 0
	if start != nil {
		g = int(start[0])
	}
	for ; g < t.groups(); g++ {
		if !fn(cursor{int64(g)}) {
			return
		}
	}
}

func (t *Tenant) appendNick(b []byte, g int) []byte {
	name := t.groupName(g)
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != ' ' {
			b = append(b, c)
		}
	}
	return b
}

func renderGroup(t *Tenant, b []byte, _ int, q *query, c cursor) []byte {
	g := int(c[0])
	r := rng{t.h(kGroup, int64(g), 4, 0)}
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendObjID(o.b, kGroup, g)
		o.b = append(o.b, '"')
	}
	o.null("deletedDateTime")
	o.null("classification")
	created := t.nowMS() - int64(60+r.intn(1500))*dayMS - int64(r.intn(dayMS))
	o.time("createdDateTime", created, tsSeconds)
	o.str("description", "Workspace of "+t.groupName(g))
	o.str("displayName", t.groupName(g))
	unified := g == 0 || t.isTeam(g) || r.chance(0.5)
	if unified {
		o.raw("groupTypes", `["Unified"]`)
	} else {
		o.raw("groupTypes", `[]`)
	}
	if o.field("mail") {
		o.b = append(o.b, '"')
		o.b = t.appendNick(o.b, g)
		o.b = append(o.b, '@')
		o.b = append(o.b, t.opts.domain...)
		o.b = append(o.b, '"')
	}
	o.boolean("mailEnabled", unified)
	if o.field("mailNickname") {
		o.b = append(o.b, '"')
		o.b = t.appendNick(o.b, g)
		o.b = append(o.b, '"')
	}
	if o.field("proxyAddresses") {
		o.b = append(o.b, `["SMTP:`...)
		o.b = t.appendNick(o.b, g)
		o.b = append(o.b, '@')
		o.b = append(o.b, t.opts.domain...)
		o.b = append(o.b, `"]`...)
	}
	o.time("renewedDateTime", created, tsSeconds)
	if t.isTeam(g) {
		o.raw("resourceProvisioningOptions", `["Team"]`)
	} else {
		o.raw("resourceProvisioningOptions", `[]`)
	}
	o.boolean("securityEnabled", !unified || g == 0)
	if r.chance(0.7) {
		o.str("visibility", "Public")
	} else {
		o.str("visibility", "Private")
	}
	o.close()
	return o.b
}

func walkMembers(t *Tenant, g int, _ *query, start *cursor, fn func(cursor) bool) {
	k := 0
	if start != nil {
		k = int(start[0])
	}
	n := t.groupSize(g)
	for ; k < n; k++ {
		u, first := t.groupMember(g, k)
		if !first || t.isDeleted(u) {
			continue
		}
		if !fn(cursor{int64(k)}) {
			return
		}
	}
}

func renderMember(t *Tenant, b []byte, g int, q *query, c cursor) []byte {
	u, _ := t.groupMember(g, int(c[0]))
	sel := q.sel
	if sel == nil {
		sel = defaultUserSel
	}
	return t.appendUser(b, u, sel, true)
}

// ---------------------------------------------------------------------------
// Teams and channels.

var teamFields = []string{"id", "createdDateTime", "displayName", "description", "internalId", "classification",
	"specialization", "visibility", "webUrl", "isArchived", "tenantId"}

// teamListFields are all GET /teams returns: "this method returns only the
// id, displayName, and description properties" (teams-list.md; graph-api-
// notes §8 fact 5). GET /teams/{id} returns the rest.
var teamListFields = setOf("id", "displayName", "description")

// teamListSel narrows a $select (nil: all) to what the list returns.
func teamListSel(sel map[string]bool) map[string]bool {
	if sel == nil {
		return teamListFields
	}
	out := map[string]bool{}
	for k := range sel {
		if teamListFields[k] {
			out[k] = true
		}
	}
	return out
}

func walkTeams(t *Tenant, _ int, _ *query, start *cursor, fn func(cursor) bool) {
	k := 0
	if start != nil {
		k = int(start[0])
	}
	for ; k < t.teams(); k++ {
		if !fn(cursor{int64(k)}) {
			return
		}
	}
}

func renderTeam(t *Tenant, b []byte, _ int, q *query, c cursor) []byte {
	k := int(c[0])
	g := teamGroup(k)
	r := rng{t.h(kTeam, int64(k), 0, 0)}
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendObjID(o.b, kGroup, g)
		o.b = append(o.b, '"')
	}
	o.time("createdDateTime", t.nowMS()-int64(60+r.intn(1200))*dayMS-int64(r.intn(dayMS)), tsMillis)
	o.str("displayName", t.groupName(g))
	o.str("description", "Workspace of "+t.groupName(g))
	if o.field("internalId") {
		o.b = append(o.b, `"`...)
		o.b = t.appendChannelID(o.b, k, 0)
		o.b = append(o.b, `"`...)
	}
	o.null("classification")
	o.str("specialization", "none")
	o.str("visibility", "public")
	if o.field("webUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/team/`...)
		o.b = t.appendChannelID(o.b, k, 0)
		o.b = append(o.b, `/conversations?groupId=`...)
		o.b = t.appendObjID(o.b, kGroup, g)
		o.b = append(o.b, `&tenantId=`...)
		o.b = append(o.b, t.opts.tenantID...)
		o.b = append(o.b, '"')
	}
	o.boolean("isArchived", false)
	o.str("tenantId", t.opts.tenantID)
	o.close()
	return o.b
}

var channelFields = []string{"id", "createdDateTime", "displayName", "description", "email",
	"isFavoriteByDefault", "membershipType", "tenantId", "webUrl",
	"isArchived"} // declared by Graph v1.0's channel; the emulator never fills it

func walkChannels(t *Tenant, team int, _ *query, start *cursor, fn func(cursor) bool) {
	ch := 0
	if start != nil {
		ch = int(start[0])
	}
	for ; ch < t.channels(team); ch++ {
		if !fn(cursor{int64(ch)}) {
			return
		}
	}
}

func renderChannel(t *Tenant, b []byte, team int, q *query, c cursor) []byte {
	ch := int(c[0])
	r := rng{t.h(kChannel, int64(team), int64(ch), 3)}
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendChannelID(o.b, team, ch)
		o.b = append(o.b, '"')
	}
	o.time("createdDateTime", t.nowMS()-int64(30+r.intn(900))*dayMS-int64(r.intn(dayMS)), tsMillis)
	o.str("displayName", t.channelName(team, ch))
	o.str("description", "Channel for "+t.channelName(team, ch))
	o.str("email", "")
	o.null("isFavoriteByDefault")
	if ch > 0 && r.chance(0.25) {
		o.str("membershipType", "private")
	} else {
		o.str("membershipType", "standard")
	}
	o.str("tenantId", t.opts.tenantID)
	if o.field("webUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/channel/`...)
		o.b = t.appendChannelID(o.b, team, ch)
		o.b = append(o.b, `/`...)
		o.b = append(o.b, t.channelName(team, ch)...)
		o.b = append(o.b, `?groupId=`...)
		o.b = t.appendObjID(o.b, kGroup, teamGroup(team))
		o.b = append(o.b, `&tenantId=`...)
		o.b = append(o.b, t.opts.tenantID...)
		o.b = append(o.b, '"')
	}
	o.close()
	return o.b
}

// ---------------------------------------------------------------------------
// Chats of a user.

var chatFields = []string{"id", "topic", "createdDateTime", "lastUpdatedDateTime", "chatType", "webUrl",
	"tenantId", "onlineMeetingInfo", "viewpoint", "isHiddenForAllMembers"}

func walkChats(t *Tenant, u int, _ *query, start *cursor, fn func(cursor) bool) {
	s := 0
	if start != nil {
		s = int(start[0])
	}
	for ; s < chatSlots(); s++ {
		if _, _, ok := t.chatOf(u, s); !ok {
			continue
		}
		if !fn(cursor{int64(s)}) {
			return
		}
	}
}

func renderChat(t *Tenant, b []byte, u int, q *query, c cursor) []byte {
	j, base, _ := t.chatOf(u, int(c[0]))
	r := rng{t.h(kChat, int64(j), int64(base), 2)}
	o := obj{b: b, sel: q.sel}
	o.open()
	if o.field("id") {
		o.b = append(o.b, '"')
		o.b = t.appendChatID(o.b, j, base)
		o.b = append(o.b, '"')
	}
	switch chatKinds[j].typ {
	case "oneOnOne":
		o.null("topic")
	case "meeting":
		o.str("topic", pick(&r, subjects))
	default:
		if r.chance(0.5) {
			o.str("topic", pick(&r, groupTopics)+" crew")
		} else {
			o.null("topic")
		}
	}
	created := t.nowMS() - int64(10+r.intn(600))*dayMS - int64(r.intn(dayMS))
	o.time("createdDateTime", created, tsMillis)
	o.time("lastUpdatedDateTime", t.nowMS()-int64(r.intn(3*dayMS)), tsMillis)
	o.str("chatType", chatKinds[j].typ)
	if o.field("webUrl") {
		o.b = append(o.b, `"https://teams.microsoft.com/l/chat/`...)
		o.b = t.appendChatID(o.b, j, base)
		o.b = append(o.b, `/0?tenantId=`...)
		o.b = append(o.b, t.opts.tenantID...)
		o.b = append(o.b, '"')
	}
	o.str("tenantId", t.opts.tenantID)
	o.null("onlineMeetingInfo")
	if o.field("viewpoint") {
		o.b = append(o.b, `{"isHidden":false,"lastMessageReadDateTime":`...)
		o.b = appendTime(o.b, t.nowMS()-int64(r.intn(2*dayMS)), tsMillis)
		o.b = append(o.b, '}')
	}
	o.boolean("isHiddenForAllMembers", false)
	o.close()
	return o.b
}

func itoa(i int) string { return strconv.Itoa(i) }
