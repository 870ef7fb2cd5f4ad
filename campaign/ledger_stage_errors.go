package campaign

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// StageError is the last error a stage of a campaign met, as status shows
// it: why rows are still to do.
type StageError struct {
	Stage Stage
	Error string
	At    time.Time
}

// noteStageError records err as the last error of a campaign's stage,
// replacing the one before.
func (l *Ledger) noteStageError(ctx context.Context, campaign string, stage Stage, msg string, at time.Time) error {
	_, err := l.relaxed.ExecContext(ctx, `INSERT INTO stage_errors (campaign, stage, error, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (campaign, stage) DO UPDATE SET error = excluded.error, at = excluded.at`,
		campaign, string(stage), msg, formatTime(at))
	return err
}

// clearStageError forgets the last error of a stage that finished with
// nothing left.
func (l *Ledger) clearStageError(ctx context.Context, campaign string, stage Stage) error {
	_, err := l.relaxed.ExecContext(ctx, `DELETE FROM stage_errors WHERE campaign = ? AND stage = ?`, campaign, string(stage))
	return err
}

// StageErrors returns the last error of each stage of a campaign that has
// one, in pipeline order. A ledger older than the table has none.
func (l *Ledger) StageErrors(ctx context.Context, campaign string) ([]StageError, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT stage, error, at FROM stage_errors WHERE campaign = ?`, campaign)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil, nil
		}
		return nil, err
	}
	defer rows.Close()
	var out []StageError
	for rows.Next() {
		var se StageError
		var stage string
		var at sql.NullString
		if err := rows.Scan(&stage, &se.Error, &at); err != nil {
			return nil, err
		}
		se.Stage = Stage(stage)
		if se.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	order := []Stage{StagePlan, StageCreate, StageVerify, StageEmail}
	slices.SortFunc(out, func(a, b StageError) int {
		return slices.Index(order, a.Stage) - slices.Index(order, b.Stage)
	})
	return out, rows.Err()
}
