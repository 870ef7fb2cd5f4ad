package woo

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// FindCodesOptions narrow FindCodes.
type FindCodesOptions struct {
	// ModifiedAfter, when set, lists only coupons modified strictly after
	// this instant (at the store's one-second resolution, by the store's
	// clock): pass the time a create was sent, minus a margin for clock
	// skew between this machine and the store.
	ModifiedAfter time.Time
	// Statuses is the status filter sent to the store: "any" (the
	// default: every status but trash and auto-draft), one status such as
	// "publish", or a comma-separated list ("publish,draft").
	Statuses string
}

// minSearchPrefix is the shortest common prefix FindCodes sends as search:
// a shorter one narrows nothing and makes WordPress match most coupons.
const minSearchPrefix = 3

// FindCodes lists the coupons whose code is one of codes, compared
// exactly and case-insensitively; the map's key is the lowercased code.
// Every coupon with such a code is returned, several for one code when the
// store has duplicates (WooCommerce has no unique index on codes, and
// GetByCode shows at most one of them). Codes with no coupon are absent.
//
// It uses as few list requests as possible: search is the longest common
// prefix of the codes (cut before the first character other than a letter,
// digit, "-" or "_", and never starting with "-", which WordPress reads as
// "exclude") when it is at least 3 characters long, with modified_after when
// set, status (default any), per_page=100 and orderby=id ascending, paged
// with page= and X-WP-TotalPages. For 100 codes that share a campaign
// prefix and were created in one batch that is one request. Without a
// usable prefix or ModifiedAfter it lists every coupon of the store. It
// stops between pages when ctx ends.
func (s *CouponsService) FindCodes(ctx context.Context, codes []string, opts *FindCodesOptions) (map[string][]Coupon, error) {
	var o FindCodesOptions
	if opts != nil {
		o = *opts
	}
	if o.Statuses == "" {
		o.Statuses = "any"
	}
	want := make(map[string]bool, len(codes))
	keys := make([]string, 0, len(codes))
	for i, code := range codes {
		k := strings.ToLower(strings.TrimSpace(code))
		if k == "" {
			return nil, fmt.Errorf("woo: FindCodes: code %d is empty", i)
		}
		if !want[k] {
			want[k] = true
			keys = append(keys, k)
		}
	}
	found := make(map[string][]Coupon)
	if len(keys) == 0 {
		return found, nil
	}
	lo := CouponListOptions{
		ListOptions:   ListOptions{Page: 1, PerPage: MaxPerPage},
		Search:        searchPrefix(keys),
		ModifiedAfter: o.ModifiedAfter,
		Status:        o.Statuses,
		// By id, oldest first: coupons created while paging land on the
		// last page instead of shifting the others to pages already read.
		OrderBy: "id",
		Order:   "asc",
	}
	seen := make(map[int64]bool)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("woo: FindCodes: stopped before page %d: %w", lo.Page, err)
		}
		list, resp, err := s.List(ctx, &lo)
		if err != nil {
			return nil, fmt.Errorf("woo: FindCodes: page %d: %w", lo.Page, err)
		}
		for _, c := range list {
			k := strings.ToLower(strings.TrimSpace(c.Code))
			if !want[k] || (c.ID != 0 && seen[c.ID]) {
				continue
			}
			seen[c.ID] = true
			found[k] = append(found[k], c)
		}
		switch {
		case len(list) == 0:
			return found, nil
		case resp != nil && resp.TotalPages > 0:
			if lo.Page >= resp.TotalPages {
				return found, nil
			}
		case len(list) < lo.PerPage:
			return found, nil
		}
		lo.Page++
	}
}

// searchPrefix returns the longest common prefix of codes that WordPress's
// search takes as one literal term, or "" when it is shorter than
// minSearchPrefix. WordPress splits search terms at spaces, commas, plus
// signs and quotes, reads a leading "-" as exclusion, and sanitize_text_field
// strips tags and %XX octets; letters, digits, "-" and "_" pass unchanged
// (and LIKE's "_" is escaped by WordPress).
func searchPrefix(codes []string) string {
	p := codes[0]
	for _, c := range codes[1:] {
		n := 0
		for n < len(p) && n < len(c) && p[n] == c[n] {
			n++
		}
		p = p[:n]
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			p = p[:i]
			break
		}
	}
	if len(p) < minSearchPrefix || strings.HasPrefix(p, "-") {
		return ""
	}
	return p
}
