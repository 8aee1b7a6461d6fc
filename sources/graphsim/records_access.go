package graphsim

import (
	"encoding/json"
	"time"
)

// This file is the emulator's one door for its ground-truth oracle,
// m365export/sources/graphsim/simtruth, which tests compare exports with.
// The oracle is test support and lives there; the emulator exports only
// what it cannot compute from outside: the rendered records and the
// directory's shape.

// Groups returns the number of groups; GroupID(g) names group g.
func (t *Tenant) Groups() int { return t.groups() }

// IsTeam reports whether group g is a team (has channels and channel
// messages).
func (t *Tenant) IsTeam(g int) bool { return g >= 0 && g < t.groups() && t.isTeam(g) }

// UserIndex returns the index of the user with id, as User takes it; false
// for an id that is not a user of this tenant.
func (t *Tenant) UserIndex(id string) (int, bool) { return t.userIndex(id) }

// Records renders every record of collection coll for owner, in the
// emulator's serving order, exactly as served for a request with
// $select=strings.Join(sel, ",") (nil sel: no $select, so Graph's default
// property set for users) and a half-open window [from, to) on the
// collection's window property (zero times: unbounded). coll is one of
// users, groups, group_members, teams, channels, chats, mailbox_settings,
// events, messages, chat_messages, channel_messages, call_records and
// interactions; owner is "" for tenant-wide collections, else a group id
// (group_members), a team's group id (channels, channel_messages) or a user
// id. teams with a team's group id gives that team as GET /teams/{id}
// serves it (owner "": every team so, not the list's projection);
// call_records with a call record id gives that record as GET
// /communications/callRecords/{id}?$expand=participants_v2 serves it, if
// it starts in the window (owner "": the list's items). An unknown
// collection or owner gives nil.
//
// Records renders what the generator holds: it does not give the answers
// the handlers give for some users (deleted, no mailbox, mailbox denied by
// policy, no Copilot licence); the oracle leaves those owners out.
func (t *Tenant) Records(coll, owner string, from, to time.Time, sel []string) []json.RawMessage {
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
	o, ok := 0, true
	user := func(uc *collection) { c = uc; o, ok = t.userIndex(owner) }
	switch coll {
	case "users":
		c, q.defaults = collUsers, sel == nil
	case "groups":
		c = collGroups
	case "teams":
		c = collTeams
		if owner != "" { // one team, as GET /teams/{id} serves it
			g, ok := t.groupIndex(owner)
			if !ok || !t.isTeam(g) {
				return nil
			}
			return []json.RawMessage{renderTeam(t, nil, 0, q, cursor{int64((g - 1) / 3)})}
		}
	case "call_records":
		c = collCalls
		if owner != "" { // one record, as GET …/callRecords/{id}?$expand=participants_v2 serves it
			day, i, ok := t.callIndex(owner)
			if !ok {
				return nil
			}
			q.expand = true
			if q.sel != nil {
				q.sel["participants_v2"] = true
			}
			var out []json.RawMessage
			collCalls.walk(t, 0, q, &cursor{day, int64(i)}, func(cu cursor) bool {
				if cu == (cursor{day, int64(i)}) {
					out = append(out, renderCall(t, nil, 0, q, cu))
				}
				return false
			})
			return out
		}
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
		user(collChats)
	case "chat_messages":
		user(collChatMessages)
	case "events":
		user(collEvents)
	case "messages":
		user(collMessages)
	case "interactions":
		user(collCopilot)
	case "mailbox_settings": // one object, not a collection
		if o, ok = t.userIndex(owner); !ok {
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
