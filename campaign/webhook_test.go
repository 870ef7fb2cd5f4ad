package campaign

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const testWebhookSecret = "whsec-test-3b9f"

func openJobsLedger(t *testing.T) *Ledger {
	t.Helper()
	l, err := OpenLedger(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func signWebhook(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// jobLogBuffer is a log sink safe for the server goroutines.
type jobLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *jobLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *jobLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type jobWebhookFixture struct {
	ledger  *Ledger
	handler *WebhookHandler
	logs    *jobLogBuffer
	reg     *prometheus.Registry
	queued  [][]string
}

func newJobWebhookFixture(t *testing.T) *jobWebhookFixture {
	f := &jobWebhookFixture{ledger: openJobsLedger(t), logs: &jobLogBuffer{}, reg: prometheus.NewRegistry()}
	f.handler = &WebhookHandler{
		Queue: f.ledger,
		Routes: func() WebhookRoutes {
			return WebhookRoutes{Secret: testWebhookSecret, Jobs: map[string][]string{
				TopicCustomerCreated: {"welcome"},
				TopicOrderCreated:    {"welcome", "first-order"},
			}}
		},
		OnQueued: func(jobs []string) { f.queued = append(f.queued, jobs) },
		Logger:   slog.New(slog.NewTextHandler(f.logs, nil)),
		Metrics:  NewMetrics(f.reg),
		Now:      func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) },
	}
	return f
}

func (f *jobWebhookFixture) post(t *testing.T, topic, deliveryID string, body []byte, signature string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
	if topic != "" {
		req.Header.Set("X-WC-Webhook-Topic", topic)
		req.Header.Set("X-WC-Webhook-Delivery-ID", deliveryID)
		req.Header.Set("X-WC-Webhook-ID", "7")
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if signature != "" {
		req.Header.Set("X-WC-Webhook-Signature", signature)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

const customerCreatedBody = `{"id":42,"email":"New.Customer@Example.com","first_name":"Nina","last_name":"Neu","role":"customer","is_paying_customer":false,"billing":{"email":"new.customer@example.com"}}`

func TestWebhookValidDeliveryIsQueuedOnceForEachConsumingJob(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(customerCreatedBody)
	rec := f.post(t, TopicCustomerCreated, "1001", body, signWebhook(body, testWebhookSecret))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %q", rec.Code, rec.Body)
	}
	items, err := f.ledger.pendingQueue(context.Background(), "welcome", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("queued for welcome = %d rows, want 1", len(items))
	}
	got := items[0].Recipient
	want := QueuedRecipient{Email: "new.customer@example.com", FirstName: "Nina", LastName: "Neu", CustomerID: 42}
	if got != want {
		t.Errorf("queued recipient = %+v, want %+v", got, want)
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "first-order"); n != 0 {
		t.Errorf("customer.created queued %d rows for a job consuming only order.created", n)
	}
	if len(f.queued) != 1 {
		t.Errorf("OnQueued called %d times, want 1", len(f.queued))
	}
	if v := testutil.ToFloat64(f.handler.Metrics.webhooks.WithLabelValues("queued")); v != 1 {
		t.Errorf("queued deliveries metric = %v, want 1", v)
	}
}

func TestWebhookRepeatedDeliveryIsProcessedOnce(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(customerCreatedBody)
	for range 3 {
		if rec := f.post(t, TopicCustomerCreated, "2002", body, signWebhook(body, testWebhookSecret)); rec.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200 (a repeat must still get 200, or WooCommerce disables the webhook)", rec.Code)
		}
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 1 {
		t.Errorf("pending after 3 identical deliveries = %d, want 1", n)
	}
	if v := testutil.ToFloat64(f.handler.Metrics.webhooks.WithLabelValues("duplicate")); v != 2 {
		t.Errorf("duplicate metric = %v, want 2", v)
	}
	if len(f.queued) != 1 {
		t.Errorf("OnQueued called %d times, want 1", len(f.queued))
	}
}

func TestWebhookOrderCreatedQueuesBillingPersonForEveryConsumer(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(`{"id":9,"status":"processing","customer_id":0,"billing":{"email":"guest@example.net","first_name":"Gus","last_name":"Guest"}}`)
	if rec := f.post(t, TopicOrderCreated, "3003", body, signWebhook(body, testWebhookSecret)); rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	for _, job := range []string{"welcome", "first-order"} {
		items, _ := f.ledger.pendingQueue(context.Background(), job, 0, 10)
		if len(items) != 1 || items[0].Recipient.Email != "guest@example.net" || !items[0].Recipient.Paying {
			t.Errorf("%s queue = %+v, want guest@example.net marked paying", job, items)
		}
	}
}

func TestWebhookBadOrMissingSignatureGets401AndALogLine(t *testing.T) {
	for _, c := range []struct {
		name, sig, wantLog string
	}{
		{"missing", "", "missing signature"},
		{"wrong secret", signWebhook([]byte(customerCreatedBody), "other-secret"), "bad signature"},
		{"garbage", "not-base64!!", "bad signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newJobWebhookFixture(t)
			rec := f.post(t, TopicCustomerCreated, "4004", []byte(customerCreatedBody), c.sig)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", rec.Code)
			}
			if !strings.Contains(f.logs.String(), c.wantLog) || !strings.Contains(f.logs.String(), "delivery_id=4004") {
				t.Errorf("log %q lacks %q and the delivery id", f.logs.String(), c.wantLog)
			}
			if strings.Contains(f.logs.String(), testWebhookSecret) {
				t.Error("the secret reached the log")
			}
			if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 0 {
				t.Errorf("unauthenticated delivery queued %d rows", n)
			}
		})
	}
}

func TestWebhookSignatureIsCheckedOverTheRawBody(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(customerCreatedBody)
	sig := signWebhook(body, testWebhookSecret)
	// Same JSON, different bytes (a space): the signature must not verify.
	tampered := []byte(strings.Replace(customerCreatedBody, `"id":42`, `"id": 42`, 1))
	if rec := f.post(t, TopicCustomerCreated, "5005", tampered, sig); rec.Code != http.StatusUnauthorized {
		t.Errorf("re-encoded body: status = %d, want 401", rec.Code)
	}
}

func TestWebhookPingWithoutSignatureGets200AndQueuesNothing(t *testing.T) {
	f := newJobWebhookFixture(t)
	rec := f.post(t, "", "", []byte("webhook_id=17"), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("ping status = %d, want 200", rec.Code)
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 0 {
		t.Errorf("ping queued %d rows", n)
	}
	// Something that is neither a ping nor signed is refused.
	if rec := f.post(t, "", "", []byte("hello=1"), ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("unsigned non-ping status = %d, want 401", rec.Code)
	}
}

func TestWebhookBodyOverLimitGets413(t *testing.T) {
	f := newJobWebhookFixture(t)
	f.handler.MaxBody = 1024
	body := []byte(`{"email":"a@example.com","pad":"` + strings.Repeat("x", 2048) + `"}`)
	if rec := f.post(t, TopicCustomerCreated, "6006", body, signWebhook(body, testWebhookSecret)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", rec.Code)
	}
}

func TestWebhookWithoutUsableEmailIsAcknowledgedButNotQueued(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(`{"id":5,"email":"","billing":{"email":"not-an-address"}}`)
	if rec := f.post(t, TopicCustomerCreated, "7007", body, signWebhook(body, testWebhookSecret)); rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200 (an error would make WooCommerce retry and disable the webhook)", rec.Code)
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 0 {
		t.Errorf("queued %d rows for a payload without address", n)
	}
	if !strings.Contains(f.logs.String(), "delivery ignored") {
		t.Errorf("log %q does not say the delivery was ignored", f.logs.String())
	}
}

func TestWebhookOnlyPostAndOnlyWhenConfigured(t *testing.T) {
	f := newJobWebhookFixture(t)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, WebhookPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d, want 405", rec.Code)
	}
	f.handler.Routes = func() WebhookRoutes { return WebhookRoutes{} }
	body := []byte(customerCreatedBody)
	if rec := f.post(t, TopicCustomerCreated, "8008", body, signWebhook(body, "")); rec.Code != http.StatusNotFound {
		t.Errorf("no secret configured: status = %d, want 404", rec.Code)
	}
}

func FuzzWebhookDeliveryRecipient(f *testing.F) {
	f.Add("customer", customerCreatedBody)
	f.Add("order", `{"id":9,"status":"processing","billing":{"email":"g@example.net"}}`)
	f.Add("customer", `{"email":7}`)
	f.Add("order", `[]`)
	f.Fuzz(func(t *testing.T, resource, body string) {
		r, err := deliveryRecipient(resource, []byte(body))
		if err != nil {
			return
		}
		if e, nerr := NormalizeEmail(r.Email); nerr != nil || e != r.Email {
			t.Fatalf("queued recipient %+v has an address that is not normalized", r)
		}
		if resource != "customer" && resource != "order" {
			t.Fatalf("resource %q accepted", resource)
		}
	})
}

// WooCommerce's delivery id is a hash of the webhook id and the current
// second: customers created in the same second arrive with one id. Every
// one of them must be queued (a real store: 5 customers, 1 queued).
func TestWebhookDeliveriesSharingADeliveryIDAreAllQueued(t *testing.T) {
	f := newJobWebhookFixture(t)
	for i := range 5 {
		body := fmt.Appendf(nil, `{"id":%d,"email":"c%d@example.com","first_name":"C%d","role":"customer"}`, 100+i, i, i)
		if rec := f.post(t, TopicCustomerCreated, "same-second-id", body, signWebhook(body, testWebhookSecret)); rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: status = %d, want 200", i, rec.Code)
		}
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 5 {
		t.Errorf("queued %d of 5 customers delivered with one delivery id", n)
	}
	if v := testutil.ToFloat64(f.handler.Metrics.webhooks.WithLabelValues("duplicate")); v != 0 {
		t.Errorf("duplicate metric = %v, want 0", v)
	}
}

// The topic header is not signed: a header that contradicts the signed body
// is refused, visibly, and the body's own resource is what routes.
func TestWebhookTopicHeaderContradictingTheSignedBodyIsRefusedVisibly(t *testing.T) {
	f := newJobWebhookFixture(t)
	order := []byte(`{"id":9,"order_key":"wc_order_x","status":"processing","customer_id":0,"billing":{"email":"guest@example.net"}}`)
	if rec := f.post(t, TopicCustomerCreated, "1", order, signWebhook(order, testWebhookSecret)); rec.Code != http.StatusBadRequest {
		t.Errorf("order body under a customer topic: status = %d, want 400", rec.Code)
	}
	if n, _ := f.ledger.PendingDeliveries(context.Background(), "welcome"); n != 0 {
		t.Errorf("queued %d rows from a contradicted delivery", n)
	}
	if v := testutil.ToFloat64(f.handler.Metrics.webhooks.WithLabelValues("refused")); v != 1 {
		t.Errorf("refused metric = %v, want 1", v)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "the signed body is order data") {
		t.Errorf("log %q has no WARN naming the contradiction", logs)
	}
}

// A delivery of a topic no job consumes is counted and logged at WARN, not
// answered silently.
func TestWebhookDeliveryNoJobTakesIsAWarningAndCounted(t *testing.T) {
	f := newJobWebhookFixture(t)
	body := []byte(customerCreatedBody)
	f.post(t, "customer.updated", "7", body, signWebhook(body, testWebhookSecret))
	if v := testutil.ToFloat64(f.handler.Metrics.webhooks.WithLabelValues("ignored")); v != 1 {
		t.Errorf("ignored metric = %v, want 1", v)
	}
	if !strings.Contains(f.logs.String(), "level=WARN") {
		t.Errorf("log %q: an ignored delivery must be a WARN", f.logs.String())
	}
}
