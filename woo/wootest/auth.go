package wootest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// oauthWindow is WooCommerce's OAuth timestamp and nonce window in seconds.
const oauthWindow = 15 * 60

var oauthParamNames = []string{"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"}

// authenticate is WooCommerce's WC_REST_Authentication: Basic (or query
// credentials) only when WordPress sees HTTPS, then one-legged OAuth 1.0a.
// It returns the key (nil for an anonymous request) or the error WooCommerce
// raises before dispatching.
func (s *Store) authenticate(r *http.Request, q *request, secure bool) (*apiKey, *wpError) {
	var basicErr *wpError
	if secure {
		key, err := s.basicAuth(r, q)
		if key != nil {
			return key, nil
		}
		basicErr = err
	}
	key, err := s.oauth(r, q)
	if key != nil {
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, basicErr
}

func (s *Store) basicAuth(r *http.Request, q *request) (*apiKey, *wpError) {
	ck, cs := q.query.Get("consumer_key"), q.query.Get("consumer_secret")
	if ck == "" || cs == "" {
		ck, cs = "", ""
		if u, p, ok := r.BasicAuth(); ok && u != "" && p != "" {
			ck, cs = u, p
		}
	}
	if ck == "" || cs == "" {
		return nil, nil
	}
	k := s.keys[ck]
	if k == nil {
		return nil, nil
	}
	if subtle.ConstantTimeCompare([]byte(k.secret), []byte(cs)) != 1 {
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
	}
	return k, nil
}

// oauthParams merges query, form body and an "Authorization: OAuth" header
// the way WooCommerce does (header last, so it wins).
func oauthParams(r *http.Request, q *request) map[string]string {
	params := map[string]string{}
	for k, v := range q.query {
		if len(v) > 0 {
			params[k] = v[len(v)-1]
		}
	}
	for k, v := range q.form {
		if len(v) > 0 {
			params[k] = v[len(v)-1]
		}
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "oauth ") {
		for _, part := range strings.Split(h[6:], ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			k = strings.TrimSpace(k)
			if !strings.HasPrefix(k, "oauth_") {
				continue
			}
			v, err := url.PathUnescape(strings.Trim(strings.TrimSpace(v), `"`))
			if err == nil {
				params[k] = v
			}
		}
	}
	return params
}

func (s *Store) oauth(r *http.Request, q *request) (*apiKey, *wpError) {
	params := oauthParams(r, q)
	var missing []string
	have := false
	for _, n := range oauthParamNames {
		if params[n] == "" {
			missing = append(missing, n)
		} else {
			have = true
		}
	}
	if !have {
		return nil, nil
	}
	if len(missing) > 0 {
		msg := "Missing OAuth parameter " + missing[0]
		if len(missing) > 1 {
			msg = "Missing OAuth parameters " + strings.Join(missing, ", ")
		}
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_missing_parameter", msg)
	}
	k := s.keys[params["oauth_consumer_key"]]
	if k == nil {
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
	}
	scheme := "http"
	if r.TLS != nil || s.trustedProxy {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + r.URL.EscapedPath()
	method := params["oauth_signature_method"]
	var h func() hash.Hash
	switch method {
	case "HMAC-SHA1":
		h = sha1.New
	case "HMAC-SHA256":
		h = sha256.New
	default:
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Invalid signature - signature method is invalid.")
	}
	// WooCommerce decodes the signature after turning spaces back into '+'
	// (a '+' in a query string arrives as a space).
	got := strings.ReplaceAll(params["oauth_signature"], " ", "+")
	if dec, err := url.PathUnescape(got); err == nil {
		got = dec
	}
	want := OAuthSignature(h, r.Method, base, params, k.secret)
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	now := s.now().Unix()
	if err != nil || ts < now-oauthWindow || ts > now+oauthWindow {
		return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Invalid timestamp.")
	}
	nonce := params["oauth_nonce"]
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, used := range k.nonces {
		if used == nonce {
			return nil, newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
		}
	}
	// WooCommerce keys used nonces by timestamp, so a later nonce with the
	// same timestamp replaces the earlier one.
	k.nonces[ts] = nonce
	for t := range k.nonces {
		if t < now-oauthWindow {
			delete(k.nonces, t)
		}
	}
	return k, nil
}

// OAuthSignature computes WooCommerce's one-legged OAuth 1.0a signature:
// base64(HMAC(secret+"&", METHOD&enc(baseURL)&enc(k1=v1&k2=v2...))) where
// the parameters (oauth_signature excluded) are percent-encoded per RFC 3986
// and sorted by key. newHash is sha1.New or sha256.New. It is exported so
// tests (and manual tools) can sign requests for the sandbox.
func OAuthSignature(newHash func() hash.Hash, method, baseURL string, params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "oauth_signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, rfc3986(rfc3986(k)+"="+rfc3986(params[k])))
	}
	toSign := strings.ToUpper(method) + "&" + rfc3986(baseURL) + "&" + strings.Join(pairs, "%26")
	mac := hmac.New(newHash, []byte(secret+"&"))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// rfc3986 percent-encodes everything except the unreserved characters, like
// PHP's rawurlencode.
func rfc3986(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
