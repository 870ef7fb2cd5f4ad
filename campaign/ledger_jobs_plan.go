package campaign

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// jobPlanTx is the input of the planning transaction of a job run.
type jobPlanTx struct {
	campaign   string
	runID      int64
	accepted   []Candidate
	suppressed []queueDecision
	maxPerDay  int
	loc        *time.Location // the day of maxPerDay is a day in the store's time zone
	newCode    func() (string, error)
}

type jobPlanResult struct {
	planned     int
	raced       int // already in the campaign when inserting
	capped      int // left out by the daily cap
	cappedFiles []string
}

// planJobRows is the planning transaction of a job run (see JobRunner.plan).
func (l *Ledger) planJobRows(ctx context.Context, p jobPlanTx) (jobPlanResult, error) {
	var res jobPlanResult
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res = jobPlanResult{}
		at := l.now()
		take := len(p.accepted)
		if p.maxPerDay > 0 {
			local := at.In(p.loc)
			dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, p.loc)
			dayEnd := dayStart.AddDate(0, 0, 1)
			var today int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM issues WHERE campaign = ? AND planned_at >= ? AND planned_at < ?`,
				p.campaign, formatTime(dayStart), formatTime(dayEnd)).Scan(&today); err != nil {
				return err
			}
			take = max(0, min(take, p.maxPerDay-today))
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO issues
			(campaign, email, first_name, last_name, fields, source_line, code, code_key, state, planned_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?)
			ON CONFLICT (campaign, email) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		mark, err := tx.PrepareContext(ctx, `UPDATE job_queue SET status = ?, reason = ?, run_id = ?, done_at = ? WHERE id = ? AND status = 'pending'`)
		if err != nil {
			return err
		}
		defer mark.Close()
		now := formatTime(at)
		planned := 0
		for _, c := range p.accepted {
			if planned >= take {
				res.capped++
				if c.file != "" {
					res.cappedFiles = append(res.cappedFiles, c.file)
				}
				continue
			}
			rc := c.Recipient
			fields, err := encodeFields(rc.Fields)
			if err != nil {
				return fmt.Errorf("%s: %w", rc.Email, err)
			}
			var n int64
			for try := 0; ; try++ {
				code, err := p.newCode()
				if err != nil {
					return err
				}
				r, err := ins.ExecContext(ctx, p.campaign, rc.Email, rc.FirstName, rc.LastName, fields, rc.Line, code, CodeKey(code), now, now)
				if isUniqueViolation(err, "issues.code_key") {
					if try >= maxCodeRetries {
						return fmt.Errorf("%s: %d codes in a row were already taken: the code space is too small", rc.Email, try+1)
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("plan %s: %w", rc.Email, err)
				}
				n, _ = r.RowsAffected()
				break
			}
			status, reason := "planned", ""
			if n == 0 {
				res.raced++
				status, reason = "suppressed", "already issued in this campaign"
			} else {
				planned++
			}
			if c.queueID != 0 {
				if _, err := mark.ExecContext(ctx, status, reason, p.runID, now, c.queueID); err != nil {
					return err
				}
			}
		}
		for _, d := range p.suppressed {
			if _, err := mark.ExecContext(ctx, "suppressed", d.reason, p.runID, now, d.id); err != nil {
				return err
			}
		}
		res.planned = planned
		return nil
	})
	return res, err
}

// countIssues returns the number of rows of campaign, in any state.
func (l *Ledger) countIssues(ctx context.Context, campaign string) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM issues WHERE campaign = ?`, campaign).Scan(&n)
	return n, err
}

// campaignFingerprint returns the fingerprint recorded for campaign.
func (l *Ledger) campaignFingerprint(ctx context.Context, campaign string) (string, error) {
	var fp string
	err := l.db.QueryRowContext(ctx, `SELECT fingerprint FROM campaigns WHERE name = ?`, campaign).Scan(&fp)
	return fp, err
}
