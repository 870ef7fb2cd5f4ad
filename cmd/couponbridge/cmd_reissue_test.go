package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/mailer"
)

// liveCoupons returns the ids of the store's published coupons restricted
// to email.
func (tc *trackingCLI) liveCoupons(email string) []int64 {
	var ids []int64
	for _, c := range tc.store.Coupons() {
		if c.Status != "trash" && slices.Contains(c.EmailRestrictions, email) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func TestReissueCommandEmailsANewCodeForADeletedCouponAndLookupFindsBoth(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	oldCode, oldID := tc.code("ann@shop.test"), tc.couponID("ann@shop.test")
	if _, err := tc.client.Coupons.Delete(t.Context(), oldID, true); err != nil {
		t.Fatal(err)
	}
	before := outboxFiles(t, tc.outbox)
	code, out, errOut := tc.run("reissue", "--campaign", "welcome", "--email", "Ann@Shop.test")
	if code != exitOK {
		t.Fatalf("reissue exit %d:\n%s\n%s", code, out, errOut)
	}
	newCode, newID := tc.code("ann@shop.test"), tc.couponID("ann@shop.test")
	if newCode == oldCode || !strings.Contains(out, oldCode) || !strings.Contains(out, newCode) || !strings.Contains(out, "emailed") {
		t.Errorf("reissue output does not name %s replaced by %s, emailed:\n%s", oldCode, newCode, out)
	}
	if live := tc.liveCoupons("ann@shop.test"); len(live) != 1 || live[0] != newID {
		t.Errorf("ann's live coupons %v, want only the new one %d", live, newID)
	}
	files := outboxFiles(t, tc.outbox)
	if len(files) != len(before)+1 {
		t.Fatalf("outbox: %d messages after reissue, want %d", len(files), len(before)+1)
	}
	firstID := mailer.MessageID("welcome", "ann@shop.test", "shop.test")
	for _, f := range files {
		if slices.Contains(before, f) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg := string(b)
		if !strings.Contains(msg, newCode) || strings.Contains(msg, "Message-ID: "+firstID) || !strings.Contains(msg, "References: "+firstID) {
			t.Errorf("the new email lacks code %s or a Message-ID of its own referring to %s:\n%s", newCode, firstID, msg)
		}
	}

	code, out, errOut = tc.run("lookup", oldCode)
	if code != exitOK || !strings.Contains(out, "replaced by reissue") || !strings.Contains(out, newCode) || !strings.Contains(out, "ann@shop.test") {
		t.Errorf("lookup of the old code: exit %d\n%s\n%s; want it found, replaced by %s", code, out, errOut, newCode)
	}
	code, out, errOut = tc.run("lookup", newCode, "--format", "json")
	if code != exitOK || !strings.Contains(out, `"recipient": "ann@shop.test"`) || !strings.Contains(out, `"state": "emailed"`) {
		t.Errorf("lookup of the new code: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestReissueCommandRefusesALiveUnusedCouponWithoutForce(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test")
	oldCode, oldID := tc.code("ann@shop.test"), tc.couponID("ann@shop.test")
	files := len(outboxFiles(t, tc.outbox))
	code, _, errOut := tc.run("reissue", "--campaign", "welcome", "--email", "ann@shop.test")
	if code != exitUsage || !strings.Contains(errOut, "live and unused") || !strings.Contains(errOut, "--force") {
		t.Errorf("reissue of a live coupon: exit %d (%s), want %d with the reason and --force", code, errOut, exitUsage)
	}
	if tc.code("ann@shop.test") != oldCode || len(outboxFiles(t, tc.outbox)) != files || len(tc.liveCoupons("ann@shop.test")) != 1 {
		t.Fatal("a refused reissue changed the ledger, the outbox or the store")
	}
	code, out, errOut := tc.run("reissue", "--campaign", "welcome", "--email", "ann@shop.test", "--force")
	if code != exitOK || !strings.Contains(out, "forced") {
		t.Fatalf("forced reissue: exit %d\n%s\n%s", code, out, errOut)
	}
	live := tc.liveCoupons("ann@shop.test")
	if len(live) != 1 || live[0] == oldID || tc.code("ann@shop.test") == oldCode {
		t.Errorf("after a forced reissue ann's live coupons are %v (old %d), want one new", live, oldID)
	}
	if code, _, _ := tc.run("reissue", "--campaign", "welcome", "--email", "nobody@shop.test"); code != exitUsage {
		t.Errorf("reissue for an unknown recipient: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := tc.run("reissue", "--campaign", "welcome"); code != exitUsage {
		t.Errorf("reissue without --email: exit %d, want %d", code, exitUsage)
	}
}
