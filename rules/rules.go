// Package rules is the psoxy-compatible sanitizer: it loads rule files in
// psoxy's YAML format (endpoints with pathRegex or pathTemplate, allowed
// query parameters and path parameter schemas, augments, a responseSchema
// allow-list with root definitions, and transforms addressed by JSONPath),
// compiles them once, and sanitizes whole Graph responses exactly as psoxy
// would, with byte-identical pseudonyms for the same salt and key.
//
// It owns the rule schema, the JSONPath engine (Jayway semantics), the
// pseudonym encodings (t~, p~, JSON, hash only), a Jackson-compatible JSON
// encoder, and the project's own embedded rule files (Builtin). It is pure:
// no network or file I/O.
//
// # Errors
//
// Compile reports the file, line and key of a problem. Sanitize and
// SanitizePage return an error wrapping ErrNotAllowed when no endpoint
// allows the request, a *SyntaxError (with the byte offset) when the
// response is not JSON (for SanitizePage: not one JSON object, or its value
// not an array), and ErrNoKey when reversible pseudonyms are needed but no
// key was given.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"m365export/internal/graphpath"
)

// ErrNotAllowed is wrapped by Sanitize when no endpoint of the rules allows
// the request (psoxy blocks such requests).
var ErrNotAllowed = errors.New("request not allowed by the rules")

// Ruleset is a compiled rule file bound to a salt and key. It is safe for
// concurrent use.
type Ruleset struct {
	name string
	hash string
	rs   *ruleSet
	ps   *pseudonymizer
}

// Option is a setting of Compile beyond the rule file.
type Option func(*compileOptions)

type compileOptions struct {
	domains DomainHandling
}

// WithEmailDomains sets how email pseudonyms show their domain (psoxy's
// EMAIL_DOMAIN_HANDLING); the default is DomainsPreserve.
func WithEmailDomains(d DomainHandling) Option {
	return func(o *compileOptions) { o.domains = d }
}

// Compile parses and validates a rule file (psoxy's YAML format) and binds
// it to the secrets. name is used in error messages. The salt must not be
// empty; the key is checked lazily, when a p~ token is first needed (but
// DomainsEncrypt needs a key, Key or DomainKey, at once).
func Compile(name string, yamlSrc []byte, s Secrets, opts ...Option) (*Ruleset, error) {
	if s.Salt == "" {
		return nil, errors.New("pseudonymization salt is empty")
	}
	var o compileOptions
	for _, f := range opts {
		f(&o)
	}
	domains, err := ParseDomainHandling(string(o.domains))
	if err != nil {
		return nil, err
	}
	rs, err := parseRules(name, yamlSrc)
	if err != nil {
		return nil, err
	}
	ps := &pseudonymizer{salt: s.Salt, key: s.Key, domains: domains}
	ps.dsalt, _ = s.domainSecrets()
	if domains == DomainsEncrypt {
		_, dkey := s.domainSecrets()
		if dkey == "" {
			return nil, fmt.Errorf("encrypted (e~) email domains: %w", ErrNoKey)
		}
		if ps.dblock, err = deriveCipher(dkey, ps.dsalt); err != nil {
			return nil, fmt.Errorf("email domain key: %w", err)
		}
	}
	return &Ruleset{
		name: name,
		hash: rulesHash(yamlSrc, domains, s),
		rs:   rs,
		ps:   ps,
	}, nil
}

// rulesHash is SHA-256 of the rule text; a non-default email domain
// handling is part of it (and, for h~ and e~ domains, a fingerprint of a
// separate domain salt), so that changing either starts a new series.
// With preserve it is the hash of the text alone.
func rulesHash(yamlSrc []byte, domains DomainHandling, s Secrets) string {
	h := sha256.New()
	h.Write(yamlSrc)
	if domains != DomainsPreserve {
		h.Write([]byte("\x00m365export email_domains=" + string(domains)))
		if s.DomainSalt != "" && (domains == DomainsTokenize || domains == DomainsEncrypt) {
			h.Write([]byte("\x00domain_salt=" + SaltFingerprint(s.DomainSalt)))
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// EmailDomains is how the rules show the domain of email pseudonyms.
func (r *Ruleset) EmailDomains() DomainHandling { return r.ps.domains }

// Name is the name the rules were compiled with.
func (r *Ruleset) Name() string { return r.name }

// Hash is a stable hash of the rule text (and of a non-default email
// domain handling), for manifests and the state.
func (r *Ruleset) Hash() string { return r.hash }

// NeedsKey reports whether the rules can emit reversible p~ tokens (and so
// need an encryption key).
func (r *Ruleset) NeedsKey() bool {
	for _, ep := range r.rs.endpoints {
		for _, t := range ep.transforms {
			if t.method == "tokenize" || t.includeReversible {
				return true
			}
		}
	}
	return false
}

// splitURL returns the raw path and raw query (hasQuery if '?' was
// present) of a full URL or a path.
func splitURL(u string) (path, query string, hasQuery bool) {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			u = rest[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i], u[i+1:], true
	}
	return u, "", false
}

// queryParamNames returns the decoded names of the query parameters.
func queryParamNames(q string) []string {
	var out []string
	for _, part := range strings.Split(q, "&") {
		name, _, _ := strings.Cut(part, "=")
		if name == "" {
			continue
		}
		if dec, err := url.QueryUnescape(name); err == nil {
			name = dec
		}
		out = append(out, name)
	}
	return out
}

// endpointFor returns the first endpoint that allows a GET of requestURL.
// The path is matched in its canonical form (graphpath.Canonical: OData
// key segments such as users('x') as users/x), so a next link Graph wrote
// in key form meets the rules written for /users/{id}/…. Only when no
// endpoint allows the canonical path is the path as given tried, for rule
// files that spell a key form out.
func (r *Ruleset) endpointFor(requestURL string) (*endpoint, error) {
	path, query, hasQuery := splitURL(requestURL)
	canon := graphpath.Canonical(path)
	ep, err := r.match(canon, query, hasQuery)
	if err != nil && canon != path {
		if ep, rawErr := r.match(path, query, hasQuery); rawErr == nil {
			return ep, nil
		}
	}
	return ep, err
}

// match returns the first endpoint that allows a GET of path?query.
func (r *Ruleset) match(path, query string, hasQuery bool) (*endpoint, error) {
	file := path
	if hasQuery {
		file = path + "?" + query
	}
	var qpErr error
	for _, ep := range r.rs.endpoints {
		subject := file
		if ep.onPath {
			subject = path
		}
		if ep.params == nil {
			if !ep.pattern.MatchString(subject) {
				continue
			}
		} else if !ep.paramsMatch(subject) {
			continue
		}
		if ep.allowedQP != nil {
			bad := ""
			for _, n := range queryParamNames(query) {
				if !ep.allowedQP[strings.ToLower(n)] {
					bad = n
					break
				}
			}
			if bad != "" {
				qpErr = fmt.Errorf("%w: query parameter %q is not allowed (rules %s)", ErrNotAllowed, bad, r.name)
				continue
			}
		}
		if ep.methods != nil && !ep.methods["GET"] {
			continue
		}
		return ep, nil
	}
	if qpErr != nil {
		return nil, qpErr
	}
	return nil, fmt.Errorf("%w: no endpoint of rules %s matches the request path", ErrNotAllowed, r.name)
}

// Check returns nil if the rules allow a GET of requestURL, else an error
// wrapping ErrNotAllowed that says why.
func (r *Ruleset) Check(requestURL string) error {
	_, err := r.endpointFor(requestURL)
	return err
}

// Allows reports whether the rules allow a GET of requestURL.
func (r *Ruleset) Allows(requestURL string) bool { return r.Check(requestURL) == nil }

// Sanitize applies the rules to one response (one or more JSON values,
// e.g. a Graph page) of a GET of requestURL, and returns compact JSON
// with input key order kept; several input values are joined by '\n'.
func (r *Ruleset) Sanitize(requestURL string, response []byte) ([]byte, error) {
	ep, err := r.endpointFor(requestURL)
	if err != nil {
		return nil, err
	}
	p := getParser(response)
	defer putParser(p)
	docs, err := p.documents()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(response))
	for i, doc := range docs {
		if err := r.sanitize(ep, doc); err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, '\n')
		}
		out = appendValue(out, doc)
	}
	return out, nil
}

// paramsMatch reports whether subject matches the endpoint's pattern and
// every captured path parameter with a schema is valid by it.
func (ep *endpoint) paramsMatch(subject string) bool {
	m := ep.pattern.FindStringSubmatch(subject)
	if m == nil {
		return false
	}
	for name, ps := range ep.params {
		if i := ep.pattern.SubexpIndex(name); i >= 0 && !ps.valid(m[i]) {
			return false
		}
	}
	return true
}

func (r *Ruleset) sanitize(ep *endpoint, doc *value) error {
	applyAugments(ep.augments, doc)
	if ep.schema != nil {
		filterBySchema(ep.schema, doc)
	}
	for _, t := range ep.transforms {
		if err := r.apply(t, doc); err != nil {
			return fmt.Errorf("rules %s: %w", r.name, err)
		}
	}
	return nil
}

// Page is one sanitized page, split into its records.
type Page struct {
	// Records are the page's records that the rules kept, in the order
	// the sanitized page has them.
	Records []Record
}

// Record is one record of a page: an element of its value[] array, or
// the whole page when it has none (a single object such as
// mailboxSettings).
type Record struct {
	// Raw is the record as the response had it (a slice of the
	// response): what fields the caller reads before sanitizing, such
	// as the record's time, come from here.
	Raw []byte
	// Sanitized is the record after the rules, compact JSON as Sanitize
	// writes it.
	Sanitized []byte
}

// SanitizePage applies the rules to one page (one JSON object) of a GET of
// requestURL, as Sanitize does, and returns its records, each paired with
// the raw record it came from. Records the rules removed are not in the
// page; nothing else is assumed about count and order. A page whose
// value[] the rules removed has no records.
func (r *Ruleset) SanitizePage(requestURL string, page []byte) (Page, error) {
	return r.SanitizePageAllowed(requestURL, page, nil)
}

// SanitizePageAllowed is SanitizePage with each record then filtered by
// allow (Shape.Filter) before it is written out; nil filters nothing.
// Filtering the parsed record, rather than parsing the written one again,
// gives the same bytes for a parse and a write less per record.
func (r *Ruleset) SanitizePageAllowed(requestURL string, page []byte, allow *Shape) (Page, error) {
	ep, err := r.endpointFor(requestURL)
	if err != nil {
		return Page{}, err
	}
	p := getParser(page)
	defer putParser(p)
	p.wantSpans = true
	docs, err := p.documents()
	if err != nil {
		return Page{}, err
	}
	if len(docs) != 1 || docs[0].k != kObject {
		return Page{}, &SyntaxError{Offset: 0, msg: "a page must be one JSON object"}
	}
	doc := docs[0]
	list := doc.get("value")
	if list != nil && list.k != kArray {
		return Page{}, &SyntaxError{Offset: 0, msg: "the page's value is not an array"}
	}
	if err := r.sanitize(ep, doc); err != nil {
		return Page{}, err
	}
	if list == nil {
		// One object, one record.
		if allow != nil {
			filterByShape(allow, doc)
		}
		return Page{Records: []Record{{Raw: trimSpace(page), Sanitized: appendValue(make([]byte, 0, len(page)), doc)}}}, nil
	}
	list = doc.get("value")
	if list == nil || list.k != kArray {
		return Page{}, nil
	}
	// Sanitized records are written into chunks of about a page's size
	// split in outChunks, each record whole in one chunk: pseudonyms are
	// longer than what they replace, and one buffer the page's size grew
	// by doubling, copying the page's output again each time.
	chunk := max(minOutChunk, len(page)/outChunks)
	var out []byte
	recs := make([]Record, 0, len(list.arr))
	next := 0 // elements mostly keep their place: look there first
	for _, e := range list.arr {
		if e.k == kDeleted {
			continue
		}
		at := -1
		for k := range p.spans {
			if i := (next + k) % len(p.spans); p.spans[i].v == e {
				at = i
				break
			}
		}
		if at < 0 {
			return Page{}, fmt.Errorf("rules %s: a record of the sanitized page has no origin in the response", r.name)
		}
		next = at + 1
		raw := page[p.spans[at].start:p.spans[at].end]
		if cap(out)-len(out) < 2*len(raw) {
			out = make([]byte, 0, max(chunk, 2*len(raw)))
		}
		if allow != nil {
			filterByShape(allow, e)
		}
		start := len(out)
		out = appendValue(out, e)
		recs = append(recs, Record{Raw: raw, Sanitized: out[start:len(out):len(out)]})
	}
	return Page{Records: recs}, nil
}

// The chunks SanitizePage writes sanitized records into: a page's size
// over outChunks, at least minOutChunk.
const (
	outChunks   = 4
	minOutChunk = 32 << 10
)

// trimSpace cuts JSON white space from both ends of b.
func trimSpace(b []byte) []byte {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// OwnerID returns id in exactly the form the rules' users endpoint
// (/v1.0/users) writes users[].id: unchanged when ids are kept, a p~ token
// when pseudonymized, a t~ token when hash-only. So a record's owner joins
// with the users table of the same run.
func (r *Ruleset) OwnerID(id string) (string, error) {
	doc := value{k: kObject, obj: []member{{key: "value", v: &value{k: kArray, arr: []*value{
		{k: kObject, obj: []member{{key: "id", v: &value{k: kString, s: id, esc: needsEscape(id)}}}},
	}}}}}
	b := appendValue(nil, &doc)
	out, err := r.Sanitize("/v1.0/users", b)
	if err != nil {
		return "", fmt.Errorf("owner id: %w", err)
	}
	docs, err := parseDocuments(out)
	if err != nil {
		return "", fmt.Errorf("owner id: %w", err)
	}
	v := docs[0].get("value")
	if v == nil || v.k != kArray || len(v.arr) == 0 || v.arr[0].k != kObject {
		return "", errors.New("owner id: users rules removed the record")
	}
	idv := v.arr[0].get("id")
	if idv == nil || idv.k != kString {
		return "", errors.New("owner id: users rules removed the id")
	}
	return idv.s, nil
}
