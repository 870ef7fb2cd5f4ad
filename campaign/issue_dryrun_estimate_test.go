package campaign

import (
	"testing"
	"time"
)

// TestDryRunStoreEstimateFollowsARealStoresPace: 3,000 coupons in batches
// of 100 over 2 connections took 21 to 44 s on a real 2-core store; the
// estimate said 8 to 18 s.
func TestDryRunStoreEstimateFollowsARealStoresPace(t *testing.T) {
	opts := issOptions()
	opts.BatchSize, opts.Concurrency, opts.Rate = 100, 2, 5
	for _, conc := range []int{2, 4} {
		opts.Concurrency = conc
		p, err := DryRun(t.Context(), nil, issCampaign("big"), issSource(t, issCSV(3000)), opts)
		if err != nil {
			t.Fatal(err)
		}
		if p.StoreDuration < 21*time.Second || p.StoreDuration > 44*time.Second {
			t.Errorf("%d connections: store part estimated at %s; a real store took 21 to 44 s", conc, p.StoreDuration)
		}
		if p.EstimatedDuration != p.StoreDuration {
			t.Errorf("before EstimateMail the whole run is the store part: %s, want %s", p.EstimatedDuration, p.StoreDuration)
		}
	}
}

func TestDryRunEstimatesTheEmailPartAtTheMailRate(t *testing.T) {
	const store = 29 * time.Second
	tests := []struct {
		name         string
		emails       int
		pace         MailPace
		mail         time.Duration
		thisRun      int
		held         int
		wantEstimate time.Duration
	}{
		// The run of issue 11: 3,000 emails at 5/s are 10 minutes, not left out.
		{"rate", 3000, MailPace{Rate: 5, Connections: 2}, 10 * time.Minute, 3000, 0, 10*time.Minute + store},
		{"connections slower than the rate", 3000, MailPace{Rate: 100, Connections: 1}, 750 * time.Second, 3000, 0, 750*time.Second + store},
		{"no rate: the connections", 3000, MailPace{Connections: 4}, 188 * time.Second, 3000, 0, 188*time.Second + store},
		{"hourly cap", 3000, MailPace{Rate: 5, Connections: 2, PerHour: 500}, 100 * time.Second, 500, 2500, 100*time.Second + store},
		{"daily cap under the hourly", 3000, MailPace{Rate: 5, Connections: 2, PerHour: 500, PerDay: 200}, 40 * time.Second, 200, 2800, 40*time.Second + store},
		{"sends of the last hour and day count", 3000, MailPace{Rate: 5, Connections: 2, PerHour: 500, PerDay: 2000, SentLastHour: 120, SentLastDay: 1700, SentKnown: true}, 60 * time.Second, 300, 2700, 60*time.Second + store},
		{"the hourly cap used up", 3000, MailPace{Rate: 5, Connections: 2, PerHour: 500, SentLastHour: 600, SentLastDay: 600, SentKnown: true}, 0, 0, 3000, store},
		{"under the caps", 300, MailPace{Rate: 5, Connections: 2, PerHour: 500, PerDay: 2000}, time.Minute, 300, 0, time.Minute + store},
		{"outbox", 3000, MailPace{Outbox: true}, 0, 3000, 0, store},
		{"no emails", 0, MailPace{Rate: 5, Connections: 2}, 0, 0, 0, store},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{Emails: tt.emails, StoreDuration: store, EstimatedDuration: store}
			p.EstimateMail(tt.pace)
			if p.MailDuration != tt.mail || p.MailThisRun != tt.thisRun || p.MailHeld != tt.held || p.EstimatedDuration != tt.wantEstimate {
				t.Errorf("mail %s, %d this run, %d held, %s in all; want %s, %d, %d, %s",
					p.MailDuration, p.MailThisRun, p.MailHeld, p.EstimatedDuration, tt.mail, tt.thisRun, tt.held, tt.wantEstimate)
			}
		})
	}
}

func TestDryRunSaysWhatEachColumnBecame(t *testing.T) {
	p, err := DryRun(t.Context(), nil, issCampaign("cols"), issSource(t, "E-Mail;Vorname;Name;Stadt\na@example.com;Anna;Müller;Köln\n"), issOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Columns {
		got = append(got, c.String())
	}
	want := []string{`"E-Mail" → email`, `"Vorname" → first name`, `"Name" → last name (split)`, `"Stadt" → field stadt`}
	if len(got) != len(want) {
		t.Fatalf("Columns = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: %s, want %s", i+1, got[i], want[i])
		}
	}
}
