package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReplacedCode is a code that a reissue took from its row (migration 0700's
// issue_history): the row has a new code since, and this one is kept so that
// lookup still finds it.
type ReplacedCode struct {
	ID       int64
	IssueID  int64
	Campaign string
	Email    string
	Code     string
	CouponID int64
	// State is the row's state when the code was replaced (emailed,
	// unconfirmed, pruned).
	State State
	// StoreState is what the store had: "deleted" (gone or in the trash),
	// "expired", "redeemed" or "live" (the last two replaced with --force).
	StoreState string
	// Trashed is true when the reissue moved the coupon to the trash.
	Trashed    bool
	UsageCount int
	IssuedAt   time.Time
	ExpiresAt  time.Time
	EmailedAt  time.Time
	Reason     string
	ReplacedAt time.Time
}

// errReissueRaced is returned by replaceCode when the row is no longer in
// the state and code it was read with (another process moved it meanwhile).
var errReissueRaced = errors.New("the row changed meanwhile: run reissue again")

// replaceCode records old in issue_history and puts its row back to planned
// with newCode, in one transaction: the pipeline then creates, verifies and
// emails the new code as it does any planned row. The row's tracking (of
// the old coupon) is dropped; its reissue count goes up by one. A newCode
// that the ledger knows, in a row or in the history, is errCodeTaken.
func (l *Ledger) replaceCode(ctx context.Context, old ReplacedCode, newCode, reason string) error {
	now := formatTime(l.now())
	return l.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM issue_history WHERE code_key = ?`, CodeKey(newCode)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errCodeTaken
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO issue_history (issue_id, campaign, email, code, code_key, coupon_id,
			state, store_state, trashed, usage_count, issued_at, expires_at, emailed_at, reason, replaced_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			old.IssueID, old.Campaign, old.Email, old.Code, CodeKey(old.Code), sql.NullInt64{Int64: old.CouponID, Valid: old.CouponID != 0},
			string(old.State), old.StoreState, old.Trashed, old.UsageCount, nullTime(old.IssuedAt), nullTime(old.ExpiresAt),
			nullTime(old.EmailedAt), reason, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE issues SET state = 'planned', code = ?, code_key = ?, failed_stage = '',
			last_error = ?, coupon_id = NULL, issued_at = NULL, expires_at = NULL, created_at = NULL, verified_at = NULL,
			emailed_at = NULL, create_attempts = 0, mail_attempts = 0, reissues = reissues + 1, planned_at = ?, updated_at = ?
			WHERE id = ? AND state = ? AND code_key = ?`,
			newCode, CodeKey(newCode), reason, now, now, old.IssueID, string(old.State), CodeKey(old.Code))
		if isUniqueViolation(err, "issues.code_key") {
			return errCodeTaken
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = errReissueRaced
			}
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM coupon_tracking WHERE issue_id = ?`, old.IssueID)
		return err
	})
}

const replacedColumns = `id, issue_id, campaign, email, code, coupon_id, state, store_state, trashed, usage_count,
	issued_at, expires_at, emailed_at, reason, replaced_at`

func scanReplaced(s rowScanner) (ReplacedCode, error) {
	var (
		rc                                 ReplacedCode
		state                              string
		couponID                           sql.NullInt64
		issued, expires, emailed, replaced sql.NullString
	)
	if err := s.Scan(&rc.ID, &rc.IssueID, &rc.Campaign, &rc.Email, &rc.Code, &couponID, &state, &rc.StoreState,
		&rc.Trashed, &rc.UsageCount, &issued, &expires, &emailed, &rc.Reason, &replaced); err != nil {
		return ReplacedCode{}, err
	}
	rc.State, rc.CouponID = State(state), couponID.Int64
	var err error
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&rc.IssuedAt, issued}, {&rc.ExpiresAt, expires}, {&rc.EmailedAt, emailed}, {&rc.ReplacedAt, replaced}} {
		if *p.dst, err = parseTime(p.src); err != nil {
			return ReplacedCode{}, fmt.Errorf("issue history %d: %w", rc.ID, err)
		}
	}
	return rc, nil
}

// ReplacedByCode returns the replaced code equal to code (compared as
// WooCommerce does, case-insensitively); ok is false when no reissue
// replaced it.
func (l *Ledger) ReplacedByCode(ctx context.Context, code string) (rc ReplacedCode, ok bool, err error) {
	rc, err = scanReplaced(l.db.QueryRowContext(ctx, `SELECT `+replacedColumns+` FROM issue_history WHERE code_key = ?`, CodeKey(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return ReplacedCode{}, false, nil
	}
	return rc, err == nil, err
}

// ReplacedCodes returns the codes reissues took from one row, oldest first.
func (l *Ledger) ReplacedCodes(ctx context.Context, issueID int64) ([]ReplacedCode, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+replacedColumns+` FROM issue_history WHERE issue_id = ? ORDER BY id`, issueID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReplacedCode
	for rows.Next() {
		rc, err := scanReplaced(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}

// lookupReplaced finds code among the codes reissues replaced; it returns
// nil when none did, else the replaced code and its row as it is now.
func lookupReplaced(ctx context.Context, l *Ledger, code string) (*ReplacedCode, TrackedIssue, error) {
	rc, ok, err := l.ReplacedByCode(ctx, code)
	if err != nil || !ok {
		return nil, TrackedIssue{}, err
	}
	got, err := l.queryTracked(ctx, `WHERE i.id = ?`, rc.IssueID)
	if err != nil {
		return nil, TrackedIssue{}, err
	}
	if len(got) == 0 {
		return nil, TrackedIssue{}, fmt.Errorf("issue history %d: its row %d is gone", rc.ID, rc.IssueID)
	}
	return &rc, got[0], nil
}
