// Package outlookmail declares the outlook-mail connector: sent mail
// metadata (no subjects, bodies or attachments) and mailbox settings.
package outlookmail

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
		Name:  "outlook-mail",
		Doc:   "sent mail metadata (no subjects, bodies or attachments) and mailbox settings",
		Rules: rulesFS,
		Collections: []connector.Collection{
			{Name: "messages", Owners: connector.User, Scopes: []string{"Mail.ReadBasic.All"}, TimeField: "sentDateTime", Incremental: "time window on sentDateTime",
				Throttle: graph.ScopeMailbox,
				Doc:      "metadata of each user's SentItems",
				Schema:   messages,
				// List messages supports the OData query parameters and
				// recommends $select (user-list-messages).
				First: func(u string, w connector.Window, _ connector.Settings) string {
					return "/v1.0/users/" + u + "/mailFolders/SentItems/messages?$filter=" +
						connector.Query(connector.GeLt("sentDateTime", w)) +
						"&$orderby=sentDateTime&$select=" + connector.Select(messages) + "&$top=1000"
				}},
			connector.MailboxSettings(),
		},
	})
}

// messages is outlook-mail's messages table (SentItems metadata).
var messages = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.OdataEtag(),
	cols.Str("id"),
	cols.List("bccRecipients", cols.EmailAddress("")),
	cols.Strs("categories"),
	cols.List("ccRecipients", cols.EmailAddress("")),
	cols.Str("changeKey"),
	cols.Str("conversationId"),
	cols.Str("conversationIndex"),
	cols.Time("createdDateTime"),
	cols.Obj("flag", cols.Str("flagStatus"), cols.DateTimeTZ("startDateTime"), cols.DateTimeTZ("dueDateTime"), cols.DateTimeTZ("completedDateTime")),
	cols.EmailAddress("from"),
	cols.Bool("hasAttachments"),
	cols.Str("importance"),
	cols.Str("inferenceClassification"),
	cols.Str("internetMessageId"),
	cols.Bool("isDeliveryReceiptRequested"),
	cols.Bool("isDraft"),
	cols.Bool("isRead"),
	cols.Bool("isReadReceiptRequested"),
	cols.Time("lastModifiedDateTime"),
	cols.Str("parentFolderId"),
	cols.Time("receivedDateTime"),
	cols.List("replyTo", cols.EmailAddress("")),
	cols.EmailAddress("sender"),
	cols.Time("sentDateTime"),
	cols.List("toRecipients", cols.EmailAddress("")),
	cols.Str("webLink"),
}}
