package campaign

import (
	"context"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// jobCampaign is a valid emailed campaign for job tests.
func jobCampaign(t *testing.T, name string) Campaign {
	t.Helper()
	tpl, err := mailer.LoadTemplates(mailer.TemplateSource{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Campaign{
		Name:   name,
		Codes:  CodeSpec{Prefix: "JOB-", Pattern: "XXXX-XXXX-XXXX", Alphabet: DefaultAlphabet},
		Coupon: CouponTemplate{DiscountType: "percent", Amount: "10", Expiry: ExpirySpec{Days: 30}},
		Mail: MailSpec{
			From:      mailer.Address{Name: "Shop", Email: "shop@example.com"},
			Templates: tpl,
			StoreName: "Shop",
			StoreURL:  "https://shop.example.com",
			Currency:  "EUR",
		},
	}
}

// jobSliceSource yields fixed candidates.
type jobSliceSource struct {
	kind  string
	cands []Candidate
	err   error
	mark  string // watermark to set
}

func (s *jobSliceSource) Kind() string {
	if s.kind == "" {
		return "test"
	}
	return s.kind
}

func (s *jobSliceSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		scan.NewWatermark = s.mark
		for _, c := range s.cands {
			if !yield(c, nil) {
				return
			}
		}
		if s.err != nil {
			yield(Candidate{}, s.err)
		}
	}
}

func jobPeople(emails ...string) []Candidate {
	out := make([]Candidate, len(emails))
	for i, e := range emails {
		out[i] = Candidate{Recipient: Recipient{Email: e, FirstName: "F" + e[:1]}}
	}
	return out
}

// jobIssueRecorder is an IssueFunc that records the campaigns it was asked to
// issue and leaves the planned rows as they are.
type jobIssueRecorder struct {
	mu    sync.Mutex
	calls []string
	at    []time.Time
	err   error
}

func (r *jobIssueRecorder) issue(ctx context.Context, c Campaign) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c.Name)
	r.at = append(r.at, time.Now())
	return r.err
}

func (r *jobIssueRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// plannedEmails lists the emails of campaign in the ledger, in plan order.
func jobPlannedEmails(t *testing.T, l *Ledger, campaign string) []string {
	t.Helper()
	rows, err := l.db.QueryContext(context.Background(), `SELECT email FROM issues WHERE campaign = ? ORDER BY id`, campaign)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func jobClock(t time.Time) func() time.Time { return func() time.Time { return t } }
