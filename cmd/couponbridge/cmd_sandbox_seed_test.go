package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func TestSandboxSeedDemoGivesCustomersAndOrdersOnceAndKeepsThem(t *testing.T) {
	dataFile := filepath.Join(t.TempDir(), "sandbox.json")
	url, stdout, stop := startSandbox(t, "--data", dataFile, "--seed-demo")
	if out := stdout.String(); !strings.Contains(out, "demo data: 45 customers and 8 guest buyers") {
		t.Errorf("output does not say what was seeded:\n%s", out)
	}
	c, err := woo.NewClient(url, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret), woo.WithAuthMode(woo.AuthOAuth1))
	if err != nil {
		t.Fatal(err)
	}
	count := func() (customers, orders int) {
		for _, err := range c.Customers.All(context.Background(), &woo.CustomerListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			customers++
		}
		for _, err := range c.Orders.All(context.Background(), &woo.OrderListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			orders++
		}
		return customers, orders
	}
	customers, orders := count()
	if customers != 45 || orders == 0 {
		t.Errorf("seeded store lists %d customers and %d orders, want 45 and some", customers, orders)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("sandbox exit %d", code)
	}

	url, stdout, stop = startSandbox(t, "--data", dataFile, "--seed-demo")
	defer stop()
	if out := stdout.String(); !strings.Contains(out, "demo data: not added") {
		t.Errorf("a restart over seeded data seeded again:\n%s", out)
	}
	c, _ = woo.NewClient(url, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret), woo.WithAuthMode(woo.AuthOAuth1))
	if again, _ := count(); again != customers {
		t.Errorf("after a restart the store lists %d customers, want the same %d", again, customers)
	}
}
