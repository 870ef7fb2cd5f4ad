package woo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is the couponbridge version sent in the default User-Agent
// ("couponbridge/" + Version). The command sets it at link time.
var Version = "dev"

// Defaults of a Client.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultRate           = 5.0
	DefaultBurst          = 5
	DefaultMaxConcurrency = 4
	DefaultRetryMax       = 6
	DefaultRetryMinWait   = 500 * time.Millisecond
	DefaultRetryMaxWait   = 60 * time.Second
	// MaxBatchSize is WooCommerce's default limit of items per batch
	// request, and the default batch size.
	MaxBatchSize = 100
	// MaxPerPage is the largest per_page WooCommerce accepts.
	MaxPerPage = 100
)

// AuthMode selects how requests are authenticated.
type AuthMode int

const (
	// AuthBasic sends the key and secret as HTTP Basic credentials. HTTPS
	// only. The default.
	AuthBasic AuthMode = iota
	// AuthQuery sends consumer_key and consumer_secret as query parameters,
	// for hosts that strip the Authorization header. HTTPS only.
	AuthQuery
	// AuthOAuth1 signs each request with one-legged OAuth 1.0a
	// (HMAC-SHA256), the only mode WooCommerce accepts over plain HTTP.
	AuthOAuth1
)

// String returns the mode's name as ParseAuthMode accepts it.
func (m AuthMode) String() string {
	switch m {
	case AuthBasic:
		return "basic"
	case AuthQuery:
		return "query"
	case AuthOAuth1:
		return "oauth1"
	}
	return "AuthMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseAuthMode parses "basic", "query" or "oauth1" (case-insensitive).
func ParseAuthMode(s string) (AuthMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "basic":
		return AuthBasic, nil
	case "query":
		return AuthQuery, nil
	case "oauth1", "oauth":
		return AuthOAuth1, nil
	}
	return 0, fmt.Errorf("woo: unknown auth mode %q: want basic, query or oauth1", s)
}

// Client talks to one WooCommerce store. It is safe for concurrent use; all
// requests share one rate limiter and one concurrency cap.
type Client struct {
	// Coupons manages coupons (wc/v3/coupons).
	Coupons *CouponsService
	// Customers lists registered customers (wc/v3/customers).
	Customers *CustomersService
	// Orders lists orders (wc/v3/orders).
	Orders *OrdersService
	// Reports reads WooCommerce Analytics reports (wc-analytics).
	Reports *ReportsService
	// Settings reads what the store says about itself (time zone, currency).
	Settings *SettingsService

	common service

	base        *url.URL
	key, secret string
	auth        AuthMode
	httpClient  *http.Client // source of the base transport
	timeout     time.Duration
	userAgent   string
	logger      *slog.Logger
	rps         float64
	burst       int
	maxConc     int
	retryMax    int
	minWait     time.Duration
	maxWait     time.Duration
	batchSize   int
	now         func() time.Time

	learnedBatch atomic.Int64 // batch limit learned from 413 answers; 0 = none
	limiter      *adaptiveLimiter
	rc           *retryablehttp.Client
	stats        stats
}

type service struct{ client *Client }

// Option configures a Client. Options validate their argument: a nil,
// empty or negative value is refused, never silently defaulted.
type Option func(*Client) error

// WithCredentials sets the REST API consumer key and secret (both required).
func WithCredentials(key, secret string) Option {
	return func(c *Client) error {
		key, secret = strings.TrimSpace(key), strings.TrimSpace(secret)
		if key == "" || secret == "" {
			return errors.New("woo: WithCredentials: consumer key and secret must both be set")
		}
		c.key, c.secret = key, secret
		return nil
	}
}

// WithAuthMode selects how credentials are sent (default AuthBasic).
func WithAuthMode(m AuthMode) Option {
	return func(c *Client) error {
		if m != AuthBasic && m != AuthQuery && m != AuthOAuth1 {
			return fmt.Errorf("woo: WithAuthMode: unknown mode %d", int(m))
		}
		c.auth = m
		return nil
	}
}

// WithHTTPClient sets the source of the base transport: the client's
// Transport (nil means http.DefaultTransport) carries every attempt. Its
// Timeout, CheckRedirect and Jar are not used: the per-attempt timeout is
// WithTimeout's, and redirects are never followed.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("woo: WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout sets the timeout of one attempt, from sending the request to
// reading the whole answer (default 60s: a batch of 100 coupons takes over
// a second on a small store and much longer on a busy one).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("woo: WithTimeout: %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "couponbridge/"+Version).
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(ua) == "" {
			return errors.New("woo: WithUserAgent: empty user agent")
		}
		c.userAgent = ua
		return nil
	}
}

// WithLogger sets the logger (default: discard). Log lines never contain
// credentials.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("woo: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRateLimit sets the ceiling of the adaptive rate limiter: at most rps
// requests per second with bursts of burst (default 5 and 5). The client
// goes slower when the store answers 429.
func WithRateLimit(rps float64, burst int) Option {
	return func(c *Client) error {
		if !(rps > 0) || math.IsInf(rps, 0) {
			return fmt.Errorf("woo: WithRateLimit: rate %v must be a positive number", rps)
		}
		if burst < 1 {
			return fmt.Errorf("woo: WithRateLimit: burst %d must be at least 1", burst)
		}
		c.rps, c.burst = rps, burst
		return nil
	}
}

// WithMaxConcurrency caps the number of requests in flight (default 4).
func WithMaxConcurrency(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("woo: WithMaxConcurrency: %d must be at least 1", n)
		}
		c.maxConc = n
		return nil
	}
}

// WithRetry sets the number of retries of a request and the bounds of the
// exponential backoff between them (default 6, 500ms, 60s). A wait the
// store asks for longer than maxWait ends the retries.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(c *Client) error {
		if maxRetries < 0 {
			return fmt.Errorf("woo: WithRetry: %d retries is negative", maxRetries)
		}
		if minWait <= 0 || maxWait < minWait {
			return fmt.Errorf("woo: WithRetry: want 0 < minWait <= maxWait, got %v and %v", minWait, maxWait)
		}
		c.retryMax, c.minWait, c.maxWait = maxRetries, minWait, maxWait
		return nil
	}
}

// WithBatchSize sets the number of items per batch request, 1..100
// (default 100). The client goes lower by itself when a store answers 413.
func WithBatchSize(n int) Option {
	return func(c *Client) error {
		if n < 1 || n > MaxBatchSize {
			return fmt.Errorf("woo: WithBatchSize: %d is outside 1..%d", n, MaxBatchSize)
		}
		c.batchSize = n
		return nil
	}
}

// NewClient returns a client for the store at storeURL, the address of the
// WordPress site (https://shop.example.com, or https://example.com/shop when
// WordPress lives in a subfolder). Requests go to <storeURL>/wp-json/wc/v3/….
//
// Basic and query authentication over plain http:// are refused: WooCommerce
// rejects them and they would expose the secret. Use https, or AuthOAuth1.
func NewClient(storeURL string, opts ...Option) (*Client, error) {
	base, err := normalizeStoreURL(storeURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		timeout:   DefaultTimeout,
		userAgent: "couponbridge/" + Version,
		logger:    slog.New(slog.DiscardHandler),
		rps:       DefaultRate,
		burst:     DefaultBurst,
		maxConc:   DefaultMaxConcurrency,
		retryMax:  DefaultRetryMax,
		minWait:   DefaultRetryMinWait,
		maxWait:   DefaultRetryMaxWait,
		batchSize: MaxBatchSize,
		now:       time.Now,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("woo: NewClient: nil Option")
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.key != "" && c.base.Scheme == "http" && c.auth != AuthOAuth1 {
		return nil, fmt.Errorf("woo: store URL %s is plain HTTP and auth mode is %s: %w", c.base, c.auth, ErrInsecureAuth)
	}

	var baseRT http.RoundTripper
	if c.httpClient != nil && c.httpClient.Transport != nil {
		baseRT = c.httpClient.Transport
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.maxConc
		baseRT = t
	}
	c.limiter = newAdaptiveLimiter(c.rps, c.burst, c.maxConc, c.logger)
	chain := &limitTransport{
		next:     &authTransport{next: baseRT, mode: c.auth, key: c.key, secret: c.secret, now: func() time.Time { return c.now() }},
		lim:      c.limiter,
		timeout:  c.timeout,
		maxPause: c.maxWait,
		stats:    &c.stats,
	}
	c.rc = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: chain,
			// Never follow redirects: a POST would be replayed as a GET
			// and credentials would follow to another address.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Logger:       retryLogger{c.logger},
		RetryWaitMin: c.minWait,
		RetryWaitMax: c.maxWait,
		RetryMax:     c.retryMax,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: func(resp *http.Response, err error, tries int) (*http.Response, error) {
			if err != nil {
				var ue *url.Error
				if errors.As(err, &ue) {
					err = ue.Err // do names method and URL itself
				}
				if tries > 1 {
					err = &attemptsError{tries: tries, err: err}
				}
			}
			return resp, err
		},
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			if attempt > 0 {
				c.stats.retries.Add(1)
				c.logger.Info("woo: retrying request", "method", req.Method, "url", redactURL(req.URL, c.secrets()...), "attempt", attempt+1)
			}
		},
	}
	c.common.client = c
	c.Coupons = (*CouponsService)(&c.common)
	c.Customers = (*CustomersService)(&c.common)
	c.Orders = (*OrdersService)(&c.common)
	c.Reports = (*ReportsService)(&c.common)
	c.Settings = (*SettingsService)(&c.common)
	return c, nil
}

// normalizeStoreURL checks and normalizes a store URL: lower-case scheme and
// host, no user info, query or fragment, a path that ends in "/" and does
// not include /wp-json.
func normalizeStoreURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("woo: empty store URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("woo: store URL: %w", scrubError(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("woo: store URL %q must start with https:// (or http://)", redactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("woo: store URL %q has no host", redactURL(u))
	}
	if u.User != nil {
		return nil, fmt.Errorf("woo: store URL %q contains credentials: pass them with WithCredentials instead", redactURL(u))
	}
	if u.Query().Has("rest_route") {
		return nil, fmt.Errorf("woo: store URL %q uses ?rest_route=, where WooCommerce does not authenticate: give the site address and enable pretty permalinks", redactURL(u))
	}
	u.Host = strings.ToLower(u.Host)
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	p := u.Path
	if i := strings.Index(p, "/wp-json"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(p, "/index.php")
	p = strings.TrimRight(p, "/") + "/"
	u.Path, u.RawPath = p, ""
	return u, nil
}

// BaseURL returns the normalized store URL, ending in "/".
func (c *Client) BaseURL() string { return c.base.String() }

// Rate returns the current request rate of the adaptive limiter in requests
// per second: the configured ceiling, or less after 429 answers.
func (c *Client) Rate() float64 { return c.limiter.rate() }

// SetLimits changes the client's rate ceiling (requests per second), its
// burst and the maximum number of requests in flight, in place, for a
// process that keeps one Client and adjusts it when its configuration is
// reloaded. The arguments are checked like WithRateLimit's and
// WithMaxConcurrency's; on error nothing changes.
//
// The limits hold across the change: the token bucket keeps its state (a
// change never grants an extra burst), requests already waiting obey the
// new values, and requests in flight finish. A client that is backing off
// after 429 answers stays at the lower of its current rate and the new
// ceiling.
func (c *Client) SetLimits(rps float64, burst, concurrency int) error {
	if !(rps > 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("woo: SetLimits: rate %v must be a positive number", rps)
	}
	if burst < 1 {
		return fmt.Errorf("woo: SetLimits: burst %d must be at least 1", burst)
	}
	if concurrency < 1 {
		return fmt.Errorf("woo: SetLimits: concurrency %d must be at least 1", concurrency)
	}
	c.limiter.setLimits(rps, burst, concurrency)
	return nil
}

// Limits returns the rate ceiling, burst and maximum concurrency in force
// (set by NewClient's options or SetLimits).
func (c *Client) Limits() (rps float64, burst, concurrency int) { return c.limiter.limits() }

// Stats counts what the client did since it was made.
type Stats struct {
	Requests       int64 // HTTP attempts sent, retries included
	Retries        int64 // attempts that were retries
	Throttled429   int64 // 429 answers
	ServerErrors   int64 // 5xx answers
	OutcomeUnknown int64 // requests that ended with ErrOutcomeUnknown
	BatchSplits    int64 // batch chunks halved after a 413
}

type stats struct {
	requests, retries, throttled, serverErrors, unknown, splits atomic.Int64
	// answered is set by the first answer of any status from the store.
	answered atomic.Bool
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:       c.stats.requests.Load(),
		Retries:        c.stats.retries.Load(),
		Throttled429:   c.stats.throttled.Load(),
		ServerErrors:   c.stats.serverErrors.Load(),
		OutcomeUnknown: c.stats.unknown.Load(),
		BatchSplits:    c.stats.splits.Load(),
	}
}

// secrets returns what must never appear in errors or logs: the secret, the
// key, and both as HTTP Basic credentials (which a WAF may echo).
func (c *Client) secrets() []string {
	if c.key == "" {
		return nil
	}
	return []string{c.secret, c.key, base64.StdEncoding.EncodeToString([]byte(c.key + ":" + c.secret))}
}

// Response holds the paging headers of an answer.
type Response struct {
	StatusCode int
	Total      int // X-WP-Total
	TotalPages int // X-WP-TotalPages
}

func newResponse(resp *http.Response) *Response {
	atoi := func(s string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(s))
		return n
	}
	return &Response{
		StatusCode: resp.StatusCode,
		Total:      atoi(resp.Header.Get("X-WP-Total")),
		TotalPages: atoi(resp.Header.Get("X-WP-TotalPages")),
	}
}

// ListOptions are the paging parameters shared by List methods.
type ListOptions struct {
	Page    int // 1-based; 0 means the first page
	PerPage int // 1..100; 0 means the store's default for List, 100 for All
}

func (o ListOptions) apply(q url.Values) error {
	if o.Page < 0 {
		return fmt.Errorf("woo: page %d is negative", o.Page)
	}
	if o.PerPage < 0 || o.PerPage > MaxPerPage {
		return fmt.Errorf("woo: per_page %d is outside 1..%d", o.PerPage, MaxPerPage)
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return nil
}

// apiURL returns the URL of path in REST namespace ns (e.g. "wc/v3").
func (c *Client) apiURL(ns, path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + "wp-json/" + ns + "/" + path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (c *Client) wcURL(path string, q url.Values) string { return c.apiURL("wc/v3", path, q) }

// do sends one API call with retries and decodes a 2xx JSON answer into v.
func (c *Client) do(ctx context.Context, class reqClass, method, u string, body, v any) (*Response, error) {
	var raw any
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("woo: encoding request: %w", err)
		}
		raw = b
	}
	st := &callState{class: class}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, callStateKey{}, st), method, u, raw)
	if err != nil {
		return nil, fmt.Errorf("woo: %s %s: %w", method, redactString(u, c.secrets()...), scrubError(err, c.secrets()...))
	}
	if b, ok := raw.([]byte); ok {
		// Lets net/http resend the body by itself when a reused
		// connection turns out closed before anything was written.
		req.Request.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	where := method + " " + redactURL(req.URL, c.secrets()...)

	resp, err := c.rc.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		if st.unknown {
			c.stats.unknown.Add(1)
			return nil, fmt.Errorf("woo: %s: %w: %w", where, ErrOutcomeUnknown, scrubError(err, c.secrets()...))
		}
		if u := asUnreachable(err); u != nil {
			err = u
		}
		return nil, fmt.Errorf("woo: %s: %w", where, scrubError(err, c.secrets()...))
	}
	defer resp.Body.Close()
	if err := c.checkResponse(resp); err != nil {
		if st.unknown {
			c.stats.unknown.Add(1)
			return newResponse(resp), fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		return newResponse(resp), err
	}
	r := newResponse(resp)
	unclear := func(err error) error {
		if class == classCreate {
			c.stats.unknown.Add(1)
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		return err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return r, unclear(fmt.Errorf("woo: %s: reading the answer: %w", where, scrubError(err, c.secrets()...)))
	}
	if len(data) > maxBody {
		return r, unclear(&AnswerTooLargeError{Method: method, URL: redactURL(req.URL, c.secrets()...), Limit: maxBody})
	}
	if v == nil {
		return r, nil
	}
	if !looksLikeJSON(data) {
		e := c.newAPIError(resp)
		e.Message = "the store answered with a body that is not JSON (a host's error page?)"
		e.Body = c.quoteBody(data)
		return r, unclear(e)
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		// Decoding errors quote bits of the answer.
		return r, unclear(fmt.Errorf("woo: %s: decoding the answer: %w", where, scrubError(err, c.secrets()...)))
	}
	return r, nil
}

// retryLogger passes go-retryablehttp's messages to the client's logger at
// debug level: a failed attempt that is retried is not an error of the
// caller; the client logs retries and throttling itself.
type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug("woo: retryablehttp: "+msg, kv...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug("woo: retryablehttp: "+msg, kv...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug("woo: retryablehttp: "+msg, kv...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug("woo: retryablehttp: "+msg, kv...) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
