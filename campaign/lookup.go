package campaign

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// CodeLookup is what couponbridge knows of one code: the ledger row that
// issued it, if any, and the coupon's live state in the store.
type CodeLookup struct {
	Code string
	// InLedger is false when no campaign of this ledger issued the code.
	InLedger bool
	Row      TrackedIssue
	Resends  []Resend
	// Replaced is set when the code is one a reissue took from Row: Row is
	// the recipient's row as it is now, with its new code.
	Replaced *ReplacedCode
	// InStore is false when the store has no published coupon with the code.
	InStore bool
	Store   *woo.Coupon
	// Ours is true when the store's coupon carries the meta tags of the
	// ledger row (campaign and recipient) and is the coupon id issued.
	Ours bool
	// StoreCampaign and StoreRecipient are the coupon's couponbridge meta
	// tags, whatever the ledger says.
	StoreCampaign, StoreRecipient string
}

// StoreState summarizes the live coupon: "missing", "redeemed", "expired"
// or "active".
func (c CodeLookup) StoreState(now time.Time) string {
	switch {
	case !c.InStore:
		return "missing"
	case c.Store.UsageCount > 0:
		return "redeemed"
	case c.Store.DateExpiresGMT != nil && !c.Store.DateExpiresGMT.IsZero() && !c.Store.DateExpiresGMT.After(now):
		return "expired"
	}
	return "active"
}

// LookupCode finds which campaign and recipient code belongs to (by its
// key, as WooCommerce compares codes) and reads the coupon from the store.
// A code unknown to both is not an error: the result says so.
func LookupCode(ctx context.Context, l *Ledger, store CouponFinder, code string) (CodeLookup, error) {
	res := CodeLookup{Code: strings.TrimSpace(code)}
	if res.Code == "" {
		return res, errors.New("lookup: empty code")
	}
	ti, ok, err := l.TrackedByCode(ctx, res.Code)
	if err != nil {
		return res, err
	}
	if ok {
		res.InLedger, res.Row = true, ti
		if res.Resends, err = l.Resends(ctx, ti.ID); err != nil {
			return res, err
		}
	} else if res.Replaced, res.Row, err = lookupReplaced(ctx, l, res.Code); err != nil {
		return res, err
	} else if res.Replaced != nil {
		res.InLedger, ti = true, res.Row
		ti.Code, ti.CouponID = res.Replaced.Code, res.Replaced.CouponID
	}
	c, err := store.GetByCode(ctx, res.Code)
	switch {
	case woo.IsNotFound(err):
		return res, nil
	case err != nil:
		return res, err
	}
	res.InStore, res.Store = true, c
	res.StoreCampaign, _ = c.MetaValue(MetaCampaign)
	res.StoreRecipient, _ = c.MetaValue(MetaRecipient)
	if res.InLedger {
		exportOnly, err := l.campaignExportOnly(ctx, ti.Campaign)
		if err != nil {
			return res, err
		}
		email := ti.Email
		if exportOnly {
			email = ""
		}
		res.Ours = c.ID == ti.CouponID && strings.EqualFold(res.StoreCampaign, ti.Campaign) &&
			strings.EqualFold(res.StoreRecipient, RecipientKey(email, ti.Code))
	}
	return res, nil
}
