// Package msftcopilot declares the msft-copilot connector: Copilot
// interactions, prompts and responses reduced to length and word counts.
package msftcopilot

import (
	"embed"
	"net/http"

	"m365export/jobs/connector"
	"m365export/jobs/connector/cols"
	"m365export/sinks"
	"m365export/sources/graph"
)

//go:embed rules.yaml.tmpl
var rulesFS embed.FS

func init() {
	connector.Register(connector.Connector{
		Name:  "msft-copilot",
		Doc:   "Copilot interactions (prompts and responses reduced to length and word counts)",
		Rules: rulesFS,
		Collections: []connector.Collection{
			{Name: "copilot_interactions", Owners: connector.User, Scopes: []string{"AiEnterpriseInteraction.Read.All"}, TimeField: "createdDateTime", Incremental: "time window on createdDateTime",
				Throttle: graph.ScopeOther,
				// A user without a Microsoft 365 Copilot licence.
				SkipCodes:    []string{"CopilotLicenseRequired", "LicenseNotFound", "UnlicensedUser"},
				SkipStatuses: []int{http.StatusForbidden, http.StatusNotFound},
				Doc:          "each user's Copilot prompts and responses created in the window",
				Schema:       copilotInteractions,
				// learn.microsoft.com/graph/api/aiinteractionhistory-getallenterpriseinteractions:
				// its optional query parameters are model and $filter.
				NoSelect: "getAllEnterpriseInteractions takes model and $filter only (aiinteractionhistory-getallenterpriseinteractions)",
				// aiInteractionMention.mentioned: aiInteractionMentionedIdentitySet.
				JSON: map[string]sinks.Column{"mentions[].mentioned": cols.IdentitySet("")},
				First: func(u string, w connector.Window, _ connector.Settings) string {
					return "/v1.0/copilot/users/" + u + "/interactionHistory/getAllEnterpriseInteractions?$top=100&$filter=" + connector.Query(connector.GtLt("createdDateTime", w))
				}},
		},
	})
}

// copilotInteractions is msft-copilot's copilot_interactions table.
var copilotInteractions = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.Str("id"),
	cols.Str("appClass"),
	cols.List("attachments", cols.Obj("", cols.Str("attachmentId"), cols.Str("contentType"), cols.Str("contentUrl"), cols.Str("name"), cols.TextDigest())),
	cols.Obj("body", cols.Str("contentType"), cols.TextDigest()),
	cols.List("contexts", cols.Obj("", cols.Str("contextReference"), cols.Str("contextType"), cols.Str("displayName"))),
	cols.Str("conversationType"),
	cols.Time("createdDateTime"),
	cols.Str("etag"),
	cols.IdentitySet("from"),
	cols.Str("interactionType"),
	cols.List("links", cols.Obj("", cols.Str("linkUrl", "Removed by the built-in rules for every link type (file, meeting and web links name documents, meetings or search queries): null."), cols.Str("linkType"), cols.Str("displayName", "Removed by the built-in rules: null."))),
	cols.Str("locale"),
	cols.List("mentions", cols.Obj("", cols.Int("mentionId"), cols.Str("mentionText"), cols.JSON("mentioned"))),
	cols.Str("requestId"),
	cols.Str("sessionId"),
}}
