package rules

import (
	"errors"
	"strings"
	"testing"
)

// Graph writes some next links in OData key form (graph-api-notes §8, fact
// 1): users('{id}')/chats/getallMessages, teams('{id}')/channels/
// getallMessages, and Outlook's users('…')/… . The rules match them as the
// path-segment form the rule files are written for.

func TestCheck_KeyFormMatchesPathRules(t *testing.T) {
	r := mustRules(t, `
endpoints:
  - pathTemplate: "/v1.0/users/{userId}/chats/getAllMessages"
    allowedQueryParams: ["$top", "$skiptoken", "$filter", "model"]
  - pathRegex: "/v1\\.0/users/[^/?]+/mailFolders(/SentItems|\\('SentItems'\\))/messages(\\?.*)?"
  - pathTemplate: "/beta/copilot/users/{userId}/interactionHistory/getAllEnterpriseInteractions"
`)
	for _, u := range []string{
		"https://graph.microsoft.com/v1.0/users('u1')/chats/getallMessages?$top=2&$skiptoken=abc",
		"https://graph.microsoft.com/v1.0/users(id='u1')/chats/getallMessages?$skiptoken=abc",
		"https://graph.microsoft.com/v1.0/users(%27u1%27)/chats/GETALLMESSAGES?$skiptoken=abc",
		"https://graph.microsoft.us/v1.0/users('upn@contoso.com')/chats/getAllMessages?$skiptoken=abc",
		"/v1.0/users('u1')/mailFolders('SentItems')/messages?$skip=10",
		"/v1.0/users('u1')/mailFolders/SentItems/messages",
		"/v1.0/users/u1/mailFolders('SentItems')/messages",
		"https://graph.microsoft.com/beta/copilot/users('u1')/interactionHistory/getallEnterpriseInteractions?$skiptoken=abc",
	} {
		if err := r.Check(u); err != nil {
			t.Errorf("Check(%q) = %v, want nil", u, err)
		}
	}
	// The canonical form changes keys only: what a rule refuses in one
	// form it refuses in the other.
	for _, u := range []string{
		"https://graph.microsoft.com/v1.0/users('u1')/chats/getallMessages?$orderby=x",
		"https://graph.microsoft.com/v1.0/users('u1')/chats",
		"https://graph.microsoft.com/v1.0/teams('t1')/channels/getallMessages",
		"https://graph.microsoft.com/v1.0/users(userPrincipalName='u1')/chats/getAllMessages",
		"https://graph.microsoft.com/v1.0/users('u1')/mailFolders('Inbox')/messages",
	} {
		if err := r.Check(u); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Check(%q) = %v, want ErrNotAllowed", u, err)
		}
	}
}

func TestCheck_RuleSpellingAKeyFormStillMatches(t *testing.T) {
	// A rule file that spells a key form out (and only it) keeps matching
	// the request psoxy would match.
	r := mustRules(t, `
endpoints:
  - pathRegex: "/v1\\.0/me/mailFolders\\('Inbox'\\)/messages"
`)
	if err := r.Check("/v1.0/me/mailFolders('Inbox')/messages"); err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
}

// keyForms are the ways Graph may write the user key of a link.
var keyForms = []struct{ name, open, close string }{
	{"segment", "/", ""},
	{"key", "('", "')"},
	{"named key", "(id='", "')"},
	{"encoded quotes", "(%27", "%27)"},
}

// linkCases are the paged endpoints of the built-in rules whose links carry
// the owner's user id, and the path after /users/{id} (for copilot, the
// link's path starts with /copilot).
var linkCases = []struct {
	connector, version, prefix, rest string
}{
	{"outlook-mail", "v1.0", "", "/mailFolders/SentItems/messages"},
	{"outlook-cal", "v1.0", "", "/calendarView"},
	{"msft-teams", "v1.0", "", "/chats"},
	{"msft-teams", "v1.0", "", "/chats/getAllMessages"},
	{"msft-copilot", "beta", "/copilot", "/interactionHistory/getAllEnterpriseInteractions"},
}

func TestBuiltin_KeyFormLinksLoseUserIDs(t *testing.T) {
	ids := []string{"0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c", "adele.vance@contoso.onmicrosoft.com", "o''brien@contoso.com"}
	hosts := []string{"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}
	for _, c := range linkCases {
		for _, v := range []IDs{IDsPseudonymized, IDsHashOnly, IDsKept} {
			_, src, err := builtin(t, c.connector, Variant{IDs: v})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compile(c.connector, src, testSecrets)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				for _, f := range keyForms {
					for _, host := range hosts {
						for _, version := range []string{c.version, "beta"} {
							p := "/" + version + c.prefix + "/users" + f.open + id + f.close + c.rest
							link := "https://" + host + p + "?$top=2&$skiptoken=U2tpcA%3d%3d"
							in := `{"@odata.nextLink":"` + link + `","@odata.deltaLink":"` + link + `","value":[]}`
							// The request is the first page, in path form;
							// its link, the next page, in any form.
							req := "https://" + host + "/" + c.version + c.prefix + "/users/" + strings.ReplaceAll(id, "''", "'") + c.rest
							out, err := r.Sanitize(req, []byte(in))
							if err != nil {
								t.Fatalf("%s %s: Sanitize(%s) = %v", c.connector, v, req, err)
							}
							raw := strings.ReplaceAll(id, "''", "'")
							switch v {
							case IDsKept:
								if string(out) != in {
									t.Errorf("%s %s %s: link changed: %s", c.connector, v, f.name, out)
								}
							case IDsHashOnly:
								if strings.Contains(string(out), "Link") {
									t.Errorf("%s %s %s: link kept: %s", c.connector, v, f.name, out)
								}
							case IDsPseudonymized:
								if strings.Contains(string(out), raw) || strings.Contains(string(out), id) {
									t.Errorf("%s %s %s %s: raw user id in %s", c.connector, v, f.name, host, out)
								}
								// Only the id changed: the link keeps its form.
								want := "https://" + host + "/" + version + c.prefix + "/users" + f.open + "p~"
								if !strings.Contains(string(out), want) || !strings.Contains(string(out), f.close+c.rest+"?$top=2&$skiptoken=U2tpcA%3d%3d") {
									t.Errorf("%s %s %s: link %s, want it to start %s…", c.connector, v, f.name, out, want)
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestBuiltin_LinksTokenizeSameIDInEitherForm(t *testing.T) {
	const id = "0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c"
	_, src, err := builtin(t, "msft-teams", Variant{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile("msft-teams", src, testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	token := func(link string) string {
		out, err := r.Sanitize("/v1.0/users/"+id+"/chats/getAllMessages", []byte(`{"@odata.nextLink":"`+link+`","value":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		_, tok, _ := strings.Cut(string(out), "p~")
		tok, _, _ = strings.Cut(tok, "/")
		return strings.TrimRight(tok, "')")
	}
	a := token("https://graph.microsoft.com/v1.0/users/" + id + "/chats/getAllMessages?$skiptoken=x")
	b := token("https://graph.microsoft.com/v1.0/users('" + id + "')/chats/getallMessages?$skiptoken=x")
	if a == "" || a != b {
		t.Errorf("tokens of the id in path and key form: %q and %q, want equal", a, b)
	}
}
