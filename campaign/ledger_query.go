package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"
)

// ErrNoCampaign is returned for a campaign name the ledger does not know.
var ErrNoCampaign = errors.New("no such campaign in the ledger")

// Summary is where a campaign stands: how many rows are in each state and
// why the failed ones failed. It is what `couponbridge status` shows and
// what decides the exit code of a run.
type Summary struct {
	Campaign   string
	ExportOnly bool
	CreatedAt  time.Time
	Total      int
	Counts     map[State]int
	// Reasons groups the failed rows by stage and reason, most frequent
	// first. Failures lists every row.
	Reasons []FailureReason
	// Rejects is the number of input rows rejected by the run that produced
	// this summary (zero for a summary read from the ledger alone).
	Rejects int
}

// FailureReason is one group of failed rows.
type FailureReason struct {
	Stage  Stage
	Reason string
	Count  int
}

// Failure is one failed row, for review.
type Failure struct {
	Email      string
	Code       string
	CouponID   int64
	Stage      Stage
	Reason     string
	SourceLine int
	UpdatedAt  time.Time
}

// Count returns the number of rows in state s.
func (s Summary) Count(st State) int { return s.Counts[st] }

// Failed returns the number of rows that failed.
func (s Summary) Failed() int { return s.Counts[StateFailed] }

// Done returns the rows that reached their final good state: emailed, or
// exported in an export-only campaign (or pruned after that, once expired).
func (s Summary) Done() int {
	return s.Counts[StateEmailed] + s.Counts[StateExported] + s.Counts[StatePruned]
}

// Pending returns the rows a later run will carry on with (planned,
// creating, created, verified).
func (s Summary) Pending() int {
	return s.Counts[StatePlanned] + s.Counts[StateCreating] + s.Counts[StateCreated] + s.Counts[StateVerified]
}

// NeedsReview reports whether rows failed or are unconfirmed: the owner has
// to look at them (the CLI exits with 3).
func (s Summary) NeedsReview() bool {
	return s.Counts[StateFailed] > 0 || s.Counts[StateUnconfirmed] > 0
}

// Summary reads where a campaign stands. It fails with ErrNoCampaign for an
// unknown campaign.
func (l *Ledger) Summary(ctx context.Context, campaign string) (Summary, error) {
	s := Summary{Campaign: campaign, Counts: map[State]int{}}
	var created sql.NullString
	err := l.db.QueryRowContext(ctx, `SELECT export_only, created_at FROM campaigns WHERE name = ?`, campaign).Scan(&s.ExportOnly, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("%w: %q", ErrNoCampaign, campaign)
	}
	if err != nil {
		return s, err
	}
	if s.CreatedAt, err = parseTime(created); err != nil {
		return s, err
	}
	// Staged rows belong to a plan that has not finished (see stateStaged):
	// not part of the campaign yet.
	rows, err := l.db.QueryContext(ctx, `SELECT state, count(*) FROM issues WHERE campaign = ? AND state != 'staged' GROUP BY state`, campaign)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return s, err
		}
		s.Counts[State(st)] = n
		s.Total += n
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	rrows, err := l.db.QueryContext(ctx, `SELECT failed_stage, last_error, count(*) AS n FROM issues
		WHERE campaign = ? AND state = 'failed' GROUP BY failed_stage, last_error ORDER BY n DESC, failed_stage, last_error`, campaign)
	if err != nil {
		return s, err
	}
	defer rrows.Close()
	for rrows.Next() {
		var r FailureReason
		var stage string
		if err := rrows.Scan(&stage, &r.Reason, &r.Count); err != nil {
			return s, err
		}
		r.Stage = Stage(stage)
		s.Reasons = append(s.Reasons, r)
	}
	return s, rrows.Err()
}

// CampaignInfo describes one campaign recorded in the ledger.
type CampaignInfo struct {
	Name       string
	ExportOnly bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Total      int
}

// Campaigns lists the campaigns in the ledger by name.
func (l *Ledger) Campaigns(ctx context.Context) ([]CampaignInfo, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT c.name, c.export_only, c.created_at, c.updated_at,
		(SELECT count(*) FROM issues i WHERE i.campaign = c.name AND i.state != 'staged') FROM campaigns c ORDER BY c.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CampaignInfo
	for rows.Next() {
		var ci CampaignInfo
		var created, updated sql.NullString
		if err := rows.Scan(&ci.Name, &ci.ExportOnly, &created, &updated, &ci.Total); err != nil {
			return nil, err
		}
		if ci.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if ci.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	return out, rows.Err()
}

// Rows yields every row of a campaign in the order it was planned, for
// export. It reads in pages, so a campaign of any size streams in bounded
// memory, and it may be stopped early.
func (l *Ledger) Rows(ctx context.Context, campaign string) iter.Seq2[Issue, error] {
	return l.pages(ctx, `SELECT `+issueColumns+` FROM issues WHERE campaign = ? AND state != 'staged' AND id > ? ORDER BY id LIMIT ?`, campaign)
}

// Failures yields the failed rows of a campaign, in the order they were
// planned.
func (l *Ledger) Failures(ctx context.Context, campaign string) iter.Seq2[Failure, error] {
	return func(yield func(Failure, error) bool) {
		for is, err := range l.pages(ctx, `SELECT `+issueColumns+` FROM issues
			WHERE campaign = ? AND state = 'failed' AND id > ? ORDER BY id LIMIT ?`, campaign) {
			if err != nil {
				yield(Failure{}, err)
				return
			}
			f := Failure{Email: is.Email, Code: is.Code, CouponID: is.CouponID, Stage: is.FailedStage,
				Reason: is.LastError, SourceLine: is.SourceLine, UpdatedAt: is.UpdatedAt}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// rowsPage is how many rows an iterator reads per query: no connection or
// read transaction stays open while the caller handles a row.
const rowsPage = 500

func (l *Ledger) pages(ctx context.Context, query, campaign string) iter.Seq2[Issue, error] {
	return func(yield func(Issue, error) bool) {
		var after int64
		for {
			page, err := func() ([]Issue, error) {
				rows, err := l.db.QueryContext(ctx, query, campaign, after, rowsPage)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				out := make([]Issue, 0, rowsPage)
				for rows.Next() {
					is, err := scanIssue(rows)
					if err != nil {
						return nil, err
					}
					out = append(out, is)
				}
				return out, rows.Err()
			}()
			if err != nil {
				yield(Issue{}, err)
				return
			}
			for _, is := range page {
				if !yield(is, nil) {
					return
				}
				after = is.ID
			}
			if len(page) < rowsPage {
				return
			}
		}
	}
}
