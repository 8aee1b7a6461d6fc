// Package rules is the psoxy-compatible sanitizer: it loads rule files in
// psoxy's YAML format (endpoints with pathRegex or pathTemplate, allowed
// query parameters, augments and transforms addressed by JSONPath),
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
// Compile reports the file, line and key of a problem. Sanitize returns an
// error wrapping ErrNotAllowed when no endpoint allows the request, a
// *SyntaxError (with the byte offset) when the response is not JSON, and
// ErrNoKey when reversible pseudonyms are needed but no key was given.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// Compile parses and validates a rule file (psoxy's YAML format) and binds
// it to the secrets. name is used in error messages. The salt must not be
// empty; the key is checked lazily, when a p~ token is first needed.
func Compile(name string, yamlSrc []byte, s Secrets) (*Ruleset, error) {
	if s.Salt == "" {
		return nil, errors.New("pseudonymization salt is empty")
	}
	rs, err := parseRules(name, yamlSrc)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(yamlSrc)
	return &Ruleset{
		name: name,
		hash: "sha256:" + hex.EncodeToString(h[:]),
		rs:   rs,
		ps:   &pseudonymizer{salt: s.Salt, key: s.Key},
	}, nil
}

// Name is the name the rules were compiled with.
func (r *Ruleset) Name() string { return r.name }

// Hash is a stable hash of the rule text, for manifests.
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
func (r *Ruleset) endpointFor(requestURL string) (*endpoint, error) {
	path, query, hasQuery := splitURL(requestURL)
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
		if !ep.pattern.MatchString(subject) {
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
		applyAugments(ep.augments, doc)
		for _, t := range ep.transforms {
			if err := r.apply(t, doc); err != nil {
				return nil, fmt.Errorf("rules %s: %w", r.name, err)
			}
		}
		if i > 0 {
			out = append(out, '\n')
		}
		out = appendValue(out, doc)
	}
	return out, nil
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
