package campaign

import "context"

// dropSuppressed removes from chunk the recipients on the ledger's
// suppression list (people who unsubscribed, addresses added with
// `couponbridge suppress add`), logs each by its line, and returns how
// many it removed. A list bought or exported months ago must not bring
// back someone who asked to hear nothing more.
func (r *issueRun) dropSuppressed(ctx context.Context, chunk *[]plannedIssue) (int, error) {
	if len(*chunk) == 0 {
		return 0, nil
	}
	emails := make([]string, len(*chunk))
	for i, p := range *chunk {
		emails[i] = p.Email
	}
	suppressed, err := r.ledger.suppressedAmong(ctx, emails)
	if err != nil || len(suppressed) == 0 {
		return 0, err
	}
	kept := (*chunk)[:0]
	n := 0
	for _, p := range *chunk {
		if suppressed[p.Email] {
			n++
			r.log.Info("recipient suppressed", "line", p.SourceLine, "reason", "on the suppression list")
			continue
		}
		kept = append(kept, p)
	}
	*chunk = kept
	return n, nil
}
