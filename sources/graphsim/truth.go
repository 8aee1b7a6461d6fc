package graphsim

import (
	"encoding/json"
	"time"
)

// Collections names the collections Truth knows, with the owner kind and
// the window property of each.
var Collections = map[string]string{
	"users":            "tenant; no window",
	"groups":           "tenant; no window",
	"group_members":    "group id; no window",
	"teams":            "tenant; no window",
	"channels":         "team id; no window",
	"chats":            "user id; no window",
	"mailbox_settings": "user id; no window",
	"events":           "user id; events overlapping [from, to)",
	"messages":         "user id; sentDateTime in [from, to)",
	"chat_messages":    "user id; lastModifiedDateTime in [from, to)",
	"channel_messages": "team id; lastModifiedDateTime in [from, to)",
	"call_records":     "tenant; startDateTime in [from, to)",
	"interactions":     "user id; createdDateTime in [from, to)",
}

// Owners lists the owners of a collection whose requests succeed: "" for
// tenant-wide collections; group, team or user ids otherwise. Users that
// answer an error (no mailbox, denied mailbox, no Copilot licence,
// deleted) are left out; see User for why.
func (t *Tenant) Owners(collection string) []string {
	var out []string
	switch collection {
	case "users", "groups", "teams", "call_records":
		return []string{""}
	case "group_members":
		for g := 0; g < t.groups(); g++ {
			out = append(out, t.GroupID(g))
		}
	case "channels", "channel_messages":
		for k := 0; k < t.teams(); k++ {
			out = append(out, t.GroupID(teamGroup(k)))
		}
	case "chats", "chat_messages":
		for u := 0; u < t.users; u++ {
			if !t.isDeleted(u) {
				out = append(out, t.UserID(u))
			}
		}
	case "mailbox_settings", "events", "messages":
		for u := 0; u < t.users; u++ {
			if !t.isDeleted(u) && hasMailbox(u) && !mailboxDenied(u) {
				out = append(out, t.UserID(u))
			}
		}
	case "interactions":
		for u := 0; u < t.users; u++ {
			if !t.isDeleted(u) && hasMailbox(u) && hasCopilot(u) {
				out = append(out, t.UserID(u))
			}
		}
	}
	return out
}

// Truth lists every record the emulator serves for a collection, an owner
// (as listed by Owners) and a half-open window [from, to) on the
// collection's window property (zero times: unbounded), as raw JSON objects
// exactly as served without $select, in the emulator's serving order
// (messages by ascending sentDateTime, as with $orderby=sentDateTime).
// Windows are whole milliseconds; Graph's gt/lt-only filters serve
// (from, to), so a client wanting [from, to) asks for gt from−1ms.
// chat_messages repeats a chat's message for each participant, as
// getAllMessages does. An unknown collection or owner gives nil.
func (t *Tenant) Truth(coll, owner string, from, to time.Time) []json.RawMessage {
	return t.TruthSelect(coll, owner, from, to, nil)
}

// TruthSelect is Truth for requests with $select=strings.Join(sel, ","):
// records as the emulator serves them then (messages and events keep
// @odata.etag and id; Teams messages keep @odata.type). Names are
// canonical property names; unknown ones are ignored. nil sel is Truth.
func (t *Tenant) TruthSelect(coll, owner string, from, to time.Time, sel []string) []json.RawMessage {
	q := fullQuery()
	if sel != nil {
		q.sel = setOf(sel...)
	}
	if !from.IsZero() {
		q.lo = from.UnixMilli()
	}
	if !to.IsZero() {
		q.hi = to.UnixMilli()
	}
	var c *collection
	o := 0
	ok := true
	user := func() {
		o, ok = t.userIndex(owner)
		ok = ok && !t.isDeleted(o)
	}
	switch coll {
	case "users":
		c, q.defaults = collUsers, sel == nil
	case "groups":
		c = collGroups
	case "teams":
		c = collTeams
	case "call_records":
		c = collCalls
	case "group_members":
		c = collMembers
		o, ok = t.groupIndex(owner)
	case "channels", "channel_messages":
		c = collChannels
		if coll == "channel_messages" {
			c = collChannelMessages
		}
		var g int
		g, ok = t.groupIndex(owner)
		ok = ok && t.isTeam(g)
		o = (g - 1) / 3
	case "chats":
		c = collChats
		user()
	case "chat_messages":
		c = collChatMessages
		user()
	case "events":
		c = collEvents
		user()
		ok = ok && hasMailbox(o) && !mailboxDenied(o)
	case "messages":
		c = collMessages
		user()
		ok = ok && hasMailbox(o) && !mailboxDenied(o)
	case "interactions":
		c = collCopilot
		user()
		ok = ok && hasMailbox(o) && hasCopilot(o)
	case "mailbox_settings":
		user()
		if !ok || !hasMailbox(o) || mailboxDenied(o) {
			return nil
		}
		return []json.RawMessage{renderMailboxSettings(t, nil, o, q)}
	default:
		return nil
	}
	if !ok {
		return nil
	}
	var out []json.RawMessage
	c.walk(t, o, q, nil, func(cu cursor) bool {
		out = append(out, c.render(t, nil, o, q, cu))
		return true
	})
	return out
}
