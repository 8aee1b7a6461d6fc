package jobs

import (
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/jobs/connectors/msftteams"
	"m365export/rules"
	"m365export/sources/graph"
)

// keyFormLink writes a collection's next page as Graph documents it for
// getAllMessages (graph-api-notes §8, fact 1): on the Graph host, the
// owner's key in OData key syntax (users('{id}'), teams('{id}')), a
// lower-case getall, and the first page's query plus a $skiptoken (or the
// $skiptoken alone, when onlyToken).
func keyFormLink(host, first, owner string, onlyToken bool) string {
	path, query, _ := strings.Cut(first, "?")
	if owner != "" {
		for _, set := range []string{"users", "teams", "groups"} {
			path = strings.Replace(path, "/"+set+"/"+owner, "/"+set+"('"+owner+"')", 1)
		}
	}
	path = strings.Replace(path, "/getAll", "/getall", 1)
	if onlyToken || query == "" {
		query = "$skiptoken=U2tpcFZhbHVlPTUw"
	} else {
		query += "&$skiptoken=U2tpcFZhbHVlPTUw"
	}
	return "https://" + host + path + "?" + query
}

// pathFormLink is keyFormLink's page with the owner's key as a path
// segment, as the first page has it.
func pathFormLink(host, first string, onlyToken bool) string {
	return keyFormLink(host, first, "", onlyToken)
}

// TestBuiltinRules_AllowPageTwoInKeyForm walks the registry: for every
// collection of every connector that pages (all of msft-teams' lists; not
// one object such as mailbox settings, a team or a call record), in every
// rule variant, the built-in rules
// allow the next page written in key form, the page's sanitized copy keeps
// no raw user id of its owner (unless ids are kept), and the page counts
// against the same throttle scope as the first one.
func TestBuiltinRules_AllowPageTwoInKeyForm(t *testing.T) {
	owners := map[connector.Owners]string{
		connector.Tenant: "",
		connector.User:   "0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c",
		connector.Group:  "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
		connector.Team:   "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		connector.Listed: "004cf3a1-2b3c-4d5e-8f60-718293a4b5c6",
		// A meeting: its organizer (the id in the path) and join URL.
		connector.Derived: msftteams.MeetingOwner(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), "0f7c6a8e-2b1d-4c3e-9a5f-1d2e3f4a5b6c", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Zm9vYmFy%40thread.v2/0"),
	}
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	w := connector.Window{From: day, To: day.Add(24 * time.Hour)}
	secrets := rules.Secrets{Salt: "keyform-salt", Key: "keyform-key"}
	for _, c := range connector.All() {
		for _, ids := range []rules.IDs{rules.IDsPseudonymized, rules.IDsKept, rules.IDsHashOnly} {
			name, src, err := c.RenderRules(rules.Variant{IDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := rules.Compile(name, src, secrets)
			if err != nil {
				t.Fatal(err)
			}
			for _, cs := range c.Plan(false) {
				owner := owners[cs.Owners]
				first := cs.First(owner, w, defaultSettings())
				if cs.Owners == connector.Derived {
					owner = strings.Fields(owner)[1] // the id in the path: the organizer's
				}
				wantScope, _ := graph.ScopeOf(first)
				for _, host := range []string{"graph.microsoft.com", "graph.microsoft.us"} {
					for _, onlyToken := range []bool{false, true} {
						link := keyFormLink(host, first, owner, onlyToken)
						if err := rs.Check(pathFormLink(host, first, onlyToken)); err != nil {
							// Not paged (mailbox settings are one
							// object): the key form is refused too.
							if rs.Check(link) == nil {
								t.Errorf("%s %s: rules %s allow page 2 in key form %s, not in path form: %v", c.Name, cs.Name, name, link, err)
							}
							// One object per owner (a team, a call record)
							// does not page either.
							single := owner != "" && strings.HasSuffix(strings.SplitN(first, "?", 2)[0], "/"+owner)
							if c.Name == "msft-teams" && !single {
								t.Errorf("%s %s: rules %s refuse page 2: %v", c.Name, cs.Name, name, err)
							}
							continue
						}
						if err := rs.Check(link); err != nil {
							t.Errorf("%s %s: rules %s refuse page 2 in key form %s: %v", c.Name, cs.Name, name, link, err)
							continue
						}
						out, err := rs.Sanitize(link, []byte(`{"@odata.context":"https://`+host+`/v1.0/$metadata#x","@odata.nextLink":"`+link+`","value":[]}`))
						if err != nil {
							t.Errorf("%s %s: Sanitize(%s): %v", c.Name, cs.Name, link, err)
							continue
						}
						if (cs.Owners == connector.User || cs.Owners == connector.Derived) && ids != rules.IDsKept && strings.Contains(string(out), owner) {
							t.Errorf("%s %s: rules %s leave the user id in %s", c.Name, cs.Name, name, out)
						}
						if got, _ := graph.ScopeOf(link); got != wantScope {
							t.Errorf("%s %s: ScopeOf(%s) = %v %q, want %v %q (as page 1)", c.Name, cs.Name, link, got.Kind, got.ID, wantScope.Kind, wantScope.ID)
						}
					}
				}
			}
		}
	}
}

// defaultSettings are the run settings of the default configuration.
func defaultSettings() connector.Settings {
	d := Defaults()
	return d.settings()
}
