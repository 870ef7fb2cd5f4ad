package woo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reqClass says how a request may be retried.
type reqClass int

const (
	// classSafe requests (GET, DELETE, a batch of deletes only, PUT updates
	// which set the same values again) are retried on connection errors,
	// 429, 502, 503, 504 and on a 2xx whose body is not JSON.
	classSafe reqClass = iota
	// classCreate requests (POST /coupons, a batch with creates or updates)
	// are retried only when the store cannot have applied them: a 429, or
	// an error before anything was sent.
	classCreate
)

// maxBody bounds the size of a successful answer. The largest answer the
// client asks for, a batch or a page of 100 coupons, is about 100-200 KB;
// 8 MiB leaves room for stores with much meta data, and anything larger is
// not an answer to our request (a runaway plugin, a proxy streaming
// something else). It is refused once with *AnswerTooLargeError, never
// retried: downloading it again would give the same.
const maxBody = 8 << 20

// callState travels in the request context from Client.do to the retry
// policy.
type callState struct {
	class reqClass
	// unknown is set when the last attempt of a create may have reached
	// the store without a clear answer.
	unknown bool
	// unreachable counts attempts that could not reach the store.
	unreachable int
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return st
	}
	return &callState{class: classSafe}
}

// checkRetry is the retryablehttp.CheckRetry of a Client.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateFrom(ctx)
	if err != nil {
		if st.class == classCreate && !errNotSent(err) {
			st.unknown = true
			return false, nil
		}
		if ctx.Err() != nil || permanentTransportError(err) {
			return false, nil
		}
		if errUnreachable(err) && !c.stats.answered.Load() {
			st.unreachable++
			return st.unreachable < unreachableTriesBeforeAnswer, nil
		}
		return true, nil
	}
	st.unknown = false
	// tooLong: the store asked for a longer pause than we are willing to
	// wait; give up now with the answer, which names the wait.
	wait, hasWait := serverWait(resp.Header, time.Now())
	tooLong := hasWait && wait > c.maxWait
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		// A 429 comes from a host or WAF in front of WordPress: nothing
		// was applied.
		return !tooLong, nil
	case code >= 500:
		if st.class == classCreate {
			st.unknown = true
			return false, nil
		}
		retryable := code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
		return retryable && !tooLong, nil
	case code >= 200 && code <= 299 && st.class == classSafe:
		// Some hosts answer 200 with an HTML page or nothing at all
		// when they are overloaded: read the body now and retry if it is
		// not JSON.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return ctx.Err() == nil, nil
		}
		if len(body) > maxBody {
			// Too large is not "not JSON": the same answer would come
			// again. Client.do reports it.
			return false, nil
		}
		return !looksLikeJSON(body), nil
	}
	return false, nil
}

// looksLikeJSON reports whether body is a JSON object or array.
func looksLikeJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return false
	}
	return json.Valid(b)
}

// errNotSent reports whether err proves the request never reached the
// store: it failed before a connection existed (DNS, dial, refused), or
// while waiting on the limiter, or refused locally.
func errNotSent(err error) bool {
	var ns *notSentError
	if errors.As(err, &ns) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	// TLS failures happen in the handshake, before the request is written.
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// permanentTransportError reports errors that a retry cannot fix.
func permanentTransportError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var ns *notSentError
	switch {
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return true
	case errors.Is(err, ErrInsecureAuth):
		return true
	case errors.As(err, &ns) && (errors.Is(ns.err, context.Canceled) || errors.Is(ns.err, context.DeadlineExceeded)):
		return true
	}
	return false
}

// backoff is the retryablehttp.Backoff of a Client: exponential with equal
// jitter, never shorter than a wait the store named.
func (c *Client) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	d := jitteredBackoff(minWait, maxWait, attempt)
	if resp != nil {
		if w, ok := serverWait(resp.Header, time.Now()); ok && w > d {
			d = min(w, maxWait)
		}
	}
	return d
}

func jitteredBackoff(minWait, maxWait time.Duration, attempt int) time.Duration {
	exp := float64(minWait) * math.Pow(2, float64(attempt))
	if exp > float64(maxWait) || math.IsInf(exp, 0) || math.IsNaN(exp) {
		exp = float64(maxWait)
	}
	half := exp / 2
	return time.Duration(half + rand.Float64()*half)
}

// serverWait returns how long the store asked the client to wait: from
// Retry-After (seconds or an HTTP date), RateLimit-Retry-After (seconds) or
// RateLimit-Reset (seconds, or a Unix time as WooCommerce's Store API sends
// it). ok is false when none is present.
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return secondsDuration(n), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now)), true
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return secondsDuration(n), true
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			if n >= 100_000_000 { // over three years: a Unix timestamp, not a delay
				return max(0, time.Unix(n, 0).Sub(now)), true
			}
			return secondsDuration(n), true
		}
	}
	return 0, false
}

func secondsDuration(n int64) time.Duration {
	if n > int64(math.MaxInt64/time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(n) * time.Second
}
