package graph

import (
	"strings"
	"testing"
)

// TestScopeOf_KeyFormSameScope checks that a next link in OData key form,
// as Microsoft documents getAllMessages' (users('{id}')/chats/getallMessages,
// teams('{id}')/channels/getallMessages), counts against the same limit and
// owner as the same request written with path segments.
func TestScopeOf_KeyFormSameScope(t *testing.T) {
	for _, tc := range []struct {
		path, key string
		want      Scope
	}{
		{"/v1.0/users/u1/chats/getAllMessages?$top=2&$skiptoken=x", "/v1.0/users('u1')/chats/getallMessages?$top=2&$skiptoken=x", Scope{ScopeTeamsExport, ""}},
		{"/v1.0/teams/t1/channels/getAllMessages?$skiptoken=x", "/v1.0/teams('t1')/channels/getallMessages?$skiptoken=x", Scope{ScopeTeamsExport, "t1"}},
		{"/v1.0/teams/t1/channels/getAllMessages?$skiptoken=x", "/v1.0/teams(id='t1')/channels/getAllMessages?$skiptoken=x", Scope{ScopeTeamsExport, "t1"}},
		{"/v1.0/teams/t1/channels/getAllMessages?$skiptoken=x", "/v1.0/teams(%27t1%27)/channels/getallmessages?$skiptoken=x", Scope{ScopeTeamsExport, "t1"}},
		{"/v1.0/teams/t1/allChannels?$skiptoken=x", "/v1.0/teams('t1')/allChannels?$skiptoken=x", Scope{ScopeTeams, "t1"}},
		{"/v1.0/teams/t1/channels/c1/messages/delta?$skiptoken=x", "/v1.0/teams('t1')/channels('c1')/messages/delta?$skiptoken=x", Scope{ScopeChannelMessages, "t1"}},
		{"/v1.0/users/u1/chats?$skiptoken=x", "/v1.0/users('u1')/chats?$skiptoken=x", Scope{ScopeTeams, ""}},
		{"/v1.0/users/u1/mailFolders/SentItems/messages?$skip=10", "/v1.0/users('u1')/mailFolders('SentItems')/messages?$skip=10", Scope{ScopeMailbox, "u1"}},
		{"/v1.0/users/upn@contoso.com/messages?$skip=10", "/v1.0/users('upn@contoso.com')/messages?$skip=10", Scope{ScopeMailbox, "upn@contoso.com"}},
		{"/v1.0/users/u1/calendar/calendarView?$skiptoken=x", "/v1.0/users('u1')/calendar/calendarView?$skiptoken=x", Scope{ScopeMailbox, "u1"}},
		{"/beta/users/u1/events?$skiptoken=x", "/beta/users('u1')/events?$skiptoken=x", Scope{ScopeMailbox, "u1"}},
		{"/v1.0/groups/g1/members?$skiptoken=x", "/v1.0/groups('g1')/members?$skiptoken=x", Scope{ScopeDirectory, ""}},
		{"/v1.0/copilot/users/u1/interactionHistory/getAllEnterpriseInteractions", "/v1.0/copilot/users('u1')/interactionHistory/getAllEnterpriseInteractions", Scope{ScopeOther, "copilot"}},
	} {
		for _, host := range []string{"", "https://graph.microsoft.com", "https://graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn"} {
			ps, pcost := ScopeOf(host + tc.path)
			ks, kcost := ScopeOf(host + tc.key)
			if ps != tc.want {
				t.Errorf("ScopeOf(%s) = %v %q, want %v %q", host+tc.path, ps.Kind, ps.ID, tc.want.Kind, tc.want.ID)
			}
			if ks != ps || kcost != pcost {
				t.Errorf("ScopeOf(%s) = %v %q cost %d, want %v %q cost %d (as %s)", host+tc.key, ks.Kind, ks.ID, kcost, ps.Kind, ps.ID, pcost, tc.path)
			}
			if strings.ContainsAny(ks.ID, "()'") {
				t.Errorf("ScopeOf(%s) scope id %q is not a bare key", host+tc.key, ks.ID)
			}
		}
	}
}
