package jobs

import (
	"encoding/json"
	"strings"
	"testing"

	"m365export/jobs/connector"
)

// TestExport_OwnersJoinParents exports every connector from the emulator in
// each --ids variant and checks the joins the README shows: every row of
// every table owned by users, groups or teams has an _owner that is an id
// of the parent table (users.id, groups.id, teams.id) of the same run; a
// call record's _owner is its own id; tenant-owned tables have none.
func TestExport_OwnersJoinParents(t *testing.T) {
	sim := startSim(t, 8)
	for _, ids := range []string{"pseudonymized", "kept", "hash-only"} {
		t.Run(ids, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := exportTo(t, sim, dir, "--connector", strings.Join(ConnectorNames(), ","), "--ids", ids,
				"--since", "2026-11-24", "--until", "2026-11-26"); err != nil {
				t.Fatal(err)
			}
			// rows[table] holds each row's id and _owner.
			type row struct{ id, owner string }
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
						rows[table] = append(rows[table], row{id, m.Owner})
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
	}
	return cs.Owners.Parent()
}
