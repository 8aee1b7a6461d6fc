// Package connector is the registry of connectors. Each connector declares
// itself once, in its own folder under jobs/connectors, and registers that
// declaration in init (as rclone's backends do); jobs/connectors/all
// imports them all. Everything else — the run, --help, scopes, consent,
// check, the data dictionary, the demo, the chaos and fault tests — reads
// the registry, so adding a collection or a connector touches only its
// folder, its emulator routes, fixtures and goldens.
//
// A declaration holds the connector's name, doc line and Graph application
// permissions, its rule template (psoxy's format, rendered per variant by
// rules.RenderBuiltin together with the shared directory endpoints of
// directory.yaml.tmpl), and its collections: first request, owners, time
// field, throttle scope, dedupe key, incremental strategy and table schema.
package connector

import (
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"m365export/pipeline"
	"m365export/rules"
	"m365export/sinks"
	"m365export/sources/graph"
)

// Owners says what a collection's owners (the units a worker reads) are.
type Owners string

// The owner kinds.
const (
	Tenant Owners = "tenant" // one owner: the whole tenant
	User   Owners = "user"   // each user in scope
	Group  Owners = "group"  // each group
	Team   Owners = "team"   // each team
	// Listed owners are the ids (value[].id) that the collection's
	// ListOwners request lists for the run's window, e.g. the call records
	// that started in it, each then read on its own.
	Listed Owners = "listed"
	// Derived owners come from another collection's records (Derive):
	// online meetings are found from the window's call records, each
	// by its organizer and join URL. One shard derives and reads them all
	// (Derivation).
	Derived Owners = "derived"
)

// Derivation says where a Derived collection's owners come from: the
// records its Sources list for the run's window (every page), each giving
// at most one owner.
//
// The first shard (0) lists them and reads every derived owner; the other
// shards read none, so the sources (call records, throttled hard; every
// user's calendar) are listed once per attempt, not once per shard.
// Derived owners are never stored: an attempt that resumes lists them
// again and skips those its checkpoint holds (as hashes, like every
// owner). Owners that are the same thing (one meeting's several call
// records, and its organizer's event) are one owner, whichever source
// found them: each gives a key that says what makes them the same, and
// the least owner of a key, as strings, is kept, so that the choice
// depends neither on the listing's order nor on the sources' order.
type Derivation struct {
	// Sources are the listings whose records give owners.
	Sources []DerivedSource
	// OwnerField names a field of the collection's First records whose
	// value, as the collection's rules write it, is an owner's _owner
	// (and ledger entry); OwnerValue gives an owner's raw value of it.
	// For meetings: joinWebUrl, which the rules turn into the meeting key.
	OwnerField string
	OwnerValue func(owner string) string
}

// DerivedSource is one listing a Derivation reads: tenant-wide (the
// window's call records), or for each user in the run's scope (their
// calendars).
type DerivedSource struct {
	// From names the table (connector/collection) whose records the
	// listing reads: for the plan and the data dictionary.
	From string
	// PerUser: List is requested for each user of the run's user scope.
	// A user whose listing Graph refuses for that user alone (no mailbox,
	// a mailbox an access policy blocks, deleted since: Graph's skip
	// codes) gives no owners; the others still do.
	PerUser bool
	// Scopes are the least-privileged permissions the listing needs
	// (listing the users adds User.Read.All).
	Scopes []string
	// List returns the path and query listing the records for the window
	// (and the user, PerUser; "" otherwise), with the fields Owner reads.
	List func(user string, w Window) string
	// Owner returns the owner a record of List gives ("" for none) and its
	// key (owners with one key are one owner).
	Owner func(user string, w Window, record []byte) (owner, key string)
}

// Parent names the table whose id an owner of this kind is: the table a
// collection's _owner joins (users, groups or teams). It is "" for the
// tenant (tables it owns have no _owner) and for Listed owners, which are
// the collection's own records (_owner is the record's id).
func (o Owners) Parent() string {
	switch o {
	case User:
		return "users"
	case Group:
		return "groups"
	case Team:
		return "teams"
	}
	return "" // Derived: _owner is a key the collection's rules write
}

// Window is the half-open time range a run exports.
type Window = pipeline.Window

// Settings are the run's settings a collection's requests depend on. The
// zero value is what the data dictionary and the plan's docs show.
type Settings struct {
	// TeamsModel is the licensing and payment model of the Teams export
	// APIs (getAllMessages): "A", "B", or "" (none: evaluation mode).
	TeamsModel string
}

// TeamsModelParam returns the getAllMessages query parameter for s, with its
// leading "&" ("" when no model is set).
func (s Settings) TeamsModelParam() string {
	if s.TeamsModel == "" {
		return ""
	}
	return "&model=" + url.QueryEscape(s.TeamsModel)
}

// Collection declares one collection of a connector and its table.
type Collection struct {
	// Name is the output table, snake_case.
	Name string
	// Doc is one line for the plan and the data dictionary.
	Doc string
	// Owners says what the owners are.
	Owners Owners
	// First returns the first page's path and query (relative to the Graph
	// root) for an owner, window and the run's settings. Later pages follow
	// @odata.nextLink.
	First func(owner string, w Window, s Settings) string
	// ListOwners, for Owners Listed, returns the path and query of the
	// listing whose value[].id are the window's owners (every page of it).
	ListOwners func(w Window) string
	// Derive, for Owners Derived, says where the owners come from.
	Derive *Derivation
	// Steps, if set, make the rows of an owner come from requests that
	// earlier answers name: every page of First is read (not written),
	// Steps[0] maps each of its records, with the owner and the path of
	// the request that read it, to a request (a path under the Graph
	// root, or "" for none), every page of those is read for Steps[1],
	// and so on; the
	// pages of the last step's requests are the rows. A request of a step
	// that answers 404 (the thing it names went away since it was
	// listed) gives no rows; other errors are the owner's.
	Steps []func(owner, request string, record []byte) string
	// Stamp, if set, gives members the job adds to every record of a page
	// before the rules, from the owner and the request the page answers
	// (First, or a Steps request; a nextLink continues its request). They
	// carry what only the owner or the chain knows (the time that put a
	// derived meeting in the window, the attendance report a record is
	// of), must be columns of Schema (cols.From), and the rules write them
	// as they must be written (an id tokenized). Member names hold no dot,
	// so that TimeField can name one.
	Stamp func(owner, request string) map[string]string
	// Throttle is the kind of Graph limit its requests count against; a
	// registry test checks it against graph.ScopeOf of First.
	Throttle graph.ScopeKind
	// Scopes are the least-privileged Graph application permissions its
	// own requests need, as the API's page names them (listing its owners
	// adds what that needs; see Permissions).
	Scopes []string
	// SkipCodes and SkipStatuses: Graph error codes, and HTTP statuses
	// answered with a code Graph's classifier does not know, that mean an
	// owner of this collection cannot be read in this run (recorded in the
	// ledger and skipped), besides those every collection shares (see
	// graph.Classify). Copilot, say, answers a user without a licence so.
	SkipCodes    []string
	SkipStatuses []int
	// Protected marks one of Microsoft's protected Teams APIs: an
	// application may call it only once Microsoft approved its access
	// request (graph-api-notes §8 fact 3). consent gives that step, and an
	// unknown 403 from it is classified as that refusal
	// (graph.Collection.Protected).
	Protected bool
	// DeniedAdvice: a 403 with a code Graph's classifier does not know is
	// a refusal of an access the permissions alone do not give (online
	// meetings: a Teams application access policy); the owner is skipped
	// as denied, and every owner refused is a configuration error, with
	// this advice (graph.Collection.DeniedAdvice). check and consent read
	// it too.
	DeniedAdvice string
	// GlobalOnly: Microsoft offers the API in the global cloud only, not
	// in the national clouds (fact 10); a run with --cloud set to one
	// refuses the collection before any request (Config.Validate).
	GlobalOnly bool
	// TimeField places records in the window and their day (dotted path);
	// "" means a snapshot, written under the run's day.
	TimeField string
	// SenderField and DedupeKey: see pipeline.Collection.
	SenderField string
	DedupeKey   []string
	// Incremental says how later runs avoid re-reading everything.
	Incremental string
	// Retention is how far back Graph keeps the collection's records (0:
	// no limit). A window that starts earlier is refused for a run that
	// exports the collection (a --tables run without it is not): days
	// Graph no longer has must not be committed as complete and empty.
	Retention time.Duration
	// Directory marks group reads, which --no-groups leaves out.
	Directory bool
	// Schema is the table's typed Parquet schema. Schemas only grow: a new
	// column is nullable and bumps Schema.Version. It is also the table's
	// allow-list (Shape): nothing else of a record is ever written.
	Schema *sinks.Schema
	// JSON declares what JSON columns keep inside, by the column's dotted
	// path ("eventDetail", "messageHistory[].reaction"): the column whose
	// shape the JSON value has (a cols.Obj, a cols.List…). A JSON column
	// not named keeps a scalar only (a textDigest column its digest).
	JSON map[string]sinks.Column
	// NoSelect says why the first request carries no $select (Microsoft
	// documents that the API does not take it, or that it drops a kept
	// property); every other collection's first request names exactly
	// Select(Schema) (minus what it asks for with $expand).
	NoSelect string
	// Single marks a request that answers one object (a team, a call
	// record, mailbox settings) rather than a page of records in value.
	Single bool
	// Breaking lists the changes that removed or retyped a column (the only
	// way a column leaves) or gave it another meaning (its values change). Tests hold released schemas to it and the data
	// dictionary shows it.
	Breaking []Breaking
}

// Breaking is a breaking change of a table: a column removed, retyped, or
// given another meaning.
type Breaking struct {
	// Version is the schema version that made the change.
	Version int
	// Column is the dotted path of the column ("chatViewpoint",
	// "attendees[].status").
	Column string
	// Reason says why, for analysts reading the dictionary.
	Reason string
}

// Endpoint is the collection's Graph path in the docs' form
// ("/v1.0/users/{id}/mailboxSettings"), without the query.
func (c *Collection) Endpoint() string {
	p, _, _ := strings.Cut(c.First("{id}", Window{}, Settings{}), "?")
	return p
}

// Connector declares one connector.
type Connector struct {
	// Name is the CLI id, kebab-case ("outlook-mail"), and the output
	// folder.
	Name string
	// Doc is one line for --help and the plan.
	Doc string
	// Collections are read in this order.
	Collections []Collection
	// Rules holds the connector's rule template, rules.RuleTemplate.
	Rules fs.FS
}

//go:embed directory.yaml.tmpl
var directoryRules embed.FS

// RenderRules renders the connector's built-in rules for a variant: its
// own endpoints plus the directory endpoints every connector reads, each
// with a responseSchema generated from the tables' declarations (see
// Collection.Shape): the rules are an allow-list.
func (c *Connector) RenderRules(v rules.Variant) (name string, yamlSrc []byte, err error) {
	return c.RenderRulesWith(v, Requests())
}

// RenderRulesWith renders the built-in rules as RenderRules does, with the
// response schemas generated for reqs instead of the registry's Requests
// (a test widens one allow-list entry so to prove the leak scan fails).
func (c *Connector) RenderRulesWith(v rules.Variant, reqs []rules.Request) (name string, yamlSrc []byte, err error) {
	name, src, err := rules.RenderBuiltin(c.Name, v, directoryRules, c.Rules)
	if err != nil {
		return "", nil, err
	}
	if src, err = rules.AddResponseSchemas(name, src, reqs); err != nil {
		return "", nil, fmt.Errorf("built-in rules %s: %w", name, err)
	}
	return name, src, nil
}

// Plan returns the collections a run reads: all of them, less the group
// reads with noGroups.
func (c *Connector) Plan(noGroups bool) []Collection {
	var out []Collection
	for _, cs := range c.Collections {
		if noGroups && cs.Directory {
			continue
		}
		out = append(out, cs)
	}
	return out
}

var (
	mu       sync.RWMutex
	registry = map[string]*Connector{}
	kebab    = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	snake    = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
)

// Register adds a connector to the registry; connectors call it from init.
// A declaration that is incomplete or a name registered twice is a
// programming error and panics, as database/sql.Register does.
func Register(c Connector) {
	if err := c.validate(); err != nil {
		panic("connector.Register: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[c.Name]; dup {
		panic("connector.Register: " + c.Name + " registered twice")
	}
	registry[c.Name] = &c
}

func (c *Connector) validate() error {
	if !kebab.MatchString(c.Name) {
		return fmt.Errorf("connector name %q is not kebab-case", c.Name)
	}
	if c.Doc == "" || len(c.Collections) == 0 || c.Rules == nil {
		return fmt.Errorf("%s: doc, collections and rules are required", c.Name)
	}
	seen := map[string]bool{}
	for _, cs := range c.Collections {
		switch {
		case !snake.MatchString(cs.Name):
			return fmt.Errorf("%s: collection name %q is not snake_case", c.Name, cs.Name)
		case seen[cs.Name]:
			return fmt.Errorf("%s: collection %s declared twice", c.Name, cs.Name)
		case cs.First == nil || cs.Schema == nil || cs.Doc == "" || cs.Incremental == "" || len(cs.Scopes) == 0:
			return fmt.Errorf("%s/%s: first request, schema, doc, incremental strategy and scopes are required", c.Name, cs.Name)
		case cs.Owners != Tenant && cs.Owners != User && cs.Owners != Group && cs.Owners != Team && cs.Owners != Listed && cs.Owners != Derived:
			return fmt.Errorf("%s/%s: unknown owner kind %q", c.Name, cs.Name, cs.Owners)
		case (cs.Owners == Listed) != (cs.ListOwners != nil):
			return fmt.Errorf("%s/%s: owners %q and ListOwners go together", c.Name, cs.Name, Listed)
		case (cs.Owners == Derived) != (cs.Derive != nil):
			return fmt.Errorf("%s/%s: owners %q and Derive go together", c.Name, cs.Name, Derived)
		case cs.Derive != nil && (len(cs.Derive.Sources) == 0 || cs.Derive.OwnerField == "" || cs.Derive.OwnerValue == nil ||
			slices.ContainsFunc(cs.Derive.Sources, func(d DerivedSource) bool {
				return d.List == nil || d.Owner == nil || d.From == "" || len(d.Scopes) == 0
			})):
			return fmt.Errorf("%s/%s: Derive needs OwnerField, OwnerValue and sources, each with From, List, Owner and Scopes", c.Name, cs.Name)
		}
		if err := cs.validateJSON(); err != nil {
			return fmt.Errorf("%s/%s: %w", c.Name, cs.Name, err)
		}
		seen[cs.Name] = true
	}
	return nil
}

// Lookup returns the named connector.
func Lookup(name string) (*Connector, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := registry[name]
	return c, ok
}

// All returns every registered connector, sorted by name.
func All() []*Connector {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]*Connector, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered connectors, sorted.
func Names() []string {
	var out []string
	for _, c := range All() {
		out = append(out, c.Name)
	}
	return out
}

// Resolve looks up comma-separated or listed names ("all" is every
// connector), in the order given, without repeats.
func Resolve(names []string) ([]*Connector, error) {
	var out []*Connector
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "all" {
			for _, c := range All() {
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
			continue
		}
		c, ok := Lookup(n)
		if !ok {
			return nil, fmt.Errorf("unknown connector %q (one of %s, or all)", n, strings.Join(Names(), ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Needs says what a run reads besides its collections' own requests.
type Needs struct {
	// NoGroups leaves out the group collections (--no-groups).
	NoGroups bool
	// GroupScope: users are scoped by group (--include-group,
	// --exclude-group), so group memberships are read.
	GroupScope bool
	// Tables, if set, are the only collections the run reads (--tables).
	Tables []string
}

// ownerScopes are the least-privileged permissions of listing each kind
// of owner (listed owners come from the collection's own API).
var ownerScopes = map[Owners]string{
	User:  "User.Read.All",        // GET /users
	Group: "GroupMember.Read.All", // GET /groups
	Team:  "Team.ReadBasic.All",   // GET /teams
}

// groupScope is what reading group memberships for a user scope needs.
const groupScope = "GroupMember.Read.All"

// implies maps a permission to a broader one that includes it: asking for
// both is asking for more than the broader alone.
var implies = map[string]string{
	"Chat.ReadBasic.All":      "Chat.Read.All",
	"GroupMember.Read.All":    "Group.Read.All",
	"Calendars.ReadBasic.All": "Calendars.Read",
	"Mail.ReadBasic.All":      "Mail.Read",
	"User.ReadBasic.All":      "User.Read.All",
}

// Permissions returns the Graph application permissions a run of the
// connector (of n.Tables alone, if set) needs, least-privileged per API
// (each collection declares what its own requests need), sorted.
func (c *Connector) Permissions(n Needs) []string {
	set := map[string]bool{}
	for _, cs := range c.Plan(n.NoGroups) {
		if len(n.Tables) > 0 && !slices.Contains(n.Tables, cs.Name) {
			continue
		}
		for _, s := range cs.Scopes {
			set[s] = true
		}
		if s, ok := ownerScopes[cs.Owners]; ok {
			set[s] = true
		}
		if cs.Derive != nil {
			for _, d := range cs.Derive.Sources {
				for _, s := range d.Scopes {
					set[s] = true
				}
				if d.PerUser {
					set[ownerScopes[User]] = true
					if n.GroupScope {
						set[groupScope] = true
					}
				}
			}
		}
		if n.GroupScope && cs.Owners == User {
			set[groupScope] = true
		}
	}
	return minimal(set)
}

// Missing returns the permissions of need that roles grant neither
// themselves nor through a broader permission.
func Missing(need, roles []string) []string {
	var out []string
	for _, s := range need {
		if slices.Contains(roles, s) || slices.Contains(roles, implies[s]) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// minimal drops the permissions a broader one of the set includes.
func minimal(set map[string]bool) []string {
	var out []string
	for s := range set {
		if broader, ok := implies[s]; ok && set[broader] {
			continue
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Scopes returns the application permissions the named connectors need
// for one shared Entra ID application: the union of their runs' needs.
func Scopes(names []string, n Needs) ([]string, error) {
	cs, err := Resolve(names)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, c := range cs {
		for _, s := range c.Permissions(n) {
			set[s] = true
		}
	}
	return minimal(set), nil
}

// Table is one registered table: a connector's collection.
type Table struct {
	Connector *Connector
	*Collection
}

// Tables lists every table, ordered by connector and collection name.
func Tables() []Table {
	var out []Table
	for _, c := range All() {
		for i := range c.Collections {
			out = append(out, Table{Connector: c, Collection: &c.Collections[i]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Connector.Name != out[j].Connector.Name {
			return out[i].Connector.Name < out[j].Connector.Name
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// GraphTime formats t as Graph's filters expect (UTC, seconds).
func GraphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Query escapes an OData query value for a URL.
func Query(s string) string { return url.QueryEscape(s) }

// GeLt is an OData filter for field in [w.From, w.To).
func GeLt(field string, w Window) string {
	return field + " ge " + GraphTime(w.From) + " and " + field + " lt " + GraphTime(w.To)
}

// GtLt is a filter for APIs that accept only gt and lt: it starts one
// second early, and the pipeline drops what lies before the window's start.
func GtLt(field string, w Window) string {
	return field + " gt " + GraphTime(w.From.Add(-time.Second)) + " and " + field + " lt " + GraphTime(w.To)
}
