// Package outlookcal declares the outlook-cal connector: calendar events
// (no bodies, subjects reduced to known phrases) and mailbox settings.
package outlookcal

import (
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
		Name:  "outlook-cal",
		Doc:   "calendar events (no bodies, subjects reduced to known phrases) and mailbox settings",
		Rules: rulesFS,
		Collections: []connector.Collection{
			// Calendars.Read, not Calendars.ReadBasic.All: the table keeps the
			// body's meeting links, which ReadBasic leaves out.
			{Name: "events", Owners: connector.User, Scopes: []string{"Calendars.Read"}, TimeField: "start.dateTime", Incremental: "time window on start",
				Throttle: graph.ScopeMailbox,
				Doc:      "events of each user's calendar that start in the window (occurrences of recurring series included)",
				Schema:   events, Breaking: eventsBreaking,
				// graph-api-notes §1.3: on calendarView, createdDateTime and
				// lastModifiedDateTime do not support $select (user-list-calendarview).
				NoSelect: "calendarView's createdDateTime and lastModifiedDateTime do not support $select (user-list-calendarview); the table keeps both",
				First: func(u string, w connector.Window, _ connector.Settings) string {
					return "/v1.0/users/" + u + "/calendar/calendarView?startDateTime=" + connector.Query(connector.GraphTime(w.From)) +
						"&endDateTime=" + connector.Query(connector.GraphTime(w.To)) + "&$top=500"
				}},
			connector.MailboxSettings(),
		},
	})
}

var eventsBreaking = []connector.Breaking{
	{Version: 3, Column: "uid", Reason: "Not a property of v1.0's event (beta only): Graph v1.0 never fills it; iCalUId is v1.0's."},
	{Version: 3, Column: "occurrenceId", Reason: "Not a property of v1.0's event (beta only): Graph v1.0 never fills it."},
	{Version: 4, Column: "onlineMeeting.joinUrl", Reason: "Holds the meeting key (the key msft-teams writes into online_meetings.joinWebUrl and call_records.joinWebUrl), no longer the join URL (which versions 1 to 3 removed unless --ids kept, and then wrote with pwd= cut): events join online meetings through the key, never the raw URL, which carries the tenant's and organizer's ids."},
}

// events is outlook-cal's events table.
var events = &sinks.Schema{Version: 4, Columns: []sinks.Column{
	cols.OdataEtag(),
	cols.Str("id"),
	cols.Bool("allowNewTimeProposals"),
	cols.List("attendees", cols.Obj("",
		cols.Str("type"),
		cols.ResponseStatus("status"),
		cols.Obj("emailAddress", cols.Str("address", "Pseudonymized address."), cols.Str("name")))),
	cols.Obj("body", cols.Str("contentType"), cols.Str("content", "Version 2: only the body's Zoom meeting URLs (psoxy's rules keep nothing else), or null.")),
	cols.Str("bodyPreview"),
	cols.Strs("categories"),
	cols.Str("changeKey"),
	cols.Time("createdDateTime"),
	cols.DateTimeTZ("end", "End as Graph sent it (dateTime, timeZone) plus utc."),
	cols.Bool("hasAttachments"),
	cols.Bool("hideAttendees"),
	cols.Str("iCalUId"),
	cols.Str("importance"),
	cols.Bool("isAllDay"),
	cols.Bool("isCancelled"),
	cols.Bool("isDraft"),
	cols.Bool("isOnlineMeeting"),
	cols.Bool("isOrganizer"),
	cols.Bool("isReminderOn"),
	cols.Time("lastModifiedDateTime"),
	cols.Location("location"),
	cols.List("locations", cols.Location("")),
	cols.Obj("onlineMeeting", cols.Str("joinUrl", "Version 4: the meeting key of a Teams meeting (the thread id's part between 19: and @thread., tokenized like other opaque ids), equal to msft-teams' online_meetings.joinWebUrl and call_records.joinWebUrl; null for other providers."), cols.Str("conferenceId", "Removed by the built-in rules (dial-in access code): null."), cols.Str("tollNumber", "Removed by the built-in rules (dial-in phone number; tollFreeNumbers, phones and quickDial are removed too): null.")),
	cols.Str("onlineMeetingProvider"),
	cols.Str("onlineMeetingUrl"),
	cols.EmailAddress("organizer"),
	cols.Str("originalEndTimeZone"),
	cols.Time("originalStart"),
	cols.Str("originalStartTimeZone"),
	cols.Obj("recurrence",
		cols.Obj("pattern", cols.Str("type"), cols.Int("interval"), cols.Int("month"), cols.Int("dayOfMonth"), cols.Strs("daysOfWeek"), cols.Str("firstDayOfWeek"), cols.Str("index")),
		cols.Obj("range", cols.Str("type"), cols.Str("startDate"), cols.Str("endDate"), cols.Str("recurrenceTimeZone"), cols.Int("numberOfOccurrences"))),
	cols.Int("reminderMinutesBeforeStart"),
	cols.Bool("responseRequested"),
	cols.ResponseStatus("responseStatus"),
	cols.Str("sensitivity"),
	cols.Str("seriesMasterId"),
	cols.Str("showAs"),
	cols.DateTimeTZ("start", "Start as Graph sent it (dateTime, timeZone) plus utc."),
	cols.Str("subject", "Empty or absent: the rules redact it."),
	cols.Str("transactionId"),
	cols.Str("type"),
	cols.Str("webLink"),
}}
