package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func TestDemoSeedsTheSandboxWithCustomersForTheJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	r := runCLI(t, t.Context(), nil, "demo", "--dir", dir)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "Sandbox store seeded with 45 customers, 8 guest buyers") {
		t.Errorf("demo does not say it seeded the store:\n%s", r.stderr)
	}
	store := wootest.NewStore(wootest.WithDataFile(filepath.Join(dir, "store.json")))
	if err := store.LoadError(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(store)
	defer srv.Close()
	c, err := woo.NewClient(srv.URL, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret), woo.WithAuthMode(woo.AuthOAuth1))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.Customers.All(context.Background(), &woo.CustomerListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 45 {
		t.Errorf("the demo's store.json lists %d customers, want the 45 seeded ones", n)
	}
}
