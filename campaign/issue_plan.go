package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// plan reads src to the end and records a planned row, with a fresh code,
// for every recipient not yet in the campaign, one transaction per chunk.
// Rejected rows go to the Rejects option. The code space is checked against
// the campaign's size before each chunk is written.
func (r *issueRun) plan(ctx context.Context, src RecipientSource) error {
	existing, err := r.campaignSize(ctx)
	if err != nil {
		return err
	}
	if err := r.gen.CheckCapacity(existing+1, r.opts.CapacityBits); err != nil {
		return fmt.Errorf("campaign %q: %w", r.c.Name, err)
	}
	chunk := make([]plannedIssue, 0, r.opts.PlanChunk)
	read, rejects, planned := 0, 0, 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		// Capacity counts every row that may get a code: those already in
		// the ledger and this chunk (some may be known and skipped).
		if err := r.gen.CheckCapacity(existing+planned+len(chunk), r.opts.CapacityBits); err != nil {
			return fmt.Errorf("campaign %q: %w", r.c.Name, err)
		}
		n, err := r.ledger.planIssues(ctx, r.c.Name, chunk, r.gen.Next)
		if err != nil {
			return fmt.Errorf("campaign %q: planning: %w", r.c.Name, err)
		}
		planned += n
		r.count(func(c *IssueCounts) { c.Planned += n })
		chunk = chunk[:0]
		r.progress(StagePlan, read, 0)
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			// Planned rows are complete in themselves: what was read but
			// not written is simply read again next time.
			return err
		}
		rec, rej, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
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
	r.count(func(c *IssueCounts) { c.Rejected += rejects })
	r.log.Info("planned", "read", read, "rejected", rejects, "new", planned, "already in campaign", read-rejects-planned)
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
