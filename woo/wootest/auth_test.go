package wootest

import (
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBasicAuthOverTLSWorks(t *testing.T) {
	_, c := newTLSStore(t)
	if r := c.do("GET", "/coupons", nil); r.status != 200 {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
}

func TestBasicAuthOverPlainHTTPIsIgnored(t *testing.T) {
	_, c := newPlainStore(t)
	m := c.do("GET", "/coupons", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	if m["message"] != "Sorry, you cannot list resources." {
		t.Errorf("message = %q", m["message"])
	}
	c.do("POST", "/coupons", map[string]any{"code": "x"}).wantError(t, 401, "woocommerce_rest_cannot_create")
	c.do("POST", "/coupons/batch", map[string]any{"create": []any{}}).wantError(t, 401, "woocommerce_rest_cannot_batch")
	c.do("GET", "/coupons/1", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	c.do("PUT", "/coupons/1", map[string]any{}).wantError(t, 401, "woocommerce_rest_cannot_edit")
	c.do("DELETE", "/coupons/1", nil).wantError(t, 401, "woocommerce_rest_cannot_delete")
	c.do("GET", c.srv.URL+"/wp-json/wc/v3/coupons?consumer_key="+DefaultKey+"&consumer_secret="+DefaultSecret, nil).
		wantError(t, 401, "woocommerce_rest_cannot_view")
}

func TestBasicAuthBehindTrustedTLSProxyWorks(t *testing.T) {
	_, c := newPlainStore(t, WithTrustedTLSProxy(true))
	r := c.do("GET", "/coupons", nil)
	if r.status != 200 {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
}

func TestAuthErrorBodies(t *testing.T) {
	_, c := newTLSStore(t, WithKey("ck_rw", "cs_rw", ReadWrite), WithKey("ck_ro", "cs_ro", Read))
	c.key, c.secret = "ck_rw", "wrong"
	m := c.do("GET", "/coupons", nil).wantError(t, 401, "woocommerce_rest_authentication_error")
	if m["message"] != "Consumer secret is invalid." {
		t.Errorf("wrong secret message = %q", m["message"])
	}
	c.key, c.secret = "ck_unknown", "cs_x"
	c.do("GET", "/coupons", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	c.do("POST", "/coupons", map[string]any{"code": "x"}).wantError(t, 401, "woocommerce_rest_cannot_create")
	c.noCreds = true
	c.do("GET", "/coupons", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	c.noCreds = false
	c.key, c.secret = "ck_ro", "cs_ro"
	if r := c.do("GET", "/coupons", nil); r.status != 200 {
		t.Errorf("read-only GET = %d, want 200", r.status)
	}
	m = c.do("POST", "/coupons", map[string]any{"code": "x"}).wantError(t, 401, "woocommerce_rest_authentication_error")
	if m["message"] != "The API key provided does not have write permissions." {
		t.Errorf("read-only write message = %q", m["message"])
	}
	// The permission check uses the overridden method.
	req := c.newReq("GET", c.url("/coupons/1"), nil)
	req.Header.Set("X-HTTP-Method-Override", "DELETE")
	req.SetBasicAuth("ck_ro", "cs_ro")
	c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error")
	if _, def := (NewStore(WithKey("a", "b", Read))).keys[DefaultKey]; def {
		t.Error("the default key is accepted although WithKey was given")
	}
}

func TestQueryCredentialsWinOverTheHeader(t *testing.T) {
	_, c := newTLSStore(t)
	u := c.srv.URL + "/wp-json/wc/v3/coupons?consumer_key=" + DefaultKey + "&consumer_secret=" + DefaultSecret
	c.secret = "wrong-header-secret"
	if r := c.do("GET", u, nil); r.status != 200 {
		t.Errorf("good query + bad header = %d, want 200", r.status)
	}
	c.secret = DefaultSecret
	u = c.srv.URL + "/wp-json/wc/v3/coupons?consumer_key=" + DefaultKey + "&consumer_secret=nope"
	c.do("GET", u, nil).wantError(t, 401, "woocommerce_rest_authentication_error")
}

func TestRestRouteQuerySkipsAuthentication(t *testing.T) {
	_, c := newTLSStore(t)
	c.do("GET", c.srv.URL+"/?rest_route=/wc/v3/coupons", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	c.do("GET", c.srv.URL+"/?rest_route=/wc/v3/nothing", nil).wantError(t, 404, "rest_no_route")
}

// oauthRequest signs a request for the sandbox the way a one-legged OAuth
// 1.0a client does.
func oauthRequest(t *testing.T, c *tclient, method, path string, extra url.Values, body any, h func() hash.Hash, sigMethod, nonce string, ts int64, secret string) *http.Request {
	t.Helper()
	base := c.srv.URL + "/wp-json/wc/v3" + path
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("oauth_consumer_key", c.key)
	q.Set("oauth_timestamp", strconv.FormatInt(ts, 10))
	q.Set("oauth_nonce", nonce)
	q.Set("oauth_signature_method", sigMethod)
	params := map[string]string{}
	for k, v := range q {
		params[k] = v[0]
	}
	q.Set("oauth_signature", OAuthSignature(h, method, base, params, secret))
	return c.newReq(method, base+"?"+q.Encode(), body)
}

func TestOAuth1OverPlainHTTP(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, c := newPlainStore(t, WithClock(clock))
	ts := now.Unix()
	for _, alg := range []struct {
		name string
		h    func() hash.Hash
	}{{"HMAC-SHA1", sha1.New}, {"HMAC-SHA256", sha256.New}} {
		req := oauthRequest(t, c, "POST", "/coupons", url.Values{"context": {"edit"}}, map[string]any{"code": "oa-" + alg.name},
			alg.h, alg.name, "n-"+alg.name, ts, DefaultSecret)
		if r := c.send(req); r.status != 201 {
			t.Errorf("%s create: %d %s", alg.name, r.status, r.body)
		}
	}
	// Parameters with characters that need encoding are signed too.
	req := oauthRequest(t, c, "GET", "/coupons", url.Values{"modified_after": {"2026-01-01T00:00:00+02:00"}, "search": {"a b"}},
		nil, sha256.New, "HMAC-SHA256", "n-enc", ts, DefaultSecret)
	if r := c.send(req); r.status != 200 {
		t.Errorf("encoded params: %d %s", r.status, r.body)
	}
	// Replayed nonce.
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-enc", ts+1, DefaultSecret)
	m := c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error")
	if m["message"] != "Invalid nonce - nonce has already been used." {
		t.Errorf("replay message = %q", m["message"])
	}
	// Timestamp outside ±15 min.
	for _, off := range []int64{-16 * 60, 16 * 60} {
		req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-ts"+strconv.FormatInt(off, 10), ts+off, DefaultSecret)
		if m := c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error"); m["message"] != "Invalid timestamp." {
			t.Errorf("timestamp %+d message = %q", off, m["message"])
		}
	}
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-edge", ts-14*60, DefaultSecret)
	if r := c.send(req); r.status != 200 {
		t.Errorf("timestamp 14 min old: %d %s", r.status, r.body)
	}
	// Wrong secret.
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-bad", ts, "wrong")
	if m := c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error"); m["message"] != "Invalid signature - provided signature does not match." {
		t.Errorf("bad signature message = %q", m["message"])
	}
	// Unknown key.
	c.key = "ck_nobody"
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-key", ts, DefaultSecret)
	if m := c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error"); m["message"] != "Consumer key is invalid." {
		t.Errorf("unknown key message = %q", m["message"])
	}
	c.key = DefaultKey
	// Unsupported method.
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "PLAINTEXT", "n-plain", ts, DefaultSecret)
	c.send(req).wantError(t, 401, "woocommerce_rest_authentication_error")
	// Partial parameters.
	c.do("GET", c.srv.URL+"/wp-json/wc/v3/coupons?oauth_consumer_key="+DefaultKey, nil).
		wantError(t, 401, "woocommerce_rest_authentication_missing_parameter")
	// Like WooCommerce, expired nonces are purged when the next nonce is
	// stored; after that an old nonce may be used again.
	mu.Lock()
	now = now.Add(20 * time.Minute)
	mu.Unlock()
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-later", now.Unix(), DefaultSecret)
	if r := c.send(req); r.status != 200 {
		t.Errorf("fresh nonce after 20 min: %d %s", r.status, r.body)
	}
	req = oauthRequest(t, c, "GET", "/coupons", nil, nil, sha256.New, "HMAC-SHA256", "n-enc", now.Unix(), DefaultSecret)
	if r := c.send(req); r.status != 200 {
		t.Errorf("nonce reuse after the window: %d %s", r.status, r.body)
	}
}

func TestOAuth1AuthorizationHeader(t *testing.T) {
	_, c := newPlainStore(t)
	ts := time.Now().Unix()
	base := c.srv.URL + "/wp-json/wc/v3/coupons"
	params := map[string]string{"oauth_consumer_key": DefaultKey, "oauth_timestamp": strconv.FormatInt(ts, 10),
		"oauth_nonce": "hdr1", "oauth_signature_method": "HMAC-SHA1", "per_page": "5"}
	sig := OAuthSignature(sha1.New, "GET", base, params, DefaultSecret)
	req := c.newReq("GET", base+"?per_page=5", nil)
	req.Header.Set("Authorization", `OAuth oauth_consumer_key="`+DefaultKey+`", oauth_timestamp="`+params["oauth_timestamp"]+
		`", oauth_nonce="hdr1", oauth_signature_method="HMAC-SHA1", oauth_signature="`+url.QueryEscape(sig)+`"`)
	if r := c.send(req); r.status != 200 {
		t.Errorf("OAuth header: %d %s", r.status, r.body)
	}
}

func TestTrustedProxyLinksKeepThePlainScheme(t *testing.T) {
	_, c := newPlainStore(t, WithTrustedTLSProxy(true))
	for i := range 3 {
		c.create(map[string]any{"code": "l" + strconv.Itoa(i)})
	}
	r := c.do("GET", "/coupons?per_page=1", nil)
	if link := r.header.Get("Link"); !strings.HasPrefix(link, "<http://") {
		t.Errorf("Link = %q, want the plain http scheme a TLS-terminating proxy leaks", link)
	}
}
