// Package sources defines how records are read: a Source lists the owners
// (partitions) it reads and returns one page of an owner at a time. The one
// paging loop is Pages; connectors never write their own.
//
// A Source is stateless between calls: callers own the loop, the
// concurrency and the checkpoints. Implementations live in sub-packages
// (sources/graph for Microsoft Graph) and never import pipeline, jobs, sinks
// or rules.
package sources

import (
	"context"
	"errors"
	"iter"
	"time"
)

// Source reads the pages of one collection.
type Source interface {
	// Partitions lists the owners to read (users, teams, channels, or one
	// tenant-wide partition).
	Partitions(ctx context.Context) ([]string, error)
	// Page returns one page of partition p. token "" is the first page;
	// Page.Next "" marks the last page.
	Page(ctx context.Context, p, token string) (Page, error)
}

// Checker is implemented by sources that can verify, before a run, that
// they can read at all (credentials, consent, permissions). Check returns
// an error wrapping ErrConfig when they cannot.
type Checker interface {
	Check(ctx context.Context) error
}

// Narrower is implemented by sources whose owners' reads cover the run's
// time window and can cover a part of it instead. Within returns a Source
// that reads, for each owner, the records whose time lies in [from, to)
// (a sub-window of the run's window), with the same owners and pages as
// the source itself, only narrower first requests; ok is false when this
// source's reads do not depend on the window (a snapshot, a chained or
// listed read), and then it cannot be narrowed. The request may return
// some records outside [from, to) (an overlap, a second early): the
// reader keeps only those inside, as it does for the run's window.
type Narrower interface {
	Within(from, to time.Time) (s Source, ok bool)
}

// Page is one response exactly as the API returned it.
type Page struct {
	// URL is the request URL that produced Body; the sanitizer chooses
	// its rule by it.
	URL string
	// Body is the whole response envelope (value[], @odata fields), byte
	// for byte: the sanitizer needs all of it.
	Body []byte
	// Next is opaque (Graph's @odata.nextLink, used verbatim); "" on the
	// last page.
	Next string
	// Delta is Graph's @odata.deltaLink on the last page of a delta
	// query, to be stored for the next run; "" otherwise.
	Delta string
}

// Errors a Source returns, wrapped, so that callers classify with errors.Is.
var (
	// ErrSkipOwner: this owner cannot be read and never will be in this
	// run (no mailbox, no licence, deleted); record it and go on.
	ErrSkipOwner = errors.New("owner skipped")
	// ErrConfig: the job's configuration is wrong (consent, permissions,
	// tenant, client id); retrying cannot help.
	ErrConfig = errors.New("configuration error")
	// ErrResync: a stored delta token expired; start that scope over.
	ErrResync = errors.New("delta token expired, resync needed")
	// ErrDenied is wrapped, beside ErrSkipOwner or ErrConfig, by an answer
	// that refuses access: one owner may be blocked by a policy, but every
	// owner denied means the application lacks a permission.
	ErrDenied = errors.New("access denied")
)

// Pages walks partition p of s from token, one page at a time, stopping at
// the first error (which it yields) or after the last page.
func Pages(ctx context.Context, s Source, p, token string) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		for {
			if err := ctx.Err(); err != nil {
				yield(Page{}, err)
				return
			}
			pg, err := s.Page(ctx, p, token)
			if err != nil {
				yield(Page{}, err)
				return
			}
			if !yield(pg, nil) || pg.Next == "" {
				return
			}
			token = pg.Next
		}
	}
}
