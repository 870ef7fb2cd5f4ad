package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// bigListWithBrokenQuote is a list of n good rows, then a line that opens
// a quote it never closes, which swallows the rows after it.
func bigListWithBrokenQuote(n int) string {
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range n {
		fmt.Fprintf(&b, "p%04d@example.com,P%d,Berlin\n", i, i)
	}
	b.WriteString("late@example.com,\"Late,Berlin\n")
	for i := range 3 {
		fmt.Fprintf(&b, "q%d@example.com,Q%d,Paris\n", i, i)
	}
	return b.String()
}

func TestRefusedListPlansNothing(t *testing.T) {
	s := newSandboxSetup(t)
	// 1,500 good rows (more than one planning chunk), then an unterminated
	// quote on line 1,502.
	broken := s.writeList(t, "broken.csv", bigListWithBrokenQuote(1500))
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", broken)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, broken+" line 1502") || !strings.Contains(r.stderr, "nothing was done") {
		t.Errorf("want the file and line of the broken quote, and that nothing was done; got:\n%v", r)
	}
	if st := s.store.Stats(); st.Requests != 0 {
		t.Errorf("a refused list sent %d requests to the store", st.Requests)
	}

	// A later run with another list issues that list, and only that list.
	small := s.writeList(t, "small.csv", "email,first_name,city\nann@example.com,Ann,Berlin\nbob@example.com,Bob,Paris\n")
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", small)
	wantCode(t, r, exitOK)
	if n := len(s.store.Coupons()); n != 2 {
		t.Errorf("after the refused list and a 2-row list the store has %d coupons; want 2", n)
	}
	if n := len(outboxMessages(t, s.path("outbox"))); n != 2 {
		t.Errorf("%d emails sent; want 2", n)
	}
	if !strings.Contains(r.stdout, "2 recipients in all") {
		t.Errorf("summary:\n%v", r)
	}
}

func TestCampaignSettingsChangedNamesTheFieldAndExitsTwo(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)

	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(cfg), "amount: 10\n      expiry: {days: 30}", "amount: 15\n      expiry: {days: 14}", 1)
	if changed == string(cfg) {
		t.Fatal("test config: the welcome coupon settings were not found")
	}
	if err := os.WriteFile(s.config, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := s.store.CouponCreateCalls()
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitUsage)
	for _, want := range []string{"coupon.amount: 10 → 15", "coupon.expiry.days: 30 → 14"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not name the change %q:\n%v", want, r)
		}
	}
	if s.store.CouponCreateCalls() != calls {
		t.Errorf("a refused rerun created coupons")
	}
	// The dry run says the same.
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list, "--dry-run")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "coupon.amount: 10 → 15") {
		t.Errorf("dry run does not name the change:\n%v", r)
	}
}
