package wootest

import (
	"net/url"
	"testing"
)

func TestOrdersSearchFindsBillingEmailSubstringsAsWooCommerceDoes(t *testing.T) {
	s, c := newTLSStore(t)
	for _, e := range []string{"ann@example.com", "joann@example.com", "bob@example.com"} {
		if _, err := s.AddOrder(SeedOrder{Email: e, Status: "processing"}); err != nil {
			t.Fatal(err)
		}
	}
	got := c.do("GET", "/orders?search="+url.QueryEscape("Ann@Example.com"), nil).list(t)
	emails := map[string]bool{}
	for _, o := range got {
		emails[o["billing"].(map[string]any)["email"].(string)] = true
	}
	if len(got) != 2 || !emails["ann@example.com"] || !emails["joann@example.com"] {
		t.Errorf("search ann@example.com found %v, want ann and joann (a LIKE %%term%% match, not exact)", emails)
	}
}

func TestIsPayingCustomerOnlyAfterACompletedOrder(t *testing.T) {
	s, c := newTLSStore(t)
	id := s.AddCustomer(SeedCustomer{Email: "cod@example.com"})
	paying := func() bool {
		return c.do("GET", "/customers?email=cod@example.com", nil).list(t)[0]["is_paying_customer"].(bool)
	}
	oid, err := s.AddOrder(SeedOrder{CustomerID: id, Status: "processing"})
	if err != nil {
		t.Fatal(err)
	}
	if paying() {
		t.Error("is_paying_customer true with a processing (cash on delivery) order; WooCommerce leaves it false")
	}
	if err := s.SetOrderStatus(oid, "completed"); err != nil {
		t.Fatal(err)
	}
	if !paying() {
		t.Error("is_paying_customer false after the order was completed")
	}
}
