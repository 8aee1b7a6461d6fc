// Package msftteams declares the msft-teams connector: teams, channels,
// chats, chat and channel messages (no content) and call records.
package msftteams

import (
	"embed"
	"time"

	"m365export/jobs/connector"
	"m365export/jobs/connector/cols"
	"m365export/sinks"
	"m365export/sources/graph"
)

//go:embed rules.yaml.tmpl
var rulesFS embed.FS

func init() {
	connector.Register(connector.Connector{
		Name:  "msft-teams",
		Doc:   "teams, channels, chats, chat and channel messages (no content), call records",
		Rules: rulesFS,
		Collections: []connector.Collection{
			// GET /teams returns only id, displayName and description
			// (graph-api-notes §8 fact 5): each team is read on its own.
			{Name: "teams", Owners: connector.Team, Scopes: []string{"Team.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc: "every team", Schema: teams, Breaking: teamsBreaking, Single: true,
				First: func(t string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/teams/" + t + "?$select=" + connector.Select(teams)
				}},
			{Name: "channels", Owners: connector.Team, Scopes: []string{"Channel.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc: "every channel of every team", Schema: channels,
				First: func(t string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/teams/" + t + "/allChannels?$select=" + connector.Select(channels)
				}},
			{Name: "chats", Owners: connector.User, Scopes: []string{"Chat.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc:    "the chats each user takes part in: one row per user and chat, with that user's viewpoint (_owner)",
				Schema: chats, Breaking: chatsBreaking,
				First: func(u string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/users/" + u + "/chats?$top=50&$select=" + connector.Select(chats)
				}},
			// Chat and channel getAllMessages are protected Teams APIs
			// (Microsoft approves each application first), exist in the
			// global cloud only, and take the run's licensing model
			// (--teams-model; graph-api-notes §8 facts 2, 3 and 10).
			{Name: "chat_messages", Owners: connector.User, Scopes: []string{"Chat.Read.All"}, TimeField: "lastModifiedDateTime", Incremental: "time window on lastModifiedDateTime",
				Throttle: graph.ScopeTeamsExport, SenderField: "from.user.id", DedupeKey: []string{"chatId", "id"},
				Doc:    "chat messages changed in the window, each once (Graph returns one copy per participant)",
				Schema: chatMessages, Breaking: messageBreaking, JSON: messageJSON,
				// learn.microsoft.com/graph/api/chats-getallmessages: its
				// optional query parameters are model, $top and $filter.
				NoSelect:  "getAllMessages takes model, $top and $filter only (chats-getallmessages)",
				Protected: true, GlobalOnly: true,
				First: func(u string, w connector.Window, s connector.Settings) string {
					return "/v1.0/users/" + u + "/chats/getAllMessages?$top=50" + s.TeamsModelParam() + "&$filter=" + connector.Query(connector.GtLt("lastModifiedDateTime", w))
				}},
			{Name: "channel_messages", Owners: connector.Team, Scopes: []string{"ChannelMessage.Read.All"}, TimeField: "lastModifiedDateTime", Incremental: "time window on lastModifiedDateTime",
				Throttle: graph.ScopeTeamsExport,
				Doc:      "channel messages and replies changed in the window",
				Schema:   channelMessages, Breaking: messageBreaking, JSON: messageJSON,
				// learn.microsoft.com/graph/api/channel-getallmessages:
				// model, $top and $filter on lastModifiedDateTime.
				NoSelect:  "getAllMessages takes model, $top and $filter only (channel-getallmessages)",
				Protected: true, GlobalOnly: true,
				First: func(t string, w connector.Window, s connector.Settings) string {
					return "/v1.0/teams/" + t + "/channels/getAllMessages?$top=50" + s.TeamsModelParam() + "&$filter=" + connector.Query(connector.GtLt("lastModifiedDateTime", w))
				}},
			// The list returns neither sessions nor participants (graph-
			// api-notes §8 fact 4): its ids are the owners, each read with
			// participants_v2. Graph keeps 30 days of call records.
			{Name: "call_records", Owners: connector.Listed, Scopes: []string{"CallRecords.Read.All"},
				// "This API doesn't return call records older than 30 days."
				Retention: 30 * 24 * time.Hour, TimeField: "startDateTime", Incremental: "time window on startDateTime",
				Throttle: graph.ScopeOther,
				Doc:      "call records of calls that started in the window (Graph keeps 30 days), each with its participants",
				Schema:   callRecords, Single: true,
				// organizer_v2 is a navigation property Graph returns
				// without $expand; whether a $select keeps it is not
				// documented (an assumption the emulator cannot settle).
				NoSelect: "organizer_v2, a navigation property, comes without $expand; Microsoft does not document whether $select keeps it",
				ListOwners: func(w connector.Window) string {
					return "/v1.0/communications/callRecords?$select=id&$filter=" + connector.Query(connector.GeLt("startDateTime", w))
				},
				First: func(id string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/communications/callRecords/" + id + "?$expand=participants_v2"
				}},
		},
	})
}

// teams is msft-teams' teams table.
var teams = &sinks.Schema{Version: 3, Columns: []sinks.Column{
	cols.OdataType(),
	cols.Str("id"),
	cols.Str("classification"),
	cols.Time("createdDateTime"),
	cols.Str("description"),
	cols.Str("displayName"),
	cols.Str("internalId"),
	cols.Bool("isArchived"),
	cols.Str("specialization"),
	cols.Str("tenantId"),
	cols.Str("visibility"),
	cols.Str("webUrl"),
}}

var teamsBreaking = []connector.Breaking{
	{Version: 3, Column: "isMembershipLimitedToOwners", Reason: "Not a property of v1.0's team (beta only): Graph v1.0 never fills it."},
}

// channels is msft-teams' channels table.
var channels = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.OdataID(),
	cols.Str("id"),
	cols.Time("createdDateTime"),
	cols.Str("description"),
	cols.Str("displayName"),
	cols.Str("email"),
	cols.Bool("isArchived"),
	cols.Bool("isFavoriteByDefault"),
	cols.Str("membershipType"),
	cols.Str("tenantId"),
	cols.Str("webUrl", "Removed by the built-in rules (the URL contains the channel name): null."),
}}

// chats is msft-teams' chats table.
var chats = &sinks.Schema{Version: 3, Columns: []sinks.Column{
	cols.Str("id"),
	cols.Str("chatType"),
	cols.Time("createdDateTime"),
	cols.Time("lastUpdatedDateTime"),
	cols.Obj("onlineMeetingInfo", cols.Str("calendarEventId"), cols.Str("joinWebUrl"), cols.Identity("organizer")),
	cols.Str("tenantId"),
	cols.Str("topic"),
	cols.Str("webUrl"),
	// Version 2.
	cols.Bool("isHiddenForAllMembers"),
	cols.Obj("viewpoint", cols.Bool("isHidden"), cols.Time("lastMessageReadDateTime")),
}}

var chatsBreaking = []connector.Breaking{
	{Version: 3, Column: "chatViewpoint", Reason: "Not a property of v1.0's chat: its name there is viewpoint, which version 2 added."},
	{Version: 3, Column: "lastMessagePreview", Reason: "A navigation property of v1.0's chat, sent only with $expand=lastMessagePreview, which the chats request does not ask for."},
}

var messageBreaking = []connector.Breaking{
	{Version: 2, Column: "onBehalfOf", Reason: "Not a property of v1.0's chatMessage (beta only): Graph v1.0 never fills it."},
}

func chatMessage() *sinks.Schema {
	cols := []sinks.Column{
		cols.OdataType(),
		cols.Str("id"),
		cols.List("attachments", cols.Obj("", cols.Str("id"), cols.Str("contentType"), cols.Str("contentUrl"), cols.Str("name"), cols.Str("teamsAppId"), cols.Str("thumbnailUrl"), cols.TextDigest())),
		cols.Obj("body", cols.Str("contentType"), cols.TextDigest()),
		cols.Obj("channelIdentity", cols.Str("teamId"), cols.Str("channelId")),
		cols.Str("chatId"),
		cols.Time("createdDateTime"),
		cols.Time("deletedDateTime"),
		cols.Str("etag"),
		cols.JSON("eventDetail", "System event details, as JSON: the event's @odata.type, ids, durations, statuses and roles, with user ids written as in from; the built-in rules remove the content-bearing members (team, channel and chat names and descriptions, call recording URLs and names)."),
		cols.IdentitySet("from"),
		cols.Str("importance"),
		cols.Time("lastEditedDateTime"),
		cols.Time("lastModifiedDateTime"),
		cols.Str("locale"),
		cols.List("mentions", cols.Obj("", cols.Int("id"), cols.Str("mentionText"), cols.IdentitySet("mentioned"))),
		cols.List("messageHistory", cols.Obj("", cols.Time("modifiedDateTime"), cols.Str("actions"), cols.JSON("reaction"))),
		cols.Str("messageType"),
		cols.JSON("policyViolation", "Data loss prevention verdict, as JSON (dlpAction, userAction, verdictDetails, policyTip); the built-in rules remove the sender's justificationText."),
		cols.List("reactions", cols.Obj("", cols.Str("reactionType"), cols.Str("displayName"), cols.Time("createdDateTime"), cols.IdentitySet("user"))),
		cols.Str("replyToId"),
		cols.Str("subject"),
		cols.Str("summary"),
		cols.Str("webUrl"),
	}
	return &sinks.Schema{Version: 2, Columns: cols}
}

// messageJSON declares what the JSON columns of a message keep: the
// members of Graph v1.0's types (eventMessageDetail's derived types,
// chatMessagePolicyViolation, chatMessageReaction), content-bearing ones
// included so that the rules, not the allow-list, decide them (the
// built-in rules remove names, descriptions, recording URLs and the
// justification text; the data dictionary says so).
var messageJSON = map[string]sinks.Column{
	"eventDetail": cols.Obj("", cols.OdataType(),
		cols.Str("callDuration"), cols.Str("callEventType"), cols.Str("callId"),
		cols.List("callParticipants", cols.Obj("", cols.IdentitySet("participant"))),
		cols.Str("callRecordingDisplayName"), cols.Str("callRecordingDuration"), cols.Str("callRecordingStatus"), cols.Str("callRecordingUrl"),
		cols.Str("callTranscriptICalUid"),
		cols.Str("channelDescription"), cols.Str("channelDisplayName"), cols.Str("channelId"),
		cols.Str("chatDisplayName"), cols.Str("chatId"),
		cols.Strs("conversationMemberRoles"), cols.Identity("conversationMemberUser"),
		cols.Time("eventDateTime"),
		cols.IdentitySet("initiator"), cols.IdentitySet("meetingOrganizer"),
		cols.Bool("meetingChatEnabled"), cols.Str("meetingChatId"),
		cols.List("members", cols.Identity("")),
		cols.Str("tabId"),
		cols.Str("teamDescription"), cols.Str("teamDisplayName"), cols.Str("teamId"),
		cols.Str("teamsAppDisplayName"), cols.Str("teamsAppId"),
		cols.Time("visibleHistoryStartDateTime")),
	"policyViolation": cols.Obj("", cols.Str("dlpAction"), cols.Str("justificationText"),
		cols.Obj("policyTip", cols.Str("complianceUrl"), cols.Str("generalText"), cols.Strs("matchedConditionDescriptions")),
		cols.Str("userAction"), cols.Str("verdictDetails")),
	"messageHistory[].reaction": cols.Obj("", cols.Time("createdDateTime"), cols.Str("displayName"), cols.Str("reactionContentUrl"),
		cols.Str("reactionType"), cols.IdentitySet("user")),
}

// chatMessages is msft-teams' chat_messages table.
var chatMessages = chatMessage()

// channelMessages is msft-teams' channel_messages table.
var channelMessages = chatMessage()

func withDoc(c sinks.Column, doc string) sinks.Column {
	c.Doc = doc
	return c
}

func callIdentity(name string) sinks.Column {
	return cols.Obj(name, cols.Identity("user"), cols.Identity("application"), cols.Identity("device"), cols.Identity("phone"),
		cols.OdataType()) // version 2: communicationsIdentitySet carries its @odata.type
}

// callRecords is msft-teams' call_records table.
var callRecords = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	cols.Str("id"),
	cols.Time("endDateTime"),
	cols.Str("joinWebUrl"),
	cols.Time("lastModifiedDateTime"),
	cols.Strs("modalities"),
	withDoc(callIdentity("organizer"), "Deprecated by Microsoft for organizer_v2; Graph stopped filling it on 2026-06-30, so it is empty."),
	cols.Obj("organizer_v2", cols.Str("id"), callIdentity("identity")),
	withDoc(cols.List("participants", callIdentity("")), "Deprecated by Microsoft for participants_v2; Graph stopped filling it on 2026-06-30, so it is empty."),
	cols.List("participants_v2", cols.Obj("", cols.Str("id"), callIdentity("identity"))),
	cols.Time("startDateTime"),
	cols.Str("type"),
	cols.Int("version"),
}}
