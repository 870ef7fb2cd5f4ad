package wootest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tclient talks to a sandbox over a real loopback listener with raw
// net/http, the way any WooCommerce client would.
type tclient struct {
	t       *testing.T
	srv     *httptest.Server
	hc      *http.Client
	key     string
	secret  string
	noCreds bool
}

// newTLSStore starts a store behind an httptest TLS server and returns a
// client using HTTP Basic with the default key.
func newTLSStore(t *testing.T, opts ...StoreOption) (*Store, *tclient) {
	t.Helper()
	s := NewStore(opts...)
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	return s, &tclient{t: t, srv: srv, hc: srv.Client(), key: DefaultKey, secret: DefaultSecret}
}

// newPlainStore starts a store behind a plain-HTTP httptest server.
func newPlainStore(t *testing.T, opts ...StoreOption) (*Store, *tclient) {
	t.Helper()
	s := NewStore(opts...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, &tclient{t: t, srv: srv, hc: srv.Client(), key: DefaultKey, secret: DefaultSecret}
}

type tresp struct {
	status int
	header http.Header
	body   []byte
}

func (r tresp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %d body %q: %v", r.status, r.body, err)
	}
}

func (r tresp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

func (r tresp) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	r.json(t, &l)
	return l
}

// wantError checks a WordPress error body.
func (r tresp) wantError(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.obj(t)
	if m["code"] != code {
		t.Fatalf("code = %v, want %s; body %s", m["code"], code, r.body)
	}
	data, _ := m["data"].(map[string]any)
	if data == nil || data["status"] != float64(status) {
		t.Fatalf("data.status = %v, want %d; body %s", data, status, r.body)
	}
	return m
}

func (c *tclient) url(path string) string { return c.srv.URL + "/wp-json/wc/v3" + path }

// do sends a request to a wc/v3 path (or a full URL) with Basic auth.
func (c *tclient) do(method, path string, body any) tresp {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.url(path)
	}
	req := c.newReq(method, u, body)
	if !c.noCreds {
		req.SetBasicAuth(c.key, c.secret)
	}
	return c.send(req)
}

func (c *tclient) newReq(method, u string, body any) *http.Request {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (c *tclient) send(req *http.Request) tresp {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return tresp{status: resp.StatusCode, header: resp.Header, body: b}
}

// create creates a coupon and fails the test unless it answers 201.
func (c *tclient) create(body map[string]any) map[string]any {
	c.t.Helper()
	r := c.do("POST", "/coupons", body)
	if r.status != http.StatusCreated {
		c.t.Fatalf("create %v: status %d, body %s", body, r.status, r.body)
	}
	return r.obj(c.t)
}

func idOf(m map[string]any) int64 { return int64(m["id"].(float64)) }
