package jobs

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"

	"m365export/jobs/connector"
	"m365export/sources"
	"m365export/sources/graph"
)

// ownerCache lists a run's owners once and shares them between the
// collections of a connector: users (in the configured scope), groups and
// teams. The lists hold Graph object ids only. Listed owners (a
// collection's own listing for the window, such as call records) are not
// shared: each collection lists its own. Derived owners are shared by the
// collections of one derivation (derived.go).
type ownerCache struct {
	client *graph.Client
	cfg    *Config
	mu     sync.Mutex
	lists  map[connector.Owners]*sources.IDs // compact: 100k users cost ~4 MB
	// derivedLists holds Derived owners by their derivation's listing
	// (derived.go).
	derivedLists map[string]*sources.IDs
	// deriveMu makes the collections of one derivation wait for the
	// first to list its owners, rather than list them again.
	deriveMu sync.Mutex
	// deriveUsers, if positive, bounds the users a per-user derived
	// source lists (check probes a sample, not every calendar).
	deriveUsers int
	// log, if set, takes the derivation's counts (derived.go).
	log *slog.Logger
}

// logger is oc.log, or a logger that discards.
func (oc *ownerCache) logger() *slog.Logger {
	if oc.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return oc.log
}

func newOwnerCache(c *graph.Client, cfg *Config) *ownerCache {
	return &ownerCache{client: c, cfg: cfg, lists: map[connector.Owners]*sources.IDs{}, derivedLists: map[string]*sources.IDs{}}
}

// lister returns graph.Collection.Owners for a collection and window (nil
// for the tenant).
func (oc *ownerCache) lister(cs *connector.Collection, w connector.Window) func(context.Context) ([]string, error) {
	switch cs.Owners {
	case connector.Tenant:
		return nil
	case connector.Listed:
		path := cs.ListOwners(w)
		return func(ctx context.Context) ([]string, error) { return oc.ids(ctx, path, nil) }
	case connector.Derived:
		if oc.cfg.Shards > 1 && oc.cfg.Shard != derivedShard {
			return func(context.Context) ([]string, error) { return nil, nil } // the first shard reads them
		}
		d := cs.Derive
		return func(ctx context.Context) ([]string, error) { return oc.derived(ctx, d, w) }
	}
	return func(ctx context.Context) ([]string, error) { return oc.get(ctx, cs.Owners) }
}

func (oc *ownerCache) get(ctx context.Context, k connector.Owners) ([]string, error) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if l, ok := oc.lists[k]; ok {
		return l.Strings(), nil
	}
	var l []string
	var err error
	switch k {
	case connector.User:
		l, err = oc.users(ctx)
	case connector.Group:
		l, err = oc.ids(ctx, "/v1.0/groups?$select=id&$top=999", nil)
	case connector.Team:
		l, err = oc.ids(ctx, "/v1.0/teams", nil)
	default:
		err = fmt.Errorf("unknown owner kind %q", k)
	}
	if err != nil {
		return nil, err
	}
	oc.lists[k] = sources.CompactIDs(l)
	return l, nil
}

type listed struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

// ids pages through path and returns the ids of its value[], calling each
// (if set) for every item.
func (oc *ownerCache) ids(ctx context.Context, path string, each func(listed)) ([]string, error) {
	src := &graph.Collection{Client: oc.client, First: func(string) string { return path }}
	var out []string
	n := 0
	for pg, err := range sources.Pages(ctx, src, "", "") {
		if err != nil {
			return nil, fmt.Errorf("list %s page %d: %w", strings.SplitN(path, "?", 2)[0], n, err)
		}
		n++
		var body struct {
			Value []listed `json:"value"`
		}
		if err := json.Unmarshal(pg.Body, &body); err != nil {
			return nil, fmt.Errorf("list %s page %d: %w", strings.SplitN(path, "?", 2)[0], n, err)
		}
		for _, v := range body.Value {
			if v.ID == "" {
				continue
			}
			out = append(out, v.ID)
			if each != nil {
				each(v)
			}
		}
	}
	return out, nil
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// users lists the users in scope: all of them, or those the users file
// names, or members of the included groups; minus members of the excluded
// groups.
func (oc *ownerCache) users(ctx context.Context) ([]string, error) {
	cfg := oc.cfg
	var wanted map[string]bool // lower-cased ids, UPNs or mails
	if cfg.UsersFile != "" {
		f, err := os.Open(cfg.UsersFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --users-file: %w", ErrUsage, err)
		}
		defer func() { _ = f.Close() }() // read-only: its close error says nothing about what was read
		wanted = map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			wanted[strings.ToLower(line)] = true
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: --users-file: %w", ErrUsage, err)
		}
		if len(wanted) == 0 {
			return nil, fmt.Errorf("%w: --users-file %s lists no user", ErrUsage, cfg.UsersFile)
		}
	}
	matched := map[string]bool{}
	all, err := oc.ids(ctx, "/v1.0/users?$select=id,userPrincipalName,mail&$top=999", func(u listed) {
		if wanted == nil {
			return
		}
		for _, k := range []string{u.ID, u.UserPrincipalName, u.Mail} {
			if k != "" && wanted[strings.ToLower(k)] {
				matched[u.ID] = true
				matched["\x00"+strings.ToLower(k)] = true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if wanted != nil {
		missing := 0
		for k := range wanted {
			if !matched["\x00"+k] {
				missing++
			}
		}
		if missing > 0 {
			// Never name them: they may be email addresses.
			fmt.Fprintf(os.Stderr, "m365export: %d entries of --users-file match no user of the tenant\n", missing)
		}
	}
	include := func(id string) bool { return wanted == nil || matched[id] }
	if len(cfg.IncludeGroup) > 0 {
		in, err := oc.members(ctx, cfg.IncludeGroup)
		if err != nil {
			return nil, err
		}
		prev := include
		include = func(id string) bool { return prev(id) && in[id] }
	}
	if len(cfg.ExcludeGroup) > 0 {
		out, err := oc.members(ctx, cfg.ExcludeGroup)
		if err != nil {
			return nil, err
		}
		prev := include
		include = func(id string) bool { return prev(id) && !out[id] }
	}
	var l []string
	for _, id := range all {
		if include(id) {
			l = append(l, id)
		}
	}
	return l, nil
}

func (oc *ownerCache) members(ctx context.Context, groups []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, g := range groups {
		if !guidRE.MatchString(g) {
			return nil, fmt.Errorf("%w: group %q: give the group's object id", ErrUsage, g)
		}
		ids, err := oc.ids(ctx, "/v1.0/groups/"+g+"/members?$select=id&$top=999", nil)
		if err != nil {
			return nil, fmt.Errorf("members of group %s: %w", g, err)
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	return set, nil
}
