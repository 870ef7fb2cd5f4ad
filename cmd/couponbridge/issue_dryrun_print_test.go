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
		{"dryrun-capped.golden", goldenPlan(campaign.MailPace{Rate: 5, Connections: 2, PerHour: 500, PerDay: 2000})},
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
