// Package entraid declares the entra-id connector: the directory's users,
// groups and group members, as snapshots.
package entraid

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
		Name:  "entra-id",
		Doc:   "the directory: users, groups and their members",
		Rules: rulesFS,
		Collections: []connector.Collection{
			{Name: "users", Owners: connector.Tenant, Scopes: []string{"User.Read.All"}, Incremental: "snapshot", Throttle: graph.ScopeDirectory,
				Doc:    "every user of the tenant",
				Schema: users, Breaking: usersBreaking,
				// List users supports $select (user-list); most properties
				// come only when selected.
				First: func(string, connector.Window, connector.Settings) string {
					return "/v1.0/users?$top=999&$select=" + connector.Select(users)
				}},
			{Name: "groups", Owners: connector.Tenant, Scopes: []string{"GroupMember.Read.All"}, Incremental: "snapshot", Throttle: graph.ScopeDirectory, Directory: true,
				Doc:    "every group of the tenant",
				Schema: groups, Breaking: groupsBreaking,
				// List groups supports $select (group-list).
				First: func(string, connector.Window, connector.Settings) string {
					return "/v1.0/groups?$top=999&$select=" + connector.Select(groups)
				}},
			{Name: "group_members", Owners: connector.Group, Scopes: []string{"GroupMember.Read.All"}, Incremental: "snapshot", Throttle: graph.ScopeDirectory, Directory: true,
				Doc:    "the direct members of every group; _owner is the group",
				Schema: groupMembers,
				// List group members supports $select (group-list-members)
				// on the directoryObject collection; the page does not say
				// whether user properties may be selected without the
				// microsoft.graph.user cast (an assumption: the cast would
				// drop the members that are groups, devices or contacts).
				First: func(g string, _ connector.Window, _ connector.Settings) string {
					return "/v1.0/groups/" + g + "/members?$top=999&$select=" + connector.Select(groupMembers)
				}},
		},
	})
}

var usersBreaking = []connector.Breaking{
	{Version: 3, Column: "manager", Reason: "A navigation property of v1.0's user, sent only with $expand=manager, which the users request does not ask for."},
}

var groupsBreaking = []connector.Breaking{
	{Version: 2, Column: "creationOptions", Reason: "Not a property of v1.0's group (beta only): Graph v1.0 never fills it."},
}

// users is entra-id's users table.
var users = &sinks.Schema{Version: 3, Columns: []sinks.Column{
	cols.OdataType(),
	cols.Str("id", "The user's object id, as the run's rules write it (the form _owner takes)."),
	cols.Bool("accountEnabled"),
	cols.Strs("businessPhones"),
	cols.Str("city"),
	cols.Str("companyName"),
	cols.Str("country"),
	cols.Time("createdDateTime"),
	cols.Str("department"),
	cols.Str("displayName"),
	cols.Str("employeeId"),
	cols.Str("givenName"),
	cols.Str("jobTitle"),
	cols.Str("mail", "Pseudonymized primary SMTP address."),
	cols.Str("mobilePhone"),
	cols.Str("officeLocation"),
	cols.Bool("onPremisesSyncEnabled"),
	cols.Strs("otherMails"),
	cols.Str("preferredLanguage"),
	cols.Strs("proxyAddresses"),
	cols.Str("state"),
	cols.Str("surname"),
	cols.Str("usageLocation"),
	cols.Str("userPrincipalName", "Pseudonymized UPN."),
	cols.Str("userType"),
	// Version 2.
	cols.List("assignedLicenses", cols.Obj("", cols.Str("skuId"), cols.Strs("disabledPlans"))),
}}

// groups is entra-id's groups table.
var groups = &sinks.Schema{Version: 2, Columns: []sinks.Column{
	cols.OdataType(),
	cols.Str("id"),
	cols.Str("classification"),
	cols.Time("createdDateTime"),
	cols.Time("deletedDateTime"),
	cols.Str("description"),
	cols.Str("displayName"),
	cols.Time("expirationDateTime"),
	cols.Strs("groupTypes"),
	cols.Bool("isAssignableToRole"),
	cols.Str("mail"),
	cols.Bool("mailEnabled"),
	cols.Str("mailNickname"),
	cols.Str("membershipRule", "Removed by the built-in rules (a dynamic group's rule can name people and their attributes): null."),
	cols.Str("membershipRuleProcessingState"),
	cols.Str("onPremisesDomainName"),
	cols.Time("onPremisesLastSyncDateTime"),
	cols.Str("onPremisesNetBiosName"),
	cols.Str("onPremisesSamAccountName"),
	cols.Str("onPremisesSecurityIdentifier"),
	cols.Bool("onPremisesSyncEnabled"),
	cols.Str("preferredDataLocation"),
	cols.Str("preferredLanguage"),
	cols.Strs("proxyAddresses"),
	cols.Time("renewedDateTime"),
	cols.Strs("resourceBehaviorOptions"),
	cols.Strs("resourceProvisioningOptions"),
	cols.Bool("securityEnabled"),
	cols.Str("securityIdentifier"),
	cols.JSON("serviceProvisioningErrors", "Removed by the built-in rules (error details quote addresses and names): null."),
	cols.Str("theme"),
	cols.Str("uniqueName"),
	cols.Str("visibility"),
}}

// groupMembers is entra-id's group_members table: directory objects.
var groupMembers = &sinks.Schema{Version: 1, Columns: []sinks.Column{
	cols.OdataType(),
	cols.Str("id"),
	cols.Strs("businessPhones"),
	cols.Str("displayName"),
	cols.Str("givenName"),
	cols.Str("jobTitle"),
	cols.Str("mail"),
	cols.Str("mobilePhone"),
	cols.Str("officeLocation"),
	cols.Str("preferredLanguage"),
	cols.Str("surname"),
	cols.Str("userPrincipalName"),
}}
