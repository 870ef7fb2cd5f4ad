package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// stateStaged marks the rows of a list whose planning has not finished:
// they hold their code (so no other row takes it) but no stage picks them
// up, and they become planned all at once when the list was read to its
// end (migration 0501).
const stateStaged State = "staged"

// plan reads src to the end and records a planned row, with a fresh code,
// for every recipient not yet in the campaign. It is all or nothing: rows
// are written as staged, one transaction per chunk so that memory stays
// flat, and turn planned in one statement once the whole list was read and
// every check passed. A list refused half-way (a read error, the code space
// too small, a stopped run) leaves nothing planned. Rejected rows go to the
// Rejects option. Only one plan of a campaign may run at a time (one
// process holds the ledger; within it, one Run per campaign).
func (r *issueRun) plan(ctx context.Context, src RecipientSource) (err error) {
	// Staged rows left by a killed run were never sent anywhere.
	if err := r.ledger.discardStaged(ctx, r.c.Name); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		dctx, cancel := persistCtx(ctx)
		defer cancel()
		if derr := r.ledger.discardStaged(dctx, r.c.Name); derr != nil {
			err = errors.Join(err, fmt.Errorf("discarding the unfinished plan: %w", derr))
		}
	}()
	existing, err := r.campaignSize(ctx)
	if err != nil {
		return err
	}
	if err := r.gen.CheckCapacity(existing+1, r.opts.CapacityBits); err != nil {
		return fmt.Errorf("campaign %q: %w", r.c.Name, err)
	}
	chunk := make([]plannedIssue, 0, r.opts.PlanChunk)
	read, rejects, staged, suppressed := 0, 0, 0, 0
	flush := func() error {
		dropped, err := r.dropSuppressed(ctx, &chunk)
		if err != nil {
			return err
		}
		suppressed += dropped
		if len(chunk) == 0 {
			return nil
		}
		// Capacity counts every row that may get a code: those already in
		// the ledger and this chunk (some may be known and skipped).
		if err := r.gen.CheckCapacity(existing+staged+len(chunk), r.opts.CapacityBits); err != nil {
			return fmt.Errorf("campaign %q: %w; nothing was planned", r.c.Name, err)
		}
		n, err := r.ledger.insertIssues(ctx, r.c.Name, stateStaged, chunk, r.gen.Next)
		if err != nil {
			return fmt.Errorf("campaign %q: planning: %w", r.c.Name, err)
		}
		staged += n
		chunk = chunk[:0]
		r.progress(StagePlan, read, 0)
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			// What was read is read again next time.
			return err
		}
		rec, rej, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w; nothing was planned", err)
		}
		read++
		if rej != nil {
			rejects++
			r.log.Info("recipient rejected", "line", rej.Line, "reason", rej.Reason)
			if r.opts.Rejects != nil {
				if err := r.opts.Rejects(*rej); err != nil {
					return fmt.Errorf("rejects: %w", err)
				}
			}
			continue
		}
		code, err := r.gen.Next()
		if err != nil {
			return err
		}
		chunk = append(chunk, plannedIssue{Email: rec.Email, FirstName: rec.FirstName, LastName: rec.LastName,
			Fields: rec.Fields, SourceLine: rec.Line, Code: code})
		if len(chunk) == cap(chunk) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	planned, err := r.ledger.commitStaged(ctx, r.c.Name)
	if err != nil {
		return fmt.Errorf("campaign %q: planning: %w", r.c.Name, err)
	}
	r.count(func(c *IssueCounts) { c.Planned += planned; c.Rejected += rejects; c.Suppressed += suppressed })
	r.log.Info("planned", "read", read, "rejected", rejects, "suppressed", suppressed, "new", planned,
		"already in campaign", read-rejects-suppressed-planned)
	return nil
}

// planExport plans the rows of an export-only campaign: keys export-0000001
// up to the campaign's count. Rows already there are kept.
func (r *issueRun) planExport(ctx context.Context) error {
	existing, err := r.campaignSize(ctx)
	if err != nil {
		return err
	}
	if err := r.gen.CheckCapacity(max(existing, r.c.Count), r.opts.CapacityBits); err != nil {
		return fmt.Errorf("campaign %q: %w", r.c.Name, err)
	}
	if existing >= r.c.Count {
		return nil
	}
	chunk := make([]plannedIssue, 0, r.opts.PlanChunk)
	planned := 0
	for i := 1; i <= r.c.Count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		code, err := r.gen.Next()
		if err != nil {
			return err
		}
		chunk = append(chunk, plannedIssue{Email: exportKey(i), SourceLine: i, Code: code})
		if len(chunk) == cap(chunk) || i == r.c.Count {
			n, err := r.ledger.planIssues(ctx, r.c.Name, chunk, r.gen.Next)
			if err != nil {
				return fmt.Errorf("campaign %q: planning: %w", r.c.Name, err)
			}
			planned += n
			r.count(func(c *IssueCounts) { c.Planned += n })
			chunk = chunk[:0]
			r.progress(StagePlan, i, r.c.Count)
		}
	}
	r.log.Info("planned export-only codes", "count", r.c.Count, "new", planned)
	return nil
}

// exportKey is the recipient key of the i-th code of an export-only
// campaign; it sorts in order and is never a valid email address.
func exportKey(i int) string { return fmt.Sprintf("export-%07d", i) }

func (r *issueRun) campaignSize(ctx context.Context) (int, error) {
	var n int
	err := r.ledger.db.QueryRowContext(ctx, `SELECT count(*) FROM issues WHERE campaign = ?`, r.c.Name).Scan(&n)
	return n, err
}

// discardStaged deletes the staged rows of a campaign: a plan that did not
// finish. They were never sent anywhere.
func (l *Ledger) discardStaged(ctx context.Context, campaign string) error {
	return l.inTxOn(ctx, l.relaxed, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM issues WHERE campaign = ? AND state = ?`, campaign, string(stateStaged))
		return err
	})
}

// commitStaged turns every staged row of a campaign planned, in one durable
// transaction, and returns how many.
func (l *Ledger) commitStaged(ctx context.Context, campaign string) (int, error) {
	var n int64
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(l.now())
		res, err := tx.ExecContext(ctx, `UPDATE issues SET state = ?, planned_at = ?, updated_at = ? WHERE campaign = ? AND state = ?`,
			string(StatePlanned), now, now, campaign, string(stateStaged))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
