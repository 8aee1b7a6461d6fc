package graphsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultNow is the emulator's fixed clock when Options.Now is zero.
var DefaultNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// Options configure an emulator. The zero value is a small tenant with
// Graph's documented limits, authentication required, and no faults.
type Options struct {
	// Users is the number of users (default 50). Groups, teams, chats and
	// call volume scale with it.
	Users int
	// Seed selects the tenant; the same seed gives the same tenant.
	Seed int64
	// Now is the emulated clock (default DefaultNow): data exists in the
	// HistoryDays days before it and never at or after it.
	Now time.Time
	// HistoryDays of data before Now (default 14).
	HistoryDays int

	// Volumes, as means per weekday (weekends are quieter). Zero means the
	// default in parentheses; a negative value means none.
	MessagesPerUserDay           float64 // SentItems messages per user (20)
	EventsPerUserDay             float64 // meetings organised per user (3)
	ChatMessagesPerChatDay       float64 // messages per chat (3)
	ChannelMessagesPerChannelDay float64 // messages per channel (6)
	CallsPerUserDay              float64 // call records per user (0.5)
	CopilotPerUserDay            float64 // Copilot prompts (each with a response) per licensed user (3)
	// EventBodyBytes pads each event's HTML body to about this many bytes
	// (0: a one-line agenda), for pages large in bytes rather than in
	// records.
	EventBodyBytes int

	// Listen is the loopback address to listen on (default 127.0.0.1:0);
	// other addresses are refused.
	Listen string
	// PlainGraph serves Graph on a second, plain-HTTP loopback listener
	// (GraphURL then starts with http://); the identity side stays on TLS.
	PlainGraph bool

	// Auth configures the identity side.
	Auth Auth
	// Limits configures throttling.
	Limits Limits
	// Faults injects failures.
	Faults Faults

	// Microsoft's documented contract (issue 13). The defaults do what a
	// real tenant is documented to do; each switch below departs from it
	// (SlashFormLinks, NoTeamsLicenceCheck) or models a tenant in a
	// documented but uncommon state (the others).

	// SlashFormLinks makes the @odata.nextLink of chat and channel
	// getAllMessages take the slash form (…/v1.0/users/{id}/chats/…)
	// instead of the documented OData key form,
	// …/v1.0/users('{id}')/chats/getallMessages?…&$skiptoken=… and
	// …/v1.0/teams('{id}')/channels/getallMessages?…&$skiptoken=…
	// (graph-api-notes §8 fact 1), which is the default. The router
	// accepts both forms either way.
	SlashFormLinks bool
	// getAllMessages checks model=A's licence (fact 2): 402
	// PaymentRequired for a user without an E5-like licence (the
	// emulator's guests, i mod 50 = 13, whose assignedLicenses is empty):
	// on chats, when the named user lacks one; on channels, when a member
	// of the team lacks one. NoTeamsLicenceCheck turns that off (whether
	// Graph still checks since metering ended in 2025 is not verified).
	NoTeamsLicenceCheck bool
	// TeamsUnlicensed makes every user lack model=A's licence: model=A
	// answers 402 for every owner (a tenant without E5).
	TeamsUnlicensed bool
	// TeamsUnapproved makes the tenant one whose application has not been
	// approved for the protected Teams APIs (fact 3): both getAllMessages
	// answer 403. The error body is an assumption: Microsoft does not
	// document it.
	TeamsUnapproved bool
	// MalformedTimestamp gives one chat message, deterministically, the
	// malformed createdDateTime form of Microsoft's own example
	// ("2021-03-1706:47:05.123Z", no "T"; fact 11): the first message of
	// the day before Now's day in user 0's first chat, served to each of
	// its participants. Off by default: Microsoft's example shows such a
	// value can occur, not that a tenant's records commonly carry one.
	MalformedTimestamp bool
	// Hostile makes the tenant hostile (hostile.go): every object of every
	// answer carries properties no rule names, holding planted identifiers
	// and text marked with HostileMarker, for leak scans.
	Hostile bool

	// StrictApps models the tenant's application objects (apps.go): Graph
	// serves applications, service principals, federated identity
	// credentials, owners and app role assignments to people signed in with
	// Server.PersonToken, and the token endpoint issues the exporter's
	// tokens only to an application created so, with its federated
	// credentials and the permissions granted to it (an unconsented one gets
	// a token without roles, which Graph refuses with
	// Authorization_IdentityNotFound; an unknown client id AADSTS700016).
	// Protected Teams APIs then need Server.ApproveProtectedAPIs per
	// application. Off by default: the built-in application of Auth.
	StrictApps bool

	// NoMeetingPolicy makes the tenant one where no Teams application
	// access policy was granted to the application: every online meeting
	// request answers 403 (meetings.go). Without it, the policy covers
	// every organizer but those of meetingPolicyDenied.
	NoMeetingPolicy bool

	// Clock is the wall clock for rate windows, token lifetimes and
	// Retry-After (default time.Now). It never moves the data clock.
	Clock func() time.Time
	// Logger receives one debug line per request (nil: discard).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Users <= 0 {
		o.Users = 50
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	if o.HistoryDays <= 0 {
		o.HistoryDays = 14
	}
	def := func(p *float64, d float64) {
		switch {
		case *p == 0:
			*p = d
		case *p < 0:
			*p = 0
		}
	}
	def(&o.MessagesPerUserDay, 20)
	def(&o.EventsPerUserDay, 3)
	def(&o.ChatMessagesPerChatDay, 3)
	def(&o.ChannelMessagesPerChannelDay, 6)
	def(&o.CallsPerUserDay, 0.5)
	def(&o.CopilotPerUserDay, 3)
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a running emulator: the identity side and Graph.
type Server struct {
	opts     Options
	tenant   *Tenant
	tokenKey uint64
	log      *slog.Logger

	ln, plainLn net.Listener
	srv, plain  *http.Server
	base        string // https://127.0.0.1:PORT
	graphBase   string

	auth   *authority
	dir    *directory // Options.StrictApps
	limits *limiter
	faults *faulter
	stats  stats
	reqSeq atomic.Uint64
	epoch  atomic.Int64 // bumped by ExpireDeltaTokens
	wg     sync.WaitGroup

	clientOnce sync.Once
	client     *http.Client
}

// Start starts an emulator listening on loopback.
func Start(opts Options) (*Server, error) {
	opts.defaults()
	s := &Server{opts: opts, tenant: newTenant(&opts), log: opts.Logger}
	s.tokenKey = mix(s.tenant.seed ^ 0x746f6b656e)
	s.stats.init()
	s.limits = newLimiter(&s.opts.Limits, s.opts.Users, s.opts.Clock)
	s.faults = newFaulter(&s.opts.Faults)
	if host, _, err := net.SplitHostPort(opts.Listen); err != nil {
		return nil, fmt.Errorf("listen address %q: %w", opts.Listen, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen address %q: the emulator serves loopback only", opts.Listen)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	s.ln = ln
	s.base = "https://" + ln.Addr().String()
	s.graphBase = s.base
	a, err := newAuthority(s, ln.Addr().(*net.TCPAddr).IP)
	if err != nil {
		_ = ln.Close() // best effort: the authority error is the one to report
		return nil, fmt.Errorf("identity side: %w", err)
	}
	s.auth = a
	if opts.StrictApps {
		s.dir = newDirectory(s)
	}
	s.srv = &http.Server{Handler: s, TLSConfig: &tls.Config{Certificates: []tls.Certificate{a.serverCert}},
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError), ReadHeaderTimeout: 30 * time.Second}
	s.wg.Add(1)
	go serveLabelled(func() { defer s.wg.Done(); _ = s.srv.ServeTLS(ln, "", "") })
	if opts.PlainGraph {
		pl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listen for plain graph: %w", err)
		}
		s.plainLn = pl
		s.graphBase = "http://" + pl.Addr().String()
		s.plain = &http.Server{Handler: http.HandlerFunc(s.serveGraph), ReadHeaderTimeout: 30 * time.Second,
			ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
		s.wg.Add(1)
		go serveLabelled(func() { defer s.wg.Done(); _ = s.plain.Serve(pl) })
	}
	return s, nil
}

// ProfileLabel is the pprof label (key=value) that every goroutine of the
// emulator's servers carries, so that a CPU profile of a process that runs
// an emulator in process can tell its share:
// go tool pprof -tagfocus component=graphsim.
const ProfileLabel = "component=graphsim"

// serveLabelled runs f with the ProfileLabel; the connection goroutines a
// server starts inherit it.
func serveLabelled(f func()) {
	k, v, _ := strings.Cut(ProfileLabel, "=")
	pprof.Do(context.Background(), pprof.Labels(k, v), func(context.Context) { f() })
}

// Close stops the servers, dropping open connections, and waits for them.
func (s *Server) Close() {
	if s.srv != nil {
		_ = s.srv.Close() // only the listener's close error; nothing to do about it
	}
	if s.plain != nil {
		_ = s.plain.Close() // as above
	}
	s.wg.Wait()
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
}

// GraphURL is the Graph root without a version, e.g. https://127.0.0.1:PORT.
func (s *Server) GraphURL() string { return s.graphBase }

// AuthorityHost is the identity side's root with a trailing slash, for
// azcore's cloud.Configuration.ActiveDirectoryAuthorityHost.
func (s *Server) AuthorityHost() string { return s.base + "/" }

// Tenant returns the ground truth.
func (s *Server) Tenant() *Tenant { return s.tenant }

// SetNow moves the emulated data clock (for delta rounds and new windows).
func (s *Server) SetNow(t time.Time) { s.tenant.now.Store(t.UnixMilli()) }

// ExpireDeltaTokens makes every delta and skip token issued so far answer
// 410 Gone (delta) or 400 (paging), as after Graph's token lifetime.
func (s *Server) ExpireDeltaTokens() { s.epoch.Add(1) }

// ServeHTTP serves the identity side and Graph on the TLS listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v1.0/") || strings.HasPrefix(p, "/beta/") {
		s.serveGraph(w, r)
		return
	}
	s.auth.serve(w, r)
}

// ---------------------------------------------------------------------------
// Graph.

// reqCtx carries one Graph request's parts through the handlers.
type reqCtx struct {
	w       http.ResponseWriter
	r       *http.Request
	id      string // request-id
	version string // v1.0 or beta
	rt      route
	appID   string // the calling application (from its token)
	// authed says the request's token was checked; roles are its
	// application permissions.
	authed bool
	roles  []string
}

func (s *Server) newRequestID() string {
	n := s.reqSeq.Add(1)
	return string(appendUUID(nil, mix(s.tokenKey^n)&^0xf000|0x4000, mix(n^0x5eed)&^(3<<62)|1<<63))
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{w: w, r: r, id: s.newRequestID()}
	rest := r.URL.Path[1:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		s.fail(rc, &apiError{status: 400, code: "BadRequest", msg: "Invalid version."})
		return
	}
	rc.version, rest = rest[:i], rest[i+1:]
	if s.dir != nil && s.dir.serve(rc, rest) {
		return
	}
	rt, ok := parseRoute(rest)
	rc.rt = rt
	st := s.stats.get(rt.ep)
	st.requests.Add(1)
	if !ok {
		s.fail(rc, &apiError{status: 400, code: "BadRequest", msg: "Resource not found for the segment '" + lastSeg(rest) + "'."})
		return
	}
	if r.Method != http.MethodGet {
		s.fail(rc, &apiError{status: 405, code: "Request_BadRequest", msg: "The HTTP method '" + r.Method + "' is not allowed on this resource."})
		return
	}
	if e := s.authorize(rc); e != nil {
		s.fail(rc, e)
		return
	}
	if s.dir != nil {
		if e := s.dir.gate(rc.appID, rt); e != nil {
			s.fail(rc, e)
			return
		}
	}
	n := s.faults.next()
	if n.deleteUsers > 0 {
		s.deleteSome(n.deleteUsers)
	}
	switch {
	case n.reset:
		st.faults.Add(1)
		resetConn(w)
		return
	case n.status != 0:
		st.faults.Add(1)
		e := n.apiError()
		if e.retryAfter != "" {
			e.retryAfter = s.limits.retryAfter(time.Duration(float64(time.Second) * s.limits.l.TimeScale))
		}
		s.fail(rc, e)
		return
	}
	release, e := s.limits.admit(rt, r)
	if e != nil {
		st.throttled.Add(1)
		s.fail(rc, e)
		return
	}
	defer release()
	if n.slow > 0 {
		st.faults.Add(1)
		tm := time.NewTimer(n.slow)
		select {
		case <-tm.C:
		case <-r.Context().Done():
			tm.Stop()
			return
		}
	}
	buf := getBuf()
	defer putBuf(buf)
	body, nrec, e := s.handle(rc, (*buf)[:0])
	if e != nil {
		s.fail(rc, e)
		return
	}
	if s.opts.Hostile {
		body = hostile(body)
	}
	*buf = body
	st.served.Add(1)
	st.records.Add(int64(nrec))
	if n.truncate {
		st.faults.Add(1)
		s.writeTruncated(rc, body)
		return
	}
	s.writeJSON(rc, 200, body)
}

func lastSeg(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func (s *Server) headers(rc *reqCtx) {
	h := rc.w.Header()
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	h.Set("request-id", rc.id)
	h.Set("client-request-id", clientRequestID(rc))
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Loopback","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"SIM"}}`)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-cache")
}

func clientRequestID(rc *reqCtx) string {
	if v := rc.r.Header.Get("client-request-id"); v != "" && len(v) <= 64 {
		return v
	}
	return rc.id
}

func (s *Server) writeJSON(rc *reqCtx, status int, body []byte) {
	s.headers(rc)
	rc.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rc.w.WriteHeader(status)
	_, _ = rc.w.Write(body)
	s.log.Debug("graph", "endpoint", rc.rt.ep, "status", status, "bytes", len(body))
}

// fail sends a Graph error body.
func (s *Server) fail(rc *reqCtx, e *apiError) {
	st := s.stats.get(rc.rt.ep)
	if e.status != 429 {
		st.errors.Add(1)
	}
	if e.retryAfter != "" {
		rc.w.Header().Set("Retry-After", e.retryAfter)
	}
	if e.location != "" {
		rc.w.Header().Set("Location", e.location)
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"error":{"code":`...)
	b = appendStr(b, e.code)
	b = append(b, `,"message":`...)
	b = appendStr(b, e.msg)
	b = append(b, `,"innerError":{"date":`...)
	b = appendTime(b, s.opts.Clock().UnixMilli(), tsSeconds)
	b = append(b, `,"request-id":"`...)
	b = append(b, rc.id...)
	b = append(b, `","client-request-id":"`...)
	b = append(b, clientRequestID(rc)...)
	b = append(b, `"}}}`...)
	s.writeJSON(rc, e.status, b)
}

// writeTruncated promises the whole body and sends half, then drops the
// connection, as a proxy failing mid-response would.
func (s *Server) writeTruncated(rc *reqCtx, body []byte) {
	s.headers(rc)
	rc.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rc.w.WriteHeader(200)
	_, _ = rc.w.Write(body[:len(body)/2])
	if f, ok := rc.w.(http.Flusher); ok {
		f.Flush()
	}
	resetConn(rc.w)
}

// resetConn closes the connection under a handler without a response.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close() // the point is to drop the connection; a close error changes nothing
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 8<<20 {
		return
	}
	bufPool.Put(b)
}
