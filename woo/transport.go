package woo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The transport of a Client is a chain of http.RoundTrippers under
// go-retryablehttp:
//
//	retryablehttp.Client → limitTransport → authTransport → base transport
//
// retryablehttp calls the chain once per attempt, so every attempt, retries
// included, waits for a concurrency slot and a rate token. Authentication is
// applied after the wait, right before the request leaves: an OAuth 1.0a
// timestamp is then fresh and a nonce is never reused across attempts, and
// credentials exist only on the request copy the base transport sees — never
// on the request that retryablehttp logs or that errors quote.

// limitTransport throttles attempts and applies the per-attempt timeout.
type limitTransport struct {
	next    http.RoundTripper
	lim     *adaptiveLimiter
	timeout time.Duration
	// maxPause caps the pause a store's Retry-After imposes on every
	// request: a longer wait ends the retries of the request that got it
	// (see checkRetry) instead of silently stalling the others.
	maxPause time.Duration
	stats    *stats
}

// errNotSent marks an attempt that ended before anything left this process.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "woo: request not sent: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// attemptTimeoutError is the per-attempt timeout (WithTimeout) expiring.
type attemptTimeoutError struct {
	d   time.Duration
	err error
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no complete answer within %s (per-attempt timeout): %v", e.d, e.err)
}
func (e *attemptTimeoutError) Unwrap() error { return e.err }
func (e *attemptTimeoutError) Timeout() bool { return true }

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := t.lim.acquire(ctx); err != nil {
		return nil, &notSentError{err}
	}
	t.stats.requests.Add(1)
	actx, cancel := context.WithTimeout(ctx, t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(actx))
	if err != nil {
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		t.lim.release()
		if timedOut {
			err = &attemptTimeoutError{d: t.timeout, err: err}
		}
		return nil, err
	}
	t.stats.answered.Store(true)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		t.stats.throttled.Add(1)
		wait, _ := serverWait(resp.Header, time.Now())
		t.lim.throttled(resp.StatusCode, min(wait, t.maxPause))
	case resp.StatusCode >= 500:
		t.stats.serverErrors.Add(1)
		if wait, ok := serverWait(resp.Header, time.Now()); ok && resp.StatusCode == http.StatusServiceUnavailable {
			t.lim.throttled(resp.StatusCode, min(wait, t.maxPause))
		}
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, ctx: actx, timeout: t.timeout, parent: ctx, done: func() {
		cancel()
		t.lim.release()
	}}
	return resp, nil
}

// attemptBody releases the attempt's concurrency slot and timeout when the
// body is closed, and reports the per-attempt timeout by name.
type attemptBody struct {
	io.ReadCloser
	ctx     context.Context
	parent  context.Context
	timeout time.Duration
	once    sync.Once
	done    func()
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && errors.Is(b.ctx.Err(), context.DeadlineExceeded) && b.parent.Err() == nil {
		err = &attemptTimeoutError{d: b.timeout, err: err}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// authTransport adds credentials to a copy of each request.
type authTransport struct {
	next        http.RoundTripper
	mode        AuthMode
	key, secret string
	now         func() time.Time
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.key == "" || req.Context().Value(anonymousKey{}) != nil {
		resp, err := t.next.RoundTrip(req)
		return resp, scrubError(err)
	}
	r := req.Clone(req.Context())
	switch t.mode {
	case AuthBasic, AuthQuery:
		// NewClient refuses these over plain HTTP; this guards against
		// anything that would still try.
		if !strings.EqualFold(r.URL.Scheme, "https") {
			closeBody(req)
			return nil, &notSentError{ErrInsecureAuth}
		}
		if t.mode == AuthBasic {
			r.SetBasicAuth(t.key, t.secret)
		} else {
			q := r.URL.Query()
			q.Set("consumer_key", t.key)
			q.Set("consumer_secret", t.secret)
			r.URL.RawQuery = q.Encode()
		}
	case AuthOAuth1:
		if err := t.signOAuth1(r); err != nil {
			closeBody(req)
			return nil, &notSentError{err}
		}
	}
	resp, err := t.next.RoundTrip(r)
	return resp, scrubError(err, t.key, t.secret)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// signOAuth1 adds one-legged OAuth 1.0a parameters (HMAC-SHA256) to the
// query string the way WooCommerce's WC_REST_Authentication checks them:
// signature over METHOD&enc(base URL)&enc(sorted, encoded parameters) with
// the key "secret&". The JSON body is not signed.
func (t *authTransport) signOAuth1(r *http.Request) error {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("woo: oauth nonce: %w", err)
	}
	q := r.URL.Query()
	q.Set("oauth_consumer_key", t.key)
	q.Set("oauth_nonce", hex.EncodeToString(nonce[:]))
	q.Set("oauth_signature_method", "HMAC-SHA256")
	q.Set("oauth_timestamp", strconv.FormatInt(t.now().Unix(), 10))
	q.Del("oauth_signature")
	q.Set("oauth_signature", oauth1Signature(r.Method, r.URL, q, t.secret))
	r.URL.RawQuery = q.Encode()
	return nil
}

// oauth1Signature computes the base64 HMAC-SHA256 signature of a request
// with query parameters params (oauth_signature excluded).
func oauth1Signature(method string, u *url.URL, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "oauth_signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		// PHP keeps the last of repeated query parameters.
		v := params[k][len(params[k])-1]
		pairs = append(pairs, oauthEscape(k)+"="+oauthEscape(v))
	}
	base := strings.ToUpper(method) + "&" + oauthEscape(oauthBaseURL(u)) + "&" + oauthEscape(strings.Join(pairs, "&"))
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// oauthBaseURL is scheme://host[:port]/path with a default port dropped,
// as WordPress's get_home_url builds it.
func oauthBaseURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	return scheme + "://" + host + u.EscapedPath()
}

// oauthEscape percent-encodes s per RFC 3986 (PHP's rawurlencode).
func oauthEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
