package woo

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrOutcomeUnknown is matched (errors.Is) by the error of a request that
// creates coupons when the store may have applied it although no clear
// answer arrived: a timeout, a dropped connection, a 5xx, a 2xx that cannot be
// read, or the caller's context ending while the request was in flight.
// Look the coupons up by code before trying again.
var ErrOutcomeUnknown = errors.New("woo: outcome unknown: the store may have applied the request; look it up by code before retrying")

// ErrNoAnalytics is matched by the error of Reports.CustomersAnalytics when
// the store has no wc-analytics routes (WooCommerce Analytics disabled or an
// old version): fall back to scanning orders.
var ErrNoAnalytics = errors.New("woo: the store has no WooCommerce Analytics routes (wc-analytics); scan orders instead")

// ErrNotFound is matched by errors of lookups that found nothing, such as
// CouponsService.GetByCode. IsNotFound also reports true for it.
var ErrNotFound = errors.New("woo: not found")

// ErrInsecureAuth is matched when credentials would travel unencrypted: Basic
// or query-string authentication over plain http://.
var ErrInsecureAuth = errors.New("woo: refusing to send the consumer key and secret over plain HTTP: use an https:// store URL, or auth mode oauth1")

const (
	// maxErrorBody bounds how much of an error body is read for decoding.
	maxErrorBody = 1 << 20
	// quoteBodyBytes is how much of a non-JSON body an error quotes.
	quoteBodyBytes = 200
)

// APIError is a non-2xx answer from the store, or a 2xx answer whose body is
// not the JSON that was expected.
type APIError struct {
	StatusCode int             // HTTP status
	Code       string          // WooCommerce/WordPress error code, e.g. woocommerce_rest_coupon_code_already_exists
	Message    string          // human-readable message from the store (HTML entities decoded)
	Data       json.RawMessage // the error's "data" member as sent
	Method     string          // request method
	URL        string          // request URL with credentials and signatures redacted
	Body       string          // first 200 bytes of the body when it was not a JSON error
	RetryAfter time.Duration   // wait the store asked for (Retry-After and friends), 0 if none

	authMode AuthMode // how the request was authenticated, for AuthHint
	hasCreds bool
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "woo: %s %s: %d", e.Method, e.URL, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": body %q", e.Body)
	}
	if hint := authHint(e); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

// AnswerTooLargeError is a 2xx answer whose body is larger than the client
// reads (Limit bytes). It is not retried. For a request that creates coupons
// it is wrapped with ErrOutcomeUnknown: the store answered, so it may have
// applied the request.
type AnswerTooLargeError struct {
	Method string // request method
	URL    string // request URL with credentials and signatures redacted
	Limit  int64  // bytes read at most
}

// Error implements error.
func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("woo: %s %s: answer too large: the body is over %d MiB, far more than any answer the client asks for", e.Method, e.URL, e.Limit>>20)
}

// ItemError is the error of one item of a batch inside a 200 answer, such as
// {"id":0,"error":{"code":"woocommerce_rest_coupon_code_already_exists",...}}.
type ItemError struct {
	Code    string
	Message string
	Status  int // the error's data.status, 0 if absent
}

// Error implements error.
func (e *ItemError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("woo: batch item: %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("woo: batch item: %s: %s", e.Code, e.Message)
}

// wireError is the body of a WordPress REST error.
type wireError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (w wireError) status() int {
	var d struct {
		Status int `json:"status"`
	}
	if len(w.Data) > 0 && json.Unmarshal(w.Data, &d) == nil {
		return d.Status
	}
	return 0
}

// decodeErrorBody decodes a WordPress REST error body. ok is false when body
// is not such an error.
func decodeErrorBody(body []byte) (w wireError, ok bool) {
	if err := json.Unmarshal(body, &w); err != nil || w.Code == "" {
		return wireError{}, false
	}
	w.Message = html.UnescapeString(w.Message)
	return w, true
}

// checkResponse returns nil for a 2xx answer and an *APIError otherwise. It
// reads at most maxErrorBody bytes of the body.
func (c *Client) checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := c.newAPIError(resp)
	if w, ok := decodeErrorBody(body); ok {
		e.Code, e.Message, e.Data = c.redact(w.Code), c.redact(w.Message), json.RawMessage(c.redact(string(w.Data)))
	} else {
		e.Message = http.StatusText(resp.StatusCode)
		e.Body = c.quoteBody(body)
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		loc := redactString(resp.Header.Get("Location"), c.secrets()...)
		e.Message = fmt.Sprintf("the store redirected to %q; redirects are not followed (a POST would turn into a GET): set the store URL to where it redirects", loc)
	}
	return e
}

func (c *Client) newAPIError(resp *http.Response) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, authMode: c.auth, hasCreds: c.key != ""}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		e.URL = redactURL(resp.Request.URL, c.secrets()...)
	}
	if d, ok := serverWait(resp.Header, time.Now()); ok {
		e.RetryAfter = d
	}
	return e
}

// quoteBody quotes body for an error: redacted first, so that the cut
// cannot leave part of a secret, then shortened by the package's quoteBody.
func (c *Client) quoteBody(body []byte) string {
	return quoteBody([]byte(c.redact(string(body))))
}

// redact removes the client's credentials from store text.
func (c *Client) redact(s string) string { return redactString(s, c.secrets()...) }

// quoteBody returns the first quoteBodyBytes bytes of body, cut at a rune
// boundary.
func quoteBody(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "(empty)"
	}
	if len(s) > quoteBodyBytes {
		s = s[:quoteBodyBytes]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// IsCodeExists reports whether err says the coupon code is already taken
// (woocommerce_rest_coupon_code_already_exists), as an *APIError of a single
// create or as the *ItemError of a batch item.
func IsCodeExists(err error) bool {
	return errorCode(err) == "woocommerce_rest_coupon_code_already_exists"
}

// IsNotFound reports whether err is a 404 answer or a lookup that found
// nothing (ErrNotFound).
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusNotFound
	}
	var ie *ItemError
	if errors.As(err, &ie) {
		return ie.Status == http.StatusNotFound
	}
	return false
}

// IsAuth reports whether err is an authentication or authorization failure:
// a 401 or 403 answer, or credentials refused for plain HTTP. AuthHint says
// which cause is likely.
func IsAuth(err error) bool {
	if errors.Is(err, ErrInsecureAuth) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden
	}
	var ie *ItemError
	if errors.As(err, &ie) {
		return ie.Status == http.StatusUnauthorized || ie.Status == http.StatusForbidden
	}
	return false
}

// AuthHint explains an authentication failure in terms a shop owner can act
// on: a wrong secret, a read-only key, an Authorization header stripped by
// the host, plain HTTP. It returns "" when err is not an authentication
// failure.
func AuthHint(err error) string {
	if errors.Is(err, ErrInsecureAuth) {
		return "not HTTPS: WooCommerce accepts Basic and query-string keys only over HTTPS; use an https:// store URL, or auth mode oauth1"
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return authHint(ae)
	}
	return ""
}

func authHint(e *APIError) string {
	if e.StatusCode != http.StatusUnauthorized && e.StatusCode != http.StatusForbidden {
		return ""
	}
	msg := strings.ToLower(e.Message)
	switch {
	case strings.Contains(msg, "consumer secret is invalid"), strings.Contains(msg, "signature - provided signature does not match"):
		return "wrong secret: the consumer secret does not belong to the consumer key; copy both again from WooCommerce > Settings > Advanced > REST API"
	case strings.Contains(msg, "does not have write permissions"), strings.Contains(msg, "does not have read permissions"):
		return "read-only key: give the API key Read/Write permission in WooCommerce > Settings > Advanced > REST API"
	case strings.Contains(msg, "consumer key is invalid"):
		return "unknown key: the store does not know this consumer key; create a key in WooCommerce > Settings > Advanced > REST API"
	case strings.Contains(msg, "invalid timestamp"):
		return "clock skew: this computer's clock is more than 15 minutes off the store's; fix the clock (OAuth 1.0a signs a timestamp)"
	case strings.Contains(msg, "nonce has already been used"):
		return "replayed nonce: a signed request was sent twice; retry"
	case strings.Contains(msg, "signature method is invalid"), strings.Contains(msg, "missing oauth parameter"):
		return "bad OAuth 1.0a request: a proxy may have altered the query string"
	}
	if e.StatusCode == http.StatusForbidden {
		return "forbidden: the key's user lacks the capability (use a key of a shop manager or administrator)"
	}
	if strings.HasPrefix(e.Code, "woocommerce_rest_cannot_") || e.Code == "rest_forbidden" || e.Code == "rest_not_logged_in" {
		if !e.hasCreds {
			return "no credentials: set the consumer key and secret"
		}
		switch e.authMode {
		case AuthBasic:
			return "Authorization header stripped by host: WooCommerce saw no credentials although they were sent; many hosts drop the Authorization header, use auth mode query (or check the key exists)"
		case AuthQuery:
			return "key unknown or revoked: WooCommerce did not accept the consumer key sent as query parameters"
		case AuthOAuth1:
			return "WooCommerce saw no OAuth credentials: the store may be behind an HTTPS proxy (use https:// and auth mode basic or query) or a proxy rewrote the query string"
		}
	}
	if e.Code == "woocommerce_rest_authentication_error" {
		return "authentication failed: check the consumer key and secret"
	}
	return ""
}

func errorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	var ie *ItemError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

// credentialParam matches query parameters that carry credentials or
// signatures, as name=value.
var credentialParam = regexp.MustCompile(`(?i)(consumer_key|consumer_secret|oauth_[a-z_]+)=(?:[^&\s"'<>\\]|\\/)*`)

// credentialParamEncoded matches the same parameters inside a URL that is
// itself URL-encoded (name%3Dvalue, up to an encoded &).
var credentialParamEncoded = regexp.MustCompile(`(?i)(consumer_key|consumer_secret|oauth_[a-z_]+)%3D(?:[^%&\s"'<>\\]|%[013-9a-f][0-9a-f]|%2[0-57-9a-f])*`)

// credentialMember matches the same names as JSON members ("name":"value").
var credentialMember = regexp.MustCompile(`(?i)"(consumer_key|consumer_secret|oauth_[a-z_]+)"(\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactString removes credentials from s, which may be store text (an
// error message, a quoted body, a header): credential parameters, plain,
// URL-encoded or as JSON members, and every secret in the forms a store, a
// proxy or a WAF may echo it (see secretForms), also cut short, as a quote
// truncated in the middle of a secret leaves its beginning.
func redactString(s string, secrets ...string) string {
	s = credentialParam.ReplaceAllString(s, "${1}=REDACTED")
	s = credentialParamEncoded.ReplaceAllString(s, "${1}%3DREDACTED")
	s = credentialMember.ReplaceAllString(s, `"${1}"${2}"REDACTED"`)
	for _, sec := range secrets {
		for _, f := range secretForms(sec) {
			s = strings.ReplaceAll(s, f, "REDACTED")
		}
	}
	for _, sec := range secrets {
		s = redactFragments(s, sec)
	}
	return s
}

// minSecretFragment is the shortest beginning of a secret that is redacted
// on its own. WooCommerce keys are ck_/cs_ and 40 hex digits: 12 characters
// of one never occur by chance, and fewer give too little away to matter.
const minSecretFragment = 12

// redactFragments removes beginnings of secret of minSecretFragment
// characters or more, left by text that was cut short.
func redactFragments(s, secret string) string {
	if len(secret) <= minSecretFragment {
		return s
	}
	for n := len(secret) - 1; n >= minSecretFragment; n-- {
		if strings.Contains(s, secret[:n]) {
			s = strings.ReplaceAll(s, secret[:n], "REDACTED")
		}
	}
	return s
}

// secretForms returns sec as it may appear in echoed text: as is,
// URL-encoded (query and path style, upper- and lower-case hex, and
// twice), JSON-escaped (Go's and PHP's, which also escapes "/") and
// HTML-escaped. Empty for an empty sec.
func secretForms(sec string) []string {
	if sec == "" {
		return nil
	}
	forms := []string{sec}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	q := url.QueryEscape(sec)
	add(q)
	add(url.PathEscape(sec))
	add(lowerHexEscapes(q))
	add(lowerHexEscapes(url.PathEscape(sec)))
	add(url.QueryEscape(q))
	if b, err := json.Marshal(sec); err == nil {
		j := string(b[1 : len(b)-1])
		add(j)
		add(strings.ReplaceAll(j, "/", `\/`))
	}
	add(html.EscapeString(sec))
	return forms
}

// lowerHexEscapes lower-cases the hex digits of percent escapes.
func lowerHexEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			b.WriteByte('%')
			b.WriteString(strings.ToLower(s[i+1 : i+3]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// redactURL renders u without user info and with credential parameters
// redacted.
func redactURL(u *url.URL, secrets ...string) string {
	if u == nil {
		return ""
	}
	cp := *u
	cp.User = nil
	if cp.RawQuery != "" {
		q := cp.Query()
		for k := range q {
			lk := strings.ToLower(k)
			if lk == "consumer_key" || lk == "consumer_secret" || strings.HasPrefix(lk, "oauth_") {
				q.Set(k, "REDACTED")
			}
		}
		cp.RawQuery = q.Encode()
	}
	return redactString(cp.String(), secrets...)
}

// redactedError hides secrets in the message of an error while keeping its
// chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrubError returns err with credentials removed from its message.
func scrubError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := redactString(msg, secrets...)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}
