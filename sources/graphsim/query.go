package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiError is a Graph error to send: status, code and message.
type apiError struct {
	status     int
	code, msg  string
	retryAfter string // Retry-After header value, "" for none
	location   string // Location header (410 on expired delta tokens)
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, msg string) *apiError { return &apiError{status: 400, code: code, msg: msg} }

// parseTop reads $top: def when absent, an error when outside [1, max].
func parseTop(v url.Values, def, max int) (int, *apiError) {
	s := v.Get("$top")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("Request_UnsupportedQuery", "Invalid page size specified: '"+s+"'. Must be between 1 and "+strconv.Itoa(max)+" inclusive.")
	}
	return n, nil
}

// parseSelect resolves $select against the collection's properties, case
// insensitively, as Graph does; nil when absent.
func parseSelect(v url.Values, fields []string, typ string) (map[string]bool, *apiError) {
	s := v.Get("$select")
	if s == "" {
		return nil, nil
	}
	sel := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := false
		for _, c := range fields {
			if strings.EqualFold(c, f) {
				sel[c] = true
				found = true
				break
			}
		}
		if !found {
			return nil, badRequest("BadRequest", "Could not find a property named '"+f+"' on type 'microsoft.graph."+typ+"'.")
		}
	}
	return sel, nil
}

// clause is one "prop op value" of a $filter.
type clause struct{ prop, op, val string }

// parseFilter splits "a ge X and a lt Y" into clauses; only conjunctions.
func parseFilter(s string) ([]clause, *apiError) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []clause
	for _, part := range splitAnd(s) {
		f := strings.Fields(part)
		if len(f) < 3 {
			return nil, badRequest("BadRequest", "Invalid filter clause: syntax error.")
		}
		out = append(out, clause{prop: f[0], op: strings.ToLower(f[1]), val: strings.Join(f[2:], " ")})
	}
	return out, nil
}

func splitAnd(s string) []string {
	var out []string
	for {
		i := strings.Index(strings.ToLower(s), " and ")
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+5:]
	}
}

func parseTimeLit(s string) (int64, bool) {
	s = strings.Trim(s, "'")
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UnixMilli(), true
		}
	}
	return 0, false
}

// applyTimeClause narrows q's [lo, hi) by one comparison. Times are whole
// milliseconds, so gt X is ge X+1ms and le X is lt X+1ms.
func applyTimeClause(q *query, c clause, ops string) *apiError {
	if !strings.Contains(ops, c.op) {
		return badRequest("BadRequest", "Invalid filter clause: operator '"+c.op+"' is not supported on property '"+c.prop+"'.")
	}
	ms, ok := parseTimeLit(c.val)
	if !ok {
		return badRequest("BadRequest", "Invalid filter clause: the DateTimeOffset text '"+c.val+"' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'.")
	}
	switch c.op {
	case "ge":
		q.lo = max(q.lo, ms)
	case "gt":
		q.lo = max(q.lo, ms+1)
	case "lt":
		q.hi = min(q.hi, ms)
	case "le":
		q.hi = min(q.hi, ms+1)
	case "eq":
		q.lo, q.hi = max(q.lo, ms), min(q.hi, ms+1)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Page tokens: opaque, bound to the request path, carrying a cursor plus a
// few numbers (delta sequence or time, epoch).

type token struct {
	pathHash uint32
	cur      cursor
	a, b     int64 // per use: delta state
	epoch    int64
	issued   int64 // wall-clock ms at issue (delta expiry)
}

var errBadToken = errors.New("bad token")

func pathHash(p string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func (s *Server) encodeToken(tk token) string {
	var buf [8 * 10]byte
	b := buf[:0]
	b = binary.LittleEndian.AppendUint32(b, tk.pathHash)
	for _, v := range []int64{tk.cur[0], tk.cur[1], tk.cur[2], tk.a, tk.b, tk.epoch, tk.issued} {
		b = binary.AppendVarint(b, v)
	}
	sum := uint32(mix(s.tokenKey ^ uint64(crc(b))))
	b = binary.LittleEndian.AppendUint32(b, sum)
	// light obfuscation so that tokens look opaque and are not edited by hand
	k := s.tokenKey
	for i := range b {
		if i%8 == 0 {
			k = mix(k + uint64(i))
		}
		b[i] ^= byte(k >> (8 * (i % 8)))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeToken(str string) (token, error) {
	b, err := base64.RawURLEncoding.DecodeString(str)
	if err != nil || len(b) < 8 {
		return token{}, errBadToken
	}
	k := s.tokenKey
	for i := range b {
		if i%8 == 0 {
			k = mix(k + uint64(i))
		}
		b[i] ^= byte(k >> (8 * (i % 8)))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if uint32(mix(s.tokenKey^uint64(crc(body)))) != sum {
		return token{}, errBadToken
	}
	var tk token
	tk.pathHash = binary.LittleEndian.Uint32(body)
	body = body[4:]
	vals := make([]int64, 7)
	for i := range vals {
		v, n := binary.Varint(body)
		if n <= 0 {
			return token{}, errBadToken
		}
		vals[i] = v
		body = body[n:]
	}
	tk.cur = cursor{vals[0], vals[1], vals[2]}
	tk.a, tk.b, tk.epoch, tk.issued = vals[3], vals[4], vals[5], vals[6]
	return tk, nil
}

func crc(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// stripParams removes the named parameters from a raw query string,
// keeping the rest verbatim and in order.
func stripParams(raw string, names ...string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	out := parts[:0]
outer:
	for _, p := range parts {
		k := p
		if i := strings.IndexByte(p, '='); i >= 0 {
			k = p[:i]
		}
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		for _, n := range names {
			if strings.EqualFold(k, n) {
				continue outer
			}
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}
