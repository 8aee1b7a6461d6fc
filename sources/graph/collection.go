package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"m365export/sources"
)

// Collection is a Graph collection read owner by owner: a connector is
// declared as data (which owners, which first URL, which headers, which
// throttle scope), and Collection is its sources.Source.
type Collection struct {
	// Client sends the requests.
	Client *Client
	// Owners lists the partitions (nil: one tenant-wide partition "").
	Owners func(ctx context.Context) ([]string, error)
	// First returns the first page's URL for an owner (absolute, or a
	// path under the Graph root such as "/v1.0/users/{id}/messages?…").
	First func(owner string) string
	// FirstIn, if set, is First for a part [from, to) of the run's
	// window: the collection is then a sources.Narrower. It must filter
	// on the time field the reader places records by (or select by
	// overlap, as calendarView does), so that the parts of a window
	// together read what the window reads.
	FirstIn func(owner string, from, to time.Time) string
	// Headers go with every page, nextLinks included (e.g.
	// ConsistencyLevel: eventual; Prefer: odata.maxpagesize=…).
	Headers http.Header
	// Scope gives an owner's throttle scope (nil: derived from each URL).
	Scope func(owner string) Scope
	// SkipCodes are Graph error codes that, for this collection, mean the
	// owner cannot be read in this run (recorded and skipped), besides the
	// codes every collection shares (no mailbox, deleted user…).
	SkipCodes []string
	// SkipStatuses are HTTP statuses that mean the same when Graph answers
	// them with a code the classifier does not know (Copilot answers a user
	// without a licence with a generic 403 or 404).
	SkipStatuses []int
	// Protected marks one of Microsoft's protected Teams APIs, which
	// answer an application Microsoft has not approved with 403: such an
	// answer is classified as that refusal, with what to do.
	Protected bool
	// DeniedAdvice, if set, classifies a 403 whose code Classify does not
	// know as a refusal of an access Graph's permissions alone do not give
	// (online meetings need a Teams application access policy): the owner
	// is skipped as denied, with this advice.
	DeniedAdvice string

	// PageBytes, if set, is the size a page should stay under (the
	// process's byte budget decides it). Once the collection has read
	// pages with records, each owner's first request asks for no more
	// records than fit: its $top is lowered (never raised) to PageBytes
	// over the bytes a record took so far, at least minTop. Graph honours
	// a smaller $top on every collection the exporter reads and carries
	// it into its nextLinks, which are used verbatim.
	//
	// Until then, one owner's first request goes alone (a probe) and the
	// others wait for its page: owners started together would otherwise
	// all page at the connector's $top, since nextLinks are used verbatim.
	PageBytes int64

	seenBytes, seenRecords atomic.Int64

	probeMu sync.Mutex
	probe   chan struct{} // closed when the probe in flight ends; nil: none in flight
	probes  int           // probes that ended without records
}

// maxProbes bounds the probes that end without records (owners with
// nothing to read, or refused) before first requests stop waiting.
const maxProbes = 16

// awaitProbe makes the caller the probe (done must be called when its
// request ends) or waits for the probe in flight, until the collection
// has seen records.
func (c *Collection) awaitProbe(ctx context.Context) (done func(), err error) {
	for {
		if c.PageBytes <= 0 || c.seenRecords.Load() > 0 {
			return func() {}, nil
		}
		c.probeMu.Lock()
		if c.probes >= maxProbes {
			c.probeMu.Unlock()
			return func() {}, nil
		}
		if c.probe == nil {
			ch := make(chan struct{})
			c.probe = ch
			c.probeMu.Unlock()
			return func() {
				c.probeMu.Lock()
				defer c.probeMu.Unlock()
				if c.seenRecords.Load() == 0 {
					c.probes++
				}
				c.probe = nil
				close(ch)
			}, nil
		}
		ch := c.probe
		c.probeMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the collection's first page: %w", ctx.Err())
		}
	}
}

// minTop is the fewest records a lowered $top asks for.
const minTop = 10

var (
	_ sources.Source   = (*Collection)(nil)
	_ sources.Checker  = (*Collection)(nil)
	_ sources.Narrower = (*Collection)(nil)
)

// Partitions lists the owners.
func (c *Collection) Partitions(ctx context.Context) ([]string, error) {
	if c.Owners == nil {
		return []string{""}, nil
	}
	return c.Owners(ctx) // the caller says it was listing owners
}

// Page returns one page of owner p. token "" is the first page; otherwise
// token is a nextLink or deltaLink, used verbatim.
func (c *Collection) Page(ctx context.Context, p, token string) (sources.Page, error) {
	return c.page(ctx, p, token, c.First)
}

// Within returns the collection narrowed to [from, to) (see FirstIn); ok
// is false without FirstIn.
func (c *Collection) Within(from, to time.Time) (sources.Source, bool) {
	if c.FirstIn == nil {
		return nil, false
	}
	return &within{c: c, first: func(owner string) string { return c.FirstIn(owner, from, to) }}, true
}

// within is a Collection narrowed to a part of its window: it shares the
// collection's client, probe and page-size state.
type within struct {
	c     *Collection
	first func(owner string) string
}

func (w *within) Partitions(ctx context.Context) ([]string, error) { return w.c.Partitions(ctx) }

func (w *within) Page(ctx context.Context, p, token string) (sources.Page, error) {
	return w.c.page(ctx, p, token, w.first)
}

// page is Page with the first request's URL from first.
func (c *Collection) page(ctx context.Context, p, token string, first func(string) string) (sources.Page, error) {
	u := token
	if u == "" {
		if first == nil {
			return sources.Page{}, fmt.Errorf("collection has no First URL: %w", sources.ErrConfig)
		}
		done, err := c.awaitProbe(ctx)
		if err != nil {
			return sources.Page{}, err
		}
		defer done()
		u = c.lowerTop(first(p))
	}
	var l links
	opts := make([]RequestOption, 0, 3)
	opts = append(opts, WithValidate(func(b []byte) (err error) {
		l, err = scanLinks(b)
		return err
	}))
	if len(c.Headers) > 0 {
		opts = append(opts, WithHeaders(c.Headers))
	}
	if c.Scope != nil {
		opts = append(opts, WithScope(c.Scope(p)))
	}
	resp, err := c.Client.Get(ctx, u, opts...)
	if err != nil {
		c.classifySkip(err)
		return sources.Page{}, err // the caller numbers its pages
	}
	if l.next != "" && l.next == resp.URL {
		// A page that links to itself would be read forever.
		return sources.Page{}, fmt.Errorf("next page: the nextLink repeats the request (request-id %s)", resp.RequestID)
	}
	if l.records > 0 {
		c.seenBytes.Add(int64(len(resp.Body)))
		c.seenRecords.Add(int64(l.records))
	}
	return sources.Page{URL: resp.URL, Body: resp.Body, Next: l.next, Delta: l.delta}, nil
}

// lowerTop lowers the $top of a first page's URL so that a page stays
// under PageBytes, by the bytes per record seen so far.
func (c *Collection) lowerTop(u string) string {
	if c.PageBytes <= 0 {
		return u
	}
	recs := c.seenRecords.Load()
	if recs == 0 {
		return u
	}
	per := max(1, c.seenBytes.Load()/recs)
	want := max(minTop, c.PageBytes/per)
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return u
	}
	for _, key := range []string{"$top=", "%24top="} {
		i := strings.Index(u[q:], key)
		if i < 0 || (u[q+i-1] != '?' && u[q+i-1] != '&') {
			continue
		}
		vs := q + i + len(key)
		ve := vs
		for ve < len(u) && u[ve] >= '0' && u[ve] <= '9' {
			ve++
		}
		top, err := strconv.ParseInt(u[vs:ve], 10, 64)
		if err != nil || top <= want {
			return u
		}
		return u[:vs] + strconv.FormatInt(want, 10) + u[ve:]
	}
	return u
}

// classifySkip applies the collection's own skip decisions to a Graph
// error the shared classifier left unclassified.
func (c *Collection) classifySkip(err error) {
	var ge *Error
	if !errors.As(err, &ge) || ge.Kind != nil || ge.tokenEndpoint {
		return
	}
	if c.Protected {
		ge.classifyProtected()
	}
	if c.DeniedAdvice != "" {
		ge.classifyDenied(c.DeniedAdvice)
	}
	if ge.Kind == nil && slices.Contains(c.SkipCodes, ge.Code) || (!known(ge.Code) && slices.Contains(c.SkipStatuses, ge.Status)) {
		ge.Kind = sources.ErrSkipOwner
	}
}

// Check reads the first page of up to five owners and returns the first
// error that is not about one owner: a preflight for authentication,
// consent and permissions (`m365export check`). nil means a page was read,
// or every owner tried was skipped for reasons of its own. Every owner
// tried refused (sources.ErrDenied) with the classifier's advice — refusals
// of the application or the tenant, such as an unapproved protected API or
// a licensing model — is a configuration error wrapping the last one. A
// refusal without advice (ErrorAccessDenied) may be a policy scoped to
// other users than the first five, and stays the run's to judge.
func (c *Collection) Check(ctx context.Context) error {
	owners, err := c.Partitions(ctx)
	if err != nil {
		return err
	}
	tried := owners[:min(len(owners), 5)]
	var denied error
	n := 0
	for _, o := range tried {
		_, err := c.Page(ctx, o, "")
		if err == nil || !errors.Is(err, sources.ErrSkipOwner) {
			return err
		}
		if ge := (*Error)(nil); errors.Is(err, sources.ErrDenied) && errors.As(err, &ge) && ge.Advice != "" {
			denied = err
			n++
		}
	}
	if n > 0 && n == len(tried) {
		return fmt.Errorf("%w: every owner tried (%d) refused: %w", sources.ErrConfig, n, denied)
	}
	return nil // every owner tried was skipped: not a configuration problem by itself
}

// UsersPath lists every user's id, 999 (the maximum) per page.
const UsersPath = "/v1.0/users?$select=id&$top=999"

// userIDs pages through the tenant's users and returns their ids, in
// Graph's order. Use it as Collection.Owners:
func userIDs(ctx context.Context, c *Client) ([]string, error) {
	var ids []string
	src := &Collection{Client: c, First: func(string) string { return UsersPath }}
	n := 0
	for pg, err := range sources.Pages(ctx, src, "", "") {
		if err != nil {
			return nil, fmt.Errorf("users page %d: %w", n, err)
		}
		n++
		var body struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := json.Unmarshal(pg.Body, &body); err != nil {
			return nil, fmt.Errorf("users page %d: %w", n, err)
		}
		for _, v := range body.Value {
			if v.ID == "" {
				return nil, fmt.Errorf("users page %d: a user without an id", n)
			}
			ids = append(ids, v.ID)
		}
	}
	return ids, nil
}

// isSkip reports whether err means "skip this owner", and Graph's code for
// the ledger.
func isSkip(err error) (code string, ok bool) {
	if !errors.Is(err, sources.ErrSkipOwner) {
		return "", false
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code, true
	}
	return "", true
}
