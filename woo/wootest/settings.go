package wootest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WithCurrency sets the store's currency (WooCommerce > Settings > General
// > Currency), an ISO 4217 code; the default is USD.
func WithCurrency(code string) StoreOption {
	return func(s *Store) { s.currency = strings.ToUpper(code) }
}

// dispatchSite answers the routes where a store says what it is: the
// WordPress REST index (GET /wp-json/, public) and WooCommerce's general
// settings (GET /wc/v3/settings/general[/ID], for a key's user who may
// manage WooCommerce). ok is false for any other route.
func (s *Store) dispatchSite(q *request, parts []string, guard func(string, func() response) response) (r response, handled bool) {
	if q.method != http.MethodGet && q.method != http.MethodHead {
		return response{}, false
	}
	switch {
	case len(parts) == 1 && parts[0] == "":
		return ok(http.StatusOK, s.siteIndex(q)), true
	case len(parts) == 4 && parts[0] == "wc" && parts[1] == "v3" && parts[2] == "settings" && parts[3] == "general":
		return guard("list", func() response { return ok(http.StatusOK, s.generalSettings()) }), true
	case len(parts) == 5 && parts[0] == "wc" && parts[1] == "v3" && parts[2] == "settings" && parts[3] == "general":
		return guard("view", func() response {
			for _, st := range s.generalSettings() {
				if st["id"] == parts[4] {
					return ok(http.StatusOK, st)
				}
			}
			return fail(newErr(http.StatusNotFound, "rest_setting_setting_invalid", "Invalid setting."))
		}), true
	}
	return response{}, false
}

// siteIndex is WordPress's REST index, with the members couponbridge reads.
// A named zone gives timezone_string and its current offset as a number; a
// fixed zone (WordPress's "UTC+5:30" choice) gives "" and the stored
// option, a string ("5.5").
func (s *Store) siteIndex(q *request) map[string]any {
	_, secs := s.clock().In(s.loc).Zone()
	hours := float64(secs) / 3600
	var offset any = hours
	tz := s.loc.String()
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		tz = ""
		offset = strconv.FormatFloat(hours, 'f', -1, 64)
	}
	return map[string]any{
		"name":            "couponbridge sandbox",
		"description":     "A WooCommerce-compatible sandbox store",
		"url":             q.baseURL,
		"home":            q.baseURL,
		"gmt_offset":      offset,
		"timezone_string": tz,
		"namespaces":      []string{"oembed/1.0", "wc/v3", "wc-analytics", "wc/store/v1", "wp/v2"},
		"authentication":  map[string]any{},
		"routes":          map[string]any{},
	}
}

// generalSettings is the part of WooCommerce's "general" settings group
// that couponbridge reads, shaped like wc/v3/settings/general.
func (s *Store) generalSettings() []map[string]any {
	cur := s.currency
	if cur == "" {
		cur = "USD"
	}
	return []map[string]any{{
		"id":          "woocommerce_currency",
		"label":       "Currency",
		"description": "This controls what currency prices are listed at in the catalog and which currency gateways will take payments in.",
		"type":        "select",
		"default":     "USD",
		"tip":         "This controls what currency prices are listed at in the catalog and which currency gateways will take payments in.",
		"value":       cur,
		"group_id":    "general",
	}}
}
