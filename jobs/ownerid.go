package jobs

import (
	"encoding/json"

	"m365export/jobs/connector"
	"m365export/rules"
)

// collectionOwnerID gives the _owner (and ledger owner) of collection cs
// its form in a run with ruleset rs, so that every table joins its parent
// by _owner in every --ids variant: a user as the users table writes
// users.id (rules.Ruleset.OwnerID), a group or a team as the groups or
// teams table writes its id, a Listed owner (a call record) as the
// collection writes the record's own id; the tenant has none ("").
//
// For groups, teams and Listed owners the id is run through the parent
// table's own request and rules, so whatever those rules do to the
// parent's id (today they keep it) _owner gets the same. An id the rules
// refuse or remove gives "": never the raw id.
func collectionOwnerID(rs *rules.Ruleset, cs *connector.Collection, w connector.Window) func(string) string {
	switch cs.Owners {
	case connector.Tenant:
		return func(string) string { return "" }
	case connector.User:
		return ownerIDFunc(rs)
	case connector.Listed:
		return idAsWritten(rs, cs, w)
	case connector.Derived:
		return derivedOwnerID(rs, cs, w)
	}
	parent := parentTable(cs.Owners)
	if parent == nil {
		return func(string) string { return "" }
	}
	return idAsWritten(rs, parent, w)
}

// parentTable returns the registry's declaration of the table an owner
// kind's ids are (see connector.Owners.Parent), or nil.
func parentTable(k connector.Owners) *connector.Collection {
	name := k.Parent()
	if name == "" {
		return nil
	}
	for _, c := range connector.All() {
		for i := range c.Collections {
			if c.Collections[i].Name == name {
				return &c.Collections[i]
			}
		}
	}
	return nil
}

// idAsWritten returns the form parent's table writes a record's id in:
// the id goes through the rules of the request that reads the record
// (parent.First), as a list item when the parent lists the whole tenant
// (groups) and as the one object it reads per owner otherwise (a team, a
// call record).
func idAsWritten(rs *rules.Ruleset, parent *connector.Collection, w connector.Window) func(string) string {
	// No cache, as for users: a map of every owner would grow with the
	// tenant, and a probe costs microseconds once per owner.
	return func(id string) string {
		if id == "" {
			return ""
		}
		obj, err := json.Marshal(map[string]string{"id": id})
		if err != nil {
			return ""
		}
		body := obj
		if parent.Owners == connector.Tenant {
			body = append(append([]byte(`{"value":[`), obj...), "]}"...)
		}
		// The parents' requests (a team, the groups, a call record) read
		// no run setting: the zero Settings give their path.
		out, err := rs.Sanitize(parent.First(id, w, connector.Settings{}), body)
		if err != nil {
			return "" // never the raw id
		}
		var rec struct {
			ID    *string `json:"id"`
			Value []struct {
				ID *string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(out, &rec); err != nil {
			return ""
		}
		if parent.Owners == connector.Tenant {
			if len(rec.Value) != 1 || rec.Value[0].ID == nil {
				return ""
			}
			return *rec.Value[0].ID
		}
		if rec.ID == nil {
			return ""
		}
		return *rec.ID
	}
}

// ownerIDFunc gives a user owner its form: as the users table writes
// users.id in this run.
func ownerIDFunc(rs *rules.Ruleset) func(string) string {
	// No cache here: the ruleset caches pseudonyms up to a bound, and a
	// map of every owner would make memory grow with the tenant.
	return func(id string) string {
		if id == "" {
			return ""
		}
		v, err := rs.OwnerID(id)
		if err != nil {
			return "" // never the raw id
		}
		return v
	}
}

// derivedOwnerID gives a Derived owner its form: the value of the
// derivation's OwnerField as the collection's First request's rules write
// it (for meetings, the join URL made the meeting key). A value the rules
// remove gives "": never the raw owner.
func derivedOwnerID(rs *rules.Ruleset, cs *connector.Collection, w connector.Window) func(string) string {
	d := cs.Derive
	return func(owner string) string {
		if owner == "" {
			return ""
		}
		obj, err := json.Marshal(map[string][]map[string]string{"value": {{d.OwnerField: d.OwnerValue(owner)}}})
		if err != nil {
			return ""
		}
		out, err := rs.Sanitize(cs.First(owner, w, connector.Settings{}), obj)
		if err != nil {
			return ""
		}
		var rec struct {
			Value []map[string]any `json:"value"`
		}
		if json.Unmarshal(out, &rec) != nil || len(rec.Value) != 1 {
			return ""
		}
		v, _ := rec.Value[0][d.OwnerField].(string)
		return v
	}
}
