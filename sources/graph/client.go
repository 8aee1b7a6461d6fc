package graph

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"m365export/sources"
)

// Options configure a Client. The zero value reads the global cloud with
// Graph's documented limits and sends no token.
type Options struct {
	// Cloud selects the login authority and the Graph root together
	// (default Global).
	Cloud Cloud
	// GraphRoot overrides the cloud's Graph root, e.g. an emulator's
	// "http://127.0.0.1:PORT". Plain HTTP is allowed to loopback hosts only.
	GraphRoot string
	// TokenScope overrides the token scope (default Cloud.TokenScope()).
	TokenScope string
	// Credentials say how to get tokens; their cloud is Cloud (leave
	// Credentials.Cloud empty), so one setting chooses the login authority
	// and the Graph root together.
	Credentials *Credentials
	// Credential builds a credential, instead of Credentials. It is called
	// once at first use and again after Graph rejects a token (azidentity
	// has no forced refresh). Neither set: no token is sent (emulators,
	// tests).
	Credential func() (TokenCredential, error)
	// HTTPClient sends the requests (default: a client tuned for many
	// connections to one host). Its Timeout should be 0: AttemptTimeout
	// bounds each attempt.
	HTTPClient *http.Client
	// Logger gets a Warn per retry (nil: discard).
	Logger *slog.Logger

	// MaxAttempts bounds the tries of one request (default 10).
	MaxAttempts int
	// MaxBackoff caps any one wait, Retry-After included (default 5m).
	MaxBackoff time.Duration
	// InitialBackoff is the first exponential backoff interval, used when
	// Graph sends no Retry-After (default 1s; it doubles, with jitter).
	InitialBackoff time.Duration
	// AttemptTimeout bounds one attempt, body included (default 100s).
	AttemptTimeout time.Duration

	// Limits are the throttle limits (nil: DefaultLimits; &Limits{} keeps
	// none). Ignored when Governor is set.
	Limits *Limits
	// Governor is shared by several clients of one tenant.
	Governor *Governor

	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends GET requests to Graph. It is safe for concurrent use and
// meant to be shared by all workers of a job: it holds the throttle
// governor and the token.
type Client struct {
	root       string // no trailing slash
	origin     string // scheme://host of root
	http       *http.Client
	log        *slog.Logger
	tokens     *tokenSource
	gov        *Governor
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	maxAtt     int
	maxBackoff time.Duration
	initial    time.Duration
	attemptTO  time.Duration

	stats struct {
		requests, retries, throttled, serverErrors, transportErrors, truncated atomic.Int64
	}
}

// Response is one Graph answer, exactly as received.
type Response struct {
	// URL is the absolute URL requested.
	URL string
	// Status is the HTTP status.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the whole body, byte for byte (error bodies too).
	Body []byte
	// RequestID is Graph's request-id header.
	RequestID string
	// Attempts is how many tries the answer took.
	Attempts int
}

// Stats are a client's counters since it was made.
type Stats struct {
	Requests        int64 // attempts sent
	Retries         int64 // attempts that were tries again
	Throttled       int64 // 429 answers
	ServerErrors    int64 // 5xx answers
	TransportErrors int64 // resets and other connection failures
	Truncated       int64 // bodies cut short or not whole JSON
	TokenRefreshes  int64 // credentials rebuilt after a rejected token
}

// New returns a client. It refuses a plain-HTTP Graph root on a host that
// is not loopback when it would send a token there.
func New(opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Cloud.GraphRoot == "" {
		o.Cloud = Global
	}
	root := strings.TrimRight(o.Cloud.GraphRoot, "/")
	if o.GraphRoot != "" {
		root = strings.TrimRight(o.GraphRoot, "/")
	}
	if o.Credentials != nil {
		if o.Credential != nil {
			return nil, fmt.Errorf("options: set Credentials or Credential, not both: %w", sources.ErrConfig)
		}
		cr := *o.Credentials
		switch {
		case cr.Cloud.Name == "":
			cr.Cloud = o.Cloud
		case cr.Cloud != o.Cloud:
			return nil, fmt.Errorf("options: credentials for cloud %s, Graph in cloud %s: %w", cr.Cloud.Name, o.Cloud.Name, sources.ErrConfig)
		}
		if err := cr.Validate(); err != nil {
			return nil, err
		}
		o.Credential = cr.New
	}
	scheme, rest, ok := strings.Cut(root, "://")
	if !ok || (scheme != "https" && scheme != "http") || rest == "" {
		return nil, fmt.Errorf("graph root %q: want an http(s) URL: %w", root, sources.ErrConfig)
	}
	host, _, _ := strings.Cut(rest, "/")
	if scheme == "http" && o.Credential != nil && !isLoopback(host) {
		return nil, fmt.Errorf("graph root %q: a token goes over plain HTTP only to a loopback host: %w", root, sources.ErrConfig)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	c := &Client{
		root:       root,
		origin:     scheme + "://" + host,
		http:       o.HTTPClient,
		log:        o.Logger,
		gov:        o.Governor,
		now:        o.Now,
		sleep:      o.Sleep,
		maxAtt:     o.MaxAttempts,
		maxBackoff: o.MaxBackoff,
		initial:    o.InitialBackoff,
		attemptTO:  o.AttemptTimeout,
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.gov == nil {
		l := DefaultLimits()
		if o.Limits != nil {
			l = *o.Limits
		}
		c.gov = NewGovernor(l, o.Now, o.Sleep)
	}
	if c.maxAtt <= 0 {
		c.maxAtt = 10
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = 5 * time.Minute
	}
	if c.initial <= 0 {
		c.initial = time.Second
	}
	if c.attemptTO <= 0 {
		c.attemptTO = 100 * time.Second
	}
	if o.Credential != nil {
		scope := o.TokenScope
		if scope == "" {
			scope = o.Cloud.TokenScope()
		}
		c.tokens = &tokenSource{newCred: o.Credential, scope: scope, now: o.Now}
	}
	return c, nil
}

func defaultHTTPClient() *http.Client { return NewHTTPClient(nil) }

// NewHTTPClient returns an HTTP client tuned for many concurrent requests to
// one host (Graph), trusting roots in addition to the system's when roots
// is not nil (an emulator's CA). Use it for Options.HTTPClient and
// Credentials.Transport.
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	t.IdleConnTimeout = 90 * time.Second
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}
}

// certPool returns the system's roots plus the PEM certificates given (an
// emulator's CA file).
func certPool(pemCerts []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemCerts) {
		return nil, fmt.Errorf("CA certificates: no PEM certificate found: %w", sources.ErrConfig)
	}
	return pool, nil
}

// Root is the Graph root requests are sent to, without a trailing slash.
func (c *Client) Root() string { return c.root }

// Governor returns the client's throttle governor.
func (c *Client) Governor() *Governor { return c.gov }

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		Requests:        c.stats.requests.Load(),
		Retries:         c.stats.retries.Load(),
		Throttled:       c.stats.throttled.Load(),
		ServerErrors:    c.stats.serverErrors.Load(),
		TransportErrors: c.stats.transportErrors.Load(),
		Truncated:       c.stats.truncated.Load(),
	}
	if c.tokens != nil {
		s.TokenRefreshes = c.tokens.refreshes.Load()
	}
	return s
}

// RequestOption adjusts one request.
type RequestOption func(*request)

type request struct {
	clientRequestID string
	header          http.Header
	scope           Scope
	hasScope        bool
	validate        func([]byte) error
}

// WithHeaders adds request headers. Resend them on every page: Graph does
// not carry them into nextLinks.
func WithHeaders(h http.Header) RequestOption {
	return func(r *request) {
		if len(h) == 0 {
			return
		}
		if r.header == nil {
			r.header = http.Header{}
		}
		for k, vs := range h {
			for _, v := range vs {
				r.header.Add(k, v)
			}
		}
	}
}

// WithScope sets the throttle scope instead of deriving it from the URL.
func WithScope(s Scope) RequestOption {
	return func(r *request) { r.scope, r.hasScope = s, true }
}

// WithValidate checks each 2xx body; an error means the body was cut short
// and the request is tried again (the retry belongs to the page fetch).
func WithValidate(f func(body []byte) error) RequestOption {
	return func(r *request) { r.validate = f }
}

// errTruncated marks a body that ended early.
var errTruncated = errors.New("response body truncated")

// Get sends GET url (absolute, e.g. a nextLink used verbatim, or a path
// under the Graph root such as "/v1.0/users") and returns the answer. It
// waits for the throttle governor, retries 429, 5xx, connection failures
// and truncated bodies, and refreshes a rejected token once. A non-2xx
// answer comes back as both a *Response and an *Error.
func (c *Client) Get(ctx context.Context, url string, opts ...RequestOption) (*Response, error) {
	var r request
	for _, o := range opts {
		o(&r)
	}
	full, err := c.resolve(url)
	if err != nil {
		return nil, err
	}
	scope, cost := ScopeOf(full)
	if r.hasScope {
		if r.scope.Kind != ScopeDirectory {
			cost = 1
		}
		scope = r.scope
	}
	var (
		bo        *backoff.ExponentialBackOff
		refreshed bool
	)
	// One client-request-id for all tries: Graph echoes it, and it names a
	// request that got no answer at all.
	r.clientRequestID = newRequestID()
	for attempt := 1; ; attempt++ {
		resp, gen, sentAt, err := c.attempt(ctx, full, scope, cost, &r)
		if err == nil && resp.Status < 300 {
			resp.Attempts = attempt
			return resp, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("get: %w", cerr)
		}
		var (
			wait    time.Duration
			hasWait bool
			status  int
			code    string
			reqID   string
		)
		switch {
		case err != nil:
			var te *finalError
			if errors.As(err, &te) {
				return nil, te.err
			}
			if errors.Is(err, errTruncated) {
				c.stats.truncated.Add(1)
			} else {
				c.stats.transportErrors.Add(1)
			}
		default:
			resp.Attempts = attempt
			gerr := classify(resp.Status, resp.Header, resp.Body)
			status, code, reqID = resp.Status, gerr.Code, gerr.RequestID
			if c.tokens != nil && !refreshed && gerr.FreshToken {
				refreshed = true
				if rerr := c.tokens.refresh(ctx, gen); rerr != nil {
					return nil, rerr
				}
				c.log.Warn("graph token rejected, retrying with a fresh one",
					"status", status, "code", code, "request_id", reqID, "attempt", attempt)
				continue
			}
			if !retryable(resp.Status) {
				return resp, gerr
			}
			err = gerr
			wait, hasWait = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
			if hasWait {
				gerr.RetryAfter = wait
			}
			if resp.Status == http.StatusTooManyRequests {
				c.stats.throttled.Add(1)
			} else {
				c.stats.serverErrors.Add(1)
			}
		}
		if attempt >= c.maxAtt {
			if resp != nil {
				return resp, fmt.Errorf("%w after %d attempts: %w", ErrExhausted, attempt, err)
			}
			return nil, fmt.Errorf("%w after %d attempts: %w", ErrExhausted, attempt, err)
		}
		if !hasWait {
			if bo == nil {
				bo = backoff.NewExponentialBackOff(
					backoff.WithInitialInterval(c.initial),
					backoff.WithMaxInterval(c.maxBackoff),
					backoff.WithMaxElapsedTime(0),
					backoff.WithRandomizationFactor(0.5),
					backoff.WithMultiplier(2),
				)
			}
			wait = bo.NextBackOff()
		}
		wait = min(wait, c.maxBackoff)
		if status == http.StatusTooManyRequests {
			c.gov.throttled(scope, sentAt, wait)
		}
		c.stats.retries.Add(1)
		c.log.Warn("graph retry", "attempt", attempt, "status", status, "code", code,
			"request_id", reqID, "client_request_id", r.clientRequestID, "scope", scope.Kind.String(),
			"retry_after", wait, "error", errText(err, status))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("get: waiting to retry: %w", err)
		}
	}
}

// errText describes a transport failure for the log (a status says enough
// on its own).
func errText(err error, status int) string {
	if status != 0 || err == nil {
		return ""
	}
	if errors.Is(err, errTruncated) {
		return "truncated body"
	}
	return "transport error"
}

// attempt sends one try. It returns the token generation it used and when
// the governor booked the request's slot.
func (c *Client) attempt(ctx context.Context, full string, scope Scope, cost int, r *request) (resp *Response, gen uint64, sentAt time.Time, err error) {
	resp, gen, err = c.try(ctx, full, scope, cost, r, &sentAt)
	return resp, gen, sentAt, err
}

func (c *Client) try(ctx context.Context, full string, scope Scope, cost int, r *request, sentAt *time.Time) (*Response, uint64, error) {
	p, err := c.gov.acquire(ctx, scope, cost)
	if err != nil {
		return nil, 0, err
	}
	defer p.release()
	*sentAt = p.reserved
	var (
		auth string
		gen  uint64
	)
	if c.tokens != nil {
		t, err := c.tokens.get(ctx)
		if err != nil {
			return nil, 0, &finalError{err}
		}
		auth, gen = t.header, t.gen
	}
	actx, cancel := context.WithTimeout(ctx, c.attemptTO)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, full, nil)
	if err != nil {
		return nil, gen, &finalError{fmt.Errorf("request %s: %w", scope.Kind, err)}
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["Client-Request-Id"] = []string{r.clientRequestID}
	if auth != "" {
		req.Header["Authorization"] = []string{auth}
	}
	if scope.Kind == ScopeDirectory {
		req.Header["X-Ms-Throttle-Priority"] = []string{"low"}
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	c.stats.requests.Add(1)
	hr, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which holds owner ids: keep it out of
		// errors that end up in logs.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, gen, fmt.Errorf("send %s request: %w", scope.Kind, err)
	}
	body, err := readBody(hr)
	hr.Body.Close()
	if err != nil {
		return nil, gen, err
	}
	resp := &Response{URL: full, Status: hr.StatusCode, Header: hr.Header, Body: body, RequestID: hr.Header.Get("request-id")}
	if hr.StatusCode < 300 && r.validate != nil {
		if err := r.validate(body); err != nil {
			return nil, gen, fmt.Errorf("%w: %w", errTruncated, err)
		}
	}
	return resp, gen, nil
}

// readBody reads a whole body; a body that ends before its length is
// errTruncated.
func readBody(hr *http.Response) ([]byte, error) {
	if n := hr.ContentLength; n > 0 && n < 256<<20 {
		buf := make([]byte, n)
		if _, err := io.ReadFull(hr.Body, buf); err != nil {
			return nil, fmt.Errorf("%w: %w", errTruncated, err)
		}
		return buf, nil
	}
	b, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTruncated, err)
	}
	return b, nil
}

// resolve makes url absolute and refuses any host but the Graph root's: a
// nextLink elsewhere would carry the token there.
func (c *Client) resolve(url string) (string, error) {
	if strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://") {
		if !strings.HasPrefix(url, c.origin) || (len(url) > len(c.origin) && url[len(c.origin)] != '/' && url[len(c.origin)] != '?') {
			return "", fmt.Errorf("refusing a URL outside the Graph root %s: %w", c.origin, sources.ErrConfig)
		}
		return url, nil
	}
	if !strings.HasPrefix(url, "/") {
		url = "/" + url
	}
	return c.root + url, nil
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// isLoopback reports whether host (with or without a port) is a loopback
// address or "localhost".
func isLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
