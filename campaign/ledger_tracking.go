package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
)

// StatePruned: the coupon expired unused and prune deleted it from the
// store; the row keeps its history (migration 0200 adds the state).
const StatePruned State = "pruned"

// Tracking is what couponbridge has seen of an issued coupon after issuing
// it: its use, what happened to it in the store, prune and reminder.
type Tracking struct {
	// UsageCount is the store's usage_count at the last sync.
	UsageCount int
	// RedeemedAt is when the code was first seen used (the earliest order
	// that used it, when sync saw one); zero while unused.
	RedeemedAt time.Time
	// UseReturned is true when a use was given back (a cancelled order) and
	// the code is unused again; UseReturnedAt is the last time.
	UseReturned   bool
	UseReturnedAt time.Time
	// Deleted is true while the coupon is missing or trashed in the store
	// (deleted by someone else, not by prune); DeletedAt is when sync first
	// saw it gone.
	Deleted   bool
	DeletedAt time.Time
	// Changes says what was changed by hand in the store ("" when nothing);
	// ChangedAt is when sync first saw the current changes.
	Changes   string
	ChangedAt time.Time
	// StoreExpiresAt is the expiry the store has now (zero: none, or never synced).
	StoreExpiresAt time.Time
	SyncedAt       time.Time
	PrunedAt       time.Time
	// ReminderState is "" (not reminded), "sending", "sent" or "failed".
	ReminderState string
	RemindedAt    time.Time
	ReminderError string
}

// TrackedIssue is a ledger row with its tracking.
type TrackedIssue struct {
	Issue
	Tracking
}

// Expired reports whether the code is unused and past its expiry at now:
// the store's current expiry when sync read one, else the one issued.
func (t TrackedIssue) Expired(now time.Time) bool {
	exp := t.ExpiryNow()
	return t.RedeemedAt.IsZero() && !exp.IsZero() && !exp.After(now)
}

// ExpiryNow returns the expiry that holds in the store as far as known.
func (t TrackedIssue) ExpiryNow() time.Time {
	if !t.StoreExpiresAt.IsZero() {
		return t.StoreExpiresAt
	}
	return t.ExpiresAt
}

// trackedSelect selects issues with their (possibly missing) tracking row.
var trackedSelect = func() string {
	cols := strings.Split(issueColumns, ",")
	for i, c := range cols {
		cols[i] = "i." + strings.TrimSpace(c)
	}
	return `SELECT ` + strings.Join(cols, ", ") + `,
	COALESCE(t.usage_count, 0), t.redeemed_at, COALESCE(t.use_returned, 0), t.use_returned_at, COALESCE(t.store_presence, 'present'),
	t.deleted_at, COALESCE(t.store_changes, ''), t.changed_at, t.store_expires_at, t.synced_at, t.pruned_at,
	COALESCE(t.reminder_state, ''), t.reminded_at, COALESCE(t.reminder_error, '')
	FROM issues i LEFT JOIN coupon_tracking t ON t.issue_id = i.id `
}()

// splitScanner hands the first n destinations to an issue scan and keeps the
// rest for the tracking columns, so scanIssue is reused as it is.
type splitScanner struct {
	s    rowScanner
	rest []any
}

func (p splitScanner) Scan(dest ...any) error { return p.s.Scan(append(dest, p.rest...)...) }

func scanTracked(s rowScanner) (TrackedIssue, error) {
	var (
		ti                                                                       TrackedIssue
		presence                                                                 string
		redeemed, returned, deleted, changed, storeExp, synced, pruned, reminded sql.NullString
	)
	is, err := scanIssue(splitScanner{s: s, rest: []any{
		&ti.UsageCount, &redeemed, &ti.UseReturned, &returned, &presence, &deleted, &ti.Changes, &changed,
		&storeExp, &synced, &pruned, &ti.ReminderState, &reminded, &ti.ReminderError,
	}})
	if err != nil {
		return TrackedIssue{}, err
	}
	ti.Issue = is
	ti.Deleted = presence == "deleted"
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&ti.RedeemedAt, redeemed}, {&ti.UseReturnedAt, returned}, {&ti.DeletedAt, deleted}, {&ti.ChangedAt, changed},
		{&ti.StoreExpiresAt, storeExp}, {&ti.SyncedAt, synced}, {&ti.PrunedAt, pruned}, {&ti.RemindedAt, reminded}} {
		if *p.dst, err = parseTime(p.src); err != nil {
			return TrackedIssue{}, err
		}
	}
	return ti, nil
}

func (l *Ledger) queryTracked(ctx context.Context, where string, args ...any) ([]TrackedIssue, error) {
	rows, err := l.db.QueryContext(ctx, trackedSelect+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TrackedIssue
	for rows.Next() {
		ti, err := scanTracked(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, rows.Err()
}

// TrackedByCode returns the row whose code is code (compared as WooCommerce
// does, case-insensitively); ok is false when no campaign issued it.
func (l *Ledger) TrackedByCode(ctx context.Context, code string) (ti TrackedIssue, ok bool, err error) {
	got, err := l.queryTracked(ctx, `WHERE i.code_key = ?`, CodeKey(code))
	if err != nil || len(got) == 0 {
		return TrackedIssue{}, false, err
	}
	return got[0], true, nil
}

// Tracked returns the row of one recipient of a campaign with its tracking.
func (l *Ledger) Tracked(ctx context.Context, campaign, email string) (ti TrackedIssue, ok bool, err error) {
	got, err := l.queryTracked(ctx, `WHERE i.campaign = ? AND i.email = ?`, campaign, email)
	if err != nil || len(got) == 0 {
		return TrackedIssue{}, false, err
	}
	return got[0], true, nil
}

// trackedPages yields, page by page, the rows of a campaign matching where
// (a condition on i. and t. columns), in id order. No read stays open while
// the caller works on a page.
func (l *Ledger) trackedPages(ctx context.Context, campaign, where string, pageSize int) iter.Seq2[[]TrackedIssue, error] {
	return func(yield func([]TrackedIssue, error) bool) {
		var after int64
		for {
			page, err := l.queryTracked(ctx, `WHERE i.campaign = ? AND i.id > ? AND (`+where+`) ORDER BY i.id LIMIT ?`,
				campaign, after, pageSize)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			if !yield(page, nil) {
				return
			}
			if len(page) < pageSize {
				return
			}
			after = page[len(page)-1].ID
		}
	}
}

// saveTracking writes the tracking of rows in one transaction.
func (l *Ledger) saveTracking(ctx context.Context, rows []TrackedIssue) error {
	if len(rows) == 0 {
		return nil
	}
	return l.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO coupon_tracking (issue_id, usage_count, redeemed_at, use_returned,
			use_returned_at, store_presence, deleted_at, store_changes, changed_at, store_expires_at, synced_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (issue_id) DO UPDATE SET usage_count = excluded.usage_count, redeemed_at = excluded.redeemed_at,
			use_returned = excluded.use_returned, use_returned_at = excluded.use_returned_at,
			store_presence = excluded.store_presence, deleted_at = excluded.deleted_at,
			store_changes = excluded.store_changes, changed_at = excluded.changed_at,
			store_expires_at = excluded.store_expires_at, synced_at = excluded.synced_at, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		now := formatTime(l.now())
		for _, r := range rows {
			presence := "present"
			if r.Deleted {
				presence = "deleted"
			}
			if _, err := stmt.ExecContext(ctx, r.ID, r.UsageCount, nullTime(r.RedeemedAt), r.UseReturned,
				nullTime(r.UseReturnedAt), presence, nullTime(r.DeletedAt), r.Changes, nullTime(r.ChangedAt),
				nullTime(r.StoreExpiresAt), nullTime(r.SyncedAt), now); err != nil {
				return fmt.Errorf("ledger row %d: tracking: %w", r.ID, err)
			}
		}
		return nil
	})
}

// orderLine is one use of a campaign's code in an order, as the ledger keeps it.
type orderLine struct {
	OrderID   int64
	CodeKey   string
	Campaign  string
	IssueID   int64
	Status    string
	Currency  string
	Total     string // the order's total
	Discount  string // this code's discount
	CreatedAt time.Time
}

// saveOrderLines inserts or updates order lines (keyed by order and code, so
// an order read again replaces its row instead of counting twice), then moves
// redeemed_at of the codes concerned back to the earliest order that holds a
// use of them, when that is earlier than the sync that first saw them used.
func (l *Ledger) saveOrderLines(ctx context.Context, lines []orderLine) error {
	if len(lines) == 0 {
		return nil
	}
	return l.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(l.now())
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO coupon_orders (order_id, code_key, campaign, issue_id, status, currency,
			total, discount, order_created_at, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (order_id, code_key) DO UPDATE SET status = excluded.status, currency = excluded.currency,
			total = excluded.total, discount = excluded.discount, order_created_at = excluded.order_created_at,
			issue_id = excluded.issue_id, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, o := range lines {
			var issue sql.NullInt64
			if o.IssueID != 0 {
				issue = sql.NullInt64{Int64: o.IssueID, Valid: true}
			}
			if _, err := stmt.ExecContext(ctx, o.OrderID, o.CodeKey, o.Campaign, issue, o.Status, o.Currency,
				o.Total, o.Discount, nullTime(o.CreatedAt), now, now); err != nil {
				return fmt.Errorf("order %d code %s: %w", o.OrderID, o.CodeKey, err)
			}
			if o.IssueID == 0 || o.CreatedAt.IsZero() || !usageStatus(o.Status) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE coupon_tracking SET redeemed_at = ?, updated_at = ?
				WHERE issue_id = ? AND redeemed_at IS NOT NULL AND redeemed_at > ?`,
				formatTime(o.CreatedAt), now, o.IssueID, formatTime(o.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// usageStatus reports whether WooCommerce counts a coupon use for an order
// in status (a cancellation gives it back; refunded and failed keep it, but
// those orders do not date a redemption).
func usageStatus(status string) bool {
	switch status {
	case "pending", "on-hold", "processing", "completed":
		return true
	}
	return false
}

// issueByCodeKey finds the campaign and row of a code key; ok false if none.
func (l *Ledger) issueByCodeKey(ctx context.Context, key string) (id int64, campaign string, ok bool, err error) {
	err = l.db.QueryRowContext(ctx, `SELECT id, campaign FROM issues WHERE code_key = ?`, key).Scan(&id, &campaign)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return id, campaign, err == nil, err
}

// firstIssued returns the earliest instant a coupon of the campaign was sent
// to the store; zero when none was.
func (l *Ledger) firstIssued(ctx context.Context, campaign string) (time.Time, error) {
	var s sql.NullString
	if err := l.db.QueryRowContext(ctx, `SELECT min(issued_at) FROM issues WHERE campaign = ? AND issued_at IS NOT NULL`,
		campaign).Scan(&s); err != nil {
		return time.Time{}, err
	}
	return parseTime(s)
}

// campaignExportOnly reports whether a campaign is export-only; it fails
// with ErrNoCampaign for an unknown one.
func (l *Ledger) campaignExportOnly(ctx context.Context, campaign string) (bool, error) {
	var eo bool
	err := l.db.QueryRowContext(ctx, `SELECT export_only FROM campaigns WHERE name = ?`, campaign).Scan(&eo)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: %q", ErrNoCampaign, campaign)
	}
	return eo, err
}

// syncWatermarks returns when the campaign's coupons and orders were last read.
func (l *Ledger) syncWatermarks(ctx context.Context, campaign string) (coupons, orders time.Time, err error) {
	var c, o sql.NullString
	err = l.db.QueryRowContext(ctx, `SELECT coupons_at, orders_at FROM campaign_sync WHERE campaign = ?`, campaign).Scan(&c, &o)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if coupons, err = parseTime(c); err != nil {
		return
	}
	orders, err = parseTime(o)
	return
}

// setSyncWatermarks records a finished sync; a zero time leaves that mark as it is.
func (l *Ledger) setSyncWatermarks(ctx context.Context, campaign string, coupons, orders time.Time) error {
	now := formatTime(l.now())
	_, err := l.exec(ctx, `INSERT INTO campaign_sync (campaign, coupons_at, orders_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (campaign) DO UPDATE SET coupons_at = COALESCE(excluded.coupons_at, coupons_at),
		orders_at = COALESCE(excluded.orders_at, orders_at), updated_at = excluded.updated_at`,
		campaign, nullTime(coupons), nullTime(orders), now)
	return err
}

// prunedRow is a row whose coupon prune deleted, with the state prune saw
// it in.
type prunedRow struct {
	id   int64
	from State
}

// markPruned records that prune deleted the coupons of rows at when. Each
// row moves to pruned through the transition checks: only from the state
// prune saw it in, so a row that changed meanwhile is left as it is (and
// logged).
func (l *Ledger) markPruned(ctx context.Context, rows []prunedRow, at time.Time) error {
	ts := make([]transition, len(rows))
	for i, r := range rows {
		ts[i] = toPruned(r.id, r.from, at)
	}
	_, err := l.apply(ctx, ts...)
	return err
}

// toPruned moves a row whose coupon prune deleted to pruned and records
// when in its tracking, in the same transaction.
func toPruned(id int64, from State, at time.Time) transition {
	return transition{id: id, from: from, to: StatePruned, at: at,
		then: func(ctx context.Context, tx *sql.Tx, now string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO coupon_tracking (issue_id, pruned_at, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (issue_id) DO UPDATE SET pruned_at = excluded.pruned_at, updated_at = excluded.updated_at`,
				id, formatTime(at), now)
			return err
		}}
}

// toConfirmedByResend settles an unconfirmed row (its first email may or
// may not have gone) as emailed once a resend of the same message was
// accepted at at.
func toConfirmedByResend(id int64, at time.Time) transition {
	return transition{id: id, from: StateUnconfirmed, to: StateEmailed, at: at}
}

// exec runs one write statement on the single write path (inTx), so it
// takes its turn with this process's other writes.
func (l *Ledger) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// markDeleted records rows whose coupon prune found gone from the store.
func (l *Ledger) markDeleted(ctx context.Context, ids []int64, at time.Time) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(l.now())
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO coupon_tracking (issue_id, store_presence, deleted_at, updated_at)
				VALUES (?, 'deleted', ?, ?) ON CONFLICT (issue_id) DO UPDATE SET store_presence = 'deleted',
				deleted_at = COALESCE(deleted_at, excluded.deleted_at), updated_at = excluded.updated_at`,
				id, formatTime(at), now); err != nil {
				return err
			}
		}
		return nil
	})
}

// claimReminder moves a row's reminder from "" to "sending"; false when it
// already left "" (reminded, being reminded, or failed), so a code is never
// reminded twice.
func (l *Ledger) claimReminder(ctx context.Context, id int64) (bool, error) {
	now := formatTime(l.now())
	res, err := l.exec(ctx, `INSERT INTO coupon_tracking (issue_id, reminder_state, updated_at) VALUES (?, 'sending', ?)
		ON CONFLICT (issue_id) DO UPDATE SET reminder_state = 'sending', updated_at = excluded.updated_at
		WHERE coupon_tracking.reminder_state = ''`, id, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// finishReminder records the outcome of a reminder claimed with claimReminder.
func (l *Ledger) finishReminder(ctx context.Context, id int64, state string, at time.Time, reply string) error {
	_, err := l.exec(ctx, `UPDATE coupon_tracking SET reminder_state = ?, reminded_at = ?, reminder_error = ?, updated_at = ?
		WHERE issue_id = ? AND reminder_state = 'sending'`, state, nullTime(at), reply, formatTime(l.now()), id)
	return err
}

// Resend is one resend of a code recorded in the ledger.
type Resend struct {
	ID         int64
	IssueID    int64
	Forced     bool
	State      string // sending, sent or failed
	Reply      string
	CreatedAt  time.Time
	FinishedAt time.Time
	// MessageID is the resend's own Message-ID (empty for resends recorded
	// before it had one).
	MessageID string
}

func (l *Ledger) startResend(ctx context.Context, issueID int64, forced bool, messageID string) (int64, error) {
	res, err := l.exec(ctx, `INSERT INTO resends (issue_id, forced, state, created_at, message_id) VALUES (?, ?, 'sending', ?, ?)`,
		issueID, forced, formatTime(l.now()), messageID)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (l *Ledger) finishResend(ctx context.Context, id int64, state, reply string) error {
	_, err := l.exec(ctx, `UPDATE resends SET state = ?, reply = ?, finished_at = ? WHERE id = ?`,
		state, reply, formatTime(l.now()), id)
	return err
}

// Resends returns the resends of one row, oldest first.
func (l *Ledger) Resends(ctx context.Context, issueID int64) ([]Resend, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, issue_id, forced, state, reply, created_at, finished_at, message_id FROM resends
		WHERE issue_id = ? ORDER BY id`, issueID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Resend
	for rows.Next() {
		var r Resend
		var created, finished sql.NullString
		if err := rows.Scan(&r.ID, &r.IssueID, &r.Forced, &r.State, &r.Reply, &created, &finished, &r.MessageID); err != nil {
			return nil, err
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if r.FinishedAt, err = parseTime(finished); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// reportCampaign feeds a ReportBuilder with one campaign's rows and order
// lines, streaming the rows.
func (l *Ledger) reportCampaign(ctx context.Context, b *ReportBuilder, campaign string) error {
	eo, err := l.campaignExportOnly(ctx, campaign)
	if err != nil {
		return err
	}
	b.AddCampaign(campaign, eo)
	returned, err := l.useReturnedByOrders(ctx, campaign)
	if err != nil {
		return err
	}
	for page, err := range l.trackedPages(ctx, campaign, "1", rowsPage) {
		if err != nil {
			return err
		}
		for _, ti := range page {
			b.AddCode(ReportCode{
				Campaign: ti.Campaign, State: string(ti.State), IssuedAt: ti.CreatedAt, EmailedAt: ti.EmailedAt,
				ExpiresAt: ti.ExpiryNow(), RedeemedAt: ti.RedeemedAt, UseReturned: ti.UseReturned || returned[ti.ID],
				Deleted: ti.Deleted, Changed: ti.Changes != "", Reminded: ti.ReminderState == "sent",
				LastSyncedAt: ti.SyncedAt,
			})
		}
	}
	rows, err := l.db.QueryContext(ctx, `SELECT order_id, status, currency, total, discount FROM coupon_orders
		WHERE campaign = ? ORDER BY order_id, code_key`, campaign)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var line ReportOrderLine
		var total, discount string
		if err := rows.Scan(&line.OrderID, &line.Status, &line.Currency, &total, &discount); err != nil {
			return err
		}
		line.Campaign = campaign
		if line.Total, err = ParseMoney(total); err != nil {
			return fmt.Errorf("order %d: total: %w", line.OrderID, err)
		}
		if line.Discount, err = ParseMoney(discount); err != nil {
			return fmt.Errorf("order %d: discount: %w", line.OrderID, err)
		}
		b.AddOrderLine(line)
	}
	return rows.Err()
}

// useReturnedByOrders returns the rows of campaign that have an order in a
// status that gives the use back (see UseReturningOrderStatuses). Sync sees
// a use given back only when one sync saw the code used and a later one
// unused; a redemption and its cancellation between two syncs leave only
// the cancelled order.
func (l *Ledger) useReturnedByOrders(ctx context.Context, campaign string) (map[int64]bool, error) {
	statuses := UseReturningOrderStatuses()
	args := []any{campaign}
	for _, s := range statuses {
		args = append(args, s)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT DISTINCT issue_id FROM coupon_orders WHERE campaign = ? AND issue_id IS NOT NULL
		AND status IN (?`+strings.Repeat(", ?", len(statuses)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// BuildReport computes the report of the named campaigns (all campaigns in
// the ledger when none is named) as of now, counting days in loc (nil: UTC).
// It reads the ledger only: run sync first for fresh redemption figures.
func (l *Ledger) BuildReport(ctx context.Context, now time.Time, loc *time.Location, campaigns ...string) (Report, error) {
	if len(campaigns) == 0 {
		all, err := l.Campaigns(ctx)
		if err != nil {
			return Report{}, err
		}
		for _, c := range all {
			campaigns = append(campaigns, c.Name)
		}
	}
	b := NewReportBuilder(now, loc)
	for _, c := range campaigns {
		if err := l.reportCampaign(ctx, b, c); err != nil {
			return Report{}, fmt.Errorf("report %s: %w", c, err)
		}
	}
	return b.Report(), nil
}

// confirmByResend settles an unconfirmed row as emailed once a resend of
// the same message was accepted (see toConfirmedByResend).
func (l *Ledger) confirmByResend(ctx context.Context, id int64, at time.Time) error {
	_, err := l.apply(ctx, toConfirmedByResend(id, at))
	return err
}

// releaseReminder puts a claimed reminder back to not reminded, after a
// temporary refusal, so that the next run tries again.
func (l *Ledger) releaseReminder(ctx context.Context, id int64) error {
	_, err := l.exec(ctx, `UPDATE coupon_tracking SET reminder_state = '', updated_at = ?
		WHERE issue_id = ? AND reminder_state = 'sending'`, formatTime(l.now()), id)
	return err
}

// Flagged returns the rows of a campaign whose coupon sync found changed by
// hand or gone from the store, in id order.
func (l *Ledger) Flagged(ctx context.Context, campaign string) ([]TrackedIssue, error) {
	return l.queryTracked(ctx, `WHERE i.campaign = ? AND (t.store_changes <> '' OR t.store_presence = 'deleted')
		AND i.state <> 'pruned' ORDER BY i.id`, campaign)
}

// SendsSince returns, oldest first, when each message handed to the mail
// server at or after t was sent, across every process that used the
// ledger: issue emails (emailed, and unconfirmed or still sending: the
// server may have taken them), expiry reminders, resends (sent, or
// sending when a process died) and the emails of codes a reissue replaced. Messages the server refused are left out:
// they do not count against a provider's caps. Fed to a new sender's
// hourly and daily caps, it makes them hold across restarts, reloads and a
// run-job beside the daemon's history.
func (l *Ledger) SendsSince(ctx context.Context, t time.Time) ([]time.Time, error) {
	since := formatTime(t)
	rows, err := l.db.QueryContext(ctx, `SELECT at FROM (
			SELECT emailed_at AS at FROM issues WHERE emailed_at >= ?1
			UNION ALL
			SELECT updated_at FROM issues WHERE emailed_at IS NULL AND state IN ('sending', 'unconfirmed') AND updated_at >= ?1
			UNION ALL
			SELECT COALESCE(reminded_at, updated_at) FROM coupon_tracking
				WHERE reminder_state IN ('sent', 'sending') AND COALESCE(reminded_at, updated_at) >= ?1
			UNION ALL
			SELECT COALESCE(finished_at, created_at) FROM resends
				WHERE state IN ('sent', 'sending') AND COALESCE(finished_at, created_at) >= ?1
			UNION ALL
			SELECT emailed_at FROM issue_history WHERE emailed_at >= ?1
		) ORDER BY at`, since)
	if err != nil {
		return nil, fmt.Errorf("ledger: sends since %s: %w", since, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		at, err := parseTime(s)
		if err != nil {
			return nil, err
		}
		out = append(out, at)
	}
	return out, rows.Err()
}
