package campaign

import (
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

func TestLookupFindsCampaignRecipientAndLiveState(t *testing.T) {
	e := newTrackingEnv(t)
	cs := e.issue("spring", false, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "a@shop.test", "b@shop.test")
	ex := e.issue("handouts", true, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "export-0000001")
	got, err := LookupCode(e.ctx, e.ledger, e.client.Coupons, "  "+strings.ToLower(cs[1].Code)+" ")
	if err != nil {
		t.Fatal(err)
	}
	if !got.InLedger || got.Row.Campaign != "spring" || got.Row.Email != "b@shop.test" || !got.InStore || !got.Ours ||
		got.StoreState(e.clock.Now()) != "active" {
		t.Errorf("lookup b: in ledger %v campaign %q email %q in store %v ours %v state %s; want spring, b, active, ours",
			got.InLedger, got.Row.Campaign, got.Row.Email, got.InStore, got.Ours, got.StoreState(e.clock.Now()))
	}
	e.order("b@shop.test", "30.00", "completed", cs[1].Code)
	if got, _ = LookupCode(e.ctx, e.ledger, e.client.Coupons, cs[1].Code); got.StoreState(e.clock.Now()) != "redeemed" {
		t.Errorf("after an order: state %s, want redeemed", got.StoreState(e.clock.Now()))
	}
	if got, _ = LookupCode(e.ctx, e.ledger, e.client.Coupons, ex[0].Code); !got.Ours || got.Row.Campaign != "handouts" {
		t.Errorf("export-only code: ours %v campaign %q; want ours, handouts", got.Ours, got.Row.Campaign)
	}
	e.clock.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	if got, _ = LookupCode(e.ctx, e.ledger, e.client.Coupons, cs[0].Code); got.StoreState(e.clock.Now()) != "expired" {
		t.Errorf("after expiry: state %s, want expired", got.StoreState(e.clock.Now()))
	}
}

func TestLookupOfCodesNotIssuedHere(t *testing.T) {
	e := newTrackingEnv(t)
	if _, err := e.client.Coupons.Create(e.ctx, &woo.Coupon{Code: "SUMMER-SALE", Amount: "10"}); err != nil {
		t.Fatal(err)
	}
	got, err := LookupCode(e.ctx, e.ledger, e.client.Coupons, "summer-sale")
	if err != nil {
		t.Fatal(err)
	}
	if got.InLedger || !got.InStore || got.Ours {
		t.Errorf("store-only code: in ledger %v in store %v ours %v; want only in store", got.InLedger, got.InStore, got.Ours)
	}
	got, err = LookupCode(e.ctx, e.ledger, e.client.Coupons, "NOPE-0000")
	if err != nil || got.InLedger || got.InStore || got.StoreState(e.clock.Now()) != "missing" {
		t.Errorf("unknown code: %+v, %v; want found nowhere", got, err)
	}
	if _, err := LookupCode(e.ctx, e.ledger, e.client.Coupons, "  "); err == nil {
		t.Error("empty code accepted")
	}
}
