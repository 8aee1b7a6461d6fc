package tables

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"m365export/jobs/connector"
	"m365export/sinks"
)

// personColumn says whether a column holds a user's id or address, by its
// dotted source path or its description: the path's last member names an
// address or a user id (address, mail, otherMails, proxyAddresses,
// userPrincipalName, userId, email), it is the id of a user object (an
// identity set's user, a directory user), or its description calls it a
// user's id, an address or a UPN.
func personColumn(table, path, doc string) bool {
	last := path[strings.LastIndex(path, ".")+1:]
	last = strings.TrimSuffix(last, "[]")
	switch strings.ToLower(last) {
	case "address", "mail", "othermails", "proxyaddresses", "userprincipalname", "userid", "email", "emailaddress", "upn":
		return true
	case "id":
		if path == "id" && (table == "users" || table == "group_members") || strings.HasSuffix(path, "user.id") {
			return true
		}
	}
	return personDoc.MatchString(doc)
}

var personDoc = regexp.MustCompile(`(?i)\b(users?'?s? (object )?id|users\.id|address|upn)\b`)

// TestMarks_PersonColumnsPseudonymized walks the registry: in the default
// variant (--ids pseudonymized), every column that holds a user's id or
// address (personColumn) is pseudonymized, or removed whole; none is
// kept or only reduced.
func TestMarks_PersonColumnsPseudonymized(t *testing.T) {
	checked := 0
	// Columns the walk must find (so that a change to personColumn or the
	// schemas that loses them fails here).
	must := map[string]bool{"users.id": false, "users.userPrincipalName": false, "group_members.id": false,
		"events.attendees[].emailAddress.address": false, "chat_messages.from.user.id": false,
		"call_records.participants_v2[].identity.user.id": false, "meeting_attendance.identity.id": false,
		"meeting_attendance.id": false, "messages.toRecipients[].emailAddress.address": false}
	for _, tb := range connector.Tables() {
		marks, err := Marks(tb)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range leafColumns(tb.Schema.Columns, "") {
			if !personColumn(tb.Name, c.path, c.doc) {
				continue
			}
			checked++
			if _, ok := must[tb.Name+"."+c.path]; ok {
				must[tb.Name+"."+c.path] = true
			}
			m, ok := marks[c.path]
			if !ok {
				t.Errorf("%s/%s.%s: a person's id or address without a mark", tb.Connector.Name, tb.Name, c.path)
				continue
			}
			if !slices.Contains([]string{MarkPseudonymized, MarkRemoved}, m) {
				t.Errorf("%s/%s.%s: a person's id or address is %q in the default variant, want %q", tb.Connector.Name, tb.Name, c.path, m, MarkPseudonymized)
			}
		}
	}
	for c, found := range must {
		if !found {
			t.Errorf("%s: not recognized as a person's id or address", c)
		}
	}
	if checked < 30 {
		t.Errorf("only %d columns holding a person's id or address found: the walk proves little", checked)
	}
}

type leafColumn struct{ path, doc string }

// leafColumns lists the scalar (and list of scalar) columns of cs by
// dotted source path, as Marks keys them.
func leafColumns(cs []sinks.Column, prefix string) []leafColumn {
	var out []leafColumn
	for i := range cs {
		c := &cs[i]
		p := prefix + c.SourceName()
		switch {
		case strings.HasPrefix(c.SourceName(), "+"):
		case c.Type == sinks.Struct:
			out = append(out, leafColumns(c.Fields, p+".")...)
		case c.Type == sinks.List && c.Elem.Type == sinks.Struct:
			out = append(out, leafColumns(c.Elem.Fields, p+"[].")...)
		case c.Type == sinks.DateTimeTimeZone:
		default:
			out = append(out, leafColumn{p, c.Doc})
		}
	}
	return out
}
