package woo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"
)

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":31,"email":"dora@example.com"}`)
	good := sign(body, "whsec")
	cases := []struct {
		name           string
		body           []byte
		signature, key string
		want           bool
	}{
		{"valid", body, good, "whsec", true},
		{"valid with spaces", body, " " + good + "\n", "whsec", true},
		{"wrong secret", body, good, "other", false},
		{"body changed", append([]byte(" "), body...), good, "whsec", false},
		{"empty signature", body, "", "whsec", false},
		{"empty secret", body, sign(body, ""), "", false},
		{"garbage signature", body, "not-base64!", "whsec", false},
	}
	for _, tc := range cases {
		if got := VerifyWebhook(tc.body, tc.signature, tc.key); got != tc.want {
			t.Errorf("%s: VerifyWebhook = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseWebhookReadsHeaders(t *testing.T) {
	body := []byte(`{"id":727}`)
	h := http.Header{}
	h.Set("X-WC-Webhook-Topic", "order.created")
	h.Set("X-WC-Webhook-Resource", "order")
	h.Set("X-WC-Webhook-Event", "created")
	h.Set("X-WC-Webhook-ID", "12")
	h.Set("X-WC-Webhook-Delivery-ID", "c0ffee")
	h.Set("X-WC-Webhook-Signature", sign(body, "s"))
	d, err := ParseWebhook(h, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Topic != "order.created" || d.Resource != "order" || d.Event != "created" || d.WebhookID != "12" || d.DeliveryID != "c0ffee" || d.IsPing() {
		t.Errorf("delivery %+v", d)
	}
	if !VerifyWebhook(d.Body, d.Signature, "s") {
		t.Error("signature of the parsed delivery does not verify")
	}
	h.Del("X-WC-Webhook-Resource")
	h.Del("X-WC-Webhook-Event")
	h.Set("X-WC-Webhook-Topic", "customer.created")
	if d, _ := ParseWebhook(h, body); d.Resource != "customer" || d.Event != "created" {
		t.Errorf("resource/event from topic = %q/%q", d.Resource, d.Event)
	}
}

func TestParseWebhookRecognisesPing(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	d, err := ParseWebhook(h, []byte("webhook_id=42"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsPing() || d.WebhookID != "42" {
		t.Errorf("ping parsed as %+v", d)
	}
	if _, err := ParseWebhook(http.Header{}, []byte(`{"id":1}`)); err == nil {
		t.Error("a body without topic and not a ping parsed, want an error")
	}
}
