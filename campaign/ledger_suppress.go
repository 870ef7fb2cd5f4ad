package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sources of a suppression.
const (
	// SuppressUnsubscribe is an unsubscribe through the link or the
	// one-click header of an email.
	SuppressUnsubscribe = "unsubscribe"
	// SuppressManual is an address added with `couponbridge suppress add`.
	SuppressManual = "manual"
)

// Suppression is one address on the ledger's suppression list: it gets no
// coupon from any job or campaign, and no reminder.
type Suppression struct {
	// Email is normalized (see NormalizeEmail).
	Email  string
	Reason string
	// Source is SuppressUnsubscribe or SuppressManual.
	Source string
	// Campaign is the campaign whose email was used to unsubscribe; "" for
	// manual entries.
	Campaign string
	At       time.Time
}

// Suppress adds s to the suppression list. An address already there keeps
// its first entry (the first unsubscribe is the one worth knowing); added
// reports whether s is new. s.Email is normalized first; s.At zero means now.
func (l *Ledger) Suppress(ctx context.Context, s Suppression) (added bool, err error) {
	email, err := NormalizeEmail(s.Email)
	if err != nil {
		return false, fmt.Errorf("suppress %q: %w", s.Email, err)
	}
	if s.Source == "" {
		return false, errors.New("suppress: no source")
	}
	at := s.At
	if at.IsZero() {
		at = l.now()
	}
	res, err := l.exec(ctx, `INSERT INTO suppressions (email, reason, source, campaign, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (email) DO NOTHING`, email, s.Reason, s.Source, s.Campaign, formatTime(at))
	if err != nil {
		return false, fmt.Errorf("ledger: suppress: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Unsuppress removes email from the suppression list; removed reports
// whether it was there.
func (l *Ledger) Unsuppress(ctx context.Context, email string) (removed bool, err error) {
	email, err = NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	res, err := l.exec(ctx, `DELETE FROM suppressions WHERE email = ?`, email)
	if err != nil {
		return false, fmt.Errorf("ledger: unsuppress: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Suppressions returns the whole suppression list, oldest first.
func (l *Ledger) Suppressions(ctx context.Context) ([]Suppression, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT email, reason, source, campaign, at FROM suppressions ORDER BY at, email`)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	defer rows.Close()
	var out []Suppression
	for rows.Next() {
		var s Suppression
		var at sql.NullString
		if err := rows.Scan(&s.Email, &s.Reason, &s.Source, &s.Campaign, &at); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		if s.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// suppressedAmong returns which of emails (normalized) are on the
// suppression list.
func (l *Ledger) suppressedAmong(ctx context.Context, emails []string) (map[string]bool, error) {
	return l.emailsMatching(ctx, `SELECT email FROM suppressions WHERE email IN (%s)`, nil, emails)
}

// notSuppressed is an SQL condition on an issues row aliased i: its
// recipient is not on the suppression list.
const notSuppressed = `NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = i.email)`
