package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// JobCounts are the numbers of one job run, as recorded in the ledger.
type JobCounts struct {
	Found      int // candidates the source returned
	Rejected   int // rows the source could not use (bad addresses)
	Suppressed int // left out by a suppression rule
	Capped     int // left for a later run by max_per_run or max_per_day
	Planned    int // new recipients planned in the campaign
	Issued     int // rows that reached emailed (or exported) during the run
	Failed     int // rows that ended failed during the run
}

// JobRun is one recorded run of a job.
type JobRun struct {
	ID        int64
	Job       string
	Campaign  string
	Source    string
	Started   time.Time
	Ended     time.Time // zero while running
	Outcome   string    // running, success, failed, interrupted
	Counts    JobCounts
	Watermark string // the source's position after the run; set on success only
	Error     string
}

// Job run outcomes as stored in the ledger.
const (
	RunRunning     = "running"
	RunSuccess     = "success"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

const jobRunColumns = `id, job, campaign, source, started_at, ended_at, outcome,
	found, rejected, suppressed, capped, planned, issued, failed, watermark, error`

func scanJobRun(s rowScanner) (JobRun, error) {
	var r JobRun
	var started, ended sql.NullString
	err := s.Scan(&r.ID, &r.Job, &r.Campaign, &r.Source, &started, &ended, &r.Outcome,
		&r.Counts.Found, &r.Counts.Rejected, &r.Counts.Suppressed, &r.Counts.Capped, &r.Counts.Planned, &r.Counts.Issued, &r.Counts.Failed,
		&r.Watermark, &r.Error)
	if err != nil {
		return r, err
	}
	if r.Started, err = parseTime(started); err != nil {
		return r, err
	}
	r.Ended, err = parseTime(ended)
	return r, err
}

// startJobRun records the start of a run and returns its id.
func (l *Ledger) startJobRun(ctx context.Context, job, campaign, source string, at time.Time) (int64, error) {
	var id int64
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO job_runs (job, campaign, source, started_at) VALUES (?, ?, ?, ?)`,
			job, campaign, source, formatTime(at))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: record start of job %s: %w", job, err)
	}
	return id, nil
}

// finishJobRun records the end of a run. The watermark is stored only with
// outcome success.
func (l *Ledger) finishJobRun(ctx context.Context, id int64, outcome string, at time.Time, c JobCounts, watermark, errText string) error {
	if outcome != RunSuccess {
		watermark = ""
	}
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE job_runs SET ended_at = ?, outcome = ?, found = ?, rejected = ?, suppressed = ?, capped = ?,
		planned = ?, issued = ?, failed = ?, watermark = ?, error = ? WHERE id = ?`,
			formatTime(at), outcome, c.Found, c.Rejected, c.Suppressed, c.Capped, c.Planned, c.Issued, c.Failed, watermark, errText, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("ledger: record end of job run %d: %w", id, err)
	}
	return nil
}

// LastJobRun returns the most recent run of job (of any outcome).
func (l *Ledger) LastJobRun(ctx context.Context, job string) (JobRun, bool, error) {
	r, err := scanJobRun(l.db.QueryRowContext(ctx, `SELECT `+jobRunColumns+` FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1`, job))
	if errors.Is(err, sql.ErrNoRows) {
		return JobRun{}, false, nil
	}
	if err != nil {
		return JobRun{}, false, fmt.Errorf("ledger: last run of job %s: %w", job, err)
	}
	return r, true, nil
}

// JobRuns returns the last limit runs of job, newest first; job "" means
// every job.
func (l *Ledger) JobRuns(ctx context.Context, job string, limit int) ([]JobRun, error) {
	if limit <= 0 {
		limit = 20
	}
	q := `SELECT ` + jobRunColumns + ` FROM job_runs`
	args := []any{}
	if job != "" {
		q += ` WHERE job = ?`
		args = append(args, job)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: job runs: %w", err)
	}
	defer rows.Close()
	var out []JobRun
	for rows.Next() {
		r, err := scanJobRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// jobWatermark returns the watermark of the last successful run of job that
// stored one, or "" when there is none.
func (l *Ledger) jobWatermark(ctx context.Context, job string) (string, error) {
	var w string
	err := l.db.QueryRowContext(ctx, `SELECT watermark FROM job_runs WHERE job = ? AND outcome = 'success' AND watermark != ''
		ORDER BY id DESC LIMIT 1`, job).Scan(&w)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ledger: watermark of job %s: %w", job, err)
	}
	return w, nil
}

// interruptStaleRuns marks runs left 'running' by a process that died as
// interrupted. Only the process holding the ledger lock calls it, so no
// run of another process can be live.
func (l *Ledger) interruptStaleRuns(ctx context.Context) (int, error) {
	var n int64
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE job_runs SET outcome = 'interrupted', ended_at = COALESCE(ended_at, ?),
		error = CASE WHEN error = '' THEN 'the process stopped during the run' ELSE error END WHERE outcome = 'running'`,
			formatTime(l.now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: close stale job runs: %w", err)
	}
	return int(n), nil
}

// QueuedRecipient is one person a webhook delivery asks a job to consider.
type QueuedRecipient struct {
	Email      string // normalized
	FirstName  string
	LastName   string
	CustomerID int64 // 0 for guests
	Paying     bool  // the store said the customer already has a paid order
}

// Delivery is a verified webhook delivery reduced to what the jobs need.
type Delivery struct {
	DeliveryID string
	WebhookID  string
	Topic      string
	Recipient  QueuedRecipient
	Received   time.Time
}

// EnqueueDelivery records d and queues its recipient for each of jobs, in
// one transaction. A delivery id seen before is not queued again: duplicate
// is true and nothing changes.
func (l *Ledger) EnqueueDelivery(ctx context.Context, d Delivery, jobs []string) (duplicate bool, err error) {
	if d.DeliveryID == "" {
		return false, errors.New("ledger: webhook delivery without id")
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		duplicate = false
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (delivery_id, topic, webhook_id, received_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING`,
			d.DeliveryID, d.Topic, d.WebhookID, formatTime(d.Received))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			duplicate = true
			return nil
		}
		r := d.Recipient
		for _, job := range jobs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_queue (job, delivery_id, topic, email, first_name, last_name,
				customer_id, paying, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job, delivery_id) DO NOTHING`,
				job, d.DeliveryID, d.Topic, r.Email, r.FirstName, r.LastName, r.CustomerID, r.Paying, formatTime(d.Received)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ledger: queue webhook delivery %s: %w", d.DeliveryID, err)
	}
	return duplicate, nil
}

// queueItem is a pending row of job_queue.
type queueItem struct {
	ID        int64
	Recipient QueuedRecipient
	Received  time.Time
}

// pendingQueue returns up to limit pending rows of job after id afterID, oldest first.
func (l *Ledger) pendingQueue(ctx context.Context, job string, afterID int64, limit int) ([]queueItem, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, email, first_name, last_name, customer_id, paying, received_at
		FROM job_queue WHERE job = ? AND status = 'pending' AND id > ? ORDER BY id LIMIT ?`, job, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: queue of job %s: %w", job, err)
	}
	defer rows.Close()
	var out []queueItem
	for rows.Next() {
		var it queueItem
		var recv sql.NullString
		if err := rows.Scan(&it.ID, &it.Recipient.Email, &it.Recipient.FirstName, &it.Recipient.LastName,
			&it.Recipient.CustomerID, &it.Recipient.Paying, &recv); err != nil {
			return nil, err
		}
		if it.Received, err = parseTime(recv); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// PendingDeliveries returns how many queued webhook deliveries job has not
// consumed yet.
func (l *Ledger) PendingDeliveries(ctx context.Context, job string) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_queue WHERE job = ? AND status = 'pending'`, job).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("ledger: queue of job %s: %w", job, err)
	}
	return n, nil
}

// issuedIn returns which of emails already have a row in campaign, in any
// state: the ledger's one-recipient-one-coupon rule.
func (l *Ledger) issuedIn(ctx context.Context, campaign string, emails []string) (map[string]bool, error) {
	return l.emailsMatching(ctx, `SELECT email FROM issues WHERE campaign = ? AND email IN (%s)`, []any{campaign}, emails)
}

// issuedSince returns which of emails got a row in any campaign planned at
// or after since: cooldown_days.
func (l *Ledger) issuedSince(ctx context.Context, since time.Time, emails []string) (map[string]bool, error) {
	return l.emailsMatching(ctx, `SELECT DISTINCT email FROM issues WHERE planned_at >= ? AND email IN (%s)`, []any{formatTime(since)}, emails)
}

// emailsMatching runs query (with one %s for the IN list) over emails in
// chunks that stay below SQLite's parameter limit.
func (l *Ledger) emailsMatching(ctx context.Context, query string, lead []any, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	const chunk = 500
	for start := 0; start < len(emails); start += chunk {
		part := emails[start:min(start+chunk, len(emails))]
		args := append(append([]any{}, lead...), toAny(part)...)
		q := fmt.Sprintf(query, strings.TrimSuffix(strings.Repeat("?,", len(part)), ","))
		rows, err := l.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return nil, err
			}
			out[e] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
