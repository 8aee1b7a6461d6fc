package jobs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"m365export/jobs/connector"
	"m365export/pipeline"
)

// TestExport_OwnersJoinParents exports every connector from the emulator in
// each --ids variant and checks the joins the README shows: every row of
// every table owned by users, groups or teams has an _owner that is an id
// of the parent table (users.id, groups.id, teams.id) of the same run; a
// call record's _owner is its own id; tenant-owned tables have none. The
// meeting tables (Derived owners) join by the meeting key: each row's
// _owner is an online meeting's joinWebUrl (and chatInfo.threadId), every
// online meeting's key is the joinWebUrl of one of the run's call records
// or the onlineMeeting.joinUrl of one of its calendar events (some of
// each, and some both), and every attendee is a user (identity.id and id
// are users.id).
func TestExport_OwnersJoinParents(t *testing.T) {
	sim := startSim(t, 16) // enough users for scheduled meetings that took place
	for _, ids := range []string{"pseudonymized", "kept", "hash-only"} {
		t.Run(ids, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := exportTo(t, sim, dir, "--connector", strings.Join(ConnectorNames(), ","), "--ids", ids,
				"--since", "2026-11-24", "--until", "2026-11-26"); err != nil {
				t.Fatal(err)
			}
			// rows[table] holds each row's id and _owner.
			type row struct{ id, owner, js string }
			rows := map[string][]row{}
			for _, c := range ConnectorNames() {
				for table, rs := range readOutput(t, dir, c) {
					for _, r := range rs {
						_, js, _ := strings.Cut(r, " ")
						var m struct {
							ID    any    `json:"id"`
							Owner string `json:"_owner"`
						}
						if err := json.Unmarshal([]byte(js), &m); err != nil {
							t.Fatalf("%s: %v", table, err)
						}
						id, _ := m.ID.(string)
						rows[table] = append(rows[table], row{id, m.Owner, js})
					}
				}
			}
			parentIDs := func(table string) map[string]bool {
				set := map[string]bool{}
				for _, r := range rows[table] {
					if r.id != "" {
						set[r.id] = true
					}
				}
				if len(set) == 0 {
					t.Fatalf("parent table %s has no ids: the test proves nothing", table)
				}
				return set
			}
			// The meeting key of every online meeting, and of every call
			// record (its joinWebUrl), as the run wrote them.
			meetingKeys, callKeys, eventKeys := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for table, keys := range map[string]map[string]bool{"online_meetings": meetingKeys, "call_records": callKeys, "events": eventKeys} {
				for _, r := range rows[table] {
					var m struct {
						JoinWebURL *string `json:"joinWebUrl"`
						ChatInfo   struct {
							ThreadID *string `json:"threadId"`
						} `json:"chatInfo"`
						OnlineMeeting struct {
							JoinURL *string `json:"joinUrl"`
						} `json:"onlineMeeting"`
					}
					if err := json.Unmarshal([]byte(r.js), &m); err != nil {
						t.Fatal(err)
					}
					if m.JoinWebURL != nil {
						keys[*m.JoinWebURL] = true
					}
					if m.OnlineMeeting.JoinURL != nil {
						keys[*m.OnlineMeeting.JoinURL] = true
					}
					if table == "online_meetings" && (m.JoinWebURL == nil || m.ChatInfo.ThreadID == nil || *m.JoinWebURL != *m.ChatInfo.ThreadID || *m.JoinWebURL != r.owner) {
						t.Errorf("online meeting: joinWebUrl, chatInfo.threadId and _owner are not one key: %s", r.js)
					}
				}
			}
			// Every meeting joins its call record (it took place), its
			// organizer's event (it was scheduled), or both.
			both, calls, events := 0, 0, 0
			for k := range meetingKeys {
				switch {
				case callKeys[k] && eventKeys[k]:
					both++
				case callKeys[k]:
					calls++
				case eventKeys[k]:
					events++
				default:
					t.Errorf("online meeting %s joins no call record's joinWebUrl and no event's onlineMeeting.joinUrl", k)
				}
			}
			if both == 0 || calls == 0 || events == 0 {
				t.Errorf("meetings joining both a call record and an event %d, a call record only %d, an event only %d: want some of each", both, calls, events)
			}
			users := parentIDs("users")
			for _, r := range rows["meeting_attendance"] {
				var m struct {
					Identity struct {
						ID string `json:"id"`
					} `json:"identity"`
				}
				if err := json.Unmarshal([]byte(r.js), &m); err != nil {
					t.Fatal(err)
				}
				if !users[m.Identity.ID] || !users[r.id] {
					t.Errorf("attendee %q (id %q) joins no users.id", m.Identity.ID, r.id)
				}
			}
			for _, c := range connector.All() {
				for _, cs := range c.Collections {
					if len(rows[cs.Name]) == 0 {
						t.Errorf("%s: no rows: the test proves nothing", cs.Name)
						continue
					}
					var parent map[string]bool
					if p := cs.Owners.Parent(); p != "" {
						parent = parentIDs(p)
					}
					bad := 0
					for _, r := range rows[cs.Name] {
						var ok bool
						switch cs.Owners {
						case connector.Tenant:
							ok = r.owner == ""
						case connector.Listed:
							ok = r.owner != "" && r.owner == r.id
						case connector.Derived:
							ok = r.owner != "" && meetingKeys[r.owner]
						default:
							ok = parent[r.owner]
						}
						if !ok {
							bad++
						}
					}
					if bad > 0 {
						t.Errorf("%s (owners %s): %d of %d rows have an _owner that joins no %s id", cs.Name, cs.Owners, bad, len(rows[cs.Name]), parentName(cs))
					}
				}
			}
		})
	}
}

// parentName names what a collection's _owner must equal, for messages.
func parentName(cs connector.Collection) string {
	switch cs.Owners {
	case connector.Tenant:
		return "(empty)"
	case connector.Listed:
		return cs.Name + " (its own)"
	case connector.Derived:
		return "online_meetings.joinWebUrl (meeting key)"
	}
	return cs.Owners.Parent()
}

// TestCollectionOwnerID_FollowsParentRules: _owner takes whatever form the
// parent table's rules give its id. Rules that hash group, team and call
// record ids (the built-in ones keep them) hash _owner the same way, and
// the parent's record written by those rules holds that very value.
func TestCollectionOwnerID_FollowsParentRules(t *testing.T) {
	const hashIDs = `
    transforms:
      - !<pseudonymize>
        jsonPaths:
          - "$..id"
        encoding: "URL_SAFE_TOKEN"
`
	src := "endpoints:\n" +
		`  - pathRegex: "/v1\\.0/groups(\\?.*)?"` + "\n    allowedQueryParams: [\"$top\", \"$select\"]" + hashIDs +
		`  - pathTemplate: "/v1.0/teams/{teamId}"` + hashIDs +
		`  - pathRegex: "/v1\\.0/communications/callRecords/[0-9a-f-]{36}(\\?.*)?"` + "\n    allowedQueryParams: [\"$expand\"]" + hashIDs
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadRules("", "", false, file, "", testEnvSecrets())
	if err != nil {
		t.Fatal(err)
	}
	w := pipeline.Window{From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	const id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	for _, tc := range []struct{ connector, collection, url, body string }{
		{"entra-id", "group_members", "/v1.0/groups?$top=999", `{"value":[{"id":"` + id + `","x":1}]}`},
		{"msft-teams", "channels", "/v1.0/teams/" + id, `{"id":"` + id + `","x":1}`},
		{"msft-teams", "channel_messages", "/v1.0/teams/" + id, `{"id":"` + id + `","x":1}`},
		{"msft-teams", "call_records", "/v1.0/communications/callRecords/" + id + "?$expand=participants_v2", `{"id":"` + id + `","x":1}`},
	} {
		var cs *connector.Collection
		for i, c := range mustConnector(t, tc.connector).Collections {
			if c.Name == tc.collection {
				cs = &mustConnector(t, tc.connector).Collections[i]
			}
		}
		got := collectionOwnerID(rs, cs, w)(id)
		out, err := rs.Sanitize(tc.url, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if got == "" || got == id || !strings.Contains(string(out), `"id":"`+got+`"`) {
			t.Errorf("%s: _owner %q, want the parent's id as its rules write it: %s", tc.collection, got, out)
		}
	}
}

// TestOwners_ParentIsRegistered: every owner kind but the tenant's and
// Listed names a parent table that a registered connector exports.
func TestOwners_ParentIsRegistered(t *testing.T) {
	for _, k := range []connector.Owners{connector.User, connector.Group, connector.Team} {
		if parentTable(k) == nil {
			t.Errorf("owners %s: parent table %q is not registered", k, k.Parent())
		}
	}
}
