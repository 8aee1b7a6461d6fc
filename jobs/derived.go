package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"m365export/jobs/connector"
	"m365export/sources"
	"m365export/sources/graph"
)

// Derived owners (connector.Derived) and chained reads
// (connector.Collection.Steps).
//
// The first shard derives a Derived collection's owners from the records
// its Derivation's sources list for the window (the call records; every
// user's calendar, users in the scope's order, Concurrency at a time),
// once per attempt and connector (ownerCache.derived caches them for the
// collections that share the derivation), and reads every one of them
// (pipeline.Collection.OwnShard); the other shards read none, so the
// sources — call records, which Graph throttles hard, and a request per
// user — are listed once per attempt, not once per shard.
//
// Derived owners live only in memory. Owners embed what their requests
// need (a meeting's organizer id and join URL, which carries the tenant's
// and organizer's ids), so they are never written: an attempt that
// resumes derives them again from the same listing, and its checkpoint
// (hashes of the owners done, as for every collection) tells it which to
// skip. The ledger and _owner hold each owner in its parent form, the
// meeting key (ownerid.go), never the raw owner.

// derivedShard is the shard that derives and reads Derived collections.
const derivedShard = 0

// derived lists a derivation's owners for window w: one per key across
// its sources, the least of a key's owners, in the order first found
// (sources in order; a per-user source's users in the scope's order).
func (oc *ownerCache) derived(ctx context.Context, d *connector.Derivation, w connector.Window) ([]string, error) {
	var id strings.Builder
	for _, src := range d.Sources {
		id.WriteString(src.List("{user}", w) + "\n")
	}
	oc.deriveMu.Lock()
	defer oc.deriveMu.Unlock()
	oc.mu.Lock()
	l, ok := oc.derivedLists[id.String()]
	oc.mu.Unlock()
	if ok {
		return l.Strings(), nil
	}
	var out []string
	seen := map[string]int{} // key → index in out
	add := func(owner, key string) {
		if i, ok := seen[key]; ok {
			// One thing listed several times (a meeting's call records
			// and its event): keep the least owner, whatever the order.
			out[i] = min(out[i], owner)
			return
		}
		seen[key] = len(out)
		out = append(out, owner)
	}
	for _, src := range d.Sources {
		if !src.PerUser {
			if err := oc.deriveFrom(ctx, src, "", w, add); err != nil {
				return nil, err
			}
			continue
		}
		users, err := oc.get(ctx, connector.User)
		if err != nil {
			return nil, fmt.Errorf("derive owners from %s: %w", src.From, err)
		}
		if oc.deriveUsers > 0 && len(users) > oc.deriveUsers {
			users = users[:oc.deriveUsers]
		}
		// Each user's listing into its own slot, merged in the users'
		// order: the result does not depend on which answers first.
		found := make([][][2]string, len(users))
		skipped := make([]bool, len(users))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, oc.cfg.Concurrency))
		for i, u := range users {
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				err := oc.deriveFrom(gctx, src, u, w, func(owner, key string) { found[i] = append(found[i], [2]string{owner, key}) })
				if errors.Is(err, sources.ErrSkipOwner) {
					// This user's calendar alone is refused (no mailbox,
					// an access policy, deleted): the meetings it holds
					// are found by their call records only.
					found[i], skipped[i] = nil, true
					return nil
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := 0
		for i := range users {
			if skipped[i] {
				n++
			}
			for _, f := range found[i] {
				add(f[0], f[1])
			}
		}
		if n > 0 {
			oc.logger().Info("derived owners: some users' listings refused", "from", src.From, "users", len(users), "refused", n)
		}
	}
	oc.mu.Lock()
	oc.derivedLists[id.String()] = sources.CompactIDs(out)
	oc.mu.Unlock()
	return out, nil
}

// deriveFrom reads every page of src's listing for user (PerUser) or the
// tenant ("") and calls add with each owner a record gives and its key.
// Errors name no user: a user id is a raw identifier.
func (oc *ownerCache) deriveFrom(ctx context.Context, src connector.DerivedSource, user string, w connector.Window,
	add func(owner, key string)) error {
	path := src.List(user, w)
	coll := &graph.Collection{Client: oc.client, First: func(string) string { return path }}
	n := 0
	for pg, err := range sources.Pages(ctx, coll, user, "") {
		if err != nil {
			return fmt.Errorf("derive owners from %s page %d: %w", src.From, n, err)
		}
		n++
		var body struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(pg.Body, &body); err != nil {
			return fmt.Errorf("derive owners from %s page %d: %w", src.From, n, err)
		}
		for _, rec := range body.Value {
			if owner, key := src.Owner(user, w, rec); owner != "" {
				add(owner, key)
			}
		}
	}
	return nil
}

// chainSource reads a collection with Steps or Stamp: its pages are those
// of the last step's requests (First's without steps), each record given
// the members stamp names for its request.
type chainSource struct {
	*graph.Collection // First, Owners and the error classification
	steps             []func(owner, request string, record []byte) string
	stamp             func(owner, request string) map[string]string
}

// Within says a chained read cannot be narrowed to a part of the window
// (it would otherwise be the embedded Collection's, which skips the steps):
// its steps and stamps are of the whole window.
func (c *chainSource) Within(time.Time, time.Time) (sources.Source, bool) { return nil, false }

// chainToken is a chainSource's paging state: the request being read (a
// nextLink or a path), the step request it continues, and those left. It
// lives in memory only.
type chainToken struct {
	Next string   `json:"n"`
	Req  string   `json:"q"`
	Rest []string `json:"r,omitempty"`
}

// nextRequest is the paging state of the first of reqs.
func nextRequest(reqs []string) chainToken {
	return chainToken{Next: reqs[0], Req: reqs[0], Rest: reqs[1:]}
}

// Page returns one page of the last step's requests for owner: token ""
// reads First and the steps before the last, then the first page.
func (c *chainSource) Page(ctx context.Context, owner, token string) (sources.Page, error) {
	var t chainToken
	if token == "" {
		first := c.First(owner)
		reqs := []string{first}
		for i, step := range c.steps {
			var next []string
			for _, req := range reqs {
				err := c.each(ctx, owner, req, i > 0, func(rec []byte) {
					if p := step(owner, req, rec); p != "" {
						next = append(next, p)
					}
				})
				if err != nil {
					return sources.Page{}, err
				}
			}
			reqs = next
		}
		if len(reqs) == 0 {
			// Nothing to read (no meeting, no report): an empty page of the
			// first request, which its rules allow.
			return sources.Page{URL: first, Body: []byte(`{"value":[]}`)}, nil
		}
		t = nextRequest(reqs)
	} else if err := json.Unmarshal([]byte(token), &t); err != nil {
		return sources.Page{}, fmt.Errorf("chained read: bad paging state: %w", err)
	}
	for {
		pg, err := c.Collection.Page(ctx, owner, t.Next)
		if gone(err) {
			// The thing the request names went away since it was listed
			// (a report deleted): it has no rows.
			if len(t.Rest) == 0 {
				return sources.Page{URL: c.First(owner), Body: []byte(`{"value":[]}`)}, nil
			}
			t = nextRequest(t.Rest)
			continue
		}
		if err != nil {
			return sources.Page{}, err
		}
		if c.stamp != nil {
			if pg.Body, err = stampPage(pg.Body, c.stamp(owner, t.Req)); err != nil {
				return sources.Page{}, err
			}
		}
		switch {
		case pg.Next != "":
			t.Next = pg.Next
		case len(t.Rest) > 0:
			t = nextRequest(t.Rest)
		default:
			return pg, nil
		}
		b, err := json.Marshal(t)
		if err != nil {
			return sources.Page{}, err
		}
		pg.Next = string(b)
		return pg, nil
	}
}

// stampPage adds members add to every record of page body's value[] (a
// member of the same name the record has is replaced).
func stampPage(body []byte, add map[string]string) ([]byte, error) {
	if len(add) == 0 {
		return body, nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("stamp page: %w", err)
	}
	var recs []map[string]json.RawMessage
	if v, ok := env["value"]; ok {
		if err := json.Unmarshal(v, &recs); err != nil {
			return nil, fmt.Errorf("stamp page: value: %w", err)
		}
	}
	for _, r := range recs {
		if r == nil {
			continue // a null record: nothing to stamp
		}
		for k, v := range add {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			r[k] = b
		}
	}
	v, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("stamp page: %w", err)
	}
	env["value"] = v
	return json.Marshal(env)
}

// each calls fn with every record of every page of request req; a 404 of
// a later step's request (mayBeGone) gives none.
func (c *chainSource) each(ctx context.Context, owner, req string, mayBeGone bool, fn func([]byte)) error {
	n := 0
	for pg, err := range sources.Pages(ctx, c.Collection, owner, req) {
		if err != nil {
			if mayBeGone && gone(err) {
				return nil
			}
			return fmt.Errorf("chained request page %d: %w", n, err) // its path holds raw ids
		}
		n++
		var body struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(pg.Body, &body); err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		for _, rec := range body.Value {
			fn(rec)
		}
	}
	return nil
}

// gone reports whether err is Graph's 404.
func gone(err error) bool {
	var ge *graph.Error
	return errors.As(err, &ge) && ge.Status == http.StatusNotFound
}

// ownShard reports whether the pipeline must keep every owner the
// collection's source lists on this shard (Derived owners: the source
// lists them on the first shard only).
func ownShard(cs *connector.Collection) bool { return cs.Owners == connector.Derived }
