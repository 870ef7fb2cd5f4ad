package woo

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestNewClientNormalizesStoreURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://Shop.Example.com", "https://shop.example.com/"},
		{"https://shop.example.com/", "https://shop.example.com/"},
		{"  https://example.com/shop  ", "https://example.com/shop/"},
		{"https://example.com/shop///", "https://example.com/shop/"},
		{"https://example.com/shop/wp-json/wc/v3/", "https://example.com/shop/"},
		{"https://example.com/index.php", "https://example.com/"},
		{"HTTPS://example.com:8443/wp/?x=1#frag", "https://example.com:8443/wp/"},
	}
	for _, tc := range cases {
		c, err := NewClient(tc.in)
		if err != nil {
			t.Errorf("NewClient(%q): %v", tc.in, err)
			continue
		}
		if got := c.BaseURL(); got != tc.want {
			t.Errorf("NewClient(%q).BaseURL() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewClientRejectsBadStoreURL(t *testing.T) {
	for _, in := range []string{"", "shop.example.com", "ftp://shop.example.com", "https://", "https://ck:cs_secret@shop.example.com", "https://shop.example.com/?rest_route=/wc/v3"} {
		_, err := NewClient(in)
		if err == nil {
			t.Errorf("NewClient(%q) = nil error, want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "cs_secret") {
			t.Errorf("NewClient(%q) error %q quotes the secret", in, err)
		}
	}
}

func TestRequestsGoToWPJSONUnderSubfolder(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", "https://example.com/shop/wp-json/wc/v3/coupons/7", jsonResponder(200, `{"id":7,"code":"x"}`))
	c, err := NewClient("https://example.com/shop/", WithHTTPClient(&http.Client{Transport: mock}), WithCredentials(testKey, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Coupons.Get(context.Background(), 7)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != 7 {
		t.Errorf("ID = %d, want 7", got.ID)
	}
}

func TestNewClientRefusesCredentialsOverPlainHTTP(t *testing.T) {
	for _, mode := range []AuthMode{AuthBasic, AuthQuery} {
		_, err := NewClient("http://shop.example.com", WithCredentials(testKey, testSecret), WithAuthMode(mode))
		if err == nil {
			t.Fatalf("mode %s over http: want an error", mode)
		}
		if !errors.Is(err, ErrInsecureAuth) || !IsAuth(err) {
			t.Errorf("mode %s: error %v does not match ErrInsecureAuth/IsAuth", mode, err)
		}
		for _, want := range []string{"https", "oauth1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %s: error %q does not mention %q", mode, err, want)
			}
		}
		if !strings.HasPrefix(AuthHint(err), "not HTTPS") {
			t.Errorf("AuthHint = %q, want it to start with %q", AuthHint(err), "not HTTPS")
		}
	}
	if _, err := NewClient("http://shop.example.com", WithCredentials(testKey, testSecret), WithAuthMode(AuthOAuth1)); err != nil {
		t.Errorf("oauth1 over http: %v, want nil", err)
	}
	if _, err := NewClient("http://shop.example.com"); err != nil {
		t.Errorf("no credentials over http: %v, want nil", err)
	}
}

func TestOptionsRejectInvalidValues(t *testing.T) {
	cases := map[string]Option{
		"empty secret":      WithCredentials("ck", ""),
		"empty key":         WithCredentials(" ", "cs"),
		"bad auth mode":     WithAuthMode(AuthMode(9)),
		"nil http client":   WithHTTPClient(nil),
		"zero timeout":      WithTimeout(0),
		"negative timeout":  WithTimeout(-time.Second),
		"empty user agent":  WithUserAgent(" "),
		"nil logger":        WithLogger(nil),
		"zero rate":         WithRateLimit(0, 1),
		"NaN rate":          WithRateLimit(math.NaN(), 1),
		"inf rate":          WithRateLimit(math.Inf(1), 1),
		"zero burst":        WithRateLimit(1, 0),
		"zero concurrency":  WithMaxConcurrency(0),
		"negative retries":  WithRetry(-1, time.Second, time.Second),
		"zero min wait":     WithRetry(1, 0, time.Second),
		"max below min":     WithRetry(1, time.Second, time.Millisecond),
		"batch size 0":      WithBatchSize(0),
		"batch size 101":    WithBatchSize(101),
		"nil option itself": nil,
	}
	for name, opt := range cases {
		if _, err := NewClient(testStore, opt); err == nil {
			t.Errorf("%s: NewClient succeeded, want an error", name)
		}
	}
}

func TestParseAuthMode(t *testing.T) {
	for in, want := range map[string]AuthMode{"basic": AuthBasic, "Query": AuthQuery, " oauth1 ": AuthOAuth1} {
		got, err := ParseAuthMode(in)
		if err != nil || got != want {
			t.Errorf("ParseAuthMode(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != strings.ToLower(strings.TrimSpace(in)) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if _, err := ParseAuthMode("digest"); err == nil {
		t.Error("ParseAuthMode(digest): want an error")
	}
}

func TestDefaultUserAgentAndHeaders(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", rec.wrap(jsonResponder(201, `{"id":1,"code":"abc"}`)))
	c := newTestClient(t, mock)
	if _, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"}); err != nil {
		t.Fatal(err)
	}
	req, _ := rec.request(0)
	if got, want := req.Header.Get("User-Agent"), "couponbridge/"+Version; got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", rec.wrap(withHeader(jsonResponder(301, ``), "Location", "https://www.shop.example.com/wp-json/wc/v3/coupons")))
	mock.RegisterResponder("GET", "https://www.shop.example.com/wp-json/wc/v3/coupons", jsonResponder(200, `[]`))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 301 {
		t.Fatalf("err = %v, want an *APIError with status 301", err)
	}
	if !strings.Contains(ae.Message, "www.shop.example.com") {
		t.Errorf("message %q does not name the redirect target", ae.Message)
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d requests sent, want 1 (redirect not followed)", n)
	}
}

func TestStatsCountRequestsRetriesAnd429(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
		jsonResponder(429, `{}`).Then(jsonResponder(503, `{}`)).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
	c := newTestClient(t, mock, WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	got := c.Stats()
	want := Stats{Requests: 3, Retries: 2, Throttled429: 1, ServerErrors: 1}
	if got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// hugeJSONResponder answers 200 with a JSON array just over maxBody bytes,
// valid JSON had it been read in full.
func hugeJSONResponder() httpmock.Responder {
	filler := strings.Repeat(" ", maxBody)
	return jsonResponder(200, "["+filler+"]")
}

func TestOversizedAnswerFailsOnceAsTooLarge(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(hugeJSONResponder()))
	c := newTestClient(t, mock)
	_, _, err := c.Coupons.List(context.Background(), nil)
	var tooLarge *AnswerTooLargeError
	if !errors.As(err, &tooLarge) || !strings.Contains(err.Error(), "answer too large") {
		t.Fatalf("err = %v, want an *AnswerTooLargeError saying \"answer too large\"", err)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("a list's oversized answer matches ErrOutcomeUnknown: %v", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("store asked %d times, want once (an oversized answer is not retried)", n)
	}
}

func TestOversizedAnswerToACreateIsOutcomeUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", rec.wrap(hugeJSONResponder()))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	var tooLarge *AnswerTooLargeError
	if !errors.As(err, &tooLarge) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want *AnswerTooLargeError and ErrOutcomeUnknown", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("store asked %d times, want once", n)
	}
}
