package wootest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultKey and DefaultSecret are the read/write API credentials a store
// created without WithKey accepts.
const (
	DefaultKey    = "ck_sandbox_0000000000000000000000000000000000000000"
	DefaultSecret = "cs_sandbox_0000000000000000000000000000000000000000"
)

// DefaultBatchLimit is WooCommerce's default maximum number of items
// (create + update + delete) in one batch request.
const DefaultBatchLimit = 100

// Permission is what an API key may do, as chosen when the key is created
// in WooCommerce's settings.
type Permission int

const (
	// ReadWrite keys may read and write.
	ReadWrite Permission = iota
	// Read keys may only read; a write answers 401
	// woocommerce_rest_authentication_error.
	Read
	// Write keys may only write; a read answers 401.
	Write
)

// String returns the permission's name as WooCommerce shows it.
func (p Permission) String() string {
	switch p {
	case ReadWrite:
		return "read_write"
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "Permission(" + strconv.Itoa(int(p)) + ")"
}

// StoreOption configures a Store created by NewStore.
type StoreOption func(*Store)

// WithKey adds an API key. When no key is added, the store accepts
// DefaultKey/DefaultSecret with ReadWrite permission.
func WithKey(key, secret string, perm Permission) StoreOption {
	return func(s *Store) {
		s.keys[key] = &apiKey{key: key, secret: secret, perm: perm, nonces: map[int64]string{}}
	}
}

// WithTimezone sets the site's timezone (WordPress "Settings > General");
// the default is UTC. It decides how expiry dates without an offset are
// read and how site-local dates are written.
func WithTimezone(loc *time.Location) StoreOption {
	return func(s *Store) {
		if loc != nil {
			s.loc = loc
		}
	}
}

// WithBatchLimit sets the maximum number of items in one batch request
// (WooCommerce's woocommerce_rest_batch_items_limit filter). n < 1 keeps the
// default of 100.
func WithBatchLimit(n int) StoreOption {
	return func(s *Store) {
		if n >= 1 {
			s.batchLimit = n
		}
	}
}

// WithTrustedTLSProxy makes the store behave as if it sat behind a
// TLS-terminating proxy that WordPress trusts: plain HTTP requests count as
// HTTPS for authentication, while generated links keep the plain scheme
// (the wrong-scheme Link header real proxies produce).
func WithTrustedTLSProxy(trusted bool) StoreOption {
	return func(s *Store) { s.trustedProxy = trusted }
}

// WithDataFile makes the store load its data from path when it is created
// (a missing file is an empty store) and save it there, atomically, after
// every change and on Save.
func WithDataFile(path string) StoreOption {
	return func(s *Store) { s.dataFile = path }
}

// WithClock replaces time.Now for the store's dates (creation and
// modification dates, expiry checks, OAuth timestamp window).
func WithClock(now func() time.Time) StoreOption {
	return func(s *Store) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithAnalytics switches the wc-analytics customers report on (default) or
// off; when off the route answers 404 rest_no_route like a store without
// WooCommerce Analytics.
func WithAnalytics(enabled bool) StoreOption {
	return func(s *Store) { s.analytics = enabled }
}

// WithLogger sets the logger for load/save problems and injected faults.
func WithLogger(l *slog.Logger) StoreOption {
	return func(s *Store) {
		if l != nil {
			s.logger = l
		}
	}
}

// FailMode is how a commit-then-fail fault answers after applying the
// request.
type FailMode int

const (
	// FailGatewayTimeout answers 504 with a proxy's HTML page.
	FailGatewayTimeout FailMode = iota
	// FailDropConnection closes the connection without an answer.
	FailDropConnection
)

// Faults are the misbehaviours a store injects. The zero value injects
// nothing. Set them with (*Store).SetFaults at any time.
type Faults struct {
	// RateLimitRPS, when > 0, answers 429 to requests above this sustained
	// rate (token bucket; burst RateLimitBurst, default one second's worth).
	RateLimitRPS   float64
	RateLimitBurst int
	// RetryAfter adds a Retry-After header (whole seconds) to 429 and 503
	// answers.
	RetryAfter bool
	// ErrorRatio is the share of requests answered with a random 502, 503
	// or 504 before anything is applied.
	ErrorRatio float64
	// Latency delays every request; ItemLatency delays every coupon create
	// (single or batch item) and every other batch item (a real store takes
	// 11-13 ms per item). With ItemLatency a create's duplicate check and
	// its insert are apart, half of it each, as on a real store (a SELECT
	// then an INSERT, no unique index): two concurrent creates of one new
	// code can both succeed, and ?code= then shows only the newer one. A
	// client that gives up does not stop or hurry the items.
	Latency, ItemLatency time.Duration
	// CommitThenFail makes the next N coupon create requests (single or
	// batch) apply their changes and then fail as FailMode says.
	CommitThenFail int
	FailMode       FailMode
	// HTMLErrorRatio is the share of requests answered with an HTML page
	// (half with status 200, half with 503) instead of JSON.
	HTMLErrorRatio float64
	// PartialSave makes the next N coupon create requests (single or
	// batch) die of a PHP fatal error while saving one coupon: the items
	// before it are created, that coupon is saved with its code, email
	// restriction and other fields but without its meta_data, later items
	// are never reached, and the request answers 500
	// internal_server_error. PartialSaveItem is the index of the batch
	// item that dies (beyond the last: the last).
	PartialSave     int
	PartialSaveItem int
	// KeepsRunning makes the next N coupon create requests answer 504 at
	// once, as nginx does when PHP-FPM is slow, while PHP goes on creating
	// the items afterwards, one by one at ItemLatency. Wait blocks until
	// such work is done.
	KeepsRunning int
	// StripAuthorization drops the Authorization header like some hosts.
	StripAuthorization bool
	// Seed makes the random faults repeatable.
	Seed int64
}

// Stats are counters about the requests a store has seen.
type Stats struct {
	// Requests is every request that reached the handler.
	Requests int64
	// Throttled is the number of 429 answers sent.
	Throttled int64
	// InjectedErrors counts 5xx and HTML answers injected by faults.
	InjectedErrors int64
	// PeakRPS is the highest number of requests seen within any one-second
	// window.
	PeakRPS float64
}

type apiKey struct {
	key, secret string
	perm        Permission
	nonces      map[int64]string // OAuth nonces by timestamp, as WooCommerce keeps them
}

// Store is a WooCommerce-compatible sandbox store. It implements
// http.Handler and is safe for concurrent use.
type Store struct {
	// configuration, fixed after NewStore
	keys         map[string]*apiKey
	loc          *time.Location
	batchLimit   int
	trustedProxy bool
	dataFile     string
	clock        func() time.Time
	analytics    bool
	currency     string // WithCurrency; "" is USD
	logger       *slog.Logger

	mu          sync.Mutex // guards db, nonces, createCalls
	db          *database
	createCalls int
	loadErr     error

	fmu          sync.Mutex // guards fault state and stats
	faults       Faults
	commitFails  int
	partialSaves int
	keepRunning  int
	background   sync.WaitGroup // requests going on after their answer (KeepsRunning)
	rng          *rand.Rand
	limiter      *rate.Limiter
	stats        Stats
	window       []time.Time // request times within the last second
}

// NewStore returns an empty sandbox store (or one loaded from the data file
// given with WithDataFile).
func NewStore(opts ...StoreOption) *Store {
	s := &Store{
		keys:       map[string]*apiKey{},
		loc:        time.UTC,
		batchLimit: DefaultBatchLimit,
		clock:      time.Now,
		analytics:  true,
		logger:     slog.New(slog.DiscardHandler),
		db:         newDatabase(),
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.keys) == 0 {
		WithKey(DefaultKey, DefaultSecret, ReadWrite)(s)
	}
	s.rng = rand.New(rand.NewPCG(0, 0))
	if s.dataFile != "" {
		if err := s.load(); err != nil {
			s.loadErr = err
			s.logger.Error("wootest: loading data file", "path", s.dataFile, "err", err)
		}
	}
	return s
}

// LoadError reports why the data file given with WithDataFile could not be
// loaded (nil when it loaded or did not exist).
func (s *Store) LoadError() error { return s.loadErr }

// SetFaults replaces the injected faults. It resets the random source to
// f.Seed and the rate limiter to a full bucket.
func (s *Store) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = f
	s.commitFails = f.CommitThenFail
	s.partialSaves = f.PartialSave
	s.keepRunning = f.KeepsRunning
	s.rng = rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0x9e3779b97f4a7c15))
	s.limiter = nil
	if f.RateLimitRPS > 0 {
		burst := f.RateLimitBurst
		if burst < 1 {
			burst = max(1, int(f.RateLimitRPS+0.999999))
		}
		s.limiter = rate.NewLimiter(rate.Limit(f.RateLimitRPS), burst)
	}
}

// Faults returns the faults in force; CommitThenFail, PartialSave and
// KeepsRunning are the numbers of such requests still to come.
func (s *Store) Faults() Faults {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	f := s.faults
	f.CommitThenFail = s.commitFails
	f.PartialSave = s.partialSaves
	f.KeepsRunning = s.keepRunning
	return f
}

// Wait blocks until requests that go on after their answer (KeepsRunning)
// have finished their work.
func (s *Store) Wait() { s.background.Wait() }

// takeCreateFaults decides the PartialSave and KeepsRunning faults of a
// coupon create request.
func (s *Store) takeCreateFaults() (partialAt int, keepRunning bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	partialAt = -1
	if s.partialSaves > 0 {
		s.partialSaves--
		partialAt = max(0, s.faults.PartialSaveItem)
	}
	if s.keepRunning > 0 {
		s.keepRunning--
		keepRunning = true
	}
	return partialAt, keepRunning
}

// Stats returns the request counters.
func (s *Store) Stats() Stats {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.stats
}

// CouponCreateCalls is the number of coupon create attempts that reached the
// store's coupon code (single creates plus every create item of a batch),
// whether they succeeded or not.
func (s *Store) CouponCreateCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createCalls
}

func (s *Store) now() time.Time { return s.clock() }

// faultDecision is what the fault layer decided for one request.
type faultDecision struct {
	throttle   bool
	retryAfter bool
	errStatus  int // injected 5xx, 0 for none
	html       int // status of an injected HTML page, 0 for none
	latency    time.Duration
	itemDelay  time.Duration
	strip      bool
}

func (s *Store) decideFaults() faultDecision {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	now := time.Now()
	s.stats.Requests++
	cut := now.Add(-time.Second)
	i := 0
	for i < len(s.window) && !s.window[i].After(cut) {
		i++
	}
	s.window = append(s.window[i:], now)
	if r := float64(len(s.window)); r > s.stats.PeakRPS {
		s.stats.PeakRPS = r
	}
	f := s.faults
	d := faultDecision{latency: f.Latency, itemDelay: f.ItemLatency, strip: f.StripAuthorization, retryAfter: f.RetryAfter}
	if s.limiter != nil && !s.limiter.AllowN(now, 1) {
		d.throttle = true
		s.stats.Throttled++
		return d
	}
	if f.ErrorRatio > 0 && s.rng.Float64() < f.ErrorRatio {
		d.errStatus = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[s.rng.IntN(3)]
		s.stats.InjectedErrors++
		return d
	}
	if f.HTMLErrorRatio > 0 && s.rng.Float64() < f.HTMLErrorRatio {
		d.html = http.StatusOK
		if s.rng.IntN(2) == 1 {
			d.html = http.StatusServiceUnavailable
		}
		s.stats.InjectedErrors++
	}
	return d
}

// takeCommitFail reports whether this create request must fail after being
// applied, and how.
func (s *Store) takeCommitFail() (bool, FailMode) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.commitFails <= 0 {
		return false, 0
	}
	s.commitFails--
	return true, s.faults.FailMode
}

// sleep waits d or until ctx is done. It uses a timer rather than a socket
// deadline so that it works inside testing/synctest bubbles.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wpError is a WordPress REST error (WP_Error rendered by the REST server).
type wpError struct {
	Status  int
	Code    string
	Message string
	Extra   map[string]any // merged into "data" next to "status"
}

func (e *wpError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, code, msg string) *wpError {
	return &wpError{Status: status, Code: code, Message: msg}
}

func (e *wpError) body() map[string]any {
	data := map[string]any{"status": e.Status}
	for k, v := range e.Extra {
		data[k] = v
	}
	return map[string]any{"code": e.Code, "message": e.Message, "data": data}
}

func errNoRoute() *wpError {
	return newErr(http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
}

func errInvalidParam(param, reason string) *wpError {
	e := newErr(http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+param)
	e.Extra = map[string]any{"params": map[string]string{param: reason}}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal_server_error","message":"encoding failed","data":{"status":500}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *wpError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="WooCommerce REST API"`)
	}
	writeJSON(w, e.Status, e.body())
}

func writeHTML(w http.ResponseWriter, status int, retryAfter bool) {
	if retryAfter && (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	text := http.StatusText(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx</center></body></html>\n", status, text, status, text)
}

// ServeHTTP answers one WooCommerce REST request.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := s.decideFaults()
	if d.throttle {
		writeHTML(w, http.StatusTooManyRequests, d.retryAfter)
		return
	}
	if err := sleep(r.Context(), d.latency); err != nil {
		return // the client is gone; nothing was applied
	}
	if d.errStatus != 0 {
		writeHTML(w, d.errStatus, d.retryAfter)
		return
	}
	if d.html != 0 {
		writeHTML(w, d.html, d.retryAfter)
		return
	}
	if d.strip {
		r.Header.Del("Authorization")
	}
	req, werr := s.newRequest(r)
	if werr != nil {
		writeError(w, werr)
		return
	}
	req.itemDelay = d.itemDelay
	req.partialAt = -1
	if req.createsCoupons() {
		var keepRunning bool
		req.partialAt, keepRunning = s.takeCreateFaults()
		if keepRunning {
			// nginx gives up on PHP-FPM; PHP does not notice and goes on.
			req.ctx = context.WithoutCancel(req.ctx)
			s.background.Go(func() { s.dispatch(req) })
			writeHTML(w, http.StatusGatewayTimeout, d.retryAfter)
			return
		}
	}
	resp := s.dispatch(req)
	if resp.commitFail {
		if fail, mode := s.takeCommitFail(); fail {
			s.failAfterCommit(w, mode, d.retryAfter)
			return
		}
	}
	if resp.err != nil {
		writeError(w, resp.err)
		return
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	writeJSON(w, resp.status, resp.body)
}

func (s *Store) failAfterCommit(w http.ResponseWriter, mode FailMode, retryAfter bool) {
	if mode == FailDropConnection {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		// No hijacking (HTTP/2, in-memory transports): abort the response,
		// which closes the stream without an answer.
		panic(http.ErrAbortHandler)
	}
	writeHTML(w, http.StatusGatewayTimeout, retryAfter)
}

// response is what a route handler produced.
type response struct {
	status     int
	body       any
	header     http.Header
	err        *wpError
	commitFail bool // a create request: subject to CommitThenFail
}

func ok(status int, body any) response {
	return response{status: status, body: body, header: http.Header{}}
}
func fail(e *wpError) response { return response{err: e} }
