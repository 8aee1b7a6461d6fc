package graph

import (
	"strconv"
	"strings"

	"m365export/internal/graphpath"
)

// ScopeKind says which of Graph's documented limits a request counts
// against.
type ScopeKind uint8

const (
	// ScopeOther has no documented limit; it is slowed only by 429s.
	// Scope.ID groups requests (e.g. "copilot").
	ScopeOther ScopeKind = iota
	// ScopeMailbox: Outlook (mail, calendar, mailbox settings…); ID is the
	// user. At most 4 in flight and 10,000 requests per 10 minutes.
	ScopeMailbox
	// ScopeDirectory: users, groups, members; one resource-unit bucket per
	// tenant, sent with x-ms-throttle-priority: low.
	ScopeDirectory
	// ScopeTeamsExport: chats/getAllMessages and channels/getAllMessages;
	// 200 rps per tenant; ID is the team ("" for chats), 4 rps per team.
	ScopeTeamsExport
	// ScopeChannelMessages: channel messages/delta and replies; 60
	// requests per minute per tenant; ID is the team, 4 rps per team.
	ScopeChannelMessages
	// ScopeTeams: other Teams reads (teams, channels, a user's chats);
	// 30 rps per tenant; ID is the team ("" for none), 4 rps per team.
	ScopeTeams
)

var kindNames = [...]string{"other", "mailbox", "directory", "teams-export", "channel-messages", "teams"}

func (k ScopeKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Scope is what a request is throttled as: a kind of limit and, for
// per-owner limits, the owner (mailbox, team or channel id).
type Scope struct {
	Kind ScopeKind
	ID   string
}

// pathSegments returns the path segments of a Graph URL after the version
// segment (v1.0, beta), and the raw query. The path is read in its
// canonical form (graphpath.Canonical), so an OData key segment such as
// teams('t') gives the segments teams and t, as teams/t does.
func pathSegments(rawURL string) (segs []string, query string) {
	u := rawURL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, query = u[:i], u[i+1:]
	}
	// users('x') and users/x are one request: read keys as segments.
	u = graphpath.Canonical(u)
	u = strings.Trim(u, "/")
	if u == "" {
		return nil, query
	}
	segs = strings.Split(u, "/")
	if len(segs) > 0 && (segs[0] == "v1.0" || strings.EqualFold(segs[0], "beta")) {
		segs = segs[1:]
	}
	// A function call's parentheses, e.g. delta() or getAllMessages(model='A').
	for i, s := range segs {
		if j := strings.IndexByte(s, '('); j > 0 {
			segs[i] = s[:j]
		}
	}
	return segs, query
}

// Outlook resources of a user: each lives in that user's mailbox.
var mailboxSegments = map[string]bool{
	"messages": true, "mailfolders": true, "calendar": true, "calendars": true,
	"calendarview": true, "events": true, "calendargroups": true, "mailboxsettings": true,
	"contacts": true, "contactfolders": true, "inferenceclassification": true,
	"outlook": true, "photo": true, "photos": true, "people": true, "insights": true,
	"findmeetingtimes": true, "getmailtips": true,
}

// Directory resources (Entra ID), charged in resource units.
var directoryRoots = map[string]bool{
	"users": true, "groups": true, "directoryobjects": true, "applications": true,
	"serviceprincipals": true, "organization": true, "directoryroles": true,
	"devices": true, "contacts": true, "administrativeunits": true, "domains": true,
}

// ScopeOf derives a request's throttle scope from its URL, and its cost in
// directory resource units (1 for other kinds).
func ScopeOf(rawURL string) (Scope, int) {
	segs, query := pathSegments(rawURL)
	if len(segs) == 0 {
		return Scope{Kind: ScopeOther}, 1
	}
	root := strings.ToLower(segs[0])
	n := len(segs)
	seg := func(i int) string {
		if i < n {
			return strings.ToLower(segs[i])
		}
		return ""
	}
	switch root {
	case "users":
		if n >= 3 {
			switch s2 := seg(2); {
			case mailboxSegments[s2]:
				return Scope{Kind: ScopeMailbox, ID: segs[1]}, 1
			case s2 == "chats" && seg(3) == "getallmessages":
				return Scope{Kind: ScopeTeamsExport}, 1
			case s2 == "chats" || s2 == "joinedteams":
				return Scope{Kind: ScopeTeams}, 1
			case s2 == "teamwork" || s2 == "onlinemeetings":
				return Scope{Kind: ScopeOther, ID: "teams"}, 1
			}
		}
		return Scope{Kind: ScopeDirectory}, directoryCost(segs, query)
	case "teams":
		if n < 2 {
			return Scope{Kind: ScopeTeams}, 1
		}
		team := segs[1]
		if seg(2) == "channels" && seg(3) == "getallmessages" {
			return Scope{Kind: ScopeTeamsExport, ID: team}, 1
		}
		if seg(2) == "channels" && seg(4) == "messages" && (seg(5) == "delta" || seg(6) == "replies") {
			return Scope{Kind: ScopeChannelMessages, ID: team}, 1
		}
		return Scope{Kind: ScopeTeams, ID: team}, 1
	case "copilot", "communications", "chats", "reports", "security", "sites", "drives":
		return Scope{Kind: ScopeOther, ID: root}, 1
	}
	if directoryRoots[root] {
		return Scope{Kind: ScopeDirectory}, directoryCost(segs, query)
	}
	return Scope{Kind: ScopeOther, ID: root}, 1
}

// directoryCost is a directory request's cost in resource units
// (graph-api-notes §2.4): GET users 2, group members 3, transitive members
// 5, other 1; $select −1, $expand +1, $top under 20 −1; at least 1.
func directoryCost(segs []string, query string) int {
	cost := 1
	last := strings.ToLower(segs[len(segs)-1])
	switch {
	case last == "transitivemembers":
		cost = 5
	case last == "members":
		cost = 3
	case strings.EqualFold(segs[0], "users") && len(segs) <= 2:
		cost = 2
	}
	if query != "" {
		if hasParam(query, "select") {
			cost--
		}
		if hasParam(query, "expand") {
			cost++
		}
		if v, ok := param(query, "top"); ok {
			if t, err := strconv.Atoi(v); err == nil && t < 20 {
				cost--
			}
		}
	}
	return max(cost, 1)
}

func hasParam(query, name string) bool {
	_, ok := param(query, name)
	return ok
}

// param finds the OData system query option $name (or %24name) in a raw
// query without allocating.
func param(query, name string) (string, bool) {
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "$"):
			k = k[1:]
		case len(k) > 3 && strings.EqualFold(k[:3], "%24"):
			k = k[3:]
		default:
			continue
		}
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
