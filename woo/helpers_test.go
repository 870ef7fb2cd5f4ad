package woo

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

const (
	testStore  = "https://shop.example.com"
	testKey    = "ck_0123456789abcdef0123456789abcdef01234567"
	testSecret = "cs_fedcba9876543210fedcba9876543210fedcba98"
)

// newTestClient returns a client on mock with fast retries and a limiter
// that does not get in the way, plus opts.
func newTestClient(t *testing.T, mock *httpmock.MockTransport, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithHTTPClient(&http.Client{Transport: mock}),
		WithCredentials(testKey, testSecret),
		WithRetry(3, time.Millisecond, 5*time.Millisecond),
		WithRateLimit(1000, 1000),
	}
	c, err := NewClient(testStore, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonResponder answers status with body as JSON.
func jsonResponder(status int, body string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json; charset=UTF-8")
		resp.Request = req
		return resp, nil
	}
}

// withHeader adds a header to the responses of r.
func withHeader(r httpmock.Responder, k, v string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		resp, err := r(req)
		if resp != nil {
			resp.Header.Set(k, v)
		}
		return resp, err
	}
}

// recorder remembers the requests a responder saw, bodies included.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (rec *recorder) wrap(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		var b []byte
		if req.Body != nil {
			b, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, req)
		rec.body = append(rec.body, b)
		rec.mu.Unlock()
		return r(req)
	}
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

func (rec *recorder) request(i int) (*http.Request, []byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs[i], rec.body[i]
}
