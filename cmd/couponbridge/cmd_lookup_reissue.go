package main

import (
	"fmt"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// writeReplacedRows is lookup's table for a code a reissue replaced: what
// it was, and the code that replaced it.
func writeReplacedRows(row func(k, v string), r campaign.CodeLookup, loc *time.Location) {
	rc, t := r.Replaced, r.Row
	row("campaign", rc.Campaign)
	row("recipient", rc.Email)
	row("state", "replaced by reissue "+trackTime(rc.ReplacedAt, loc))
	row("coupon id", fmt.Sprint(rc.CouponID))
	row("issued", trackTime(rc.IssuedAt, loc))
	row("emailed", trackTime(rc.EmailedAt, loc))
	row("expires", trackTime(rc.ExpiresAt, loc))
	trashed := ""
	if rc.Trashed {
		trashed = ", moved to the trash by reissue"
	}
	row("store when replaced", rc.StoreState+trashed)
	row("replaced by", fmt.Sprintf("%s (%s, coupon %d)", t.Code, t.State, t.CouponID))
}

// lookupReplaced is the JSON of a code a reissue replaced.
type lookupReplaced struct {
	Campaign   string    `json:"campaign"`
	Recipient  string    `json:"recipient"`
	CouponID   int64     `json:"coupon_id"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	EmailedAt  time.Time `json:"emailed_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	StoreState string    `json:"store_state"`
	Trashed    bool      `json:"trashed"`
	ReplacedAt time.Time `json:"replaced_at"`
	NewCode    string    `json:"new_code"`
	NewState   string    `json:"new_state"`
}

func replacedJSON(r campaign.CodeLookup) *lookupReplaced {
	rc := r.Replaced
	return &lookupReplaced{Campaign: rc.Campaign, Recipient: rc.Email, CouponID: rc.CouponID, IssuedAt: rc.IssuedAt.UTC(),
		EmailedAt: rc.EmailedAt.UTC(), ExpiresAt: rc.ExpiresAt.UTC(), StoreState: rc.StoreState, Trashed: rc.Trashed,
		ReplacedAt: rc.ReplacedAt.UTC(), NewCode: r.Row.Code, NewState: string(r.Row.State)}
}
