// Package tables declares the typed Parquet schema of every collection the
// exporter writes, as data (sinks.Schema), and renders the data dictionary
// (`go run ./jobs/tables/cmd/docgen > docs/data-dictionary.md`).
//
// Columns carry Graph's property names as the sanitizer leaves them. Names
// BigQuery and Athena reject are mapped: "@odata.type" → odata_type,
// "@odata.etag" → odata_etag, "@odata.id" → odata_id, "+content:textDigest"
// → content_text_digest. Schemas only grow: a change adds nullable columns
// and bumps Version; it never removes or retypes a column.
package tables

import (
	"sort"

	"m365export/sinks"
)

// Table is one collection's schema and where it comes from.
type Table struct {
	Connector  string // connector that writes it, e.g. "outlook-mail"
	Collection string // table name, e.g. "messages"
	Endpoint   string // the Graph endpoint it is read from
	Doc        string
	Schema     *sinks.Schema
}

// All lists every table, ordered by connector and collection.
func All() []Table {
	t := []Table{
		{"entra-id", "users", "/v1.0/users", "Directory users (snapshot per run).", Users},
		{"entra-id", "groups", "/v1.0/groups", "Directory groups (snapshot per run).", Groups},
		{"entra-id", "group_members", "/v1.0/groups/{id}/members", "Members of each group; _owner is the group.", GroupMembers},
		{"outlook-cal", "events", "/v1.0/users/{id}/calendar/calendarView", "Calendar events of each user in the window.", Events},
		{"outlook-cal", "mailbox_settings", "/v1.0/users/{id}/mailboxSettings", "Mailbox settings (time zone, working hours) of each user.", MailboxSettings},
		{"outlook-mail", "messages", "/v1.0/users/{id}/mailFolders/SentItems/messages", "Metadata of sent mail (no subject or body).", Messages},
		{"outlook-mail", "mailbox_settings", "/v1.0/users/{id}/mailboxSettings", "Mailbox settings (time zone, working hours) of each user.", MailboxSettings},
		{"msft-teams", "teams", "/v1.0/teams", "Teams.", Teams},
		{"msft-teams", "channels", "/v1.0/teams/{id}/allChannels", "Channels of each team.", Channels},
		{"msft-teams", "chats", "/v1.0/users/{id}/chats", "Chats each user takes part in.", Chats},
		{"msft-teams", "chat_messages", "/v1.0/users/{id}/chats/getAllMessages", "Chat messages (no content), once per message.", ChatMessages},
		{"msft-teams", "channel_messages", "/v1.0/teams/{id}/channels/getAllMessages", "Channel messages and replies (no content).", ChannelMessages},
		{"msft-teams", "call_records", "/v1.0/communications/callRecords", "Call records.", CallRecords},
		{"msft-copilot", "copilot_interactions", "/beta/copilot/users/{id}/interactionHistory/getAllEnterpriseInteractions", "Copilot prompts and responses (content reduced to digests).", CopilotInteractions},
	}
	sort.SliceStable(t, func(i, j int) bool {
		if t[i].Connector != t[j].Connector {
			return t[i].Connector < t[j].Connector
		}
		return t[i].Collection < t[j].Collection
	})
	return t
}

// Lookup returns the schema of a connector's collection, or nil.
func Lookup(connector, collection string) *sinks.Schema {
	for _, t := range All() {
		if t.Connector == connector && t.Collection == collection {
			return t.Schema
		}
	}
	return nil
}

// Column constructors. Source is set only when it differs from the name.

func str(name string, doc ...string) sinks.Column  { return col(name, sinks.String, doc) }
func i64(name string, doc ...string) sinks.Column  { return col(name, sinks.Int64, doc) }
func boo(name string, doc ...string) sinks.Column  { return col(name, sinks.Bool, doc) }
func ts(name string, doc ...string) sinks.Column   { return col(name, sinks.Timestamp, doc) }
func js(name string, doc ...string) sinks.Column   { return col(name, sinks.JSON, doc) }
func dttz(name string, doc ...string) sinks.Column { return col(name, sinks.DateTimeTimeZone, doc) }

func col(name string, t sinks.Type, doc []string) sinks.Column {
	c := sinks.Column{Name: name, Type: t}
	if len(doc) > 0 {
		c.Doc = doc[0]
	}
	return c
}

func obj(name string, fields ...sinks.Column) sinks.Column {
	return sinks.Column{Name: name, Type: sinks.Struct, Fields: fields}
}

func list(name string, elem sinks.Column) sinks.Column {
	return sinks.Column{Name: name, Type: sinks.List, Elem: &elem}
}

func strs(name string, doc ...string) sinks.Column {
	c := list(name, sinks.Column{Type: sinks.String})
	if len(doc) > 0 {
		c.Doc = doc[0]
	}
	return c
}

// from renames: the column is name, read from JSON property source.
func from(c sinks.Column, source string) sinks.Column {
	c.Source = source
	return c
}

// Shared shapes.

func odataType() sinks.Column {
	return from(str("odata_type", "Graph's @odata.type: the object's derived type."), "@odata.type")
}

func odataEtag() sinks.Column { return from(str("odata_etag", "Graph's @odata.etag."), "@odata.etag") }

func textDigest() sinks.Column {
	return from(js("content_text_digest", "Digest the sanitizer leaves in place of the content (length, word count), as JSON."), "+content:textDigest")
}

func emailAddress(name string) sinks.Column {
	return obj(name, obj("emailAddress",
		str("address", "Pseudonymized address."),
		str("name")))
}

func identity(name string) sinks.Column {
	return obj(name, odataType(), str("id"), str("displayName"), str("userIdentityType"), str("applicationIdentityType"), str("tenantId"))
}

func identitySet(name string) sinks.Column {
	return obj(name, odataType(), identity("application"), identity("device"), identity("user"), identity("conversation"), identity("tag"))
}

func location(name string) sinks.Column {
	return obj(name, str("displayName"), str("locationType"), str("locationUri"), str("uniqueId"), str("uniqueIdType"))
}

func responseStatus(name string) sinks.Column {
	return obj(name, str("response"), ts("time"))
}
