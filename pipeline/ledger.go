package pipeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"m365export/sources"
)

// Outcome of one owner of one collection.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
	// StatusCancelled: the run stopped (a signal, or another owner's fatal
	// error) before this owner was read to its end; nothing of the
	// collection was committed.
	StatusCancelled = "cancelled"
)

// status is an outcome in one byte; the zero value is "cancelled" (not read
// to its end), which every owner is until its worker says otherwise.
type status uint8

const (
	stCancelled status = iota
	stOK
	stSkipped
	stFailed
)

var statusNames = [...]string{stCancelled: StatusCancelled, stOK: StatusOK, stSkipped: StatusSkipped, stFailed: StatusFailed}

func (s status) String() string { return statusNames[s] }

func parseStatus(s string) (status, bool) {
	for i, n := range statusNames {
		if n == s {
			return status(i), true
		}
	}
	return 0, false
}

// LedgerEntry is one owner's outcome in one collection. Owner is in the
// form the collection's _owner holds (Collection.OwnerID, else
// Job.OwnerID): a user as users.id holds it, never raw unless the run keeps
// ids; Code is Graph's error code, never a message.
type LedgerEntry struct {
	Collection string `json:"collection"`
	Owner      string `json:"owner"`
	Status     string `json:"status"`
	Code       string `json:"code,omitempty"`
	Records    int64  `json:"records"`
	Pages      int64  `json:"pages"`
	// Rejected counts the owner's records that were not written because
	// they do not fit the table, and RejectedReasons by reason (see the
	// package doc); both absent when none. They do not change Status.
	Rejected        int64   `json:"rejected,omitempty"`
	RejectedReasons Reasons `json:"rejected_reasons,omitempty"`
}

// Reasons counts rejected records by reason ("invalid timestamp in
// createdDateTime").
type Reasons map[string]int64

// Total is the number of records counted.
func (r Reasons) Total() int64 {
	var n int64
	for _, v := range r {
		n += v
	}
	return n
}

// add adds o's counts to r, which it returns (made if nil).
func (r Reasons) add(o Reasons) Reasons {
	if len(o) == 0 {
		return r
	}
	if r == nil {
		r = Reasons{}
	}
	for k, v := range o {
		r[k] += v
	}
	return r
}

// outcome is what the pipeline keeps per owner while it runs: a few words,
// not the owner's pseudonym, so that a run's memory does not grow with the
// tenant (the pseudonym is computed when the ledger is read).
type outcome struct {
	records int64
	pages   uint32
	code    code
	status  status
}

// code is an interned Graph error code: a run meets a handful of distinct
// codes, and 100k owners should not hold 100k string headers.
type code uint16

var codes = struct {
	mu   sync.Mutex
	idx  map[string]code
	list []string
}{idx: map[string]code{"": 0}, list: []string{""}}

func internCode(s string) code {
	codes.mu.Lock()
	defer codes.mu.Unlock()
	if c, ok := codes.idx[s]; ok {
		return c
	}
	if len(codes.list) > 1<<16-2 {
		s = "(too many distinct error codes)"
		if c, ok := codes.idx[s]; ok {
			return c
		}
	}
	c := code(len(codes.list))
	codes.idx[s] = c
	codes.list = append(codes.list, s)
	return c
}

func (c code) String() string {
	codes.mu.Lock()
	defer codes.mu.Unlock()
	return codes.list[c]
}

// ledgerPart is one collection's outcomes, index-aligned with its owners.
type ledgerPart struct {
	collection string
	owners     *sources.IDs // raw ids, never written: ownerID maps them
	out        []outcome
	ownerID    func(string) string

	// rejected holds the rejected records of the few owners that have
	// any, by owner index.
	rejMu    sync.Mutex
	rejected map[int]Reasons
}

// reject counts one rejected record of owner i.
func (p *ledgerPart) reject(i int, reason string) {
	p.rejMu.Lock()
	defer p.rejMu.Unlock()
	if p.rejected == nil {
		p.rejected = map[int]Reasons{}
	}
	if p.rejected[i] == nil {
		p.rejected[i] = Reasons{}
	}
	p.rejected[i][reason]++
}

// rejectedOf returns a copy of owner i's rejected records (nil if none).
func (p *ledgerPart) rejectedOf(i int) Reasons {
	p.rejMu.Lock()
	defer p.rejMu.Unlock()
	return Reasons(nil).add(p.rejected[i])
}

// setRejected replaces owner i's rejected records (a checkpoint's).
func (p *ledgerPart) setRejected(i int, r Reasons) {
	p.rejMu.Lock()
	defer p.rejMu.Unlock()
	if len(r) == 0 {
		delete(p.rejected, i)
		return
	}
	if p.rejected == nil {
		p.rejected = map[int]Reasons{}
	}
	p.rejected[i] = Reasons(nil).add(r)
}

// Ledger is a run's per-owner outcomes, in collection and owner order. It
// is compact while the run goes and pseudonymizes owners as it is read;
// Summary.WriteJSON streams it. A Ledger read back from JSON holds the
// decoded entries.
type Ledger struct {
	parts   []*ledgerPart
	decoded []LedgerEntry
}

func (l *Ledger) add(p *ledgerPart) { l.parts = append(l.parts, p) }

// Len is the number of entries.
func (l *Ledger) Len() int {
	n := len(l.decoded)
	for _, p := range l.parts {
		n += len(p.out)
	}
	return n
}

// All yields the entries with their index.
func (l *Ledger) All() iter.Seq2[int, LedgerEntry] {
	return func(yield func(int, LedgerEntry) bool) {
		i := 0
		for _, p := range l.parts {
			for j := range p.out {
				if !yield(i, p.entry(j)) {
					return
				}
				i++
			}
		}
		for _, e := range l.decoded {
			if !yield(i, e) {
				return
			}
			i++
		}
	}
}

func (p *ledgerPart) entry(j int) LedgerEntry {
	o := &p.out[j]
	rej := p.rejectedOf(j)
	return LedgerEntry{Collection: p.collection, Owner: p.ownerID(p.owners.At(j)), Status: o.status.String(),
		Code: o.code.String(), Records: o.records, Pages: int64(o.pages), Rejected: rej.Total(), RejectedReasons: rej}
}

// MarshalJSON encodes the entries as a JSON array (Summary.WriteJSON
// streams them instead).
func (l Ledger) MarshalJSON() ([]byte, error) {
	all := make([]LedgerEntry, 0, l.Len())
	for _, e := range l.All() {
		all = append(all, e)
	}
	return json.Marshal(all)
}

// UnmarshalJSON decodes a JSON array of entries.
func (l *Ledger) UnmarshalJSON(b []byte) error {
	*l = Ledger{}
	return json.Unmarshal(b, &l.decoded)
}

// CollectionSummary sums up one collection.
type CollectionSummary struct {
	Name       string         `json:"name"`
	Records    int64          `json:"records"`
	Owners     int            `json:"owners"`
	OK         int            `json:"ok"`
	Skipped    int            `json:"skipped"`
	Failed     int            `json:"failed"`
	Partitions map[string]int `json:"partitions"` // dt → records
	Committed  bool           `json:"committed"`
	Resumed    bool           `json:"resumed,omitempty"` // committed by an earlier attempt
	// FromCheckpoint counts owners an earlier attempt finished (restored
	// from its checkpoint, not read again).
	FromCheckpoint int `json:"from_checkpoint,omitempty"`
	// Rejected counts the records that were not written because they do
	// not fit the table, and RejectedReasons by reason (see the package
	// doc); both absent when none.
	Rejected        int64   `json:"rejected,omitempty"`
	RejectedReasons Reasons `json:"rejected_reasons,omitempty"`
}

// SummaryHead is a run summary without its ledger.
type SummaryHead struct {
	Connector   string              `json:"connector"`
	RunID       string              `json:"run_id"`
	Shard       int                 `json:"shard"`
	Shards      int                 `json:"shards"`
	WindowFrom  time.Time           `json:"window_from"`
	WindowTo    time.Time           `json:"window_to"`
	Started     time.Time           `json:"started"`
	Finished    time.Time           `json:"finished"`
	Status      string              `json:"status"` // ok, partial, failed
	Error       string              `json:"error,omitempty"`
	Records     int64               `json:"records"`
	Rejected    int64               `json:"rejected,omitempty"` // records not written: see CollectionSummary
	Collections []CollectionSummary `json:"collections"`
}

// Summary is the outcome of a run on one shard.
type Summary struct {
	SummaryHead
	Ledger Ledger `json:"ledger"`
}

// WriteJSON writes the summary as indented JSON, streaming the ledger one
// entry at a time (a 100k-owner ledger is never held encoded in memory).
func (s *Summary) WriteJSON(w io.Writer) error {
	head, err := json.MarshalIndent(&s.SummaryHead, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run summary: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head[:len(head)-2]) // without "\n}"
	bw.WriteString(",\n  \"ledger\": [")
	sep := "\n    "
	for _, e := range s.Ledger.All() {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode ledger entry: %w", err)
		}
		bw.WriteString(sep)
		bw.Write(b)
		sep = ",\n    "
	}
	if s.Ledger.Len() > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}
