package woo_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// settingsTarget is a sandbox over TLS with a read/write key, a read-only
// key, in Berlin, selling in EUR; secret is the secret the client sends
// for key.
func settingsTarget(t *testing.T, key, secret string, opts ...wootest.StoreOption) (*woo.Client, *wootest.Store) {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	store := wootest.NewStore(append([]wootest.StoreOption{
		wootest.WithKey("ck_rw", "cs_rw", wootest.ReadWrite),
		wootest.WithKey("ck_ro", "cs_ro", wootest.Read),
		wootest.WithTimezone(berlin),
		wootest.WithCurrency("EUR"),
	}, opts...)...)
	srv := httptest.NewTLSServer(store)
	t.Cleanup(srv.Close)
	c, err := woo.NewClient(srv.URL, woo.WithCredentials(key, secret), woo.WithAuthMode(woo.AuthBasic),
		woo.WithHTTPClient(srv.Client()), woo.WithRateLimit(1000, 100), woo.WithRetry(1, time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

func TestSettingsReportTheStoresTimeZoneAndCurrency(t *testing.T) {
	c, _ := settingsTarget(t, "ck_ro", "cs_ro")
	site, _, err := c.Settings.Site(t.Context())
	if err != nil {
		t.Fatalf("Site: %v", err)
	}
	if site.TimezoneString != "Europe/Berlin" || site.Location().String() != "Europe/Berlin" {
		t.Errorf("site time zone = %q (%s), want Europe/Berlin", site.TimezoneString, site.Location())
	}
	cur, err := c.Settings.Currency(t.Context())
	if err != nil || cur != "EUR" {
		t.Errorf("Currency = %q, %v; want EUR (a read-only key may read settings)", cur, err)
	}
}

func TestSiteIndexIsReadWithoutCredentials(t *testing.T) {
	var auth []string
	store := wootest.NewStore()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization")+r.URL.RawQuery)
		store.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := woo.NewClient(srv.URL, woo.WithCredentials("ck_x", "cs_x"), woo.WithAuthMode(woo.AuthBasic), woo.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Settings.Site(t.Context()); err != nil {
		t.Fatalf("Site: %v", err)
	}
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("the index request carried credentials %q; WordPress would try them as an application password", auth)
	}
}

func TestCheckWriteTellsAReadOnlyKeyAndAWrongSecretAndLeavesNothing(t *testing.T) {
	c, store := settingsTarget(t, "ck_rw", "cs_rw")
	if err := c.Settings.CheckWrite(t.Context()); err != nil {
		t.Fatalf("CheckWrite with a read/write key: %v", err)
	}
	if n := len(store.Coupons()); n != 0 {
		t.Errorf("CheckWrite left %d coupons in the store, want 0", n)
	}

	ro, _ := settingsTarget(t, "ck_ro", "cs_ro")
	err := ro.Settings.CheckWrite(t.Context())
	var ae *woo.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.Code != "woocommerce_rest_authentication_error" {
		t.Fatalf("CheckWrite with a read-only key = %v, want 401 woocommerce_rest_authentication_error", err)
	}
	if h := woo.AuthHint(err); !strings.Contains(h, "read-only key") {
		t.Errorf("AuthHint = %q, want the read-only key explained", h)
	}

	bad, _ := settingsTarget(t, "ck_rw", "cs_wrong")
	_, err = bad.Settings.Currency(t.Context())
	if h := woo.AuthHint(err); !strings.Contains(h, "wrong secret") {
		t.Errorf("Currency with a wrong secret = %v (hint %q), want the wrong secret explained", err, h)
	}
}

func TestGMTOffsetReadsNumbersAndStrings(t *testing.T) {
	for in, want := range map[string]woo.Hours{`1`: 1, `5.5`: 5.5, `"5.5"`: 5.5, `"-3"`: -3, `""`: 0, `null`: 0} {
		var site woo.Site
		if err := json.Unmarshal([]byte(`{"gmt_offset":`+in+`}`), &site); err != nil || site.GMTOffset != want {
			t.Errorf("gmt_offset %s = %v, %v; want %v", in, site.GMTOffset, err, want)
		}
	}
	var site woo.Site
	if err := json.Unmarshal([]byte(`{"gmt_offset":"abc"}`), &site); err == nil {
		t.Error(`gmt_offset "abc": want an error`)
	}
	fixed := woo.Site{GMTOffset: 5.5}
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, fixed.Location()).Zone(); off != 5*3600+1800 {
		t.Errorf("a fixed offset of 5.5 h gives %d s", off)
	}
}

// scenarioStoreSettings reads the index and the currency, and checks that
// the key may write with an empty batch that leaves the store as it was.
func scenarioStoreSettings(t *testing.T, tg *contractTarget) {
	site, _, err := tg.client.Settings.Site(t.Context())
	if err != nil {
		t.Fatalf("Site: %v", err)
	}
	if !slices.Contains(site.Namespaces, "wc/v3") {
		t.Errorf("the index lists namespaces %v, want wc/v3 among them", site.Namespaces)
	}
	if site.TimezoneString != "" && site.Location().String() != site.TimezoneString {
		t.Errorf("time zone %q is not known here (Location %s)", site.TimezoneString, site.Location())
	}
	cur, err := tg.client.Settings.Currency(t.Context())
	if err != nil || len(cur) != 3 || strings.ToUpper(cur) != cur {
		t.Errorf("Currency = %q, %v; want an ISO 4217 code", cur, err)
	}
	before, _, err := tg.client.Coupons.List(t.Context(), &woo.CouponListOptions{ListOptions: woo.ListOptions{PerPage: 1}, Status: "any"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.client.Settings.CheckWrite(t.Context()); err != nil {
		t.Fatalf("CheckWrite with a read/write key: %v", err)
	}
	after, _, err := tg.client.Coupons.List(t.Context(), &woo.CouponListOptions{ListOptions: woo.ListOptions{PerPage: 1}, Status: "any"})
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(after) || (len(after) > 0 && after[0].ID != before[0].ID) {
		t.Errorf("CheckWrite changed the store's newest coupon: %v, then %v", before, after)
	}
}

// FuzzSiteIndex decodes arbitrary REST indexes: no panic, and a decoded
// site always has a time zone.
func FuzzSiteIndex(f *testing.F) {
	f.Add([]byte(`{"name":"Shop","timezone_string":"Europe/Berlin","gmt_offset":1,"namespaces":["wc/v3"]}`))
	f.Add([]byte(`{"timezone_string":"","gmt_offset":"5.5"}`))
	f.Add([]byte(`{"timezone_string":"Mars/Olympus","gmt_offset":"-12.75"}`))
	f.Add([]byte(`{"gmt_offset":"1e308"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var site woo.Site
		if json.Unmarshal(b, &site) != nil {
			return
		}
		if site.Location() == nil {
			t.Fatalf("%s: no location", b)
		}
	})
}
