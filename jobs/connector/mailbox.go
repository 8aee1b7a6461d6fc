package connector

import (
	"m365export/jobs/connector/cols"
	"m365export/sinks"
	"m365export/sources/graph"
)

// MailboxSettings is the mailbox_settings collection, which the Outlook
// connectors share: each user's time zone, working hours and language.
func MailboxSettings() Collection {
	return Collection{Name: "mailbox_settings", Owners: User, Scopes: []string{"MailboxSettings.Read"}, Incremental: "snapshot", Throttle: graph.ScopeMailbox,
		Doc:    "each user's time zone, working hours and language",
		Schema: mailboxSettings, Single: true,
		// learn.microsoft.com/graph/api/user-get-mailboxsettings names
		// no query parameter ("some of the OData query parameters"); the
		// table keeps every top-level property anyway, so a $select would
		// ask for nothing less (automaticRepliesSetting's reply texts are
		// dropped by the allow-list).
		NoSelect: "Get mailboxSettings documents no $select (user-get-mailboxsettings), and the table keeps every top-level property",
		First: func(u string, _ Window, _ Settings) string {
			return "/v1.0/users/" + u + "/mailboxSettings"
		}}
}

// mailboxSettings is the table of the mailbox_settings collection.
var mailboxSettings = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.Str("archiveFolder"),
	cols.Obj("automaticRepliesSetting",
		cols.Str("status"),
		cols.Str("externalAudience"),
		cols.DateTimeTZ("scheduledStartDateTime"),
		cols.DateTimeTZ("scheduledEndDateTime")),
	cols.Str("dateFormat"),
	cols.Str("delegateMeetingMessageDeliveryOptions"),
	cols.Obj("language", cols.Str("locale"), cols.Str("displayName")),
	cols.Str("timeFormat"),
	cols.Str("timeZone"),
	cols.Str("userPurpose"),
	cols.Obj("workingHours",
		cols.Strs("daysOfWeek"),
		cols.Str("startTime", "Local time of day, hh:mm:ss.fffffff."),
		cols.Str("endTime", "Local time of day, hh:mm:ss.fffffff."),
		cols.Obj("timeZone", cols.OdataType(), cols.Str("name"), cols.Int("bias"))),
}}
