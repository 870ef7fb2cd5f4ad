package wootest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body (WordPress hosts commonly cap POST bodies).
const maxBody = 32 << 20

// request is one REST request as WordPress's REST server sees it.
type request struct {
	ctx       context.Context
	method    string // after X-HTTP-Method-Override / _method
	route     string // e.g. "/wc/v3/coupons/12", without /wp-json
	query     url.Values
	body      map[string]json.RawMessage // JSON object body, nil when none
	form      url.Values                 // form-encoded body
	key       *apiKey                    // authenticated key, nil when anonymous
	baseURL   string                     // scheme://host[/subfolder] for links
	itemDelay time.Duration
	// partialAt is the create item at which a PartialSave fault kills the
	// request, -1 for none.
	partialAt  int
	restRouted bool // reached through ?rest_route=: no authentication runs
}

// param returns a parameter from the JSON body, then the form body, then
// the query string, as a raw JSON value (strings from the query are quoted).
func (q *request) param(name string) (json.RawMessage, bool) {
	if v, ok := q.body[name]; ok {
		return v, true
	}
	if vs, ok := q.form[name]; ok && len(vs) > 0 {
		b, _ := json.Marshal(vs[len(vs)-1])
		return b, true
	}
	if vs, ok := q.query[name]; ok && len(vs) > 0 {
		b, _ := json.Marshal(vs[len(vs)-1])
		return b, true
	}
	return nil, false
}

// str returns a string parameter from the query (or body), "" when absent.
func (q *request) str(name string) string {
	raw, ok := q.param(name)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.Trim(string(raw), `"`)
}

func (s *Store) newRequest(r *http.Request) (*request, *wpError) {
	q := &request{ctx: r.Context(), method: r.Method, query: r.URL.Query()}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q.baseURL = scheme + "://" + r.Host
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/wp-json/"):
		q.route = strings.TrimPrefix(path, "/wp-json")
	case (path == "/" || path == "/index.php") && q.query.Get("rest_route") != "":
		q.route = q.query.Get("rest_route")
		q.restRouted = true
	default:
		return nil, errNoRoute()
	}
	q.route = "/" + strings.Trim(q.route, "/")
	if m := q.query.Get("_method"); m != "" {
		q.method = strings.ToUpper(m)
	} else if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
		q.method = strings.ToUpper(m)
	}
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return nil, newErr(http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		}
		b = bytes.TrimSpace(b)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case len(b) == 0:
		case ct == "application/x-www-form-urlencoded":
			q.form, _ = url.ParseQuery(string(b))
		default:
			if b[0] == '{' {
				if err := json.Unmarshal(b, &q.body); err != nil {
					return nil, invalidJSON(err)
				}
			} else if ct == "application/json" {
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					return nil, invalidJSON(err)
				}
			}
		}
	}
	if !q.restRouted {
		secure := r.TLS != nil || s.trustedProxy
		key, err := s.authenticate(r, q, secure)
		if err != nil {
			return nil, err
		}
		q.key = key
		if key != nil {
			if err := checkPermission(key, q.method); err != nil {
				return nil, err
			}
		}
	}
	return q, nil
}

func invalidJSON(err error) *wpError {
	e := newErr(http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
	e.Extra = map[string]any{"json_error_code": 4, "json_error_message": err.Error()}
	return e
}

// checkPermission is WooCommerce's check of the key's read/write permission
// against the (overridden) request method.
func checkPermission(k *apiKey, method string) *wpError {
	switch method {
	case http.MethodGet, http.MethodHead:
		if k.perm == Write {
			return newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "The API key provided does not have read permissions.")
		}
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if k.perm == Read {
			return newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions.")
		}
	case http.MethodOptions:
	default:
		return newErr(http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Unknown request method.")
	}
	return nil
}

// Permission errors of WooCommerce's controllers for an anonymous request.
func errCannot(action string) *wpError {
	switch action {
	case "list":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	case "view":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
	case "create":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
	case "edit":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
	case "delete":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
	case "batch":
		return newErr(http.StatusUnauthorized, "woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource.")
	}
	return newErr(http.StatusUnauthorized, "rest_forbidden", "Sorry, you are not allowed to do that.")
}

// dispatch routes a request like WP_REST_Server: an unknown route or a
// method the route does not register answers 404 rest_no_route; a known
// route checks permissions before running.
func (s *Store) dispatch(q *request) response {
	parts := strings.Split(strings.TrimPrefix(q.route, "/"), "/")
	id := int64(-1)
	if n := len(parts); n > 0 {
		if v, err := strconv.ParseInt(parts[n-1], 10, 64); err == nil && v >= 0 {
			id = v
		}
	}
	m := q.method
	write := m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
	need := func(action string) *wpError {
		if q.key == nil {
			return errCannot(action)
		}
		return nil
	}
	guard := func(action string, h func() response) response {
		if e := need(action); e != nil {
			return fail(e)
		}
		return h()
	}
	switch {
	case len(parts) == 3 && parts[0] == "wc" && parts[1] == "v3":
		switch parts[2] {
		case "coupons":
			switch {
			case m == http.MethodGet:
				return guard("list", func() response { return s.listCoupons(q) })
			case m == http.MethodPost:
				r := guard("create", func() response { return s.createCouponRoute(q) })
				r.commitFail = q.key != nil
				return r
			}
		case "customers":
			switch {
			case m == http.MethodGet:
				return guard("list", func() response { return s.listCustomers(q) })
			case m == http.MethodPost:
				return guard("create", func() response { return s.createCustomerRoute(q) })
			}
		case "orders":
			switch {
			case m == http.MethodGet:
				return guard("list", func() response { return s.listOrders(q) })
			case m == http.MethodPost:
				return guard("create", func() response { return s.createOrderRoute(q) })
			}
		}
	case len(parts) == 4 && parts[0] == "wc" && parts[1] == "v3" && parts[2] == "coupons" && parts[3] == "batch":
		if write {
			r := guard("batch", func() response { return s.batchCoupons(q) })
			r.commitFail = q.key != nil
			return r
		}
	case len(parts) == 4 && parts[0] == "wc" && parts[1] == "v3" && id >= 0:
		switch parts[2] {
		case "coupons":
			switch {
			case m == http.MethodGet:
				return guard("view", func() response { return s.getCoupon(q, id) })
			case write:
				return guard("edit", func() response { return s.updateCouponRoute(q, id) })
			case m == http.MethodDelete:
				return guard("delete", func() response { return s.deleteCouponRoute(q, id) })
			}
		case "customers":
			if m == http.MethodGet {
				return guard("view", func() response { return s.getCustomer(q, id) })
			}
		case "orders":
			switch {
			case m == http.MethodGet:
				return guard("view", func() response { return s.getOrder(q, id) })
			case write:
				return guard("edit", func() response { return s.updateOrderRoute(q, id) })
			}
		}
	case len(parts) == 3 && parts[0] == "wc-analytics" && parts[1] == "reports" && parts[2] == "customers":
		if s.analytics && m == http.MethodGet {
			return guard("list", func() response { return s.analyticsCustomers(q) })
		}
	}
	if r, ok := s.dispatchSite(q, parts, guard); ok {
		return r
	}
	return fail(errNoRoute())
}

// pageParams reads and validates page and per_page like WordPress's
// collection params.
func pageParams(q *request) (page, perPage int, err *wpError) {
	page, perPage = 1, 10
	if v := q.str("per_page"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 || n > 100 {
			return 0, 0, errInvalidParam("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
		}
		perPage = n
	}
	if v := q.str("page"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 {
			return 0, 0, errInvalidParam("page", "page must be greater than or equal to 1")
		}
		page = n
	}
	return page, perPage, nil
}

// paginate cuts one page out of n items and sets the headers WordPress
// sends: X-WP-Total, X-WP-TotalPages and a Link with prev/next.
func paginate(q *request, n, page, perPage int, h http.Header) (lo, hi int) {
	pages := (n + perPage - 1) / perPage
	h.Set("X-WP-Total", strconv.Itoa(n))
	h.Set("X-WP-TotalPages", strconv.Itoa(pages))
	base := q.baseURL + "/wp-json" + q.route
	vals := url.Values{}
	for k, v := range q.query {
		if k != "consumer_key" && k != "consumer_secret" && !strings.HasPrefix(k, "oauth_") {
			vals[k] = v
		}
	}
	var links []string
	link := func(p int, rel string) {
		vals.Set("page", strconv.Itoa(p))
		links = append(links, "<"+base+"?"+vals.Encode()+">; rel=\""+rel+"\"")
	}
	if page > 1 {
		link(min(page-1, max(pages, 1)), "prev")
	}
	if pages > page {
		link(page+1, "next")
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*perPage, n)
	hi = min(lo+perPage, n)
	return lo, hi
}

// dateWindow is the after, before, modified_after and modified_before
// parameters of a list request; each bound is exclusive, as in WordPress's
// date_query, and an absent one does not filter.
type dateWindow struct {
	after, before, modifiedAfter, modifiedBefore   time.Time
	hasAfter, hasBefore, hasModAfter, hasModBefore bool
}

// dateWindowParams parses the four date parameters of a list request.
func (s *Store) dateWindowParams(q *request) (dateWindow, *wpError) {
	var w dateWindow
	for _, p := range []struct {
		name string
		t    *time.Time
		ok   *bool
	}{{"after", &w.after, &w.hasAfter}, {"before", &w.before, &w.hasBefore},
		{"modified_after", &w.modifiedAfter, &w.hasModAfter}, {"modified_before", &w.modifiedBefore, &w.hasModBefore}} {
		t, ok, err := s.dateParam(q, p.name)
		if err != nil {
			return w, err
		}
		*p.t, *p.ok = t, ok
	}
	return w, nil
}

// contains reports whether an item created and last modified at these
// times falls inside the window.
func (w dateWindow) contains(created, modified time.Time) bool {
	return (!w.hasAfter || created.After(w.after)) && (!w.hasBefore || created.Before(w.before)) &&
		(!w.hasModAfter || modified.After(w.modifiedAfter)) && (!w.hasModBefore || modified.Before(w.modifiedBefore))
}

// pageResponse is the answer to a list request: the page of list (already
// filtered and sorted) that the request asks for, rendered item by item,
// with WordPress's pagination headers.
func pageResponse[T any](q *request, list []T, page, perPage int, render func(T) json.RawMessage) response {
	h := http.Header{}
	lo, hi := paginate(q, len(list), page, perPage, h)
	out := make([]json.RawMessage, 0, hi-lo)
	for _, item := range list[lo:hi] {
		out = append(out, render(item))
	}
	r := ok(http.StatusOK, out)
	r.header = h
	return r
}

// byID breaks a sort tie by id and applies the direction, as WordPress's
// queries do.
func byID(r int, a, b int64, desc bool) int {
	if r == 0 {
		r = cmp.Compare(a, b)
	}
	if desc {
		r = -r
	}
	return r
}

// order parses the "order" parameter (asc|desc) with a default.
func orderParam(q *request, def string) (desc bool, err *wpError) {
	v := q.str("order")
	if v == "" {
		v = def
	}
	switch v {
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, errInvalidParam("order", "order is not one of asc and desc.")
}

// enumParam validates a string parameter against allowed values.
func enumParam(q *request, name, def string, allowed ...string) (string, *wpError) {
	v := q.str(name)
	if v == "" {
		return def, nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", errInvalidParam(name, name+" is not one of "+strings.Join(allowed, ", ")+".")
}

// idListParam parses include=1,2,3 (or include[]=1&include[]=2).
func idListParam(q *request, name string) ([]int64, *wpError) {
	var raw []string
	if vs, ok := q.query[name]; ok {
		raw = append(raw, vs...)
	}
	if vs, ok := q.query[name+"[]"]; ok {
		raw = append(raw, vs...)
	}
	if v, ok := q.body[name]; ok {
		var ids []int64
		if json.Unmarshal(v, &ids) == nil {
			return ids, nil
		}
	}
	var ids []int64
	for _, r := range raw {
		for _, f := range strings.FieldsFunc(r, func(c rune) bool { return c == ',' || c == ' ' }) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, errInvalidParam(name, name+"[0] is not of type integer.")
			}
			ids = append(ids, n)
		}
	}
	return ids, nil
}

// dateParam parses an ISO 8601 query date; without an offset it is site
// local time, or UTC when dates_are_gmt=true.
func (s *Store) dateParam(q *request, name string) (time.Time, bool, *wpError) {
	v := q.str(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	loc := s.loc
	if boolParam(q, "dates_are_gmt") {
		loc = time.UTC
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		var t time.Time
		var err error
		if layout == time.RFC3339 {
			t, err = time.Parse(layout, v)
		} else {
			t, err = time.ParseInLocation(layout, v, loc)
		}
		if err == nil {
			return t, true, nil
		}
	}
	return time.Time{}, false, errInvalidParam(name, "Invalid date.")
}

// createsCoupons reports whether q is a coupon create: POST /coupons, or a
// batch with create items.
func (q *request) createsCoupons() bool {
	if q.method != http.MethodPost {
		return false
	}
	switch strings.TrimSuffix(q.route, "/") {
	case "/wc/v3/coupons":
		return true
	case "/wc/v3/coupons/batch":
		raw, ok := q.body["create"]
		return ok && !isNull(raw) && string(raw) != "[]"
	}
	return false
}
