package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// WebhookPath is where the daemon receives WooCommerce webhooks.
const WebhookPath = "/webhooks/woocommerce"

// DefaultWebhookMaxBody is the largest webhook body accepted: a customer or
// order payload is a few KiB; anything near this is not WooCommerce.
const DefaultWebhookMaxBody = 1 << 20

// Webhook topics a webhook job can consume.
const (
	TopicCustomerCreated = "customer.created"
	TopicOrderCreated    = "order.created"
)

// WebhookRoutes is the part of the configuration the webhook receiver
// reads on every delivery, so that a reload takes effect at once.
type WebhookRoutes struct {
	// Secret is the webhook secret set in WooCommerce; empty disables the
	// route (404).
	Secret string
	// Jobs lists, per topic, the jobs whose queue a delivery goes to.
	Jobs map[string][]string
}

// DeliveryQueue stores verified deliveries: satisfied by *Ledger.
type DeliveryQueue interface {
	EnqueueDelivery(ctx context.Context, d Delivery, jobs []string) (duplicate bool, err error)
}

// WebhookHandler receives WooCommerce webhook deliveries on WebhookPath.
// It answers fast and does no work beyond verifying and queueing: WooCommerce
// disables a webhook after a few failed or slow deliveries, so the jobs
// consume the queue later.
type WebhookHandler struct {
	// Queue stores deliveries (required).
	Queue DeliveryQueue
	// Routes returns the current secret and topic routing (required).
	Routes func() WebhookRoutes
	// OnQueued, if set, is called after a delivery was queued for jobs.
	OnQueued func(jobs []string)
	// MaxBody is the body size limit; 0 means DefaultWebhookMaxBody.
	MaxBody int64
	Logger  *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
}

// queueTimeout bounds the ledger write of one delivery.
const queueTimeout = 5 * time.Second

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	routes := h.Routes()
	if routes.Secret == "" {
		http.NotFound(w, r)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultWebhookMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.Metrics.webhookOutcome("refused")
			log.Warn("webhook: body too large", "remote", r.RemoteAddr, "limit", limit)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.Metrics.webhookOutcome("refused")
		log.Warn("webhook: cannot read body", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	d, perr := woo.ParseWebhook(r.Header, body)
	if perr == nil && d.IsPing() && d.Signature == "" {
		// WooCommerce pings a new webhook with webhook_id=N and no
		// signature; it only needs a 2xx. Nothing is queued.
		h.Metrics.webhookOutcome("ping")
		log.Info("webhook: ping", "webhook_id", d.WebhookID, "remote", r.RemoteAddr)
		w.WriteHeader(http.StatusOK)
		return
	}
	sig := strings.TrimSpace(r.Header.Get("X-WC-Webhook-Signature"))
	if !woo.VerifyWebhook(body, sig, routes.Secret) {
		reason := "bad signature"
		if sig == "" {
			reason = "missing signature"
		}
		h.Metrics.webhookOutcome("refused")
		log.Warn("webhook: rejected", "reason", reason, "remote", r.RemoteAddr,
			"topic", r.Header.Get("X-WC-Webhook-Topic"), "delivery_id", r.Header.Get("X-WC-Webhook-Delivery-ID"))
		http.Error(w, reason, http.StatusUnauthorized)
		return
	}
	if perr != nil {
		h.Metrics.webhookOutcome("refused")
		log.Warn("webhook: rejected", "reason", perr.Error(), "remote", r.RemoteAddr)
		http.Error(w, perr.Error(), http.StatusBadRequest)
		return
	}
	if d.IsPing() {
		h.Metrics.webhookOutcome("ping")
		w.WriteHeader(http.StatusOK)
		return
	}
	// The headers are not signed: what the delivery is about comes from the
	// body where the body says it, and a header that contradicts the body
	// is refused rather than believed.
	resource, err := payloadResource(d.Body, d.Resource)
	if err != nil {
		h.Metrics.webhookOutcome("refused")
		log.Warn("webhook: rejected", "reason", err.Error(), "topic", d.Topic, "delivery_id", d.DeliveryID, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	topic := resource + "." + d.Event
	jobs := routes.Jobs[topic]
	if len(jobs) == 0 {
		// WooCommerce sends what a webhook was set up for: a topic nobody
		// consumes is a webhook configured for nothing, worth a look.
		h.Metrics.webhookOutcome("ignored")
		log.Warn("webhook: delivery ignored", "topic", topic, "delivery_id", d.DeliveryID, "reason", "no job consumes this topic")
		w.WriteHeader(http.StatusOK)
		return
	}
	rcp, err := deliveryRecipient(resource, d.Body)
	if err != nil {
		// Answering an error would only make WooCommerce retry the same
		// payload and eventually disable the webhook.
		h.Metrics.webhookOutcome("ignored")
		log.Warn("webhook: delivery ignored", "topic", topic, "delivery_id", d.DeliveryID, "reason", err.Error())
		w.WriteHeader(http.StatusOK)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	id := deliveryKey(d.WebhookID, body)
	ctx, cancel := context.WithTimeout(r.Context(), queueTimeout)
	defer cancel()
	dup, err := h.Queue.EnqueueDelivery(ctx, Delivery{
		DeliveryID: id, WebhookID: d.WebhookID, Topic: topic, Recipient: rcp, Received: now(),
	}, jobs)
	if err != nil {
		log.Error("webhook: cannot queue delivery", "topic", topic, "delivery_id", d.DeliveryID, "err", err)
		http.Error(w, "cannot queue delivery", http.StatusServiceUnavailable)
		return
	}
	if dup {
		// The same signed body again: a retry of one WooCommerce already
		// delivered. Its person is queued; nothing is lost.
		h.Metrics.webhookOutcome("duplicate")
		log.Warn("webhook: delivery dropped", "reason", "the same body was delivered before", "topic", topic,
			"delivery_id", d.DeliveryID, "body_sha256", id)
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Metrics.webhookOutcome("queued")
	log.Info("webhook: queued", "topic", topic, "delivery_id", d.DeliveryID, "jobs", strings.Join(jobs, ","))
	if h.OnQueued != nil {
		h.OnQueued(jobs)
	}
	w.WriteHeader(http.StatusOK)
}

// deliveryKey identifies a delivery for deduplication: a SHA-256 of the
// webhook id and the raw (signed) body. X-WC-Webhook-Delivery-ID cannot
// serve: WooCommerce derives it from the webhook id and the current second,
// so every delivery of one webhook within a second shares it (different
// customers included), and it is not signed. A replay of the same body is
// recognised; two people never collide. Even a replay that slipped through
// would be harmless: a person gets one coupon per campaign.
func deliveryKey(webhookID string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(webhookID))
	h.Write([]byte{0})
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// payloadResource says what a delivery's body is, "customer" or "order", by
// the fields only that resource has. When the body does not tell, the
// header's resource is taken; when body and header disagree, it is an
// error.
func payloadResource(body []byte, header string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", errors.New("body is not a JSON object")
	}
	var fromBody string
	switch {
	case fields["order_key"] != nil || fields["line_items"] != nil || fields["customer_id"] != nil:
		fromBody = "order"
	case fields["username"] != nil || fields["role"] != nil || fields["is_paying_customer"] != nil:
		fromBody = "customer"
	}
	switch {
	case fromBody == "":
		return header, nil
	case header != "" && header != fromBody:
		return "", fmt.Errorf("the topic header says %s, the signed body is %s data", header, fromBody)
	}
	return fromBody, nil
}

// webhookPayload holds the fields of a customer or order payload the jobs use.
type webhookPayload struct {
	ID               int64       `json:"id"`
	Email            string      `json:"email"`
	FirstName        string      `json:"first_name"`
	LastName         string      `json:"last_name"`
	IsPayingCustomer bool        `json:"is_paying_customer"`
	CustomerID       int64       `json:"customer_id"`
	Status           string      `json:"status"`
	Billing          woo.Address `json:"billing"`
}

// deliveryRecipient extracts the person a customer or order body is about.
func deliveryRecipient(resource string, body []byte) (QueuedRecipient, error) {
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return QueuedRecipient{}, errors.New("body is not a JSON object")
	}
	var r QueuedRecipient
	switch resource {
	case "customer":
		r = QueuedRecipient{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, CustomerID: p.ID, Paying: p.IsPayingCustomer}
		if r.Email == "" {
			r.Email = p.Billing.Email
		}
		if r.FirstName == "" && r.LastName == "" {
			r.FirstName, r.LastName = p.Billing.FirstName, p.Billing.LastName
		}
	case "order":
		r = QueuedRecipient{Email: p.Billing.Email, FirstName: p.Billing.FirstName, LastName: p.Billing.LastName,
			CustomerID: p.CustomerID, Paying: isPaidStatus(p.Status)}
	default:
		return QueuedRecipient{}, errors.New("resource " + resource + " is neither customer nor order")
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return QueuedRecipient{}, errors.New("no usable email: " + err.Error())
	}
	r.Email = email
	r.FirstName, r.LastName = CleanName(r.FirstName), CleanName(r.LastName)
	return r, nil
}

// PaidStatuses are the order statuses that count as a paid order, for the
// win-back window and the welcome job's "already bought" rule: the ones a
// report counts (CountingOrderStatuses), so that the tool has one meaning of
// paid. on-hold is in: a bank-transfer or cheque order is a purchase the
// shop is waiting to be paid for, and such a buyer is no new customer.
// refunded, cancelled, failed, pending and draft orders are not purchases.
var PaidStatuses = CountingOrderStatuses()

func isPaidStatus(s string) bool {
	for _, p := range PaidStatuses {
		if s == p {
			return true
		}
	}
	return false
}
