package woo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

// leakForms returns what must not appear in an error when the client's
// credentials are key and secret: both as they are and as a store or WAF
// would echo them, and their first minSecretFragment characters.
func leakForms(key, secret string) []string {
	var out []string
	for _, s := range []string{key, secret, base64.StdEncoding.EncodeToString([]byte(key + ":" + secret))} {
		out = append(out, secretForms(s)...)
		out = append(out, s[:minSecretFragment])
	}
	return out
}

// errorTexts renders everything an error carries that reaches a log line or
// a caller: its message and, for the package's error types, their fields.
func errorTexts(err error) []string {
	out := []string{err.Error()}
	var ae *APIError
	if errors.As(err, &ae) {
		out = append(out, ae.Code, ae.Message, ae.Body, ae.URL, string(ae.Data))
	}
	var ie *ItemError
	if errors.As(err, &ie) {
		out = append(out, ie.Code, ie.Message)
	}
	return out
}

func assertNoLeak(t *testing.T, what string, err error, key, secret string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error", what)
	}
	for _, text := range errorTexts(err) {
		for _, f := range leakForms(key, secret) {
			if strings.Contains(text, f) {
				t.Errorf("%s: %q contains the credential form %q", what, text, f)
			}
		}
	}
}

// echoes are store answers that repeat the credentials, as WooCommerce, a
// host's error page or a WAF do. %[1]s is the key, %[2]s the secret, %[3]s
// the Basic credentials.
var echoes = []struct {
	name, contentType, body string
}{
	{"query keys in a quoted URL of an HTML page", "text/html",
		`<html><body>Blocked: "https://shop.example.com/wp-json/wc/v3/coupons?consumer_key=%[1]s&consumer_secret=%[2]s"</body></html>`},
	{"URL-encoded URL in a WAF page", "text/html",
		`<p>request=https%%3A%%2F%%2Fshop%%2Fwp-json%%3Fconsumer_key%%3D%[1]s%%26consumer_secret%%3D%[2]s%%26oauth_signature%%3Dabc%%252Bdef</p>`},
	{"secret in WooCommerce's message", "application/json",
		`{"code":"woocommerce_rest_authentication_error","message":"Consumer secret %[2]s is invalid for %[1]s.","data":{"status":401}}`},
	{"secret in the error data", "application/json",
		`{"code":"rest_invalid_param","message":"bad","data":{"status":400,"params":{"consumer_secret":"%[2]s","oauth_signature":"a\/b+c="}}}`},
	{"Basic credentials echoed by a WAF", "text/plain",
		`Denied. Authorization: Basic %[3]s`},
	{"secret cut by the quote", "text/plain",
		strings.Repeat("x", quoteBodyBytes-10) + `%[2]s`},
	{"HTML-escaped URL", "text/html",
		`<a href="/x?consumer_key=%[1]s&amp;consumer_secret=%[2]s">retry</a>`},
}

func TestStoreTextEchoingCredentialsIsRedactedInErrors(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testKey + ":" + testSecret))
	for _, ec := range echoes {
		body := fmt.Sprintf(ec.body, testKey, testSecret, basic)
		for _, status := range []int{200, 401, 403, 500} {
			if status == 200 && ec.contentType == "application/json" {
				continue // decodes as a coupon: no error to look at
			}
			t.Run(fmt.Sprintf("%s/%d", ec.name, status), func(t *testing.T) {
				mock := httpmock.NewMockTransport()
				r := func(req *http.Request) (*http.Response, error) {
					resp := httpmock.NewStringResponse(status, body)
					resp.Header.Set("Content-Type", ec.contentType)
					resp.Request = req
					return resp, nil
				}
				mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", r)
				c := newTestClient(t, mock, WithAuthMode(AuthQuery), WithRetry(0, 1, 1))
				_, err := c.Coupons.Get(context.Background(), 1)
				assertNoLeak(t, "Get", err, testKey, testSecret)
			})
		}
	}
}

func TestBatchItemErrorEchoingCredentialsIsRedacted(t *testing.T) {
	msg := fmt.Sprintf("Invalid request https://shop/?consumer_key=%s&consumer_secret=%s", testKey, testSecret)
	item, _ := json.Marshal(map[string]any{"id": 0, "error": map[string]any{"code": "x", "message": msg, "data": map[string]any{"status": 400}}})
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", jsonResponder(200, `{"create":[`+string(item)+`]}`))
	c := newTestClient(t, mock)
	res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Create: []Coupon{{Code: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "batch item", res.Create[0].Err, testKey, testSecret)
}

func TestUndecodableAnswerQuotingTheSecretIsRedacted(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
		jsonResponder(200, `{"id":1,"code":"a","usage_limit":"`+testSecret+`"}`))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Get(context.Background(), 1)
	assertNoLeak(t, "decode", err, testKey, testSecret)
}

// TestNoErrorEverContainsTheSecret tries random secrets, with the
// characters that escape differently in URLs, JSON and HTML, echoed in
// random forms at random places of error answers.
func TestNoErrorEverContainsTheSecret(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefABCDEF0123456789_-/+=&%<>\"' .~:?#é"
	randomString := func(prefix string, n int) string {
		b := []rune(prefix)
		for range n {
			r := []rune(alphabet)
			b = append(b, r[rng.IntN(len(r))])
		}
		return string(b)
	}
	for i := range 200 {
		key, secret := randomString("ck_", 20+rng.IntN(30)), randomString("cs_", 20+rng.IntN(30))
		if strings.TrimSpace(key) != key || strings.TrimSpace(secret) != secret {
			continue // WithCredentials trims; the test wants them as given
		}
		forms := []string{
			secret,
			url.QueryEscape(secret),
			url.PathEscape(secret),
			html.EscapeString(secret),
			"consumer_secret=" + url.QueryEscape(secret),
			base64.StdEncoding.EncodeToString([]byte(key + ":" + secret)),
		}
		if b, err := json.Marshal(secret); err == nil {
			forms = append(forms, string(b[1:len(b)-1]))
		}
		echo := forms[rng.IntN(len(forms))]
		pad := strings.Repeat("y", rng.IntN(2*quoteBodyBytes))
		var body string
		switch rng.IntN(3) {
		case 0:
			m, _ := json.Marshal(map[string]any{"code": "x", "message": pad + echo, "data": map[string]any{"status": 400, "echo": echo}})
			body = string(m)
		case 1:
			body = "<html>" + pad + echo + "</html>"
		default:
			body = pad + echo + pad
		}
		status := []int{200, 400, 401, 502}[rng.IntN(4)]
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(status, body))
		c := newTestClient(t, mock, WithCredentials(key, secret), WithAuthMode(AuthQuery), WithRetry(0, 1, 1))
		_, err := c.Coupons.Get(context.Background(), 1)
		if err == nil {
			continue // a 200 that happens to decode
		}
		for _, text := range errorTexts(err) {
			for _, f := range []string{secret, secret[:minSecretFragment], url.QueryEscape(secret), echo} {
				if strings.Contains(text, f) {
					t.Fatalf("case %d (secret %q, echo %q, status %d): %q contains %q", i, secret, echo, status, text, f)
				}
			}
		}
	}
}
