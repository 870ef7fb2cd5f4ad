package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
)

// deferringMail refuses every message temporarily.
type deferringMail struct{}

func (deferringMail) Send(_ context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, m := range msgs {
		if m.Prepare != nil {
			if err := m.Prepare(); err != nil {
				report(mailer.Result{Key: m.Key, Status: mailer.TempFailure, Err: err})
				continue
			}
		}
		report(mailer.Result{Key: m.Key, Status: mailer.TempFailure, Reply: "451 4.7.1 greylisted, try again later"})
	}
	return nil
}

func TestStatusShowsLastErrorPerStage(t *testing.T) {
	s := newSandboxSetup(t)
	cfg, err := loadConfig(s.config, loadOptions{getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ledgerPath := s.path("prepared.db")
	ledger, err := campaign.OpenLedger(t.Context(), ledgerPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.Store.newClient(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	camp, err := cfg.campaign("welcome", 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := cfg.issueOptions(nil)
	opts.MailPasses, opts.RetryWait = 1, 1
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, deferringMail{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := campaign.NewRecipientReader(strings.NewReader(testList), "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := issuer.Run(t.Context(), camp, rr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked == nil {
		t.Fatalf("run with every message refused: not blocked; summary %+v", res.Summary)
	}
	ledger.Close()

	r := runCLI(t, t.Context(), nil, "status", "welcome", "--ledger", ledgerPath)
	for _, w := range []string{"welcome: last error of each stage", "email", "mail server refused: 451 4.7.1 greylisted"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("want %q in the status, got:\n%v", w, r)
		}
	}
	r = runCLI(t, t.Context(), nil, "status", "welcome", "--ledger", ledgerPath, "--format", "json")
	var st []statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%v\n%v", err, r)
	}
	if len(st) != 1 || len(st[0].StageErrors) != 1 || st[0].StageErrors[0].Stage != "email" ||
		!strings.Contains(st[0].StageErrors[0].Error, "451 4.7.1") || st[0].StageErrors[0].At.IsZero() {
		t.Errorf("status json last_errors: got %+v", st)
	}
}
