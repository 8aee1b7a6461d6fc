package jobs

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ownerKind says what a collection's partitions are.
type ownerKind string

const (
	ownerTenant ownerKind = "tenant" // one partition for the whole tenant
	ownerUser   ownerKind = "user"   // one per user in scope
	ownerGroup  ownerKind = "group"  // one per group
	ownerTeam   ownerKind = "team"   // one per team
)

// collectionSpec declares one collection of a connector: where Graph serves
// it, what its partitions are, and how its records fall into windows.
type collectionSpec struct {
	// Name is the output table.
	Name string
	// Owners says what the partitions are.
	Owners ownerKind
	// First returns the first page's path and query (relative to the
	// Graph root) for an owner and window.
	First func(owner string, w window) string
	// TimeField places records in the window and their day (dotted path);
	// "" = snapshot.
	TimeField string
	// SenderField / DedupeKey: see pipeline.Collection.
	SenderField string
	DedupeKey   []string
	// Incremental says how later runs avoid re-reading everything.
	Incremental string
	// Doc is one line for the plan and the data dictionary.
	Doc string
}

// window is the half-open range a run exports.
type window struct{ From, To time.Time }

// connectorSpec declares a connector: its collections and the Graph
// application permissions (roles) it needs.
type connectorSpec struct {
	Name        string
	Doc         string
	Scopes      []string
	Collections []collectionSpec
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// q escapes an OData query value for a URL.
func q(s string) string { return url.QueryEscape(s) }

// mailSelect lists the message metadata read: no subject, body or preview.
const mailSelect = "id,conversationId,internetMessageId,createdDateTime,lastModifiedDateTime,sentDateTime,receivedDateTime,hasAttachments,importance,isDraft,isRead,isDeliveryReceiptRequested,isReadReceiptRequested,inferenceClassification,categories,parentFolderId,from,sender,toRecipients,ccRecipients,bccRecipients,replyTo,flag"

// userFields lists what the users table reads.
const userFields = "id,userPrincipalName,mail,otherMails,proxyAddresses,employeeId,userType,accountEnabled,createdDateTime,department,jobTitle,officeLocation,city,country,usageLocation,companyName,preferredLanguage,displayName,givenName,surname,businessPhones,mobilePhone,assignedLicenses"

var registry = map[string]connectorSpec{
	"entra-id": {
		Name:   "entra-id",
		Doc:    "the directory: users, groups and their members",
		Scopes: []string{"User.Read.All", "Group.Read.All", "MailboxSettings.Read"},
		Collections: []collectionSpec{
			{Name: "users", Owners: ownerTenant, Incremental: "snapshot",
				Doc:   "every user of the tenant",
				First: func(string, window) string { return "/v1.0/users?$top=999&$select=" + userFields }},
			{Name: "groups", Owners: ownerTenant, Incremental: "snapshot",
				Doc:   "every group of the tenant",
				First: func(string, window) string { return "/v1.0/groups?$top=999" }},
			{Name: "group_members", Owners: ownerGroup, Incremental: "snapshot",
				Doc:   "the direct members of every group",
				First: func(g string, _ window) string { return "/v1.0/groups/" + g + "/members?$top=999" }},
		},
	},
	"outlook-cal": {
		Name:   "outlook-cal",
		Doc:    "calendar events (no bodies, subjects reduced to known phrases) and mailbox settings",
		Scopes: []string{"User.Read.All", "Group.Read.All", "Calendars.Read", "MailboxSettings.Read"},
		Collections: []collectionSpec{
			{Name: "events", Owners: ownerUser, TimeField: "start.dateTime", Incremental: "time window on start",
				Doc: "events of each user's calendar that start in the window (occurrences of recurring series included)",
				First: func(u string, w window) string {
					return "/v1.0/users/" + u + "/calendar/calendarView?startDateTime=" + q(graphTime(w.From)) +
						"&endDateTime=" + q(graphTime(w.To)) + "&$top=500"
				}},
			{Name: "mailbox_settings", Owners: ownerUser, Incremental: "snapshot",
				Doc:   "each user's time zone, working hours and language",
				First: func(u string, _ window) string { return "/v1.0/users/" + u + "/mailboxSettings" }},
		},
	},
	"outlook-mail": {
		Name:   "outlook-mail",
		Doc:    "sent mail metadata (no subjects, bodies or attachments) and mailbox settings",
		Scopes: []string{"User.Read.All", "Group.Read.All", "Mail.ReadBasic.All", "MailboxSettings.Read"},
		Collections: []collectionSpec{
			{Name: "messages", Owners: ownerUser, TimeField: "sentDateTime", Incremental: "time window on sentDateTime",
				Doc: "metadata of each user's SentItems",
				First: func(u string, w window) string {
					return "/v1.0/users/" + u + "/mailFolders/SentItems/messages?$filter=" +
						q("sentDateTime ge "+graphTime(w.From)+" and sentDateTime lt "+graphTime(w.To)) +
						"&$orderby=sentDateTime&$select=" + mailSelect + "&$top=1000"
				}},
			{Name: "mailbox_settings", Owners: ownerUser, Incremental: "snapshot",
				Doc:   "each user's time zone, working hours and language",
				First: func(u string, _ window) string { return "/v1.0/users/" + u + "/mailboxSettings" }},
		},
	},
	"msft-teams": {
		Name: "msft-teams",
		Doc:  "teams, channels, chats, chat and channel messages (no content), call records",
		Scopes: []string{"User.Read.All", "Team.ReadBasic.All", "Channel.ReadBasic.All", "Chat.Read.All",
			"ChannelMessage.Read.All", "CallRecords.Read.All"},
		Collections: []collectionSpec{
			{Name: "teams", Owners: ownerTenant, Incremental: "snapshot", Doc: "every team",
				First: func(string, window) string { return "/v1.0/teams" }},
			{Name: "channels", Owners: ownerTeam, Incremental: "snapshot", Doc: "every channel of every team",
				First: func(t string, _ window) string { return "/v1.0/teams/" + t + "/allChannels" }},
			{Name: "chats", Owners: ownerUser, Incremental: "snapshot",
				Doc:   "the chats each user takes part in: one row per user and chat, with that user's viewpoint (_owner)",
				First: func(u string, _ window) string { return "/v1.0/users/" + u + "/chats?$top=50" }},
			{Name: "chat_messages", Owners: ownerUser, TimeField: "lastModifiedDateTime", Incremental: "time window on lastModifiedDateTime",
				SenderField: "from.user.id", DedupeKey: []string{"chatId", "id"},
				Doc: "chat messages changed in the window, each once (Graph returns one copy per participant)",
				First: func(u string, w window) string {
					return "/v1.0/users/" + u + "/chats/getAllMessages?$top=50&model=A&$filter=" + q(gtlt("lastModifiedDateTime", w))
				}},
			{Name: "channel_messages", Owners: ownerTeam, TimeField: "lastModifiedDateTime", Incremental: "time window on lastModifiedDateTime",
				Doc: "channel messages and replies changed in the window",
				First: func(t string, w window) string {
					return "/v1.0/teams/" + t + "/channels/getAllMessages?$top=50&model=A&$filter=" + q(gtlt("lastModifiedDateTime", w))
				}},
			{Name: "call_records", Owners: ownerTenant, TimeField: "startDateTime", Incremental: "time window on startDateTime",
				Doc: "call records of calls that started in the window",
				First: func(_ string, w window) string {
					return "/v1.0/communications/callRecords?$filter=" +
						q("startDateTime ge "+graphTime(w.From)+" and startDateTime lt "+graphTime(w.To))
				}},
		},
	},
	"msft-copilot": {
		Name:   "msft-copilot",
		Doc:    "Copilot interactions (prompts and responses reduced to length and word counts)",
		Scopes: []string{"User.Read.All", "AiEnterpriseInteraction.Read.All"},
		Collections: []collectionSpec{
			{Name: "copilot_interactions", Owners: ownerUser, TimeField: "createdDateTime", Incremental: "time window on createdDateTime",
				Doc: "each user's Copilot prompts and responses created in the window",
				First: func(u string, w window) string {
					return "/beta/copilot/users/" + u + "/interactionHistory/getAllEnterpriseInteractions?$top=100&$filter=" + q(gtlt("createdDateTime", w))
				}},
		},
	},
}

// gtlt is a filter for APIs that accept only gt and lt: it starts one
// second early, and the pipeline drops what lies before the window's start.
func gtlt(field string, w window) string {
	return fmt.Sprintf("%s gt %s and %s lt %s", field, graphTime(w.From.Add(-time.Second)), field, graphTime(w.To))
}

// ConnectorNames lists the connectors, sorted.
func ConnectorNames() []string {
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Scopes returns the sorted union of the application permissions the named
// connectors need, for one shared Entra ID application.
func Scopes(connectors []string) ([]string, error) {
	set := map[string]bool{}
	for _, c := range connectors {
		spec, ok := registry[strings.TrimSpace(c)]
		if !ok {
			return nil, fmt.Errorf("%w: unknown connector %q (one of %s)", ErrUsage, c, strings.Join(ConnectorNames(), ", "))
		}
		for _, s := range spec.Scopes {
			set[s] = true
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
