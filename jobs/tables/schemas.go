package tables

import "m365export/sinks"

// Users is entra-id's users table.
var Users = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	odataType(),
	str("id", "The user's object id, as the run's rules write it (the form _owner takes)."),
	boo("accountEnabled"),
	strs("businessPhones"),
	str("city"),
	str("companyName"),
	str("country"),
	ts("createdDateTime"),
	str("department"),
	str("displayName"),
	str("employeeId"),
	str("givenName"),
	str("jobTitle"),
	str("mail", "Pseudonymized primary SMTP address."),
	str("mobilePhone"),
	str("officeLocation"),
	boo("onPremisesSyncEnabled"),
	strs("otherMails"),
	str("preferredLanguage"),
	strs("proxyAddresses"),
	str("state"),
	str("surname"),
	str("usageLocation"),
	str("userPrincipalName", "Pseudonymized UPN."),
	str("userType"),
	obj("manager", odataType(), str("id")),
	// Version 2.
	list("assignedLicenses", obj("", str("skuId"), strs("disabledPlans"))),
}}

// Groups is entra-id's groups table.
var Groups = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	odataType(),
	str("id"),
	str("classification"),
	ts("createdDateTime"),
	strs("creationOptions"),
	ts("deletedDateTime"),
	str("description"),
	str("displayName"),
	ts("expirationDateTime"),
	strs("groupTypes"),
	boo("isAssignableToRole"),
	str("mail"),
	boo("mailEnabled"),
	str("mailNickname"),
	str("membershipRule"),
	str("membershipRuleProcessingState"),
	str("onPremisesDomainName"),
	ts("onPremisesLastSyncDateTime"),
	str("onPremisesNetBiosName"),
	str("onPremisesSamAccountName"),
	str("onPremisesSecurityIdentifier"),
	boo("onPremisesSyncEnabled"),
	str("preferredDataLocation"),
	str("preferredLanguage"),
	strs("proxyAddresses"),
	ts("renewedDateTime"),
	strs("resourceBehaviorOptions"),
	strs("resourceProvisioningOptions"),
	boo("securityEnabled"),
	str("securityIdentifier"),
	js("serviceProvisioningErrors", "Provisioning errors, as JSON."),
	str("theme"),
	str("uniqueName"),
	str("visibility"),
}}

// GroupMembers is entra-id's group_members table: directory objects.
var GroupMembers = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	odataType(),
	str("id"),
	strs("businessPhones"),
	str("displayName"),
	str("givenName"),
	str("jobTitle"),
	str("mail"),
	str("mobilePhone"),
	str("officeLocation"),
	str("preferredLanguage"),
	str("surname"),
	str("userPrincipalName"),
}}

// MailboxSettings is the mailbox_settings table of outlook-cal and
// outlook-mail.
var MailboxSettings = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	str("archiveFolder"),
	obj("automaticRepliesSetting",
		str("status"),
		str("externalAudience"),
		dttz("scheduledStartDateTime"),
		dttz("scheduledEndDateTime")),
	str("dateFormat"),
	str("delegateMeetingMessageDeliveryOptions"),
	obj("language", str("locale"), str("displayName")),
	str("timeFormat"),
	str("timeZone"),
	str("userPurpose"),
	obj("workingHours",
		strs("daysOfWeek"),
		str("startTime", "Local time of day, hh:mm:ss.fffffff."),
		str("endTime", "Local time of day, hh:mm:ss.fffffff."),
		obj("timeZone", odataType(), str("name"), i64("bias"))),
}}

// Events is outlook-cal's events table.
var Events = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	odataEtag(),
	str("id"),
	boo("allowNewTimeProposals"),
	list("attendees", obj("",
		str("type"),
		responseStatus("status"),
		obj("emailAddress", str("address", "Pseudonymized address."), str("name")))),
	obj("body", str("contentType"), str("content", "Version 2: only the body's Zoom meeting URLs (psoxy's rules keep nothing else), or null.")),
	str("bodyPreview"),
	strs("categories"),
	str("changeKey"),
	ts("createdDateTime"),
	dttz("end", "End as Graph sent it (dateTime, timeZone) plus utc."),
	boo("hasAttachments"),
	boo("hideAttendees"),
	str("iCalUId"),
	str("importance"),
	boo("isAllDay"),
	boo("isCancelled"),
	boo("isDraft"),
	boo("isOnlineMeeting"),
	boo("isOrganizer"),
	boo("isReminderOn"),
	ts("lastModifiedDateTime"),
	location("location"),
	list("locations", location("")),
	str("occurrenceId"),
	obj("onlineMeeting", str("joinUrl"), str("conferenceId"), str("tollNumber")),
	str("onlineMeetingProvider"),
	str("onlineMeetingUrl"),
	emailAddress("organizer"),
	str("originalEndTimeZone"),
	ts("originalStart"),
	str("originalStartTimeZone"),
	obj("recurrence",
		obj("pattern", str("type"), i64("interval"), i64("month"), i64("dayOfMonth"), strs("daysOfWeek"), str("firstDayOfWeek"), str("index")),
		obj("range", str("type"), str("startDate"), str("endDate"), str("recurrenceTimeZone"), i64("numberOfOccurrences"))),
	i64("reminderMinutesBeforeStart"),
	boo("responseRequested"),
	responseStatus("responseStatus"),
	str("sensitivity"),
	str("seriesMasterId"),
	str("showAs"),
	dttz("start", "Start as Graph sent it (dateTime, timeZone) plus utc."),
	str("subject", "Empty or absent: the rules redact it."),
	str("transactionId"),
	str("type"),
	str("uid"),
	str("webLink"),
}}

// Messages is outlook-mail's messages table (SentItems metadata).
var Messages = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	odataEtag(),
	str("id"),
	list("bccRecipients", emailAddress("")),
	strs("categories"),
	list("ccRecipients", emailAddress("")),
	str("changeKey"),
	str("conversationId"),
	str("conversationIndex"),
	ts("createdDateTime"),
	obj("flag", str("flagStatus"), dttz("startDateTime"), dttz("dueDateTime"), dttz("completedDateTime")),
	emailAddress("from"),
	boo("hasAttachments"),
	str("importance"),
	str("inferenceClassification"),
	str("internetMessageId"),
	boo("isDeliveryReceiptRequested"),
	boo("isDraft"),
	boo("isRead"),
	boo("isReadReceiptRequested"),
	ts("lastModifiedDateTime"),
	str("parentFolderId"),
	ts("receivedDateTime"),
	list("replyTo", emailAddress("")),
	emailAddress("sender"),
	ts("sentDateTime"),
	list("toRecipients", emailAddress("")),
	str("webLink"),
}}

// Teams is msft-teams' teams table.
var Teams = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	odataType(),
	str("id"),
	str("classification"),
	ts("createdDateTime"),
	str("description"),
	str("displayName"),
	str("internalId"),
	boo("isArchived"),
	str("specialization"),
	str("tenantId"),
	str("visibility"),
	str("webUrl"),
	// Version 2.
	boo("isMembershipLimitedToOwners"),
}}

// Channels is msft-teams' channels table.
var Channels = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	from(str("odata_id", "Graph's @odata.id."), "@odata.id"),
	str("id"),
	ts("createdDateTime"),
	str("description"),
	str("displayName"),
	str("email"),
	boo("isArchived"),
	boo("isFavoriteByDefault"),
	str("membershipType"),
	str("tenantId"),
	str("webUrl"),
}}

// Chats is msft-teams' chats table.
var Chats = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	str("id"),
	str("chatType"),
	obj("chatViewpoint", boo("isHidden"), ts("lastMessageReadDateTime")),
	ts("createdDateTime"),
	obj("lastMessagePreview",
		str("id"),
		ts("createdDateTime"),
		boo("isDeleted"),
		str("messageType"),
		identitySet("from"),
		obj("body", str("contentType"), textDigest()),
		js("eventDetail", "System event details, as JSON.")),
	ts("lastUpdatedDateTime"),
	obj("onlineMeetingInfo", str("calendarEventId"), str("joinWebUrl"), identity("organizer")),
	str("tenantId"),
	str("topic"),
	str("webUrl"),
	// Version 2.
	boo("isHiddenForAllMembers"),
	obj("viewpoint", boo("isHidden"), ts("lastMessageReadDateTime")),
}}

func chatMessage() *sinks.Schema {
	cols := []sinks.Column{
		odataType(),
		str("id"),
		list("attachments", obj("", str("id"), str("contentType"), str("contentUrl"), str("name"), str("teamsAppId"), str("thumbnailUrl"), textDigest())),
		obj("body", str("contentType"), textDigest()),
		obj("channelIdentity", str("teamId"), str("channelId")),
		str("chatId"),
		ts("createdDateTime"),
		ts("deletedDateTime"),
		str("etag"),
		js("eventDetail", "System event details, as JSON."),
		identitySet("from"),
		str("importance"),
		ts("lastEditedDateTime"),
		ts("lastModifiedDateTime"),
		str("locale"),
		list("mentions", obj("", i64("id"), str("mentionText"), identitySet("mentioned"))),
		list("messageHistory", obj("", ts("modifiedDateTime"), str("actions"), js("reaction"))),
		str("messageType"),
		js("onBehalfOf"),
		js("policyViolation"),
		list("reactions", obj("", str("reactionType"), str("displayName"), ts("createdDateTime"), identitySet("user"))),
		str("replyToId"),
		str("subject"),
		str("summary"),
		str("webUrl"),
	}
	return &sinks.Schema{Version: 1, Columns: cols}
}

// ChatMessages is msft-teams' chat_messages table.
var ChatMessages = chatMessage()

// ChannelMessages is msft-teams' channel_messages table.
var ChannelMessages = chatMessage()

func callIdentity(name string) sinks.Column {
	return obj(name, identity("user"), identity("application"), identity("device"), identity("phone"))
}

// CallRecords is msft-teams' call_records table.
var CallRecords = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	str("id"),
	ts("endDateTime"),
	str("joinWebUrl"),
	ts("lastModifiedDateTime"),
	strs("modalities"),
	callIdentity("organizer"),
	obj("organizer_v2", str("id"), callIdentity("identity")),
	list("participants", callIdentity("")),
	list("participants_v2", obj("", str("id"), callIdentity("identity"))),
	ts("startDateTime"),
	str("type"),
	i64("version"),
}}

// CopilotInteractions is msft-copilot's copilot_interactions table.
var CopilotInteractions = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	str("id"),
	str("appClass"),
	list("attachments", obj("", str("attachmentId"), str("contentType"), str("contentUrl"), str("name"), textDigest())),
	obj("body", str("contentType"), textDigest()),
	list("contexts", obj("", str("contextReference"), str("contextType"), str("displayName"))),
	str("conversationType"),
	ts("createdDateTime"),
	str("etag"),
	identitySet("from"),
	str("interactionType"),
	list("links", obj("", str("linkUrl"), str("linkType"), str("displayName"))),
	str("locale"),
	list("mentions", obj("", i64("mentionId"), str("mentionText"), js("mentioned"))),
	str("requestId"),
	str("sessionId"),
}}
