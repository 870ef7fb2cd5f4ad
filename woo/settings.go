package woo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// SettingsService reads what the store says about itself (its time zone
// and currency) and whether the API key may write, for a check before the
// first campaign.
type SettingsService service

// Site is the WordPress REST index (GET /wp-json/): the site's name,
// address and time zone, as WordPress's Settings > General has them.
type Site struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Home string `json:"home"`
	// TimezoneString is the IANA zone ("Europe/Berlin"), or "" when the
	// site is set to a fixed offset such as "UTC+1".
	TimezoneString string `json:"timezone_string"`
	// GMTOffset is the site's current offset from UTC in hours (5.5 for
	// India). WordPress sends a number for a named zone and the stored
	// string ("5.5") for a fixed offset; both are read.
	GMTOffset  Hours    `json:"gmt_offset"`
	Namespaces []string `json:"namespaces"`
}

// Hours is a UTC offset in hours, decoded from a JSON number or string.
type Hours float64

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hours) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte(`""`)) {
		*h = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 14 {
		return fmt.Errorf("woo: gmt_offset %s is not an offset in hours", b)
	}
	*h = Hours(f)
	return nil
}

// Duration returns the offset as a time.Duration.
func (h Hours) Duration() time.Duration { return time.Duration(float64(h) * float64(time.Hour)) }

// Location returns the site's time zone: the named zone when WordPress has
// one and this system knows it, else a fixed zone of GMTOffset.
func (s *Site) Location() *time.Location {
	if s.TimezoneString != "" {
		if loc, err := time.LoadLocation(s.TimezoneString); err == nil {
			return loc
		}
	}
	d := s.GMTOffset.Duration()
	return time.FixedZone(fmt.Sprintf("UTC%+.4g", float64(s.GMTOffset)), int(d/time.Second))
}

// anonymousKey marks a request sent without credentials (see Site).
type anonymousKey struct{}

// Site reads the REST index. It is sent without credentials: the index is
// public, and WordPress would take a Basic Authorization header there for
// an application password and refuse it (WooCommerce checks its keys only
// on its own routes).
func (s *SettingsService) Site(ctx context.Context) (*Site, *Response, error) {
	u := *s.client.base
	u.Path = s.client.base.Path + "wp-json/"
	var out Site
	resp, err := s.client.do(context.WithValue(ctx, anonymousKey{}, true), classSafe, http.MethodGet, u.String(), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Setting is one WooCommerce setting (wc/v3/settings/GROUP/ID).
type Setting struct {
	ID      string          `json:"id"`
	Label   string          `json:"label"`
	Type    string          `json:"type"`
	Value   json.RawMessage `json:"value"`
	Default json.RawMessage `json:"default"`
}

// String returns the value of a text or select setting ("" for others).
func (s *Setting) String() string {
	var v string
	if json.Unmarshal(s.Value, &v) != nil {
		return ""
	}
	return v
}

// Get reads one setting, such as ("general", "woocommerce_currency"). The
// key's user needs the manage_woocommerce capability (a shop manager).
func (s *SettingsService) Get(ctx context.Context, group, id string) (*Setting, *Response, error) {
	var out Setting
	resp, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.wcURL("settings/"+group+"/"+id, nil), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// Currency returns the store's currency, the ISO 4217 code of
// WooCommerce > Settings > General > Currency ("EUR").
func (s *SettingsService) Currency(ctx context.Context) (string, error) {
	st, _, err := s.Get(ctx, "general", "woocommerce_currency")
	if err != nil {
		return "", err
	}
	return st.String(), nil
}

// CheckWrite asks the store whether the key may create coupons, without
// creating, changing or deleting anything: it sends an empty coupon batch
// ({}), which WooCommerce answers 200 [] for a read/write key. A read-only
// key gets 401 woocommerce_rest_authentication_error ("does not have write
// permissions"), a key whose user may not edit coupons 401/403
// woocommerce_rest_cannot_batch; AuthHint explains both.
func (s *SettingsService) CheckWrite(ctx context.Context) error {
	var out json.RawMessage
	_, err := s.client.do(ctx, classSafe, http.MethodPost, s.client.wcURL("coupons/batch", nil), struct{}{}, &out)
	return err
}
