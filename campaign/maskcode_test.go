package campaign

import (
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

func TestMaskCodeShowsFourAndTwoCharacters(t *testing.T) {
	for code, want := range map[string]string{
		"WELCOME-K7QX-9MPA": "WELC***********PA",
		"ABCDEFG":           "ABCD*FG",
		"ABCDEF":            "******",
		"":                  "",
		"ÄÖÜßÄÖÜß":          "ÄÖÜß**Üß",
	} {
		if got := MaskCode(code); got != want {
			t.Errorf("MaskCode(%q) = %q, want %q", code, got, want)
		}
	}
}

// TestSyncErrorAboutAnOrderNamesNoLiveCode: an order sync cannot read
// names the order and a masked code; the live code never reaches the
// tracking pass's error log line.
func TestSyncErrorAboutAnOrderNamesNoLiveCode(t *testing.T) {
	e := newTrackingEnv(t)
	rows := e.issue("spring", false, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "a@shop.test")
	o := woo.Order{ID: 77, Total: "10.00", CouponLines: []woo.CouponLine{{Code: rows[0].Code, Discount: "ten"}}}
	_, err := e.syncer().orderLines(e.ctx, o, map[string]codeOwner{})
	if err == nil {
		t.Fatal("an unreadable discount was accepted")
	}
	if strings.Contains(err.Error(), rows[0].Code) || !strings.Contains(err.Error(), MaskCode(rows[0].Code)) {
		t.Errorf("error %q: want the masked code %s, not the code", err, MaskCode(rows[0].Code))
	}
}
