package campaign

import (
	"errors"
	"strings"
	"testing"
)

func TestCampaignSettingsChangedNamesEachFieldWithOldAndNewValue(t *testing.T) {
	h := newIssHarness(t, nil)
	c := issCampaign("changed-fields")
	c.Coupon.Expiry = ExpirySpec{Days: 30}
	if _, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(2))); err != nil {
		t.Fatal(err)
	}
	c.Coupon.Amount = "15"
	c.Coupon.Expiry = ExpirySpec{Days: 14}
	c.Coupon.ProductIDs = []int64{7}
	_, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(2)))
	var sc *SettingsChangedError
	if !errors.Is(err, ErrCampaignChanged) || !errors.As(err, &sc) {
		t.Fatalf("rerun with other settings: err = %v; want a *SettingsChangedError matching ErrCampaignChanged", err)
	}
	for _, want := range []string{"coupon.amount: 10 → 15", "coupon.expiry.days: 30 → 14", "coupon.product_ids: (not set) → [7]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the change %q", err, want)
		}
	}
	if len(sc.Changes) != 3 || sc.Unrecorded {
		t.Errorf("changes = %v (unrecorded %v); want exactly the 3 changed fields", sc.Changes, sc.Unrecorded)
	}
}

func TestLedgerWithOnlyAFingerprintStillAcceptsUnchangedSettings(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("old-ledger")
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(2))); err != nil {
		t.Fatal(err)
	}
	// A ledger written before the settings were kept has only the fingerprint.
	if _, err := h.ledger.db.ExecContext(ctx, `UPDATE campaigns SET settings = '' WHERE name = ?`, c.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(3))); err != nil {
		t.Fatalf("rerun with unchanged settings on an old ledger: %v; want accepted", err)
	}
	var settings string
	if err := h.ledger.db.QueryRowContext(ctx, `SELECT settings FROM campaigns WHERE name = ?`, c.Name).Scan(&settings); err != nil || settings == "" {
		t.Errorf("settings after an accepted rerun = %q, %v; want them recorded", settings, err)
	}
	if _, err := h.ledger.db.ExecContext(ctx, `UPDATE campaigns SET settings = '' WHERE name = ?`, c.Name); err != nil {
		t.Fatal(err)
	}
	c.Coupon.Amount = "20"
	_, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(3)))
	var sc *SettingsChangedError
	if !errors.As(err, &sc) || !sc.Unrecorded || !strings.Contains(err.Error(), "not recorded") {
		t.Errorf("changed settings on an old ledger: err = %v; want a SettingsChangedError saying the old values were not recorded", err)
	}
}
