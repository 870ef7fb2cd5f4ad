package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResendCommandWritesANewMessageBesideTheFirstReferringToIt(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	before := outboxFiles(t, tc.outbox)
	if len(before) != 2 {
		t.Fatalf("outbox after issue has %d messages, want 2", len(before))
	}
	coupons := len(tc.store.Coupons())
	code, out, errOut := tc.run("resend", "--campaign", "welcome", "--email", "Ann@Shop.test")
	if code != exitOK {
		t.Fatalf("resend exit %d: %s %s", code, out, errOut)
	}
	files := outboxFiles(t, tc.outbox)
	if len(files) != 3 {
		t.Fatalf("outbox has %d messages after the resend, want the 2 first ones and the resend", len(files))
	}
	firstID := mailer.MessageID("welcome", "ann@shop.test", "shop.test")
	var resent string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(before, f) {
			resent = string(b)
		} else if strings.Contains(string(b), "ann@shop.test") && !strings.Contains(string(b), "Message-ID: "+firstID) {
			t.Errorf("the first email to ann was changed: %s", b)
		}
	}
	if strings.Contains(resent, "Message-ID: "+firstID) || !strings.Contains(resent, "References: "+firstID) ||
		!strings.Contains(resent, "In-Reply-To: "+firstID) || !strings.Contains(resent, tc.code("ann@shop.test")) {
		t.Errorf("resent message does not have its own Message-ID, refer to %s and carry code %s:\n%s", firstID, tc.code("ann@shop.test"), resent)
	}
	if strings.Contains(out, firstID) {
		t.Errorf("output names the first email's Message-ID, want the resend's: %s", out)
	}
	if len(tc.store.Coupons()) != coupons {
		t.Error("resend created a coupon")
	}
	// Redeemed: refused (exit 2) unless --force.
	if _, err := tc.store.AddOrder(wootest.SeedOrder{Email: "bob@shop.test", Status: "completed", Coupons: []string{tc.code("bob@shop.test")}}); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := tc.run("resend", "--campaign", "welcome", "--email", "bob@shop.test"); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("resend of a redeemed code: exit %d (%s), want %d naming --force", code, errOut, exitUsage)
	}
	if code, out, errOut := tc.run("resend", "--campaign", "welcome", "--email", "bob@shop.test", "--force"); code != exitOK || !strings.Contains(out, "forced") {
		t.Errorf("forced resend: exit %d %s %s", code, out, errOut)
	}
	if code, _, _ := tc.run("resend", "--campaign", "welcome"); code != exitUsage {
		t.Errorf("resend without --email: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := tc.run("resend", "--campaign", "welcome", "--email", "nobody@shop.test"); code != exitUsage {
		t.Errorf("resend to an unknown recipient: exit %d, want %d", code, exitUsage)
	}
}

// The help says a refusal exits with 2, nothing sent: a coupon no longer in
// the store is refused (even with --force), and so exits with 2, not 1.
func TestResendOfADeletedCouponExitsWithTwoAsTheHelpSays(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test")
	id := tc.couponID("ann@shop.test")
	if _, err := tc.client.Coupons.Delete(t.Context(), id, true); err != nil {
		t.Fatal(err)
	}
	files := len(outboxFiles(t, tc.outbox))
	code, _, errOut := tc.run("resend", "--campaign", "welcome", "--email", "ann@shop.test", "--force")
	if code != exitUsage || !strings.Contains(errOut, "no longer in the store") || !strings.Contains(errOut, "reissue") {
		t.Errorf("resend of a deleted coupon: exit %d (%s), want %d naming reissue", code, errOut, exitUsage)
	}
	if n := len(outboxFiles(t, tc.outbox)); n != files {
		t.Errorf("a refused resend wrote %d messages", n-files)
	}
	help := runCLI(t, t.Context(), nil, "help", "resend")
	if !strings.Contains(help.stdout, "2  refused, nothing sent") {
		t.Errorf("help resend does not document exit 2 for a refusal:\n%s", help.stdout)
	}
}

// couponID returns the store id of the coupon the ledger records for email.
func (tc *trackingCLI) couponID(email string) int64 {
	tc.t.Helper()
	l, err := campaign.OpenLedger(context.Background(), tc.ledger, nil)
	if err != nil {
		tc.t.Fatal(err)
	}
	defer l.Close()
	is, ok, err := l.Issue(context.Background(), "welcome", email)
	if err != nil || !ok {
		tc.t.Fatalf("no row for %s: %v", email, err)
	}
	return is.CouponID
}
