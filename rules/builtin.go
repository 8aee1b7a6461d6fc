package rules

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
)

// IDs chooses how rules treat Graph object ids of people (user ids, ids
// in from/mentions/reactions, chat and session ids that embed user ids).
type IDs string

const (
	// IDsPseudonymized turns them into reversible p~ tokens (the default,
	// as psoxy's default no-app-ids / no-userIds variants).
	IDsPseudonymized IDs = "pseudonymized"
	// IDsKept leaves them as Graph returns them (psoxy's base rules).
	IDsKept IDs = "kept"
	// IDsHashOnly turns them into irreversible t~ tokens (our extension).
	IDsHashOnly IDs = "hash-only"
)

// ParseIDs validates an --ids value; "" means the default.
func ParseIDs(s string) (IDs, error) {
	switch IDs(s) {
	case "":
		return IDsPseudonymized, nil
	case IDsPseudonymized, IDsKept, IDsHashOnly:
		return IDs(s), nil
	}
	return "", fmt.Errorf("unknown ids mode %q (want pseudonymized, kept or hash-only)", s)
}

// Variant selects a variant of a connector's built-in rules. The zero
// value is the default: pseudonymized ids, with groups.
type Variant struct {
	IDs      IDs
	NoGroups bool // leave out the group endpoints (psoxy's no-groups)
}

// RuleTemplate is the entry template of a built-in rule file: a Go
// text/template in psoxy's YAML rule format that RenderBuiltin executes.
// Further files of the same file systems (*.yaml.tmpl) may define partials
// it includes with {{template "name" .}}.
const RuleTemplate = "rules.yaml.tmpl"

// RenderBuiltin renders a built-in rule file for a variant: the template
// RuleTemplate found in one of files, with every *.yaml.tmpl of files
// parsed for partials. The templates read .IDs and .Groups and may call the
// helpers userIDs, opaqueIDs, noids, links, context and phrases, which
// write psoxy rule blocks for the variant. name identifies the rules (for
// messages and manifests): "builtin:NAME?ids=…[&no-groups]".
func RenderBuiltin(name string, v Variant, files ...fs.FS) (ruleName string, yamlSrc []byte, err error) {
	ids, err := ParseIDs(string(v.IDs))
	if err != nil {
		return "", nil, err
	}
	t := template.New("").Funcs(builtinFuncs(ids))
	for _, f := range files {
		if t, err = t.ParseFS(f, "*.yaml.tmpl"); err != nil {
			return "", nil, fmt.Errorf("built-in rules %s: %w", name, err)
		}
	}
	var b bytes.Buffer
	data := struct {
		IDs    IDs
		Groups bool
	}{ids, !v.NoGroups}
	if err := t.ExecuteTemplate(&b, RuleTemplate, data); err != nil {
		return "", nil, fmt.Errorf("built-in rules %s: %w", name, err)
	}
	ruleName = "builtin:" + name + "?ids=" + string(ids)
	if v.NoGroups {
		ruleName += "&no-groups"
	}
	return ruleName, b.Bytes(), nil
}

func yamlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func block(method string, paths []string, opts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "      - !<%s>\n        jsonPaths:\n", method)
	for _, p := range paths {
		fmt.Fprintf(&b, "          - %s\n", yamlQuote(p))
	}
	for _, o := range opts {
		fmt.Fprintf(&b, "        %s\n", o)
	}
	return b.String()
}

func builtinFuncs(ids IDs) template.FuncMap {
	return template.FuncMap{
		// userIDs: ids of people.
		"userIDs": func(paths ...string) string {
			switch ids {
			case IDsPseudonymized:
				return block("pseudonymize", paths, "includeReversible: true", `encoding: "URL_SAFE_TOKEN"`)
			case IDsHashOnly:
				return block("pseudonymize", paths, `encoding: "URL_SAFE_TOKEN"`)
			}
			return ""
		},
		// opaqueIDs: ids that embed user ids (1:1 chat ids, session ids).
		"opaqueIDs": func(paths ...string) string {
			switch ids {
			case IDsPseudonymized:
				return block("tokenize", paths)
			case IDsHashOnly:
				return block("pseudonymize", paths, `encoding: "URL_SAFE_TOKEN"`)
			}
			return ""
		},
		// noids: fields removed unless ids are kept (they embed user ids).
		"noids": func(paths ...string) string {
			if ids == IDsKept {
				return ""
			}
			return block("redact", paths)
		},
		// links: paging links carry the user id of the request path (on
		// any national cloud's Graph host), as a segment or in OData key
		// form; see linkUserID.
		"links": func() string {
			paths := []string{"$.['@odata.nextLink', '@odata.prevLink', '@odata.deltaLink']"}
			switch ids {
			case IDsPseudonymized:
				return block("tokenize", paths, "regex: "+yamlQuote(linkUserID))
			case IDsHashOnly:
				return block("redact", paths)
			}
			return ""
		},
		// context: @odata.context and association links name the user.
		"context": func() string {
			if ids == IDsKept {
				return ""
			}
			return block("redact", []string{"$..['@odata.context']", "$..['calendar@odata.associationLink']", "$..['calendar@odata.navigationLink']"})
		},
		// meetingKey: a Teams meeting's join URL or chat thread id becomes
		// the meeting's key, the same from either and from any encoding
		// of the URL: the thread id's part between "19:" and "@thread."
		// (meetingKeyRedactions remove the rest, tenant and organizer ids
		// in the URL's context included), written as opaqueIDs write ids.
		"meetingKey": func(paths ...string) string {
			var b strings.Builder
			b.WriteString(block("redactRegexMatches", paths, "redactions:"))
			for _, re := range meetingKeyRedactions {
				fmt.Fprintf(&b, "          - %s\n", yamlQuote(re))
			}
			switch ids {
			case IDsPseudonymized:
				b.WriteString(block("tokenize", paths))
			case IDsHashOnly:
				b.WriteString(block("pseudonymize", paths, `encoding: "URL_SAFE_TOKEN"`))
			}
			return b.String()
		},
		"phrases": func() []string { return calendarPhrases },
	}
}

// linkUserID is the tokenize regex of the built-in rules' paging links: its
// group 1 is the user id of a link to /users/{id}/… or /copilot/users/{id}/…
// of v1.0 or beta on any host, written as a segment (users/{id}, a GUID or
// a UPN) or in OData key form (users('{id}'), users(id='{id}'), quotes
// possibly %27; Microsoft documents getAllMessages' next links so). tokenize
// replaces every occurrence of that id in the link by its p~ token. The
// group is lazy, so in key form it stops before the closing quote; a
// doubled quote (two ' characters) stays inside it. The link is only written: the
// exporter follows the raw link Graph returned, never the sanitized one.
// The syntax is the subset Java's and Go's engines read alike (psoxy can
// load the rules).
const linkUserID = `^https?://[^/]+/(?:v1\.0|beta)(?:/copilot)?/users(?:/|\((?:id=)?(?:'|%27))([^/?#]+?)(?:(?:'|%27)\))?/.*$`

// meetingKeyRedactions cut a Teams meeting's join URL
// (https://teams.microsoft.com/l/meetup-join/19%3ameeting_…%40thread.v2/0?context=…,
// ":" and "@" percent-encoded in either case or not at all) or its chat
// thread id (19:meeting_…@thread.v2) down to the part in between, which
// identifies the meeting. That part is base64 (Teams' own form; an
// observation, not a documented contract), which URLs carry unencoded.
// A value that has neither marker is left to the tokenize or pseudonymize
// step, which never writes it raw.
var meetingKeyRedactions = []string{`^[^~]*?19(?::|%3[aA])`, `(?:@|%40)thread\..*$`}

// calendarPhrases are the words and phrases kept from event subjects: they
// say what kind of meeting it is, not what it is about, and never a
// personal circumstance: nothing about health, leave or time off (psoxy's
// defaults keep "OOO" and "Out of Office"; this list does not), job
// search (no "Interview") or whereabouts (no "Travel", "Commute"). The
// first match of each, in this order, is kept with its casing; the rest is
// dropped. Replace the list with a rule file of your own (--rules FILE)
// whose redactExceptPhrases names yours.
var calendarPhrases = []string{
	"Focus Time", "Focus", "Deep Work", "No Meetings", "No Meeting",
	"1:1", "1-on-1", "one-on-one", "Skip Level",
	"Standup", "Stand-up", "Stand up", "Daily", "Weekly", "Biweekly", "Bi-weekly", "Monthly", "Quarterly",
	"All Hands", "All-Hands", "Town Hall", "Team Meeting", "Staff Meeting",
	"Planning", "Sprint", "Retro", "Retrospective", "Review", "Demo", "Sync", "Kickoff", "Kick-off",
	"Brainstorm", "Workshop", "Training", "Onboarding", "Office Hours",
	"Check-in", "Check in", "Prep", "Handoff", "Hand-off", "Decision",
	"Lunch", "Coffee", "Happy Hour", "Social", "Offsite", "Team Building",
	"Customer", "Client", "Webinar", "Call", "Hold", "Block",
}
