// Package msftteams declares the msft-teams connector: teams, channels,
// chats, chat and channel messages (no content), call records, and the
// online meetings behind the call records with who attended them.
//
// # Online meetings
//
// Graph lists no online meetings app-only: a meeting is found by its
// organizer and join URL, GET /users/{organizer}/onlineMeetings?$filter=
// JoinWebUrl eq '{url}' (the filter works for the organizer only). Two
// sources carry both, so online_meetings and meeting_attendance have
// Derived owners (connector.Derivation; the first shard lists the sources
// once and reads every meeting):
//   - the window's call records: every meeting that took place, while
//     Graph keeps its record (30 days);
//   - each user's calendar: the online meetings the user organized and
//     scheduled in the window (the organizer's copy of the event), held or
//     not, whose call record may be past that retention or not created.
//
// A meeting found several times (its several call records, and its event)
// is one owner, keyed by the meeting's thread id, the earliest found.
//
// Both tables' rows lie on the day of the call record or event that found
// their meeting (found_date_time, stamped by the job: Collection.Stamp),
// not the run's day, so windows exported on one day do not replace each
// other's.
//
// Both tables' _owner is the meeting key: the part of the meeting's chat
// thread id 19:meeting_…@thread.v2 between "19:" and "@thread.", decoded
// from the join URL (so differently encoded URLs of one meeting give one
// key) and tokenized like other opaque ids (rules' meetingKey). The same
// rule turns online_meetings.joinWebUrl and .chatInfo.threadId and
// call_records.joinWebUrl into it, and outlook-cal's rules do the same to
// events' onlineMeeting.joinUrl, which is how meetings join call records
// and calendar events (never through the raw URL, which carries the
// tenant's and organizer's ids).
//
// App-only access needs a Teams application access policy besides the
// permissions; without it Graph answers 403 (DeniedAdvice).
package msftteams

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"embed"

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
		Doc:   "teams, channels, chats, chat and channel messages (no content), call records, online meetings and their attendance",
		Rules: rulesFS,
		Collections: []connector.Collection{
			// GET /teams returns only id, displayName and description
			// (graph-api-notes §8 fact 5): each team is read on its own.
			{Name: "teams", Owners: connector.Team, Scopes: []string{"Team.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc: "every team", Schema: teams, Breaking: teamsBreaking, Single: true,
				// Get team supports $select and $expand (team-get).
				First: func(t string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/teams/" + t + "?$select=" + connector.Select(teams)
				}},
			{Name: "channels", Owners: connector.Team, Scopes: []string{"Channel.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc: "every channel of every team", Schema: channels,
				// List allChannels supports $filter and $select (team-list-allchannels).
				First: func(t string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/teams/" + t + "/allChannels?$select=" + connector.Select(channels)
				}},
			{Name: "chats", Owners: connector.User, Scopes: []string{"Chat.ReadBasic.All"}, Incremental: "snapshot", Throttle: graph.ScopeTeams,
				Doc:    "the chats each user takes part in: one row per user and chat, with that user's viewpoint (_owner)",
				Schema: chats, Breaking: chatsBreaking,
				// learn.microsoft.com/graph/api/chat-list: $expand, $top,
				// $filter and $orderby; "other OData query parameters are
				// not currently supported".
				NoSelect: "List chats takes $expand, $top, $filter and $orderby only (chat-list)",
				First: func(u string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/users/" + u + "/chats?$top=50"
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
			{Name: "online_meetings", Owners: connector.Derived, Derive: meetings, Scopes: []string{"OnlineMeetings.Read.All"},
				// No Retention: calendar events find meetings whose call
				// records Graph no longer keeps (a window before that is
				// refused for call_records: --tables online_meetings,
				// meeting_attendance exports it).
				Incremental: "the meetings of the window's call records and organizers' calendar events, on the day of the record or event that found each",
				TimeField:   foundField, Stamp: stampFound,
				Throttle: graph.ScopeOther, DeniedAdvice: policyAdvice,
				Doc:    "the online meetings of the window: those that took place (found from its call records) and those its users organized and scheduled (found from their calendar events), one row per meeting; _owner is the meeting key",
				Schema: onlineMeetings,
				// The allow-list, not $select, limits what is kept here.
				NoSelect: "the lookup by join URL documents $filter=JoinWebUrl alone (onlinemeeting-get); Microsoft does not document combining it with $select",
				First:    meetingLookup},
			{Name: "meeting_attendance", Owners: connector.Derived, Derive: meetings, Scopes: []string{"OnlineMeetingArtifact.Read.All"},
				Incremental: "the attendance reports of the window's meetings, on the day of the record or event that found each meeting",
				TimeField:   foundField, Stamp: stampAttendance,
				Throttle: graph.ScopeOther, DeniedAdvice: policyAdvice,
				Doc:      "who attended each meeting of online_meetings: one row per attendee and attendance report (a report per session), with join and leave intervals, role and total seconds; _owner is the meeting key",
				Schema:   meetingAttendance,
				NoSelect: "the rows come from chained reads (the meeting, its attendanceReports, each report's attendanceRecords); the first request finds the meeting, whose properties are not this table's columns",
				First:    meetingLookup,
				Steps:    []func(string, string, []byte) string{meetingReports, reportRecords}},
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

// policyAdvice says what a 403 from the online meeting APIs means.
const policyAdvice = "online meetings and their attendance reports need a Teams application access policy for the application: a Teams administrator runs New-CsApplicationAccessPolicy and Grant-CsApplicationAccessPolicy (globally, or for the organizers to export; see `m365export consent`); it can take up to 30 minutes to apply"

// foundField is the member the job stamps on every meeting and
// attendance record (Collection.Stamp): the start of the call record or
// calendar event that found the meeting in the window, the earliest of
// those there.
// It is the tables' TimeField, so that a meeting's rows lie in a day of the
// window that found it: windows exported on one day (a backfill) write
// disjoint partitions, as every windowed table does, rather than all
// under the run's day, where each would replace the other's.
const foundField = "_foundDateTime"

// foundFormat writes a found time: fixed width, so that owners (which
// begin with it) order as their times do.
const foundFormat = "2006-01-02T15:04:05.0000000Z"

// stampFound stamps a meeting's records with its found time.
func stampFound(owner, _ string) map[string]string {
	found, _, _ := splitMeeting(owner)
	return map[string]string{foundField: found}
}

// reportField is the member the job stamps on every attendance record:
// the id of the attendance report it was read from (the records list does
// not name it), which the rules tokenize like other opaque ids.
const reportField = "_reportId"

// stampAttendance stamps an attendance record with its meeting's found
// time and its report's id, read from request (…/attendanceReports/{id}/
// attendanceRecords).
func stampAttendance(owner, request string) map[string]string {
	out := stampFound(owner, request)
	p, _, _ := strings.Cut(request, "?")
	if rest, ok := strings.CutSuffix(p, "/attendanceRecords"); ok {
		if i := strings.LastIndex(rest, "/attendanceReports/"); i >= 0 {
			if id, err := url.PathUnescape(rest[i+len("/attendanceReports/"):]); err == nil && id != "" {
				out[reportField] = id
			}
		}
	}
	return out
}

// MeetingOwner is the Derived owner of a meeting found at found (its call
// record's or calendar event's start) by organizer org and join URL
// joinURL: "{found} {org} {url}". The least owner of a meeting found
// several times is the earliest.
func MeetingOwner(found time.Time, org, joinURL string) string {
	return found.UTC().Format(foundFormat) + " " + org + " " + joinURL
}

// meetings derives one owner per meeting (MeetingOwner), keyed by the
// meeting's thread (MeetingThread), from two sources: the window's call
// records (every meeting that took place and whose record Graph still
// keeps, 30 days) and each user's calendar (the meetings they organized
// and scheduled, whose call record may be past that retention or not
// created yet). A meeting found by both is one owner: the earliest found
// time wins, and with it the join URL of the record that found it (the
// lookup matches the meeting in any of its encodings).
var meetings = &connector.Derivation{
	Sources:    []connector.DerivedSource{meetingsFromCalls, meetingsFromEvents},
	OwnerField: "joinWebUrl",
	OwnerValue: func(owner string) string { _, _, u := splitMeeting(owner); return u },
}

// meetingsFromCalls finds the meetings of the window's call records.
var meetingsFromCalls = connector.DerivedSource{
	From:   "msft-teams/call_records",
	Scopes: []string{"CallRecords.Read.All"},
	List: func(_ string, w connector.Window) string {
		return "/v1.0/communications/callRecords?$select=id,joinWebUrl,organizer_v2,startDateTime&$filter=" + connector.Query(connector.GeLt("startDateTime", w))
	},
	Owner: func(_ string, _ connector.Window, rec []byte) (string, string) {
		var r struct {
			Start       time.Time `json:"startDateTime"`
			JoinWebURL  string    `json:"joinWebUrl"`
			OrganizerV2 struct {
				Identity struct {
					User struct {
						ID string `json:"id"`
					} `json:"user"`
				} `json:"identity"`
			} `json:"organizer_v2"`
		}
		if json.Unmarshal(rec, &r) != nil || r.Start.IsZero() {
			return "", ""
		}
		return meetingOwner(r.Start, r.OrganizerV2.Identity.User.ID, r.JoinWebURL) // "" for a 1:1 call, or one organized by no user
	},
}

// meetingsFromEvents finds the online meetings each user organized in the
// window through their calendar: events that start in the window, that
// the user organizes (isOrganizer: the organizer's own copy, so the
// calendar's owner is the organizer whose id the meeting lookup needs) and
// that are online meetings with a join URL.
//
// learn.microsoft.com/graph/api/user-list-calendarview: the least-
// privileged application permission is Calendars.ReadBasic (the events
// without body or attachments; onlineMeeting is not among those left
// out), and "this method supports the OData query parameters": $select
// asks for the four fields read here, $top for large pages. isOrganizer
// and isOnlineMeeting are not filtered in the request: Microsoft documents
// no $filter on them for calendarView (and Microsoft Q&A answers that
// isOnlineMeeting does not support filtering, answers/1599856), so they are
// checked here. calendarView lists every event that overlaps the window:
// those that start before it are left to the window that holds their
// start.
var meetingsFromEvents = connector.DerivedSource{
	From:    "outlook-cal/events",
	PerUser: true,
	Scopes:  []string{"Calendars.ReadBasic.All"},
	List: func(u string, w connector.Window) string {
		return "/v1.0/users/" + u + "/calendar/calendarView?startDateTime=" + connector.Query(connector.GraphTime(w.From)) +
			"&endDateTime=" + connector.Query(connector.GraphTime(w.To)) + "&$select=isOrganizer,isOnlineMeeting,onlineMeeting,start&$top=500"
	},
	Owner: func(u string, w connector.Window, rec []byte) (string, string) {
		var r struct {
			IsOrganizer     bool `json:"isOrganizer"`
			IsOnlineMeeting bool `json:"isOnlineMeeting"`
			OnlineMeeting   *struct {
				JoinURL string `json:"joinUrl"`
			} `json:"onlineMeeting"`
			Start struct {
				DateTime string `json:"dateTime"`
				TimeZone string `json:"timeZone"`
			} `json:"start"`
		}
		if json.Unmarshal(rec, &r) != nil || !r.IsOrganizer || !r.IsOnlineMeeting || r.OnlineMeeting == nil {
			return "", ""
		}
		start, ok := eventStart(r.Start.DateTime, r.Start.TimeZone)
		if !ok || start.Before(w.From) || !start.Before(w.To) {
			return "", ""
		}
		return meetingOwner(start, u, r.OnlineMeeting.JoinURL)
	},
}

// eventStart reads an event's start: dateTime without an offset, in
// timeZone, which is UTC unless the request's Prefer: outlook.timezone
// asked for another (the exporter never does); false for any other zone.
func eventStart(dt, tz string) (time.Time, bool) {
	if tz != "UTC" && tz != "" {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05.9999999", dt)
	return t, err == nil
}

// meetingOwner is MeetingOwner and the meeting's key, or "" for a join URL
// with no meeting thread, an organizer that is not a user id, or values
// the owner's form cannot hold (a space separates its parts).
func meetingOwner(found time.Time, org, joinURL string) (owner, key string) {
	key = MeetingThread(joinURL)
	if org == "" || key == "" || strings.ContainsAny(org, " /?#") || strings.Contains(joinURL, " ") {
		return "", ""
	}
	return MeetingOwner(found, org, joinURL), key
}

// MeetingThread returns the part of a Teams meeting's thread id between
// "19:" and "@thread." found in a join URL (percent-decoded, in any
// encoding) or a thread id; "" if there is none.
func MeetingThread(s string) string {
	for range 3 {
		d, err := url.PathUnescape(s)
		if err != nil || d == s {
			break
		}
		s = d
	}
	_, rest, ok := strings.Cut(s, "19:")
	if !ok {
		return ""
	}
	t, _, ok := strings.Cut(rest, "@thread.")
	if !ok || t == "" {
		return ""
	}
	return t
}

// splitMeeting splits a meeting owner (MeetingOwner) into its found time,
// organizer and join URL; a string that is not one (the docs' "{id}") is
// taken as the organizer.
func splitMeeting(owner string) (found, org, joinURL string) {
	p := strings.SplitN(owner, " ", 3)
	if len(p) != 3 {
		return "", owner, ""
	}
	return p[0], p[1], p[2]
}

// meetingLookup is the organizer's lookup of the meeting by its join URL,
// sent exactly as the call record wrote it.
func meetingLookup(owner string, _ connector.Window, _ connector.Settings) string {
	_, org, joinURL := splitMeeting(owner)
	return "/v1.0/users/" + org + "/onlineMeetings?$filter=" + connector.Query("JoinWebUrl eq '"+strings.ReplaceAll(joinURL, "'", "''")+"'")
}

// meetingReports maps the meeting to its attendance reports.
func meetingReports(owner, _ string, rec []byte) string {
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rec, &m) != nil || m.ID == "" {
		return ""
	}
	_, org, _ := splitMeeting(owner)
	return "/v1.0/users/" + org + "/onlineMeetings/" + url.PathEscape(m.ID) + "/attendanceReports"
}

// reportRecords maps a report (read from request, the meeting's reports)
// to its attendance records.
func reportRecords(_, request string, rec []byte) string {
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rec, &r) != nil || r.ID == "" {
		return ""
	}
	base, _, _ := strings.Cut(request, "?")
	return base + "/" + url.PathEscape(r.ID) + "/attendanceRecords"
}

// meetingKeyDoc documents the columns the rules turn into the meeting key.
const meetingKeyDoc = "The meeting key (the thread id's part between 19: and @thread., tokenized like other opaque ids): equals _owner, call_records.joinWebUrl of the meeting's call records and outlook-cal events' onlineMeeting.joinUrl of its calendar events."

func meetingParticipant(name string) sinks.Column {
	return cols.Obj(name,
		cols.Obj("identity", cols.Obj("user", cols.Str("id", "The user's id, as users.id writes it."), cols.Str("tenantId"))),
		cols.Str("role"))
}

// onlineMeetings is msft-teams' online_meetings table: one meeting per
// row. The built-in rules remove the subject's words but meeting-type
// phrases, display names, UPNs, join information, dial-in and join-id
// settings (passcodes), and turn the join URL and thread id into the
// meeting key.
var onlineMeetings = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.Str("id", "Graph's meeting id (it embeds the organizer's id and the thread id), tokenized like chat ids."),
	cols.Time("creationDateTime"),
	cols.Time("startDateTime"),
	cols.Time("endDateTime"),
	cols.Str("joinWebUrl", meetingKeyDoc),
	cols.Str("subject", "Only meeting-type phrases (the calendar's rule for event subjects)."),
	cols.Obj("chatInfo", cols.Str("threadId", meetingKeyDoc), cols.Str("messageId"), cols.Str("replyChainMessageId")),
	cols.Obj("participants", meetingParticipant("organizer"), cols.List("attendees", meetingParticipant(""))),
	cols.Str("allowedPresenters"),
	cols.Bool("isEntryExitAnnounced"),
	cols.Obj("lobbyBypassSettings", cols.Str("scope"), cols.Bool("isDialInBypassEnabled")),
	cols.Bool("recordAutomatically"),
	cols.Bool("allowAttendeeToEnableCamera"),
	cols.Bool("allowAttendeeToEnableMic"),
	cols.Str("allowMeetingChat"),
	cols.Bool("allowTeamworkReactions"),
	cols.Bool("isBroadcast"),
	// Version 2.
	foundColumn(),
}}

// foundColumn is the column of foundField.
func foundColumn() sinks.Column {
	return cols.From(cols.Time("found_date_time", "Added by the exporter, not Graph: the start of the call record or of the organizer's calendar event that found the meeting in the window (the earliest of those there); dt is its day."), foundField)
}

// meetingAttendance is msft-teams' meeting_attendance table: one row per
// attendee and attendance report.
var meetingAttendance = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.Str("id", "The attendee's id, as users.id writes it (the emulator's assumption: Graph's examples leave it out)."),
	cols.Str("emailAddress", "Pseudonymized address."),
	cols.Obj("identity", cols.Str("id", "The attendee's user id, as users.id writes it."), cols.Str("tenantId")),
	cols.Str("role"),
	cols.Int("totalAttendanceInSeconds"),
	cols.List("attendanceIntervals", cols.Obj("", cols.Time("joinDateTime"), cols.Time("leaveDateTime"), cols.Int("durationInSeconds"))),
	cols.Str("registrationId"),
	// Version 2.
	foundColumn(),
	// Version 3.
	cols.From(cols.Str("report_id", "Added by the exporter, not Graph: the id of the attendance report the record is of (one report per session), tokenized like other opaque ids; the attendanceRecords list does not name it."), reportField),
}}
