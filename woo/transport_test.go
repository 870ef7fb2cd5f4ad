package woo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestBasicAuthSendsKeyAndSecretAsBasicCredentials(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", rec.wrap(jsonResponder(200, `{"id":1,"code":"a"}`)))
	c := newTestClient(t, mock)
	if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	req, _ := rec.request(0)
	user, pass, ok := req.BasicAuth()
	if !ok || user != testKey || pass != testSecret {
		t.Errorf("BasicAuth() = %q, %q, %v; want the key and secret", user, pass, ok)
	}
	if req.URL.Query().Has("consumer_secret") {
		t.Error("basic mode also sent consumer_secret in the query")
	}
}

func TestBasicAuthIsNeverSentOverPlainHTTP(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(jsonResponder(200, `{}`))
	at := &authTransport{next: mock, mode: AuthBasic, key: testKey, secret: testSecret, now: time.Now}
	for _, mode := range []AuthMode{AuthBasic, AuthQuery} {
		at.mode = mode
		req, _ := http.NewRequest("GET", "http://shop.example.com/wp-json/wc/v3/coupons", nil)
		_, err := at.RoundTrip(req)
		if !errors.Is(err, ErrInsecureAuth) {
			t.Errorf("mode %s over http: err = %v, want ErrInsecureAuth", mode, err)
		}
	}
	if n := mock.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests reached the transport, want 0", n)
	}
}

func TestQueryAuthSendsCredentialsAsQueryParametersAndRedactsThemInErrors(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(jsonResponder(401, string(readTestdata(t, "error_cannot_view.json")))))
	c := newTestClient(t, mock, WithAuthMode(AuthQuery))
	_, _, err := c.Coupons.List(context.Background(), &CouponListOptions{Code: "abc"})
	req, _ := rec.request(0)
	q := req.URL.Query()
	if q.Get("consumer_key") != testKey || q.Get("consumer_secret") != testSecret || q.Get("code") != "abc" {
		t.Errorf("query = %q, want consumer_key, consumer_secret and code", req.URL.RawQuery)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("query mode also sent an Authorization header")
	}
	if err == nil {
		t.Fatal("want an error for 401")
	}
	for _, secret := range []string{testKey, testSecret} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains a credential", err)
		}
	}
	var ae *APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.URL, "consumer_secret=REDACTED") {
		t.Errorf("APIError.URL = %q, want consumer_secret=REDACTED", ae.URL)
	}
	if !strings.Contains(AuthHint(err), "key unknown") {
		t.Errorf("AuthHint = %q, want the query-mode hint", AuthHint(err))
	}
}

// rawurlencode is an independent RFC 3986 encoder for the test.
func rawurlencode(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

// verifyOAuth1 recomputes WooCommerce's check_oauth_signature.
func verifyOAuth1(t *testing.T, req *http.Request, secret string) {
	t.Helper()
	params := map[string]string{}
	for k, v := range req.URL.Query() {
		params[k] = v[len(v)-1]
	}
	sig := params["oauth_signature"]
	delete(params, "oauth_signature")
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, rawurlencode(rawurlencode(k)+"="+rawurlencode(params[k])))
	}
	base := req.Method + "&" + rawurlencode("http://"+req.URL.Host+req.URL.EscapedPath()) + "&" + strings.Join(pairs, "%26")
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		t.Errorf("oauth_signature = %q, want %q (base string %q)", sig, want, base)
	}
	if params["oauth_signature_method"] != "HMAC-SHA256" || params["oauth_consumer_key"] != testKey {
		t.Errorf("oauth params = %v", params)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(params["oauth_nonce"]) {
		t.Errorf("oauth_nonce = %q, want 32 hex digits", params["oauth_nonce"])
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("oauth_timestamp = %q, want now", params["oauth_timestamp"])
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("oauth1 sent an Authorization header")
	}
	if _, ok := params["consumer_secret"]; ok {
		t.Error("oauth1 sent the secret")
	}
}

func TestOAuth1SignsEveryAttemptWithAFreshNonce(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("POST", "http://shop.example.com/blog/wp-json/wc/v3/coupons/batch",
		rec.wrap(jsonResponder(429, `{}`).Then(jsonResponder(200, `{"delete":[{"id":3,"code":"x"}]}`))))
	mock.RegisterResponder("GET", "http://shop.example.com/blog/wp-json/wc/v3/coupons",
		rec.wrap(jsonResponder(200, `[]`)))
	c, err := NewClient("http://shop.example.com/blog", WithHTTPClient(&http.Client{Transport: mock}),
		WithCredentials(testKey, testSecret), WithAuthMode(AuthOAuth1), WithRetry(2, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Coupons.Batch(context.Background(), &CouponBatch{Delete: []int64{3}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Coupons.List(context.Background(), &CouponListOptions{Search: "a b+c~d/é", ListOptions: ListOptions{PerPage: 5}}); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 3 {
		t.Fatalf("%d requests, want 3", rec.count())
	}
	nonces := map[string]bool{}
	for i := range 3 {
		req, body := rec.request(i)
		verifyOAuth1(t, req, testSecret)
		nonces[req.URL.Query().Get("oauth_nonce")] = true
		if i < 2 && !bytes.Contains(body, []byte(`"delete":[3]`)) {
			t.Errorf("attempt %d body = %s, want the batch", i, body)
		}
	}
	if len(nonces) != 3 {
		t.Errorf("%d distinct nonces over 3 attempts, want 3", len(nonces))
	}
}

func TestOAuth1SignatureMatchesKnownVector(t *testing.T) {
	// Computed by hand with PHP's hash_hmac('sha256', $base, 'secret&')
	// semantics: the base string below is what WooCommerce builds.
	u, _ := url.Parse("http://example.com/wp-json/wc/v3/coupons?per_page=2")
	q := url.Values{
		"per_page":               {"2"},
		"oauth_consumer_key":     {"ck_1"},
		"oauth_nonce":            {"abc"},
		"oauth_signature_method": {"HMAC-SHA256"},
		"oauth_timestamp":        {"1700000000"},
	}
	base := "GET&http%3A%2F%2Fexample.com%2Fwp-json%2Fwc%2Fv3%2Fcoupons&oauth_consumer_key%3Dck_1%26oauth_nonce%3Dabc%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26per_page%3D2"
	mac := hmac.New(sha256.New, []byte("secret&"))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := oauth1Signature("GET", u, q, "secret"); got != want {
		t.Errorf("oauth1Signature = %q, want %q", got, want)
	}
}

func TestOAuthBaseURLDropsDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"http://Example.com:80/a/b?x=1": "http://example.com/a/b",
		"https://example.com:443/a":     "https://example.com/a",
		"http://example.com:8080/a%20b": "http://example.com:8080/a%20b",
	} {
		u, _ := url.Parse(in)
		if got := oauthBaseURL(u); got != want {
			t.Errorf("oauthBaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecretsNeverAppearInErrorsOrLogs(t *testing.T) {
	for _, mode := range []AuthMode{AuthBasic, AuthQuery} {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		mock := httpmock.NewMockTransport()
		// No responder for /coupons/2: httpmock's error quotes the full
		// URL, query credentials included.
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			jsonResponder(503, `<html>busy</html>`).Then(jsonResponder(401, string(readTestdata(t, "error_wrong_secret.json")))))
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(504, `gateway timeout`))
		c := newTestClient(t, mock, WithAuthMode(mode), WithLogger(logger), WithRetry(1, time.Millisecond, time.Millisecond))
		var errs []error
		_, err := c.Coupons.Get(context.Background(), 1)
		errs = append(errs, err)
		_, err = c.Coupons.Get(context.Background(), 2)
		errs = append(errs, err)
		_, err = c.Coupons.Create(context.Background(), &Coupon{Code: "x"})
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Fatalf("mode %s: call %d: want an error", mode, i)
			}
			for _, s := range []string{testKey, testSecret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("mode %s: error %q contains a credential", mode, err)
				}
			}
		}
		if !strings.Contains(AuthHint(errs[0]), "wrong secret") {
			t.Errorf("AuthHint = %q, want wrong secret", AuthHint(errs[0]))
		}
		if logs.Len() == 0 {
			t.Errorf("mode %s: nothing logged at debug level; the test would not see a leak", mode)
		}
		for _, s := range []string{testKey, testSecret, base64.StdEncoding.EncodeToString([]byte(testKey + ":" + testSecret))} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("mode %s: logs contain a credential:\n%s", mode, logs.String())
			}
		}
	}
}

func TestRedactURLHidesCredentialParameters(t *testing.T) {
	u, _ := url.Parse("https://u:p@x.com/wp-json/wc/v3/coupons?consumer_key=ck_1&consumer_secret=cs_2&oauth_signature=sig&oauth_nonce=n&page=2")
	got := redactURL(u)
	for _, s := range []string{"ck_1", "cs_2", "=sig", "u:p", "=n&"} {
		if strings.Contains(got, s) {
			t.Errorf("redactURL = %q, still contains %q", got, s)
		}
	}
	if !strings.Contains(got, "page=2") {
		t.Errorf("redactURL = %q, lost page=2", got)
	}
	if got := redactString(`Get "https://x/?consumer_secret=cs_2&a=1": EOF`); strings.Contains(got, "cs_2") {
		t.Errorf("redactString = %q", got)
	}
}
