package woo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
)

func TestCheckResponseDecodesWooCommerceErrors(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(400, `{"code":"woocommerce_rest_coupon_code_already_exists","message":"The coupon code &quot;abc&quot; already exists","data":{"status":400}}`))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.StatusCode != 400 || ae.Code != "woocommerce_rest_coupon_code_already_exists" || ae.Message != `The coupon code "abc" already exists` || string(ae.Data) != `{"status":400}` {
		t.Errorf("APIError = %+v", ae)
	}
	if ae.Method != "POST" || ae.URL != testStore+"/wp-json/wc/v3/coupons" || ae.Body != "" {
		t.Errorf("APIError method/url/body = %q %q %q", ae.Method, ae.URL, ae.Body)
	}
	if !IsCodeExists(err) || IsAuth(err) || IsNotFound(err) {
		t.Errorf("IsCodeExists/IsAuth/IsNotFound = %v/%v/%v, want true/false/false", IsCodeExists(err), IsAuth(err), IsNotFound(err))
	}
}

func TestCheckResponseQuotesTheStartOfANonJSONBody(t *testing.T) {
	page := strings.Repeat("<p>Error establishing a database connection</p>", 20)
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(500, page))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Get(context.Background(), 1)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if want := page[:200] + "…"; ae.Body != want {
		t.Errorf("Body = %q, want the first 200 bytes", ae.Body)
	}
	if ae.Message != "Internal Server Error" || !strings.Contains(err.Error(), "database connection") {
		t.Errorf("err = %q", err)
	}
}

func TestQuoteBodyCutsAtRuneBoundary(t *testing.T) {
	body := strings.Repeat("a", 199) + "é and more"
	got := quoteBody([]byte(body))
	if got != strings.Repeat("a", 199)+"…" {
		t.Errorf("quoteBody = %q", got)
	}
	if got := quoteBody(nil); got != "(empty)" {
		t.Errorf("quoteBody(nil) = %q", got)
	}
}

func TestAuthHintNamesTheCause(t *testing.T) {
	cases := []struct {
		name   string
		mode   AuthMode
		file   string
		status int
		want   string
	}{
		{"wrong secret", AuthBasic, "error_wrong_secret.json", 401, "wrong secret"},
		{"read-only key", AuthBasic, "error_read_only.json", 401, "read-only key"},
		{"header stripped", AuthBasic, "error_cannot_view.json", 401, "auth mode query"},
		{"forbidden", AuthBasic, "", 403, "capability"},
	}
	for _, tc := range cases {
		body := `{"code":"woocommerce_rest_cannot_create","message":"Sorry, you are not allowed to create resources.","data":{"status":403}}`
		if tc.file != "" {
			body = string(readTestdata(t, tc.file))
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(tc.status, body))
		c := newTestClient(t, mock, WithAuthMode(tc.mode))
		_, err := c.Coupons.Get(context.Background(), 1)
		if !IsAuth(err) {
			t.Errorf("%s: IsAuth(%v) = false", tc.name, err)
		}
		if hint := AuthHint(err); !strings.Contains(hint, tc.want) {
			t.Errorf("%s: AuthHint = %q, want it to contain %q", tc.name, hint, tc.want)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not carry the hint", tc.name, err)
		}
	}
	if AuthHint(errors.New("x")) != "" || AuthHint(nil) != "" {
		t.Error("AuthHint of a non-auth error is not empty")
	}
}

func TestErrorHelpersSeeThroughWrapping(t *testing.T) {
	ie := &ItemError{Code: "woocommerce_rest_coupon_code_already_exists", Message: "exists", Status: 400}
	wrapped := fmt.Errorf("issuing: %w", ie)
	if !IsCodeExists(wrapped) {
		t.Error("IsCodeExists(wrapped *ItemError) = false")
	}
	nf := fmt.Errorf("x: %w", &APIError{StatusCode: http.StatusNotFound})
	if !IsNotFound(nf) || IsCodeExists(nf) {
		t.Error("IsNotFound(wrapped 404) = false")
	}
	if IsCodeExists(nil) || IsAuth(nil) || IsNotFound(nil) {
		t.Error("helpers report true for nil")
	}
	if !strings.Contains(ie.Error(), "400") || !strings.Contains(ie.Error(), "exists") {
		t.Errorf("ItemError.Error() = %q", ie.Error())
	}
}

func TestDecodeErrorBodyRejectsNonErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{}`, `{"code":""}`, `<html>`, `{"id":1}`} {
		if _, ok := decodeErrorBody([]byte(in)); ok {
			t.Errorf("decodeErrorBody(%q) ok, want not an error body", in)
		}
	}
	w, ok := decodeErrorBody(readTestdata(t, "error_too_large.json"))
	if !ok || w.status() != 413 || w.Code != "woocommerce_rest_request_entity_too_large" {
		t.Errorf("decodeErrorBody(413) = %+v, %v", w, ok)
	}
}
