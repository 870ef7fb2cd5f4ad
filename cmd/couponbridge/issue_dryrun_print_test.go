package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// goldenPlan is a dry run of 3,000 recipients from a German list, as in
// issue 11: the store part, 3,000 emails at 5/s and an hourly cap.
func goldenPlan(pace campaign.MailPace) *campaign.Plan {
	p := &campaign.Plan{
		Campaign: "welcome", Read: 3002, Recipients: 3000, Rejected: 2, New: 3000,
		Rejects: []campaign.Reject{{Line: 7, Reason: `email "bob@": missing domain`}, {Line: 9, Reason: `email "a@example.com": duplicate of line 2`}},
		Columns: []campaign.ColumnUse{
			{Header: "E-Mail", Role: campaign.ColumnEmail},
			{Header: "Vorname", Role: campaign.ColumnFirstName},
			{Header: "Name", Role: campaign.ColumnFullName, Derives: "last name"},
			{Header: "Stadt", Role: campaign.ColumnField, Field: "stadt"},
			{Header: "", Role: campaign.ColumnIgnored},
		},
		CodeBits: 51.7, GuessProbability: 1e-12, SampleCodes: []string{"WELCOME-AAAA-BBBB"},
		CreateRequests: 30, VerifyRequests: 30, Emails: 3000, Rate: 5, StoreDuration: 30 * time.Second, EstimatedDuration: 30 * time.Second,
	}
	p.EstimateMail(pace)
	return p
}

func TestDryRunPrintsColumnsAndEstimatesTheWholeRun(t *testing.T) {
	camp := campaign.Campaign{Codes: campaign.CodeSpec{Prefix: "WELCOME-"}}
	tests := []struct {
		file string
		plan *campaign.Plan
	}{
		{"dryrun-smtp.golden", goldenPlan(campaign.MailPace{Rate: 5, Connections: 2})},
		{"dryrun-capped.golden", goldenPlan(campaign.MailPace{Rate: 5, Connections: 2, PerHour: 500, PerDay: 2000, SentLastHour: 120, SentLastDay: 900, SentKnown: true})},
		{"dryrun-capped-unknown.golden", goldenPlan(campaign.MailPace{Rate: 5, Connections: 2, PerDay: 2000})},
		{"dryrun-outbox.golden", goldenPlan(campaign.MailPace{Outbox: true})},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := printPlan(&buf, tt.plan, camp); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("plan differs from %s (run with -update if intended):\n--- got:\n%s\n--- want:\n%s", path, buf.String(), want)
			}
		})
	}
}

func TestIssueDryRunSaysWhichColumnBecameWhat(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "liste.csv", "E-Mail;Vorname;Name;City\nanna@example.com;Anna;Müller;Köln\nbernd@example.com;;Bernd Braun;Bonn\n")
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list, "--dry-run")
	wantCode(t, r, exitOK)
	for _, w := range []string{
		`Columns:         "E-Mail" → email, "Vorname" → first name, "Name" → last name (split)`,
		`Other columns:   "City" → field city`,
		"Emails:          2, written to the outbox folder (nothing sent)",
		"for the store, under a second for the emails",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("want %q in the plan, got:\n%s", w, r.stdout)
		}
	}
}

func TestDryRunMailCapsCountWhatTheLedgerSentRecently(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	wantCode(t, s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list), exitOK)
	ledger, err := campaign.OpenLedgerReadOnly(t.Context(), s.path("ledger.db"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	m := &MailConfig{Transport: "smtp", SMTP: SMTPConfig{Rate: 5, Connections: 2, PerHour: 2, PerDay: 10}}
	now := time.Now()
	got := m.pace(t.Context(), ledger, now)
	want := campaign.MailPace{Rate: 5, Connections: 2, PerHour: 2, PerDay: 10, SentLastHour: 3, SentLastDay: 3, SentKnown: true}
	if got != want {
		t.Errorf("pace = %+v, want %+v (the 3 emails of the run)", got, want)
	}
	later := m.pace(t.Context(), ledger, now.Add(2*time.Hour))
	if later.SentLastHour != 0 || later.SentLastDay != 3 {
		t.Errorf("two hours later: %d in the last hour, %d in the day; want 0 and 3", later.SentLastHour, later.SentLastDay)
	}
	p := &campaign.Plan{Emails: 5}
	p.EstimateMail(later)
	if p.MailThisRun != 2 || p.MailHeld != 3 {
		t.Errorf("two hours later, 5 emails under caps of 2 an hour and 10 a day with 3 sent: %d this run, %d held; want 2 and 3", p.MailThisRun, p.MailHeld)
	}
}
