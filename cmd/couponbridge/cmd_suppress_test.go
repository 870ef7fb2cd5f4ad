package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestSuppressCommandRoundTripAndIssueHonoursTheList(t *testing.T) {
	s := newSandboxSetup(t)
	r := s.run(t, t.Context(), "suppress", "add", "Bob@Example.com", "cid@example.com", "--reason", "asked by phone")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Added 2 of 2 addresses") {
		t.Errorf("add output:\n%v", r)
	}
	r = s.run(t, t.Context(), "suppress", "add", "bob@example.com")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "bob@example.com was already on the suppression list") {
		t.Errorf("second add output:\n%v", r)
	}

	list := s.writeList(t, "list.csv", "email,first_name,city\nann@example.com,Ann,Berlin\nbob@example.com,Bob,Paris\n")
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list, "--dry-run")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "1 recipients on the suppression list") {
		t.Errorf("dry run does not show the suppressed recipient:\n%v", r)
	}
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Suppressed: 1 recipients") {
		t.Errorf("issue summary does not count the suppressed recipient:\n%v", r)
	}
	coupons := s.store.Coupons()
	if len(coupons) != 1 || coupons[0].EmailRestrictions[0] != "ann@example.com" {
		t.Errorf("store coupons = %+v, want ann's alone", coupons)
	}

	r = s.run(t, t.Context(), "suppress", "list", "--format", "json")
	wantCode(t, r, exitOK)
	var got []suppressionJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("list json: %v\n%v", err, r)
	}
	if len(got) != 2 || got[0].Email != "bob@example.com" || got[0].Reason != "asked by phone" || got[0].Source != "manual" {
		t.Errorf("list = %+v, want bob and cid, by hand, asked by phone", got)
	}

	r = s.run(t, t.Context(), "suppress", "remove", "BOB@example.com", "nobody@example.com")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Removed 1 of 2") || !strings.Contains(r.stdout, "nobody@example.com was not on the suppression list") {
		t.Errorf("remove output:\n%v", r)
	}
	r = s.run(t, t.Context(), "suppress", "list")
	wantCode(t, r, exitOK)
	if strings.Contains(r.stdout, "bob@example.com") || !strings.Contains(r.stdout, "cid@example.com") {
		t.Errorf("table after remove:\n%v", r)
	}
}

func TestSuppressCommandNamesEveryBadAddressAndChangesNothing(t *testing.T) {
	s := newSandboxSetup(t)
	r := s.run(t, t.Context(), "suppress", "add", "ok@example.com", "bob@", "Bob <b@x.com>")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `address 2 "bob@"`) || !strings.Contains(r.stderr, `address 3 "Bob <b@x.com>"`) {
		t.Errorf("want both bad addresses named:\n%v", r)
	}
	if _, err := os.Stat(s.path("ledger.db")); err == nil {
		r = s.run(t, t.Context(), "suppress", "list")
		if strings.Contains(r.stdout, "ok@example.com") {
			t.Errorf("a refused add changed the list:\n%v", r)
		}
	}
	wantCode(t, s.run(t, t.Context(), "suppress", "frobnicate"), exitUsage)
}

func TestEmailsCarryTheOneClickLinkOfDaemonPublicURL(t *testing.T) {
	s := newSandboxSetup(t)
	text, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(text) + "daemon:\n  public_url: https://shop.example.com/couponbridge\n  unsubscribe_secret: ${UNSUB_SECRET}\n"
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	list := s.writeList(t, "list.csv", "email,first_name,city\nann@example.com,Ann,Berlin\n")
	r := runCLI(t, t.Context(), map[string]string{"UNSUB_SECRET": "a-secret-of-more-than-16-bytes"},
		"--config", s.config, "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	msgs := outboxMessages(t, s.path("outbox"))
	if len(msgs) != 1 {
		t.Fatalf("want 1 email, got %d", len(msgs))
	}
	// Unfold the header lines.
	m := strings.ReplaceAll(strings.ReplaceAll(msgs[0], "\r\n", "\n"), "\n ", " ")
	if !strings.Contains(m, "List-Unsubscribe: <https://shop.example.com/couponbridge/unsubscribe?c=welcome&e=ann%40example.com&t=") ||
		!strings.Contains(m, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") {
		t.Errorf("the email lacks the one-click link:\n%s", msgs[0])
	}

	r = runCLI(t, t.Context(), nil, "--config", s.config, "check-config")
	if r.code == exitOK {
		t.Errorf("check-config accepted public_url without the secret:\n%v", r)
	}
}
