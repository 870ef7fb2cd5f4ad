package woo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// VerifyWebhook reports whether signature (the X-WC-Webhook-Signature
// header) is base64(HMAC-SHA256(body, secret)). body must be the raw bytes
// as received. The comparison takes constant time. An empty secret or
// signature never verifies.
func VerifyWebhook(body []byte, signature, secret string) bool {
	signature = strings.TrimSpace(signature)
	if secret == "" || signature == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(signature))
}

// WebhookDelivery is one webhook request from WooCommerce.
type WebhookDelivery struct {
	Topic      string // X-WC-Webhook-Topic, e.g. customer.created, order.created
	Resource   string // X-WC-Webhook-Resource, e.g. order
	Event      string // X-WC-Webhook-Event, e.g. created
	WebhookID  string // X-WC-Webhook-ID, or webhook_id of a ping
	DeliveryID string // X-WC-Webhook-Delivery-ID
	Signature  string // X-WC-Webhook-Signature
	Body       []byte // raw body
}

// ParseWebhook reads a delivery from its headers and raw body. The ping
// WooCommerce sends when a webhook is created (form body webhook_id=N, no
// topic, no signature) parses too; IsPing reports it. It does not verify
// the signature: call VerifyWebhook.
func ParseWebhook(h http.Header, body []byte) (*WebhookDelivery, error) {
	d := &WebhookDelivery{
		Topic:      strings.TrimSpace(h.Get("X-WC-Webhook-Topic")),
		Resource:   strings.TrimSpace(h.Get("X-WC-Webhook-Resource")),
		Event:      strings.TrimSpace(h.Get("X-WC-Webhook-Event")),
		WebhookID:  strings.TrimSpace(h.Get("X-WC-Webhook-ID")),
		DeliveryID: strings.TrimSpace(h.Get("X-WC-Webhook-Delivery-ID")),
		Signature:  strings.TrimSpace(h.Get("X-WC-Webhook-Signature")),
		Body:       body,
	}
	if d.Topic == "" {
		if form, err := url.ParseQuery(strings.TrimSpace(string(body))); err == nil && form.Get("webhook_id") != "" {
			d.WebhookID = form.Get("webhook_id")
			return d, nil
		}
		return nil, errors.New("woo: not a WooCommerce webhook delivery: no X-WC-Webhook-Topic header and not a ping")
	}
	if res, ev, ok := strings.Cut(d.Topic, "."); ok {
		if d.Resource == "" {
			d.Resource = res
		}
		if d.Event == "" {
			d.Event = ev
		}
	}
	return d, nil
}

// IsPing reports whether d is the ping WooCommerce sends when a webhook is
// created: answer it with 200.
func (d *WebhookDelivery) IsPing() bool { return d.Topic == "" && d.WebhookID != "" }
